import fs from "node:fs";
import path from "node:path";
import { Command, InvalidArgumentError, Option, type CommanderError } from "commander";
import { isAddress, isHexString } from "ethers";
import { readBundle } from "../bundle";
import { defaultDataDir } from "../project";
import { releaseProverResources } from "../prover";
import { describeError, UsageError } from "./errors";
import { loadAudit } from "./stages";

/**
 * The auditor's commands: `verify`, `disclose`, `verify-disclosure`, and the filters of `audit`.
 * Exit codes of verify and verify-disclosure: 0 valid, 1 invalid, 2 bad input (a missing or
 * malformed file, a network that cannot be used, a workflow id the registry does not know).
 */
export const EXIT_VALID = 0;
export const EXIT_INVALID = 1;
export const EXIT_BAD_INPUT = 2;

// Where the user ran the command (main() then changes to the project root): captured when the CLI
// loads, as main.ts does, so that relative paths are the user's.
const invocationDir = process.cwd();
const userPath = (file: string) => path.resolve(invocationDir, file);

const out = (text: string) => process.stdout.write(text + "\n");

// Loaded on use: they import the contracts' typechain bindings, which exist only after `setup`.
const audit = loadAudit;

const OUTCOMES = ["COMMITTED", "ROLLED_BACK"] as const;

const networkOption = () =>
  new Option(
    "--network <name>",
    "also check the run's entry on this network of hardhat.config.ts (e.g. localhost); default: offline checks only",
  );
const dataDirOption = () =>
  new Option("--data-dir <dir>", "where the network's deployment file is (env WESFLOW_DATA_DIR)")
    .default(defaultDataDir())
    .argParser((dir: string) => userPath(dir));

/**
 * Runs an action and exits with the code it returns; a thrown error is bad input: one line on
 * stderr (no stack unless WESFLOW_DEBUG), exit 2.
 */
function exitingAction<Args extends unknown[]>(
  action: (...args: Args) => Promise<number>,
): (...args: Args) => Promise<void> {
  return async (...args: Args) => {
    let code: number;
    try {
      code = await action(...args);
    } catch (error) {
      process.stderr.write(`wesflow: ${describeError(error)}\n`);
      code = EXIT_BAD_INPUT;
    }
    await releaseProverResources();
    process.exit(code);
  };
}

/** Usage errors of these commands (unknown option, missing argument) are bad input too: exit 2. */
function badInputExit(error: CommanderError): never {
  process.exit(error.exitCode === 0 ? 0 : EXIT_BAD_INPUT);
}

function stepArg(value: string): string {
  if (!/^\d+$/.test(value) && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(value)) {
    throw new InvalidArgumentError("expected a step index (0, 1, …) or a step name");
  }
  return value;
}

