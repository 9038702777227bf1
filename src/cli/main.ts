import fs from "node:fs";
import path from "node:path";
import { Command, InvalidArgumentError, Option } from "commander";
import { readBundle } from "../bundle";
import { parseField, toHex32 } from "../crypto";
import { defaultJournalFile, Journal, ownerAlive, type JournalRun } from "../journal";
import type { ResumeOutcome, RunSummary, ScenarioSession } from "../pipeline";
import { createLogger, defaultDataDir, IS_PACKAGED, packageManifest, PROJECT_ROOT } from "../project";
import { loadCircuitInstances, readSetupRecord, runSetup } from "../prover";
import {
  isWorkflowFileArg,
  registerScenarioFolder,
  resolveScenario,
  scenario,
  SCENARIOS,
  type Scenario,
} from "../scenarios";
import {
  addAuditFilterOptions,
  auditFilters,
  registerAuditCommands,
  type AuditFilterOptions,
} from "./auditCommands";
import { collectFaultSpec, FAULT_KINDS, parseFaultSpec } from "./faults";
import { registerInitCommand } from "./initCommand";
import { registerOperationsCommand } from "./operationsCommand";
import { registerStateCommand } from "./stateCommand";
import { registerBenchCommand } from "./benchCommand";
import { registerNotaryCommand } from "./notaryCommand";
import { terminalProgress } from "./progress";
import { ensureBuilt, ensureProvable, loadAudit, loadPipeline } from "./stages";
import { describeError, UsageError } from "./errors";

/** Where the user ran the command: relative paths in options are relative to it. */
let invocationDir = process.cwd();
const userPath = (file: string) => path.resolve(invocationDir, file);

const pkg = packageManifest();

const out = (text: string) => process.stdout.write(text + "\n");

// Loaded on use (after building what they need): they import the contracts' typechain bindings.
const pipeline = loadPipeline;
const audit = loadAudit;
/** The in-process Hardhat network's name (kept here so `setup` loads nothing that needs compiled contracts). */
const IN_PROCESS_NETWORK = "hardhat";
/** The built-in scenarios, in the registry's order; the first is the default of `resume` and `bench`. */
const SCENARIO_NAMES = Object.keys(SCENARIOS);
const DEFAULT_SCENARIO = SCENARIO_NAMES[0];

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 1000)
    throw new InvalidArgumentError("expected an integer from 1 to 1000");
  return n;
}

/** A batch size: 1 (no batches) to 32, the registry's MAX_BATCH_SIZE. */
function batchSizeArg(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n < 1 || n > 32) {
    throw new InvalidArgumentError("expected an integer from 1 to 32 (the registry's largest batch)");
  }
  return n;
}

/** Batch sizes for the bench: a comma-separated list of integers from 1 to 32. */
function batchSizesArg(value: string): number[] {
  const sizes = value.split(",").map((part) => part.trim());
  if (
    sizes.length === 0 ||
    sizes.some((size) => !/^\d+$/.test(size) || Number(size) < 1 || Number(size) > 32)
  ) {
    throw new InvalidArgumentError("expected batch sizes from 1 to 32, comma-separated (e.g. 1,4,8,16,32)");
  }
  return [...new Set(sizes.map(Number))].sort((a, b) => a - b);
}

function milliseconds(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 3_600_000)
    throw new InvalidArgumentError("expected milliseconds, an integer from 1 to 3600000");
  return n;
}

/** A number of confirmations: the blocks a run's transaction must be in (counting its own), ≥ 1. */
function confirmationsArg(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < 1) {
    throw new InvalidArgumentError("expected a number of blocks, an integer ≥ 1");
  }
  return n;
}

