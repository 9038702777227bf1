import fs from "node:fs";
import path from "node:path";
import { Command, InvalidArgumentError, Option } from "commander";
import { parseField, toHex32 } from "../crypto";
import type { RunSummary } from "../pipeline";
import { createLogger, defaultDataDir, PROJECT_ROOT } from "../project";
import { loadCircuitInstances, readSetupRecord, runSetup } from "../prover";
import { terminalProgress } from "./progress";
import { describeError, UsageError } from "./errors";

/** Where the user ran the command: relative paths in options are relative to it. */
let invocationDir = process.cwd();
const userPath = (file: string) => path.resolve(invocationDir, file);

// eslint-disable-next-line @typescript-eslint/no-require-imports
const pkg = require("../../package.json") as { name: string; version: string; description: string };

const out = (text: string) => process.stdout.write(text + "\n");

// Loaded on use: they import the contracts' typechain bindings, which exist only after `setup`.
const pipeline = () => import("../pipeline");
const audit = () => import("../audit");
/** The in-process Hardhat network's name (kept here so `setup` loads nothing that needs compiled contracts). */
const IN_PROCESS_NETWORK = "hardhat";
const SCENARIO_NAMES = ["order"];

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 1000)
    throw new InvalidArgumentError("expected an integer from 1 to 1000");
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
    `  trace root ${run.traceRoot}`,
    `  tx ${run.txHash} in block ${run.blockNumber}, ${run.gasUsed} gas`,
    `  execute ${run.timings.executeMs} ms, prove ${run.timings.proveMs} ms, submit ${run.timings.submitMs} ms`,
    `  bundle ${run.bundlePath}`,
  ];
}

