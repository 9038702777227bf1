import type { Logger } from "../project";
import { IN_PROCESS_NETWORK } from "./network";
import type { RunSummary } from "./runWorkflow";
import { ScenarioSession } from "./session";

export interface BenchFigures {
  scenario: string;
  runs: number;
  /** Medians over the runs after the first (the first one reads the proving key and warms up). */
  medianMs: { execute: number; prove: number; submit: number; total: number };
  firstRunTotalMs: number;
  gasUsed: { min: number; max: number };
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
      peakRssMb: Math.round(peakRss / 2 ** 20),
    };
  } finally {
    clearInterval(sampler);
    await session.close();
  }
}
