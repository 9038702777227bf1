import fs from "node:fs";
import path from "node:path";
import { readBundle } from "../bundle";
import {
  deployBatchVerifier,
  deployRegistry,
  deployVerifier,
  estimateBatchVerifierGas,
  estimateVerifierGas,
  registerProviderSet,
  registerStateDomain,
  registerStateTemplate,
  registerTemplate,
  setTemplateBatchVerifier,
  SIGNAL_INDEX,
  submitBatch,
  submitRun,
  submitRunWithState,
  templateIdOf,
} from "../chain";
import { executeWorkflow } from "../executor";
import { Journal } from "../journal";
import type { Logger } from "../project";
import { batchVerifierContractOf, circuitInstance, type CircuitInput } from "../prover";
import { stateDomainId } from "../state";
import { scenario as findScenario, SCENARIOS } from "../scenarios";
import { IN_PROCESS_NETWORK, loadHardhat } from "./network";
import { proveRunChain, type ProvenRunChain } from "./runChain";
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

/** The median of `values`, rounded to an integer for an even count. */
export const median = (values: number[]) => {
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
export const BENCH_SUBMITTER = "0x000000000000000000000000000000000000bE0c";

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

/** The batch sizes `npm run bench` measures by default (issue 14). */
export const BENCH_BATCH_SIZES = [1, 4, 8, 16, 32] as const;

export interface BatchGasFigures {
  scenario: string;
  /** The circuit instance whose real proofs were submitted (the scenario's committed template). */
  instance: string;
  /** Gas per recorded run of a single submission (the transaction's gas), median over several runs. */
  single: number;
  /**
   * Gas per recorded run in batches of each size, all-in: the batch transaction's gas / its runs
   * (21k base, calldata, the batch verifier, storage and events), median over disjoint batches.
   */
  batch: Record<string, number>;
  /** Of that, a transaction calling only the batch verifier with the same batch, per run. */
  verifierOnly: Record<string, number>;
  /** How many disjoint batches each median is taken over. */
  batches: Record<string, number>;
  /** The chain's proofs: how many, and their median proving time. */
  proofs: { count: number; medianProveMs: number };
  /** The first run's circuit input (for the prover's figures on the same instance); not written out. */
  sampleInput: CircuitInput;
}

/**
 * Gas per recorded run, single and in batches, with real proofs through the real generated verifiers
 * on the in-process Hardhat network: proves a chain of the scenario's committed runs (the largest
 * size's worth), then, for each size, submits disjoint consecutive batches of the chain to fresh
 * registries (each domain starting at its batch's first root) and takes the median gas per run.
 * Deterministic but for the proofs' calldata (a zero byte costs 4 gas, others 16).
 */
export async function benchmarkBatchGas(args: {
  scenario: string;
  dataDir: string;
  sizes?: readonly number[];
  logger?: Logger;
  onProof?: (index: number, count: number, proveMs: number) => void;
}): Promise<BatchGasFigures> {
  const sizes = [...(args.sizes ?? BENCH_BATCH_SIZES)].sort((a, b) => a - b);
  if (sizes.some((size) => !Number.isInteger(size) || size < 1 || size > 32)) {
    throw new RangeError(`batch sizes are integers from 1 to 32, got ${sizes.join(", ")}`);
  }
  const count = Math.max(...sizes, 4);
  const hre = loadHardhat(IN_PROCESS_NETWORK);
  const [signer] = await hre.ethers.getSigners();
  const chain: ProvenRunChain = await proveRunChain({
    scenario: args.scenario,
    count,
    dataDir: args.dataDir,
    submitterOf: () => signer.address,
    logger: args.logger,
    onProof: (index, proveMs) => args.onProof?.(index, count, proveMs),
  });
  const { instance, providers, state } = chain;
  const templateId = templateIdOf(instance.name);
  const verifier = await deployVerifier({ signer, contractName: instance.verifierContract });
  const batchVerifier = await deployBatchVerifier({
    signer,
    contractName: batchVerifierContractOf(instance),
  });
  /** A fresh registry with the template, whose state domain (if any) starts at `root`. */
  const freshRegistry = async (root: bigint | undefined) => {
    const registry = await deployRegistry({ signer });
    await registerProviderSet({
      registry,
      root: providers.root,
      providers: providers.providers.map((p) => ({
        systemCode: p.systemCode,
        pubKeyX: p.publicKey[0],
        pubKeyY: p.publicKey[1],
      })),
    });
    if (state && root !== undefined) {
      const domainId = stateDomainId(state.domain);
      await registerStateDomain({ registry, domainId, root });
      await registerStateTemplate({ registry, templateId, verifier, domainId });
    } else {
      await registerTemplate({ registry, templateId, verifier });
    }
    await setTemplateBatchVerifier({ registry, templateId, batchVerifier });
    return registry;
  };
  const rootBefore = (index: number) =>
    state ? BigInt(chain.runs[index].publicSignals[SIGNAL_INDEX.stateRootBefore]) : undefined;

  const singles: number[] = [];
  {
    const registry = await freshRegistry(rootBefore(0));
    for (const run of chain.runs.slice(0, Math.min(8, chain.runs.length))) {
      const submit = state ? submitRunWithState : submitRun;
      singles.push(
        (await submit({ registry, templateId, proof: run.proof, publicSignals: run.publicSignals })).gasUsed,
      );
    }
  }
  const batch: Record<string, number> = {};
  const verifierOnly: Record<string, number> = {};
  const batches: Record<string, number> = {};
  for (const size of sizes) {
    const perRun: number[] = [];
    const windows = Math.min(8, Math.floor(chain.runs.length / size));
    for (let window = 0; window < windows; window += 1) {
      const runs = chain.runs.slice(window * size, (window + 1) * size);
      const registry = await freshRegistry(rootBefore(window * size));
      if (window === 0) {
        verifierOnly[size] = Math.round(
          (await estimateBatchVerifierGas({ registry, templateId, runs })) / size,
        );
      }
      const tx = await submitBatch({ registry, templateId, runs });
      perRun.push(tx.gasUsed / size);
    }
    batch[size] = Math.round(median(perRun));
    batches[size] = windows;
  }
  return {
    scenario: args.scenario,
    instance: instance.name,
    single: Math.round(median(singles)),
    batch,
    verifierOnly,
    batches,
    proofs: { count: chain.runs.length, medianProveMs: median(chain.runs.map((r) => r.proveMs)) },
    sampleInput: chain.runs[0].input,
  };
}

/**
 * A small SVG bar chart of gas per recorded run, all-in, by batch size: one group per size (single,
 * then each batch size), one bar per scenario, with the budgets as dashed lines.
 */
export function gasChartSvg(
  figures: readonly Pick<BatchGasFigures, "scenario" | "instance" | "single" | "batch">[],
  budgets: Record<string, number> = {},
): string {
  const colors = ["#4a78b5", "#e08e2b", "#3c9a5f", "#8e5ea2", "#c0392b"];
  const labels = ["single", ...Object.keys(figures[0]?.batch ?? {}).map((size) => `batch ${size}`)];
  const gasOf = (f: (typeof figures)[number], label: string) =>
    label === "single" ? f.single : f.batch[label.slice("batch ".length)];
  const barWidth = 22;
  const groupWidth = barWidth * figures.length + 30;
  const width = groupWidth * labels.length + 60;
  const height = 280;
  const all = figures.flatMap((f) => labels.map((label) => gasOf(f, label) ?? 0));
  const top = Math.max(...all, ...Object.values(budgets)) * 1.1;
  const y = (gas: number) => Math.round(220 - (gas / top) * 190);
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="10">`,
    `<text x="10" y="14" font-size="12">gas per recorded run, all-in (transaction gas / runs), real proofs</text>`,
    `<line x1="40" y1="220" x2="${width - 10}" y2="220" stroke="#333"/>`,
  ];
  figures.forEach((f, i) => {
    parts.push(
      `<rect x="${50 + i * 170}" y="262" width="10" height="10" fill="${colors[i % colors.length]}"/>`,
      `<text x="${64 + i * 170}" y="271">${f.scenario} (${f.instance})</text>`,
    );
  });
  labels.forEach((label, g) => {
    const x0 = 50 + g * groupWidth;
    figures.forEach((f, i) => {
      const gas = gasOf(f, label);
      if (gas === undefined) return;
      const x = x0 + i * barWidth;
      parts.push(
        `<rect x="${x}" y="${y(gas)}" width="${barWidth - 3}" height="${220 - y(gas)}" fill="${colors[i % colors.length]}"/>`,
        `<text x="${x + (barWidth - 3) / 2}" y="${y(gas) - 3}" text-anchor="middle" font-size="8">${Math.round(gas / 1000)}k</text>`,
      );
    });
    parts.push(
      `<text x="${x0 + (barWidth * figures.length) / 2}" y="234" text-anchor="middle">${label}</text>`,
    );
    const budget = budgets[label];
    if (budget !== undefined) {
      parts.push(
        `<line x1="${x0 - 4}" y1="${y(budget)}" x2="${x0 + barWidth * figures.length + 4}" y2="${y(budget)}" stroke="#c0392b" stroke-dasharray="4 2"/>`,
        `<text x="${x0 + (barWidth * figures.length) / 2}" y="248" text-anchor="middle" fill="#c0392b">≤ ${Math.round(budget / 1000)}k</text>`,
      );
    }
  });
  parts.push("</svg>");
  return parts.join("\n") + "\n";
}