function workflowIdArg(value: string): bigint {
  try {
    return parseField(value, "workflow id");
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

const networkOption = () =>
  new Option(
    "--network <name>",
    "network of hardhat.config.ts (hardhat = in-process, localhost = npx hardhat node)",
  ).default(IN_PROCESS_NETWORK);
const dataDirOption = () =>
  new Option("--data-dir <dir>", "keys, runs and deployment files (env WESFLOW_DATA_DIR)")
    .default(defaultDataDir())
    .argParser((dir: string) => userPath(dir));

const journalOption = () =>
  new Option(
    "--journal <file>",
    "the run journal, a SQLite file (env WESFLOW_JOURNAL; default <data-dir>/journal.sqlite)",
  ).argParser((file: string) => userPath(file));
const callTimeoutOption = () =>
  new Option("--call-timeout <ms>", "timeout of each external call attempt (default 10000)").argParser(
    milliseconds,
  );

const confirmationsOption = () =>
  new Option(
    "--confirmations <n>",
    "blocks a run's transaction must be in (its own included) before the run counts as recorded and its state change is applied; " +
      "the in-process network gives only 1",
  )
    .argParser(confirmationsArg)
    .default(1);
const txTimeoutOption = () =>
  new Option(
    "--tx-timeout <ms>",
    "how long a run's transaction is waited for, with its confirmations (default 120000)",
  ).argParser(milliseconds);

/** What `wesflow demo` takes. */
/** A built-in scenario as `wesflow scenarios` shows it. */
function describeScenario(found: Scenario) {
  const definition = found.createDefinition();
  return {
    name: found.name,
    description: found.description,
    systems: [...new Set(Object.values(found.operationSystems))].sort(),
    instances: {
      committed: definition.template,
      rolledBack: definition.rollbackTemplate ?? definition.template,
    },
    stateDomains: definition.state ? [definition.state.domain] : [],
  };
}

interface DemoOptions {
  runs?: number;
  rollback: boolean;
  dataDir: string;
  confirmations: number;
  txTimeout?: number;
}

function readInputFile(file: string): unknown {
  try {
    return JSON.parse(fs.readFileSync(userPath(file), "utf8"));
  } catch (error) {
    throw new InvalidArgumentError(`cannot read input ${file}: ${(error as Error).message}`);
  }
}

function summaryLines(run: RunSummary): string[] {
  return [
    `workflow ${run.workflowId} (${run.scenario}): ${run.outcome}`,
    ...(run.failure
      ? [
          `  failed step ${run.failure.step} [${run.failure.evidence.toLowerCase()}]: ${run.failure.reason}`,
          ...(run.failure.settlement
            ? [
                `  its outcome settled by the system's status query: ${run.failure.settlement}${
                  run.failure.settlement === "TOOK_EFFECT"
                    ? " (so it was compensated too)"
                    : " (nothing to undo)"
                }`,
              ]
            : []),
        ]
      : []),
    `  trace root ${run.traceRoot}`,
    ...(run.state
      ? [
          `  state ${run.state.domain}: root ${run.state.rootBefore} → ${
            run.state.rootAfter === run.state.rootBefore ? "unchanged" : run.state.rootAfter
          }`,
        ]
      : []),
    `  tx ${run.txHash} in block ${run.blockNumber}, ${run.gasUsed} gas` +
      (run.batch ? ` (a batch of ${run.batch.runs} runs: ${run.batch.gasPerRun} gas per run)` : ""),
    `  execute ${run.timings.executeMs} ms, prove ${run.timings.proveMs} ms, submit ${run.timings.submitMs} ms`,
    `  bundle ${run.bundlePath}`,
  ];
}

/** The steps of a run as its bundle holds them (attestations re-verified), for the terminal. */
async function trailLines(bundlePath: string): Promise<string[]> {
  const { formatTrail, trailOfBundle } = await audit();
  const trail = await trailOfBundle(readBundle(path.resolve(bundlePath)));
  const { verdict, steps } = formatTrail(trail, "");
  // The run was just recorded: its bundle's checks offline (verify without a network) say whether it holds.
  if (trail.verified && trail.namesVerified) return ["  steps:", ...steps.map((line) => `    ${line}`)];
  return [...verdict.map((line) => `  ${line}`), ...steps.map((line) => `    ${line}`)];
}

async function printRun(run: RunSummary, json: boolean | undefined): Promise<void> {
  if (json) {
    out(JSON.stringify(run));
    return;
  }
  summaryLines(run).forEach((line) => out(line));
  if (run.outcome === "ROLLED_BACK") (await trailLines(run.bundlePath)).forEach((line) => out(line));
}

/**
 * Starts n runs at once in one session: they execute concurrently, wait in the proving queue, and
 * are submitted one by one. Prints each run's summary (or why it was not recorded) when all ended.
 */
async function runConcurrently(
  session: ScenarioSession,
  n: number,
  json: boolean | undefined,
): Promise<void> {
  const first = Date.now() % 1_000_000;
  const started = performance.now();
  let ended = 0;
  const results = await Promise.allSettled(
    Array.from({ length: n }, (_, i) =>
      session.run(session.scenario.demoInput(first + i)).finally(() => {
        ended += 1;
        process.stderr.write(
          `• ${ended}/${n} runs ended (${Math.round((performance.now() - started) / 1000)} s)\n`,
        );
      }),
    ),
  );
  const summaries = results.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
  const failed = results.flatMap((r) => (r.status === "rejected" ? [r.reason as unknown] : []));
  if (json) {
    out(JSON.stringify(summaries));
  } else {
    for (const run of summaries) {
      await printRun(run, false);
      out("");
    }
    failed.forEach((error) => out(`not recorded: ${describeError(error)}`));
  }
  if (failed.length > 0) throw new UsageError(`${failed.length} of ${n} runs were not recorded`);
}

/** A run whose process died mid-execution is finished before anything new starts ("the executor on start"). */
async function finishInterruptedRuns(session: ScenarioSession): Promise<void> {
  if (session.interruptedRuns().length === 0) return;
  const note = (text: string) => process.stderr.write(`• ${text}\n`);
  for (const outcome of await session.resume({ onlyInterrupted: true, progress: terminalProgress() })) {
    if (outcome.summary) {
      note(
        `finished interrupted run ${outcome.runId}: ${outcome.summary.outcome}, tx ${outcome.summary.txHash}`,
      );
    } else {
      note(`interrupted run ${outcome.runId} is not finished: ${describeError(outcome.error)}`);
    }
  }
}

function statusJson(run: JournalRun) {
  return {
    runId: run.runId,
    scenario: run.scenario,
    status: run.status,
    outcome: run.outcome ?? null,
    failedStep: run.failedStep ?? null,
    reason: run.reason ?? null,
    lastError: run.lastError ?? null,
    interrupted: (run.status === "RUNNING" || run.status === "COMPENSATING") && !ownerAlive(run.owner),
    owner: run.owner ?? null,
    records: run.stepCount,
    bundlePath: run.bundlePath ?? null,
    network: run.network ?? null,
    txHash: run.txHash ?? null,
    createdAt: run.createdAt,
    updatedAt: run.updatedAt,
  };
}

function statusLines(runs: JournalRun[], file: string): string[] {
  if (runs.length === 0) return [`No runs in the journal ${file}.`];
  const lines = [`${runs.length} run(s) in the journal ${file}, newest first:`, ""];
  for (const run of runs) {
    const info = statusJson(run);
    const status = info.interrupted
      ? `${run.status} (interrupted)`
      : run.owner && run.status !== "NEEDS_ATTENTION"
        ? `${run.status} (${run.owner})`
        : run.status;
    lines.push(
      `${run.runId.slice(0, 18)}…  ${run.scenario.padEnd(6)} ${status.padEnd(22)} ${String(run.stepCount).padStart(2)} records  ${run.updatedAt}`,
    );
    if (run.failedStep) lines.push(`    failed step: ${run.failedStep}`);
    if (run.reason) lines.push(`    needs attention: ${run.reason}`);
    if (run.lastError) lines.push(`    last error: ${run.lastError}`);
    if (run.txHash) lines.push(`    recorded on ${run.network}: tx ${run.txHash}`);
    if (info.interrupted || run.status === "NEEDS_ATTENTION" || run.lastError) {
      // A built-in scenario's runs resume by name; a workflow file's runs need the file again.
      const scenarioArg =
        run.scenario === DEFAULT_SCENARIO
          ? ""
          : SCENARIOS[run.scenario]
            ? ` --scenario ${run.scenario}`
            : ` --scenario <the workflow file of "${run.scenario}">`;
      lines.push(`    → wesflow resume ${run.runId}${scenarioArg}`);
    }
  }
  return lines;
}

function resumeJson(outcome: ResumeOutcome) {
  return {
    runId: outcome.runId,
    statusBefore: outcome.statusBefore,
    ...(outcome.summary ? { summary: outcome.summary } : {}),
    ...(outcome.error ? { error: describeError(outcome.error) } : {}),
    ...(outcome.note ? { note: outcome.note } : {}),
  };
}

export function buildProgram(): Command {
  const program = new Command()
    .name("wesflow")
    .version(pkg.version)
    .description(pkg.description)
    .showHelpAfterError()
    .option(
      "--scenario-folder <dir>",
      "register a scenario kept in a folder of its own (index.ts + circuits.json) before the command runs, " +
        "so that run, verify, audit, state and scenarios know it (repeatable; env WESFLOW_SCENARIO_FOLDERS, separated by " +
        `"${path.delimiter}")`,
      (dir: string, dirs: string[] = []) => [...dirs, dir],
    )
    .hook("preAction", (command) => {
      const fromEnv = (process.env.WESFLOW_SCENARIO_FOLDERS ?? "").split(path.delimiter).filter(Boolean);
      const folders = [
        ...fromEnv,
        ...((command.opts() as { scenarioFolder?: string[] }).scenarioFolder ?? []),
      ];
      for (const dir of folders) registerScenarioFolder(userPath(dir));
    });

  program
    .command("setup")
    .description("compile the circuits, run the Groth16 setup, export verifiers, compile the contracts")
    .option("--ptau <file>", "import a powers-of-tau ceremony file (default: the committed dev ptau)")
    .option("--if-stale", "only rebuild what changed since the last setup")
    .option("--only <instances...>", "only these instances of circuits.json")
    .action(async (opts: { ptau?: string; ifStale?: boolean; only?: string[] }) => {
      const result = await runSetup({
        ptauPath: opts.ptau && userPath(opts.ptau),
        ifStale: opts.ifStale,
        only: opts.only,
        progress: terminalProgress(),
      });
      for (const record of result.built) {
        process.stderr.write(
          `• ${record.instance}: ${record.constraints} constraints, ptau ${record.ptau.file}\n`,
        );
      }
    });

  program
    .command("demo")
    .description(
      `what \`npm start\` runs: every built-in scenario (${SCENARIO_NAMES.join(", ")}): runs proven and recorded on the in-process chain, one rolled back, then the audit trail`,
    )
    .option(
      "--runs <n>",
      "how many committed runs of each scenario (default: the scenario's, 2 for the order, 1 clearing batch)",
      positiveInt,
    )
    .addOption(
      new Option("--orders <n>", "the same as --runs (kept for older scripts)")
        .argParser(positiveInt)
        .hideHelp(),
    )
    .option("--no-rollback", "skip the run whose system refuses (rolled back and proven)")
    .option("--scenario <name>", "only this built-in scenario")
    .addOption(dataDirOption())
    .addOption(confirmationsOption())
    .addOption(txTimeoutOption())
    .action(async (opts: DemoOptions & { orders?: number; scenario?: string }) => {
      // Refused before anything is built: the in-process network would never give more.
      if (opts.confirmations > 1) {
        throw new UsageError(
          "demo runs on the in-process network, which mines a block only when a transaction is sent: --confirmations must be 1",
        );
      }
      const names = opts.scenario === undefined ? SCENARIO_NAMES : [scenario(opts.scenario).name];
      for (const name of names) {
        await ensureBuilt(name);
        const { ScenarioSession } = await pipeline();
        const { readAuditTrail, formatAuditTrail } = await audit();
        const session = await ScenarioSession.open({
          scenario: name,
          network: IN_PROCESS_NETWORK,
          dataDir: opts.dataDir,
          logger: createLogger(),
          confirmations: opts.confirmations,
          txTimeoutMs: opts.txTimeout,
        });
        try {
          const demo = session.scenario.demo;
          const runs = opts.orders ?? opts.runs ?? demo?.runs ?? 2;
          out(`wesflow demo: ${runs} ${demo?.runNoun ?? name} run(s) on the in-process Hardhat network`);
          out(
            `registry ${session.chain.deployment.registry}, provider set ${toHex32(session.systems.providers.root)}`,
          );
          out(
            `external systems: ${Object.entries(session.systems.endpoints)
              .map(([s, url]) => `${s} ${url}`)
              .join(", ")}`,
          );
          out("");
          for (let n = 1; n <= runs; n++) {
            const run = await session.run(session.scenario.demoInput(n), terminalProgress());
            summaryLines(run).forEach((line) => out(line));
            out("");
          }
          if (opts.rollback && demo) {
            out(`next: ${demo.rollback.description} → rolled back, proven and recorded`);
            if ("actor" in demo.rollback)
              session.injectActorFault(demo.rollback.actor, demo.rollback.kind, 1);
            else session.injectFault(demo.rollback.system, demo.rollback.fault);
            const run = await session.run(session.scenario.demoInput(runs + 1), terminalProgress());
            summaryLines(run).forEach((line) => out(line));
            out("");
          }
          const entries = await readAuditTrail({
            registry: session.chain.registry,
            provider: session.chain.signer.provider!,
            network: session.chain.network,
            deployment: session.chain.deployment,
            runsDir: session.runsDir,
          });
          out(formatAuditTrail(entries, `${IN_PROCESS_NETWORK} (chain ${session.chain.chainId})`));
        } finally {
          await session.close();
        }
      }
    });

  program
    .command("run")
    .description(
      `run one workflow, prove it and record it: a built-in scenario (${SCENARIO_NAMES.join(", ")}) or a workflow file`,
    )
    .argument(
      "<scenario>",
      "built-in scenario name, or the path of a workflow file (./my.workflow.ts, default-exporting defineWorkflow({...}))",
    )
    .addOption(networkOption())
    .addOption(dataDirOption())
    .addOption(journalOption())
    .option("--input <file>", "the workflow's input as JSON (default: the scenario's demo input)")
    .option(
      "--fail <target:kind>",
      "make a system fail, to see a rollback (repeatable): <system>:<kind> fails the system's forward call " +
        "(order: payment, logistics, invoicing; supply-chain: erp, sql, logistics; clearing: venue, bank; `wesflow operations` lists every system), " +
        "<operation>:<kind> that operation (e.g. payment.refund:error, erp.produce:decline), " +
        "<actor>:<kind> a simulated actor (supply-chain: lab:fail-inspection); " +
        `kinds: ${FAULT_KINDS.join(", ")} (the *-after-effect kinds and unknown-key perform the effect, then answer badly or not at all), ` +
        "or a refusal the operation names (bank.statement:mismatch)",
      collectFaultSpec,
    )
    .addOption(callTimeoutOption())
    .addOption(confirmationsOption())
    .addOption(txTimeoutOption())
    .option(
      "--concurrent <n>",
      "start n runs at once (each with its own input); proofs go through a queue, one at a time",
      positiveInt,
      1,
    )
    .option(
      "--batch <n>",
      "submit proven runs of one template together, up to n (2-32) in one transaction (submitBatch: " +
        "N + 3 pairings instead of 4N); a state template's runs are prepared as a chain, each on top of the " +
        "ones before it, and a batch is a stretch of that chain",
      batchSizeArg,
    )
    .addOption(
      new Option(
        "--batch-window <ms>",
        "how long a proven run waits for others to join its batch at most (default 30000); a batch is sent " +
          "earlier when full or when no other run is being proven",
      ).argParser(milliseconds),
    )
    .option("--json", "print one JSON object on the last line of stdout (with --concurrent: a JSON array)")
    .action(
      async (
        name: string,
        opts: {
          batch?: number;
          batchWindow?: number;
          network: string;
          dataDir: string;
          journal?: string;
          input?: string;
          fail?: string[];
          callTimeout?: number;
          confirmations: number;
          txTimeout?: number;
          concurrent: number;
          json?: boolean;
        },
      ) => {
        const input = opts.input ? readInputFile(opts.input) : undefined;
        if (input !== undefined && opts.concurrent > 1) {
          throw new UsageError(
            "--concurrent starts runs with the scenario's example inputs: leave out --input",
          );
        }
        // A path (workflow file or scenario folder) is the user's, relative to where they ran wesflow.
        const scenario = resolveScenario(name, invocationDir);
        const faults = (opts.fail ?? []).map((spec) => parseFaultSpec(spec, scenario));
        await ensureProvable(scenario);
        const { ScenarioSession, RunNotRecordedError } = await pipeline();
        const session = await ScenarioSession.open({
          scenario,
          network: opts.network,
          dataDir: opts.dataDir,
          journalFile: opts.journal,
          retry: opts.callTimeout ? { callTimeoutMs: opts.callTimeout } : undefined,
          logger: createLogger(),
          confirmations: opts.confirmations,
          txTimeoutMs: opts.txTimeout,
          batchSize: opts.batch,
          batchWindowMs: opts.batchWindow,
        });
        try {
          await finishInterruptedRuns(session);
          for (const request of faults) {
            if ("actor" in request) {
              session.injectActorFault(request.actor, request.kind, request.times);
              process.stderr.write(`• fault injected: ${request.text}\n`);
            } else {
              session.injectFault(request.system, request.fault);
              process.stderr.write(
                `• fault injected: ${request.text} (${request.system} ${request.fault.operation})\n`,
              );
            }
          }
          if (opts.concurrent > 1) {
            await runConcurrently(session, opts.concurrent, opts.json);
            return;
          }
          try {
            const run = await session.run(
              input ?? session.scenario.demoInput(Date.now() % 1_000_000),
              terminalProgress(),
            );
            await printRun(run, opts.json);
            if (input === undefined && faults.length === 0 && run.outcome === "ROLLED_BACK" && !opts.json) {
              out(
                `note: the example input of ${name} did not commit: step ${run.failure?.step ?? "?"} failed (${run.failure?.reason ?? "see above"})`,
              );
            }
          } catch (error) {
            // Executed, but not proven or recorded: still show what happened.
            if (error instanceof RunNotRecordedError && !opts.json) {
              out(`workflow ${error.runId} (${name}): ${error.outcome}, not recorded`);
              (await trailLines(error.bundlePath)).forEach((line) => out(line));
            }
            // A workflow file's runs are resumed with that file: say so in the hint.
            if (
              isWorkflowFileArg(name) &&
              error instanceof Error &&
              /`wesflow resume [^`]+`/.test(error.message)
            ) {
              error.message = error.message.replace(
                /`wesflow resume ([^`]+)`/,
                (_m, id: string) => `\`wesflow resume ${id} --scenario ${name}\``,
              );
            }
            throw error;
          }
        } finally {
          await session.close();
        }
      },
    );

  program
    .command("submit")
    .description(
      "submit proven run bundles (files, or runs folders such as .wesflow/runs) to a network's registry and complete them with their transactions",
    )
    .argument("<bundles...>", "bundle files, or folders whose <workflowId>/bundle.json are taken")
    .addOption(networkOption().default("localhost"))
    .addOption(dataDirOption())
    .option(
      "--batch",
      "send the bundles of one template in batch transactions of up to 32 (submitBatch), a state template's in chain order; a refused bundle is reported, the others recorded",
    )
    .addOption(confirmationsOption())
    .addOption(txTimeoutOption())
    .option("--json", "print a JSON array on the last line")
    .action(
      async (
        bundles: string[],
        opts: {
          network: string;
          dataDir: string;
          batch?: boolean;
          confirmations: number;
          txTimeout?: number;
          json?: boolean;
        },
      ) => {
        const { submitBundleFiles } = await pipeline();
        const { submitter, deployment, submissions } = await submitBundleFiles({
          network: opts.network,
          dataDir: opts.dataDir,
          paths: bundles.map(userPath),
          batch: opts.batch === true,
          confirmations: opts.confirmations,
          timeoutMs: opts.txTimeout,
        });
        const rows = submissions.map((s) => ({
          file: path.relative(invocationDir, s.file) || s.file,
          workflowId: toHex32(BigInt(s.workflowId)),
          template: s.template,
          ...(s.tx
            ? {
                txHash: s.tx.txHash,
                blockNumber: s.tx.blockNumber,
                gasUsed: s.tx.gasUsed,
                runsInTransaction: s.runsInTransaction,
              }
            : { error: describeError(s.error) }),
        }));
        if (opts.json) out(JSON.stringify(rows));
        else {
          out(
            `registry ${deployment.registry} on ${opts.network} (chain ${deployment.chainId}), submitter ${submitter}`,
          );
          for (const row of rows) {
            out(
              `${row.workflowId} ${row.template}: ` +
                ("txHash" in row
                  ? `tx ${row.txHash} in block ${row.blockNumber}, ${row.gasUsed} gas` +
                    (row.runsInTransaction && row.runsInTransaction > 1
                      ? ` (a batch of ${row.runsInTransaction} runs)`
                      : "")
                  : `not recorded: ${row.error}`),
            );
          }
        }
        const refused = rows.filter((row) => "error" in row).length;
        if (refused > 0) throw new UsageError(`${refused} of ${rows.length} bundles were not recorded`);
      },
    );

  program
    .command("status")
    .description("the runs in the journal: status, failed step, runs that need attention and why")
    .addOption(dataDirOption())
    .addOption(journalOption())
    .option("--json", "print a JSON array")
    .action((opts: { dataDir: string; journal?: string; json?: boolean }) => {
      const file = opts.journal ?? defaultJournalFile(opts.dataDir);
      if (!fs.existsSync(file)) {
        out(opts.json ? "[]" : `No journal at ${file} yet: no runs.`);
        return;
      }
      const journal = Journal.open(file);
      try {
        const runs = journal.listRuns();
        if (opts.json) out(JSON.stringify(runs.map(statusJson)));
        else statusLines(runs, file).forEach((line) => out(line));
      } finally {
        journal.close();
      }
    });

  program
    .command("resume")
    .description(
      "finish runs from the journal: interrupted ones, parked ones (NEEDS_ATTENTION), and executed runs not yet recorded",
    )
    .argument("[id]", "a run id (0x…, or an unambiguous prefix); default: every such run of the scenario")
    .option(
      "--scenario <name|file>",
      "the scenario (or workflow file) whose runs to resume; needed with an id for a workflow file's run",
      DEFAULT_SCENARIO,
    )
    .addOption(networkOption())
    .addOption(dataDirOption())
    .addOption(journalOption())
    .addOption(callTimeoutOption())
    .addOption(confirmationsOption())
    .addOption(txTimeoutOption())
    .option("--json", "print a JSON array of outcomes on the last line")
    .action(
      async (
        id: string | undefined,
        opts: {
          scenario: string;
          network: string;
          dataDir: string;
          journal?: string;
          callTimeout?: number;
          confirmations: number;
          txTimeout?: number;
          json?: boolean;
        },
      ) => {
        const file = opts.journal ?? defaultJournalFile(opts.dataDir);
        let scenario = resolveScenario(opts.scenario, invocationDir);
        if (id !== undefined) {
          if (!fs.existsSync(file)) throw new UsageError(`no journal at ${file}`);
          const journal = Journal.open(file);
          let runScenario: string;
          try {
            runScenario = journal.getRun(journal.resolveRunId(id))!.scenario;
          } finally {
            journal.close();
          }
          if (runScenario !== scenario.name) {
            if (!SCENARIOS[runScenario]) {
              throw new UsageError(
                `run ${id} is a run of workflow "${runScenario}" from a workflow file: give the file with --scenario ./path/to/file.ts`,
              );
            }
            scenario = SCENARIOS[runScenario];
          }
        }
        const scenarioName = scenario.name;
        const { ScenarioSession } = await pipeline();
        const session = await ScenarioSession.open({
          scenario,
          network: opts.network,
          dataDir: opts.dataDir,
          journalFile: file,
          retry: opts.callTimeout ? { callTimeoutMs: opts.callTimeout } : undefined,
          logger: createLogger(),
          confirmations: opts.confirmations,
          txTimeoutMs: opts.txTimeout,
        });
        let outcomes: ResumeOutcome[];
        try {
          outcomes = await session.resume({ runId: id, progress: terminalProgress() });
          if (opts.json) {
            out(JSON.stringify(outcomes.map(resumeJson)));
          } else if (outcomes.length === 0) {
            out(`Nothing to resume: no unfinished ${scenarioName} runs in ${file}.`);
          } else {
            for (const outcome of outcomes) {
              if (outcome.summary) await printRun(outcome.summary, false);
              else if (outcome.note) out(`workflow ${outcome.runId}: ${outcome.note}`);
              else out(`workflow ${outcome.runId}: not finished: ${describeError(outcome.error)}`);
              out("");
            }
          }
        } finally {
          await session.close();
        }
        const failed = outcomes.filter((o) => o.error);
        if (failed.length > 0) {
          throw new UsageError(`${failed.length} of ${outcomes.length} run(s) could not be finished`);
        }
      },
    );

  addAuditFilterOptions(
    program
      .command("audit")
      .description(
        "list recorded runs from the registry's events, with each run's trail when its bundle is here",
      )
      .option("--workflow <id>", "only this workflow id (0x-hex or decimal)", workflowIdArg),
  )
    .addOption(networkOption().default("localhost"))
    .addOption(dataDirOption())
    .option("--json", "print a JSON array")
    .action(
      async (
        opts: { workflow?: bigint; network: string; dataDir: string; json?: boolean } & AuditFilterOptions,
      ) => {
        const { openRegistryReader } = await pipeline();
        const { readAuditTrail, formatAuditTrail } = await audit();
        const reader = await openRegistryReader({ network: opts.network, dataDir: opts.dataDir });
        const entries = await readAuditTrail({
          registry: reader.registry,
          provider: reader.provider,
          network: opts.network,
          deployment: reader.deployment,
          runsDir: path.join(opts.dataDir, "runs"),
          workflowId: opts.workflow,
          ...(await auditFilters(opts)),
        });
        if (opts.workflow !== undefined && entries.length === 0) {
          throw new UsageError(`workflow ${toHex32(opts.workflow)} is not recorded on ${opts.network}`);
        }
        out(opts.json ? JSON.stringify(entries) : formatAuditTrail(entries, opts.network));
      },
    );

  program
    .command("circuits-info")
    .description("per circuit instance: constraints, public inputs, and the powers-of-tau size it needs")
    .action(() => {
      for (const instance of loadCircuitInstances()) {
        const record = readSetupRecord(instance);
        if (!record) {
          out(`${instance.name}: not built (run npm run setup)`);
          continue;
        }
        const power = Math.max(8, Math.ceil(Math.log2(record.constraints + record.publicInputs + 1)));
        out(
          `${instance.name}: ${record.constraints} constraints, ${record.publicInputs} public inputs, needs ptau 2^${power}`,
        );
      }
    });

  registerBenchCommand(program, {
    dataDirOption,
    positiveInt,
    batchSizesArg,
    userPath,
    defaultResults: path.join(PROJECT_ROOT, "bench", "results.json"),
    invocationDir: () => invocationDir,
  });

  program
    .command("bench-journal")
    .description("measure the durable journal's overhead: a scenario's runs executed with and without it")
    .option("--runs <n>", "runs of each kind (after 2 warm-up runs each)", positiveInt, 20)
    .option("--scenario <name>", "the built-in scenario to measure", DEFAULT_SCENARIO)
    .addOption(dataDirOption())
    .option("--json", "print the figures as JSON")
    .action(async (opts: { runs: number; scenario: string; dataDir: string; json?: boolean }) => {
      const { measureJournalOverhead } = await pipeline();
      const figures = await measureJournalOverhead({
        runs: opts.runs,
        dataDir: opts.dataDir,
        scenario: scenario(opts.scenario).name,
      });
      if (opts.json) {
        out(JSON.stringify(figures));
        return;
      }
      out(
        `wesflow bench-journal: ${figures.runs} ${figures.scenario} runs each, ${figures.recordsPerRun} records and ${figures.callsPerRun} calls per run`,
      );
      out(
        `  median execute without journal ${figures.medianMs.withoutJournal} ms, with journal ${figures.medianMs.withJournal} ms`,
      );
      out(
        `  journal overhead: ${figures.overheadPerRunMs} ms per run, ${figures.overheadPerStepMs} ms per step ` +
          `(${figures.transactionsPerRun} transactions per run, ${figures.perTransactionMs} ms each, synchronous=FULL)`,
      );
    });

  registerAuditCommands(program);
  registerStateCommand(program, { dataDirOption, journalOption });
  registerInitCommand(program, userPath);
  registerOperationsCommand(program);
  registerNotaryCommand(program, { dataDirOption });

  program
    .command("scenarios")
    .description(
      "the registered scenarios (built in, and those of --scenario-folder): their external systems, circuit instances and state domains",
    )
    .option("--json", "print a JSON array on the last line")
    .action((opts: { json?: boolean }) => {
      const described = Object.values(SCENARIOS).map((registered) => describeScenario(registered));
      if (opts.json) {
        out(JSON.stringify(described));
        return;
      }
      for (const d of described) {
        out(`${d.name}: ${d.description}`);
        out(`  systems    ${d.systems.join(", ")}`);
        out(
          `  instances  ${d.instances.committed} (committed)${d.instances.rolledBack !== d.instances.committed ? `, ${d.instances.rolledBack} (rolled back)` : " (committed and rolled back)"}`,
        );
        out(`  state      ${d.stateDomains.length > 0 ? d.stateDomains.join(", ") : "none"}`);
      }
    });
  return program;
}

export async function main(argv: string[]): Promise<void> {
  invocationDir = process.cwd();
  // The checkout's tools (circomkit, hardhat) work relative to the project; the installed package
  // stays in the user's folder (its paths are absolute, its data in the user's .wesflow/).
  if (!IS_PACKAGED) process.chdir(PROJECT_ROOT);
  let code = 0;
  try {
    await buildProgram().parseAsync(argv);
  } catch (error) {
    process.stderr.write(`wesflow: ${describeError(error)}\n`);
    code = 1;
  }
  // snarkjs worker threads and hardhat's provider may keep the event loop alive: exit explicitly.
  process.exit(code);
}