/** Registers `verify`, `disclose` and `verify-disclosure`. */
export function registerAuditCommands(program: Command): void {
  program
    .command("verify")
    .description(
      "check a run bundle without calling any external system: the proof, the public signals, the trace " +
        "root, every call's evidence, and with --network the registry's entry (exit 0 valid, 1 invalid, 2 bad input)",
    )
    .argument("<bundle>", "a run bundle (.wesflow/runs/<workflowId>/bundle.json)")
    .addOption(networkOption())
    .addOption(dataDirOption())
    .option("--json", 'print {"valid", "onChain", "reasons", …} as one JSON line, the last of stdout')
    .exitOverride(badInputExit)
    .action(
      exitingAction(async (file: string, opts: { network?: string; dataDir: string; json?: boolean }) => {
        const { verifyBundle, formatBundleVerification, bundleVerificationJson } = await audit();
        const bundle = readBundle(userPath(file));
        const result = await verifyBundle({ bundle, network: opts.network, dataDir: opts.dataDir });
        if (result.recorded === false && onlyChainFailed(result.checks)) {
          throw new UsageError(result.reasons[0]);
        }
        if (opts.json) {
          out(JSON.stringify(bundleVerificationJson(result)));
        } else {
          out(formatBundleVerification(result, file));
        }
        return result.valid ? EXIT_VALID : EXIT_INVALID;
      }),
    );

  program
    .command("disclose")
    .description(
      "write one step of a run with its Merkle path to the run's trace root, to show it without the other steps",
    )
    .argument("<bundle>", "a run bundle (.wesflow/runs/<workflowId>/bundle.json)")
    .requiredOption("--step <n>", "the step: its index in the trace (0 = first record) or its name", stepArg)
    .option("--out <file>", "where to write it (default <bundle dir>/step-<n>.disclosure.json)")
    .option("--json", "print {file, workflowId, step, traceRoot} as one JSON line")
    .exitOverride(badInputExit)
    .action(
      exitingAction(async (file: string, opts: { step: string; out?: string; json?: boolean }) => {
        const { discloseStep } = await audit();
        const bundleFile = userPath(file);
        const bundle = readBundle(bundleFile);
        const index = /^\d+$/.test(opts.step)
          ? Number(opts.step)
          : bundle.steps.findIndex((s) => s.stepName === opts.step);
        if (index < 0) {
          throw new UsageError(
            `the run has no step named ${opts.step} (steps: ${bundle.steps.map((s) => s.stepName).join(", ")})`,
          );
        }
        const disclosure = discloseStep(bundle, index);
        const target = opts.out
          ? userPath(opts.out)
          : path.join(path.dirname(bundleFile), `step-${index}.disclosure.json`);
        fs.mkdirSync(path.dirname(target), { recursive: true });
        fs.writeFileSync(target, JSON.stringify(disclosure, null, 2) + "\n");
        if (opts.json) {
          out(
            JSON.stringify({
              file: target,
              workflowId: disclosure.workflowId,
              step: disclosure.step.index,
              stepName: disclosure.step.stepName,
              traceRoot: disclosure.traceRoot,
            }),
          );
        } else {
          out(`wrote ${target}`);
          out(
            `  step ${index} (${disclosure.step.stepName}) of workflow ${disclosure.workflowId}, ` +
              `Merkle path of ${disclosure.traceDepth} levels to trace root ${disclosure.traceRoot}`,
          );
          if (!disclosure.chain) out("  note: the run is not recorded yet (the bundle has no submission)");
        }
        return EXIT_VALID;
      }),
    );

  program
    .command("verify-disclosure")
    .description(
      "check a step disclosure: its leaf, Merkle path and trace root, its call's attestation, and with --network " +
        "the registry's entry (exit 0 valid, 1 invalid, 2 bad input)",
    )
    .argument("<file>", "a disclosure written by wesflow disclose")
    .addOption(networkOption())
    .addOption(dataDirOption())
    .option("--json", 'print {"valid", "onChain", "reasons", …} as one JSON line, the last of stdout')
    .exitOverride(badInputExit)
    .action(
      exitingAction(async (file: string, opts: { network?: string; dataDir: string; json?: boolean }) => {
        const { readDisclosure, verifyDisclosure, formatDisclosureVerification } = await audit();
        const disclosure = readDisclosure(userPath(file));
        const result = await verifyDisclosure(disclosure, { network: opts.network, dataDir: opts.dataDir });
        if (result.recorded === false && result.checks.disclosure === "passed") {
          throw new UsageError(result.reasons[0]);
        }
        if (opts.json) {
          out(
            JSON.stringify({
              valid: result.valid,
              onChain: result.onChain,
              reasons: result.reasons,
              workflowId: result.workflowId,
              checks: result.checks,
              step: result.step,
              ...(result.call ? { call: result.call } : {}),
            }),
          );
        } else {
          out(formatDisclosureVerification(result, disclosure, opts.network));
        }
        return result.valid ? EXIT_VALID : EXIT_INVALID;
      }),
    );
}

/** A self-consistent bundle whose workflow id the registry does not know: bad input, not an invalid bundle. */
function onlyChainFailed(checks: Record<string, string>): boolean {
  return Object.entries(checks).every(([check, status]) => (check === "chain") === (status === "failed"));
}

// ---------------------------------------------------------------- wesflow audit's filters

export interface AuditFilterOptions {
  template?: string;
  submitter?: string;
  outcome?: (typeof OUTCOMES)[number];
  fromBlock?: number;
  toBlock?: number;
}

function blockArg(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n)) {
    throw new InvalidArgumentError("expected a block number (a non-negative integer)");
  }
  return n;
}

function addressArg(value: string): string {
  if (!isAddress(value)) throw new InvalidArgumentError(`${value} is not an address`);
  return value;
}

/** Adds `--template`, `--submitter`, `--outcome`, `--from-block` and `--to-block` to `wesflow audit`. */
export function addAuditFilterOptions(command: Command): Command {
  return command
    .option("--template <name>", "only runs of this template (a circuit instance name, or its 0x templateId)")
    .option("--submitter <address>", "only runs submitted by this address", addressArg)
    .addOption(new Option("--outcome <outcome>", "only runs with this outcome").choices(OUTCOMES))
    .option("--from-block <n>", "only runs recorded in this block or later", blockArg)
    .option("--to-block <n>", "only runs recorded in this block or earlier", blockArg);
}

/** The audit query's filters from the options `addAuditFilterOptions` adds. */
export async function auditFilters(opts: AuditFilterOptions): Promise<{
  templateId?: string;
  submitter?: string;
  outcome?: (typeof OUTCOMES)[number];
  fromBlock?: number;
  toBlock?: number;
}> {
  if (opts.fromBlock !== undefined && opts.toBlock !== undefined && opts.fromBlock > opts.toBlock) {
    throw new UsageError(`--from-block ${opts.fromBlock} is after --to-block ${opts.toBlock}`);
  }
  let templateId: string | undefined;
  if (opts.template !== undefined) {
    if (isHexString(opts.template, 32)) {
      templateId = opts.template;
    } else {
      const { templateIdOf } = await import("../chain");
      templateId = templateIdOf(opts.template);
    }
  }
  return {
    ...(templateId !== undefined ? { templateId } : {}),
    ...(opts.submitter !== undefined ? { submitter: opts.submitter } : {}),
    ...(opts.outcome !== undefined ? { outcome: opts.outcome } : {}),
    ...(opts.fromBlock !== undefined ? { fromBlock: opts.fromBlock } : {}),
    ...(opts.toBlock !== undefined ? { toBlock: opts.toBlock } : {}),
  };
}
