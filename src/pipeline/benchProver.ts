import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Logger } from "../project";
import { Prover, readSetupRecord, type CircuitInput, type CircuitInstance } from "../prover";
import { median } from "./bench";
import { IN_PROCESS_NETWORK } from "./network";
import { ScenarioSession } from "./session";

/** One circuit instance's prover, warm in this process against a fresh snarkjs CLI process, same input. */
export interface ProverFigures {
  instance: string;
  constraints?: number;
  /** Medians over the warm proofs (after one warm-up): the witness, the proof from it, the verification. */
  witnessMs: number;
  proofMs: number;
  verifyMs: number;
  /** witness + proof, warm (the zkey in memory, the witness calculator compiled once). */
  warmMs: number;
  /** `snarkjs groth16 fullprove` in a new process (wall time: start, read wasm and zkey, prove, write). */
  cliMs: number;
  /** cliMs / warmMs. */
  ratio: number;
  runs: { warm: number; cli: number };
}

/** The snarkjs command line of the installed snarkjs (the one the product proves with). */
function snarkjsCli(): string {
  // snarkjs exports no package.json: its main is build/main.cjs, beside build/cli.cjs.
  return path.join(path.dirname(require.resolve("snarkjs")), "cli.cjs");
}

function runProcess(command: string, args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(command, args, { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("error", reject);
    child.on("exit", (code) => {
      if (code === 0) resolve(Math.round(performance.now() - started));
      else
        reject(
          new Error(`${path.basename(args[0])} ${args[1]} ${args[2]} exited with ${code}: ${stderr.trim()}`),
        );
    });
  });
}

/**
 * Proves `input` with `instance` warm (one warm-up, then `warmRuns` proofs with a Prover of this
 * process) and with `snarkjs groth16 fullprove` in a fresh process `cliRuns` times, one after the
 * other (never at once: both use every core). Each CLI proof is checked to verify.
 */
export async function benchmarkProver(args: {
  instance: CircuitInstance;
  input: CircuitInput;
  warmRuns?: number;
  cliRuns?: number;
  onProof?: (what: "warm" | "cli", ms: number) => void;
}): Promise<ProverFigures> {
  const { instance, input } = args;
  const warmRuns = args.warmRuns ?? 3;
  const cliRuns = args.cliRuns ?? 2;
  const prover = new Prover(instance);
  await prover.prove(input);
  const witness: number[] = [];
  const proof: number[] = [];
  const verify: number[] = [];
  const warm: number[] = [];
  for (let i = 0; i < warmRuns; i += 1) {
    const w = await prover.witness(input);
    const started = performance.now();
    const proven = await prover.proveWitness(w.witness, w.witnessMs);
    const proofMs = Math.round(performance.now() - started);
    const verifyStarted = performance.now();
    if (!(await prover.verify(proven))) throw new Error(`${instance.name}: a warm proof does not verify`);
    verify.push(Math.round(performance.now() - verifyStarted));
    witness.push(w.witnessMs);
    proof.push(proofMs);
    warm.push(w.witnessMs + proofMs);
    args.onProof?.("warm", w.witnessMs + proofMs);
  }
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "wesflow-bench-cli-"));
  const cli: number[] = [];
  try {
    const inputFile = path.join(scratch, "input.json");
    fs.writeFileSync(
      inputFile,
      JSON.stringify(input, (_key, value: unknown) => (typeof value === "bigint" ? value.toString() : value)),
    );
    const proofFile = path.join(scratch, "proof.json");
    const publicFile = path.join(scratch, "public.json");
    for (let i = 0; i < cliRuns; i += 1) {
      const ms = await runProcess(process.execPath, [
        snarkjsCli(),
        "groth16",
        "fullprove",
        inputFile,
        instance.paths.wasm,
        instance.paths.zkey,
        proofFile,
        publicFile,
      ]);
      const cliProof = {
        proof: JSON.parse(fs.readFileSync(proofFile, "utf8")),
        publicSignals: JSON.parse(fs.readFileSync(publicFile, "utf8")) as string[],
      };
      if (!(await prover.verify(cliProof)))
        throw new Error(`${instance.name}: the CLI's proof does not verify`);
      cli.push(ms);
      args.onProof?.("cli", ms);
    }
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
  const warmMs = median(warm);
  const cliMs = median(cli);
  return {
    instance: instance.name,
    constraints: readSetupRecord(instance)?.constraints,
    witnessMs: median(witness),
    proofMs: median(proof),
    verifyMs: median(verify),
    warmMs,
    cliMs,
    ratio: Math.round((cliMs / warmMs) * 100) / 100,
    runs: { warm: warmRuns, cli: cliRuns },
  };
}