export function buildProgram(): Command {
  const program = new Command()
    .name("wesflow")
    .version(pkg.version)
    .description(pkg.description)
    .showHelpAfterError();

  program
    .command("setup")
    .description("compile the circuits, run the Groth16 setup, export verifiers, compile the contracts")
    .option("--ptau <file>", "import a powers-of-tau ceremony file (default: the committed dev ptau)")
    .option("--if-stale", "only rebuild what changed since the last setup")
    .action(async (opts: { ptau?: string; ifStale?: boolean }) => {
      const result = await runSetup({
        ptauPath: opts.ptau && userPath(opts.ptau),
        ifStale: opts.ifStale,
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
      "what `npm start` runs: order runs proven and recorded on the in-process chain, then the audit trail",
    )
    .option("--orders <n>", "how many orders to run", positiveInt, 2)
    .addOption(dataDirOption())
    .action(async (opts: { orders: number; dataDir: string }) => {
      const { ScenarioSession } = await pipeline();
      const { readAuditTrail, formatAuditTrail } = await audit();
      const session = await ScenarioSession.open({
        scenario: "order",
        network: IN_PROCESS_NETWORK,
        dataDir: opts.dataDir,
        logger: createLogger(),
      });
      try {
        out(`wesflow demo: ${opts.orders} e-commerce order(s) on the in-process Hardhat network`);
        out(
          `registry ${session.chain.deployment.registry}, provider set ${toHex32(session.systems.providers.root)}`,
        );
        out(
          `external systems: ${Object.entries(session.systems.endpoints)
            .map(([s, url]) => `${s} ${url}`)
            .join(", ")}`,
        );
        out("");
        for (let n = 1; n <= opts.orders; n++) {
          const run = await session.run(session.scenario.demoInput(n), terminalProgress());
          summaryLines(run).forEach((line) => out(line));
          out("");
        }
        const entries = await readAuditTrail({
          registry: session.chain.registry,
          provider: session.chain.signer.provider!,
          runsDir: session.runsDir,
        });
        out(formatAuditTrail(entries, `${IN_PROCESS_NETWORK} (chain ${session.chain.chainId})`));
      } finally {
        await session.close();
      }
    });

  program
    .command("run")
    .description(`run one workflow, prove it and record it (scenarios: ${SCENARIO_NAMES.join(", ")})`)
    .argument("<scenario>", "built-in scenario name")
    .addOption(networkOption())
    .addOption(dataDirOption())
    .option("--input <file>", "the workflow's input as JSON (default: the scenario's demo input)")
    .option("--json", "print one JSON object on the last line of stdout")
    .action(
      async (name: string, opts: { network: string; dataDir: string; input?: string; json?: boolean }) => {
        const input = opts.input ? readInputFile(opts.input) : undefined;
        const { ScenarioSession } = await pipeline();
        const session = await ScenarioSession.open({
          scenario: name,
          network: opts.network,
          dataDir: opts.dataDir,
          logger: createLogger(),
        });
        try {
          const run = await session.run(
            input ?? session.scenario.demoInput(Date.now() % 1_000_000),
            terminalProgress(),
          );
          if (opts.json) out(JSON.stringify(run));
          else summaryLines(run).forEach((line) => out(line));
        } finally {
          await session.close();
        }
      },
    );

  program
    .command("audit")
    .description(
      "list recorded runs from the registry's events, with each run's trail when its bundle is here",
    )
    .option("--workflow <id>", "only this workflow id (0x-hex or decimal)", workflowIdArg)
    .addOption(networkOption().default("localhost"))
    .addOption(dataDirOption())
    .option("--json", "print a JSON array")
    .action(async (opts: { workflow?: bigint; network: string; dataDir: string; json?: boolean }) => {
      const { openRegistryReader } = await pipeline();
      const { readAuditTrail, formatAuditTrail } = await audit();
      const reader = await openRegistryReader({ network: opts.network, dataDir: opts.dataDir });
      const entries = await readAuditTrail({
        registry: reader.registry,
        provider: reader.provider,
        runsDir: path.join(opts.dataDir, "runs"),
        workflowId: opts.workflow,
      });
      if (opts.workflow !== undefined && entries.length === 0) {
        throw new UsageError(`workflow ${toHex32(opts.workflow)} is not recorded on ${opts.network}`);
      }
      out(opts.json ? JSON.stringify(entries) : formatAuditTrail(entries, opts.network));
    });

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

  program
    .command("bench")
    .description("measure execute + prove + submit in one warm process against the performance budgets")
    .option("--runs <n>", "runs to measure (the first is warm-up)", positiveInt, 6)
    .addOption(dataDirOption())
    .option("--json", "print the figures as JSON")
    .action(async (opts: { runs: number; dataDir: string; json?: boolean }) => {
      const { benchmarkScenario } = await pipeline();
      const figures = await benchmarkScenario({
        scenario: "order",
        runs: opts.runs,
        dataDir: opts.dataDir,
        logger: createLogger(),
        onRun: (n, run, totalMs) =>
          process.stderr.write(
            `• run ${n}: execute ${run.timings.executeMs} ms, prove ${run.timings.proveMs} ms, submit ${run.timings.submitMs} ms, total ${totalMs} ms, ${run.gasUsed} gas\n`,
          ),
      });
      const constraints = loadCircuitInstances().map(
        (i) => [i.name, readSetupRecord(i)?.constraints] as const,
      );
      if (opts.json) {
        out(JSON.stringify({ ...figures, constraints: Object.fromEntries(constraints) }));
        return;
      }
      const budget = (value: number, limit: number, unit: string) =>
        `${value} ${unit} (budget ${limit} ${unit}: ${((value / limit) * 100).toFixed(0)} %)`;
      out(`wesflow bench: ${figures.scenario}, ${figures.runs} runs in one process on the in-process chain`);
      for (const [name, count] of constraints) {
        if (count !== undefined) out(`  constraints ${name}: ${budget(count, 2 ** 16, "constraints")}`);
      }
      out(
        `  median execute ${figures.medianMs.execute} ms, prove ${figures.medianMs.prove} ms, submit ${figures.medianMs.submit} ms`,
      );
      out(`  median execute + prove + submit: ${budget(figures.medianMs.total, 5000, "ms")}`);
      out(`  first run (cold: reads the proving key): ${figures.firstRunTotalMs} ms`);
      out(
        `  gas per recorded run: ${budget(figures.gasUsed.max, 300_000, "gas")} (min ${figures.gasUsed.min})`,
      );
      out(`  peak RSS: ${figures.peakRssMb} MB`);
    });

  return program;
}

export async function main(argv: string[]): Promise<void> {
  invocationDir = process.cwd();
  process.chdir(PROJECT_ROOT);
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
