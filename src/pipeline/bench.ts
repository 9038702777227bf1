import fs from "node:fs";
import path from "node:path";
import { readBundle } from "../bundle";
import { estimateVerifierGas } from "../chain";
import { executeWorkflow } from "../executor";
import { Journal } from "../journal";
import type { Logger } from "../project";
import { circuitInstance } from "../prover";
import { scenario as findScenario, SCENARIOS } from "../scenarios";
import { IN_PROCESS_NETWORK } from "./network";
import { workflowTagOf, type RunSummary } from "./runWorkflow";
import { ScenarioSession } from "./session";

export interface BenchFigures {
  scenario: string;
  runs: number;
  /** Medians over the runs after the first (the first one reads the proving key and warms up). */
  medianMs: { execute: number; prove: number; submit: number; total: number };
  firstRunTotalMs: number;
  gasUsed: { min: number; max: number };
  /**
   * The last run's gas split: a transaction calling only its template's verifier with its proof (21k
   * base and calldata included), and what the registry's submission adds to that.
   */
  gasSplit: { verifierOnly: number; registry: number; publicSignals: number };
  peakRssMb: number;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : Math.round((sorted[mid - 1] + sorted[mid]) / 2);
};

/** Runs a scenario `runs` times in one warm process on the in-process chain and measures each stage. */
export async function benchmarkScenario(args: {
  scenario: string;
  runs: number;
  dataDir: string;
  logger?: Logger;
  onRun?: (n: number, run: RunSummary, totalMs: number) => void;
}): Promise<BenchFigures> {
  if (args.runs < 2) throw new RangeError("a benchmark needs at least 2 runs (the first one is warm-up)");
  const session = await ScenarioSession.open({
    scenario: args.scenario,
    network: IN_PROCESS_NETWORK,
    dataDir: args.dataDir,
    logger: args.logger,
  });
  let peakRss = process.memoryUsage().rss;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);
  try {
    const runs: { run: RunSummary; totalMs: number }[] = [];
    for (let n = 1; n <= args.runs; n++) {
      const started = performance.now();
      const run = await session.run(session.scenario.demoInput(n));
      const totalMs = Math.round(performance.now() - started);
      runs.push({ run, totalMs });
      args.onRun?.(n, run, totalMs);
    }
    const warm = runs.slice(1);
    const last = runs[runs.length - 1].run;
    const lastProof = readBundle(last.bundlePath).proof!;
    const verifierOnly = await estimateVerifierGas({
      registry: session.chain.registry,
      templateId: readBundle(last.bundlePath).templateId,
      proof: lastProof.proof,
      publicSignals: lastProof.publicSignals,
    });
    return {
      scenario: args.scenario,
      runs: args.runs,
      medianMs: {
        execute: median(warm.map((r) => r.run.timings.executeMs)),
        prove: median(warm.map((r) => r.run.timings.proveMs)),
        submit: median(warm.map((r) => r.run.timings.submitMs)),
        total: median(warm.map((r) => r.totalMs)),
      },
      firstRunTotalMs: runs[0].totalMs,
      gasUsed: {
        min: Math.min(...runs.map((r) => r.run.gasUsed)),
        max: Math.max(...runs.map((r) => r.run.gasUsed)),
      },
      gasSplit: {
        verifierOnly,
        registry: last.gasUsed - verifierOnly,
        publicSignals: lastProof.publicSignals.length,
      },
      peakRssMb: Math.round(peakRss / 2 ** 20),
    };
  } finally {
    clearInterval(sampler);
    await session.close();
  }
}

export interface JournalOverheadFigures {
  scenario: string;
  runs: number;
  recordsPerRun: number;
  callsPerRun: number;
  /** Medians of the execute time of a committed run (systems on loopback, no proving). */
  medianMs: { withoutJournal: number; withJournal: number };
  overheadPerRunMs: number;
  overheadPerStepMs: number;
  /** Journal transactions (each one fsync'ed: synchronous=FULL) per run. */
  transactionsPerRun: number;
  perTransactionMs: number;
}

/** The submitter the journal bench binds its (never proven) runs to. */
const BENCH_SUBMITTER = "0x000000000000000000000000000000000000bE0c";

/**
 * The durable journal's cost: a scenario (default: the first registered) executed `runs` times without and `runs` times with
 * a journal (alternating, after two warm-up runs of each), on the same disk as the data directory.
 */
export async function measureJournalOverhead(args: {
  runs: number;
  dataDir: string;
  scenario?: string;
  logger?: Logger;
}): Promise<JournalOverheadFigures> {
  const chosen = findScenario(args.scenario ?? Object.keys(SCENARIOS)[0]);
  const [, providerSetDepth] = circuitInstance(chosen.createDefinition().template).params;
  fs.mkdirSync(args.dataDir, { recursive: true });
  const scratch = fs.mkdtempSync(path.join(args.dataDir, "bench-journal-"));
  const systems = await chosen.startSystems({ dataDir: args.dataDir, providerSetDepth, logger: args.logger });
  const journal = Journal.open(path.join(scratch, "journal.sqlite"));
  // Executed only (never proven): any submitter address binds the ids.
  const binding = { submitter: BENCH_SUBMITTER, workflowTag: workflowTagOf(chosen.createDefinition()) };
  const timed = async (n: number, withJournal: boolean) => {
    const started = performance.now();
    const execution = await executeWorkflow({
      definition: chosen.createDefinition(),
      binding,
      input: chosen.demoInput(n),
      endpoints: systems.endpoints,
      providers: systems.providers,
      journal: withJournal ? journal : undefined,
      logger: args.logger,
    });
    return { ms: performance.now() - started, execution };
  };
  try {
    const without: number[] = [];
    const withJ: number[] = [];
    let last;
    for (let n = 1; n <= args.runs + 2; n++) {
      const a = await timed(n, false);
      const b = await timed(n, true);
      last = b.execution;
      if (n > 2) {
        without.push(a.ms);
        withJ.push(b.ms);
      }
    }
    const medianOf = (values: number[]) => {
      const sorted = [...values].sort((x, y) => x - y);
      const mid = Math.floor(sorted.length / 2);
      return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    };
    const round = (x: number) => Math.round(x * 100) / 100;
    const medianWithout = medianOf(without);
    const medianWith = medianOf(withJ);
    const overhead = Math.max(0, medianWith - medianWithout);
    const records = last!.trace.steps.length;
    const transactions = journal.events(last!.runId).length;
    return {
      scenario: chosen.name,
      runs: args.runs,
      recordsPerRun: records,
      callsPerRun: last!.trace.calls.length,
      medianMs: { withoutJournal: round(medianWithout), withJournal: round(medianWith) },
      overheadPerRunMs: round(overhead),
      overheadPerStepMs: round(overhead / records),
      transactionsPerRun: transactions,
      perTransactionMs: round(overhead / transactions),
    };
  } finally {
    journal.close();
    await systems.stop();
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}