/** Runs recorded per second with K concurrent runs, against the pure proving rate of one warm prover. */
export interface ThroughputFigures {
  scenario: string;
  concurrent: number;
  runs: number;
  wallMs: number;
  runsPerMinute: number;
  /**
   * The proving rate alone: 60 000 / the median proof time (witness + proof) of these same runs, so
   * that both rates come from one window of a shared machine: how busy the runs kept the prover.
   */
  pureRunsPerMinute: number;
  medianProveMs: number;
  /** runsPerMinute / pureRunsPerMinute. */
  ratio: number;
  /**
   * With `batch`: the session submitted with `--batch <batch>` (a state template's runs as a chain),
   * the transactions that recorded the runs and the gas per run all-in (their gas / the runs).
   */
  batch?: number;
  transactions?: number;
  gasPerRun?: number;
}

/**
 * Starts `runs` runs of a scenario, `concurrent` at a time, in one warm session on the in-process chain
 * (after one warm-up run), and compares the rate at which they are recorded with the rate at which the
 * prover alone makes their proofs: how much of the wall time the prover is kept busy.
 */
export async function benchmarkThroughput(args: {
  scenario: string;
  runs: number;
  concurrent: number;
  dataDir: string;
  logger?: Logger;
  onRun?: (ended: number, runs: number) => void;
  /** Submit in batches of up to this many (`--batch`); omitted: one transaction per run. */
  batch?: number;
}): Promise<ThroughputFigures> {
  const session = await ScenarioSession.open({
    scenario: args.scenario,
    network: IN_PROCESS_NETWORK,
    dataDir: args.dataDir,
    logger: args.logger,
    ...(args.batch ? { batchSize: args.batch, batchWindowMs: 60_000 } : {}),
  });
  try {
    await session.run(session.scenario.demoInput(1));
    const started = performance.now();
    const proveMs: number[] = [];
    const gasByTx = new Map<string, number>();
    let next = 2;
    let ended = 0;
    const worker = async () => {
      while (next < args.runs + 2) {
        const n = next++;
        const run = await session.run(session.scenario.demoInput(n));
        proveMs.push(run.timings.proveMs);
        gasByTx.set(run.txHash, run.gasUsed);
        args.onRun?.(++ended, args.runs);
      }
    };
    await Promise.all(Array.from({ length: args.concurrent }, worker));
    const wallMs = Math.round(performance.now() - started);
    const medianProveMs = median(proveMs);
    const runsPerMinute = (args.runs * 60_000) / wallMs;
    // The same window's proofs: a proof measured alone at another time of a shared machine is no basis.
    const pureProveMs = medianProveMs;
    const pureRunsPerMinute = 60_000 / pureProveMs;
    return {
      scenario: args.scenario,
      concurrent: args.concurrent,
      runs: args.runs,
      wallMs,
      runsPerMinute: Math.round(runsPerMinute * 100) / 100,
      pureRunsPerMinute: Math.round(pureRunsPerMinute * 100) / 100,
      medianProveMs,
      ratio: Math.round((runsPerMinute / pureRunsPerMinute) * 100) / 100,
      ...(args.batch
        ? {
            batch: args.batch,
            transactions: gasByTx.size,
            gasPerRun: Math.round([...gasByTx.values()].reduce((a, b) => a + b, 0) / args.runs),
          }
        : {}),
    };
  } finally {
    await session.close();
  }
}
