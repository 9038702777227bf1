import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Command, Option } from "commander";
import type { BatchGasFigures, BenchFigures, ProverFigures, ThroughputFigures } from "../pipeline";
import { createLogger } from "../project";
import { circuitInstance, loadCircuitInstances, readSetupRecord, type CircuitInput } from "../prover";
import { SCENARIOS, scenario as findScenario } from "../scenarios";
import { UsageError } from "./errors";
import { loadPipeline } from "./stages";

const out = (text: string) => process.stdout.write(text + "\n");
const note = (text: string) => process.stderr.write(`• ${text}\n`);

/** The budgets of DESIGN.md and issue 14, as the bench compares its figures with them. */
export const BENCH_BUDGETS = {
  /** Order run, single submission, gas all-in. */
  singleGas: 285_000,
  /** Gas per run all-in in batches of 16 and of 32. */
  batchGas: { "16": 100_000, "32": 90_000 } as Record<string, number>,
  /** Recorded runs per minute with K concurrent runs / the pure proving rate. */
  throughputRatio: 0.9,
  /** A fresh `snarkjs groth16 fullprove` process's time / the warm in-process prover's. */
  proverRatio: 1.3,
  /** Order run end to end (execute + prove + submit), median warm, ms. */
  orderTotalMs: 4_000,
};

interface BenchOptions {
  runs: number;
  scenario: string;
  batchSizes: number[];
  batchGas: boolean;
  prover: boolean;
  throughputRuns: number;
  concurrent: number;
  results: string;
  dataDir: string;
  json?: boolean;
}

const pct = (value: number, limit: number) => `${((value / limit) * 100).toFixed(0)} %`;
const verdict = (ok: boolean) => (ok ? "met" : "NOT met");

/**
 * `wesflow bench`: every figure of issue 14 for each built-in scenario (or one), printed as a table and
 * written to bench/results.json (with a chart of gas per run by batch size beside it, .svg):
 * execute, prove, submit and total ms in one warm process; gas per run single and in batches with
 * real proofs; per instance the witness, proof and verification ms and the warm prover against the
 * snarkjs CLI; throughput with K concurrent runs against the pure proving rate.
 */
export function registerBenchCommand(
  program: Command,
  deps: {
    dataDirOption: () => Option;
    positiveInt: (value: string) => number;
    batchSizesArg: (value: string) => number[];
    userPath: (file: string) => string;
    defaultResults: string;
    invocationDir: () => string;
  },
): void {
  program
    .command("bench")
    .description(
      "measure every scenario: execute + prove + submit in one warm process, gas per run single and in batches, the prover warm against the snarkjs CLI, throughput with concurrent runs; against the budgets",
    )
    .option("--runs <n>", "runs per scenario to time (the first is warm-up)", deps.positiveInt, 6)
    .option(
      "--scenario <name>",
      `one built-in scenario, or all (${Object.keys(SCENARIOS).join(", ")})`,
      "all",
    )
    .option(
      "--batch-sizes <list>",
      "batch sizes whose gas per run is measured with real proofs (comma-separated, 1-32)",
      deps.batchSizesArg,
      [1, 4, 8, 16, 32],
    )
    .option(
      "--no-batch-gas",
      "skip the batch gas figures (they prove a chain of runs as long as the largest size)",
    )
    .option("--no-prover", "skip the prover figures (warm against the snarkjs CLI, per instance)")
    .option(
      "--throughput-runs <n>",
      "runs of the first scenario measured for throughput (0: skip)",
      (v: string) => (v === "0" ? 0 : deps.positiveInt(v)),
      8,
    )
    .option("--concurrent <k>", "concurrent runs for the throughput figure", deps.positiveInt, 4)
    .option(
      "--results <file>",
      "where the figures are written as JSON (and a chart of gas per run beside it, .svg)",
      (file: string) => deps.userPath(file),
      deps.defaultResults,
    )
    .addOption(deps.dataDirOption())
    .option("--json", "print the figures as JSON")
    .action(async (opts: BenchOptions) => runBench(opts, deps.invocationDir()));
}

async function runBench(opts: BenchOptions, invocationDir: string): Promise<void> {
  const names = opts.scenario === "all" ? Object.keys(SCENARIOS) : [findScenario(opts.scenario).name];
  if (opts.throughputRuns > 0 && opts.throughputRuns < opts.concurrent) {
    throw new UsageError(
      `--throughput-runs ${opts.throughputRuns} is fewer than --concurrent ${opts.concurrent}: no K runs would ever be at once`,
    );
  }
  const {
    BENCH_SUBMITTER,
    benchmarkScenario,
    benchmarkBatchGas,
    benchmarkProver,
    benchmarkThroughput,
    gasChartSvg,
    proveRunChain,
  } = await loadPipeline();
  const logger = createLogger();
  const scenarios: Record<string, BenchFigures> = {};
  const gas: Record<string, Omit<BatchGasFigures, "sampleInput" | "scenario">> = {};
  const chartFigures: BatchGasFigures[] = [];
  const prover: Record<string, ProverFigures> = {};
  let throughput: ThroughputFigures | undefined;
  let throughputBatched: ThroughputFigures | undefined;

  for (const name of names) {
    note(`${name}: ${opts.runs} runs in one process`);
    scenarios[name] = await benchmarkScenario({
      scenario: name,
      runs: opts.runs,
      dataDir: opts.dataDir,
      logger,
      onRun: (n, run, totalMs) =>
        note(
          `${name} run ${n}: execute ${run.timings.executeMs} ms, prove ${run.timings.proveMs} ms, submit ${run.timings.submitMs} ms, total ${totalMs} ms, ${run.gasUsed} gas`,
        ),
    });
    let sampleInput: CircuitInput | undefined;
    if (opts.batchGas) {
      const figures = await benchmarkBatchGas({
        scenario: name,
        dataDir: opts.dataDir,
        sizes: opts.batchSizes,
        logger,
        onProof: (index, count, proveMs) =>
          note(`${name} batch gas: proof ${index + 1}/${count}, ${proveMs} ms`),
      });
      sampleInput = figures.sampleInput;
      gas[name] = {
        instance: figures.instance,
        single: figures.single,
        batch: figures.batch,
        verifierOnly: figures.verifierOnly,
        batches: figures.batches,
        proofs: figures.proofs,
      };
      chartFigures.push(figures);
    }
    if (opts.prover) {
      if (!sampleInput) {
        const chain = await proveRunChain({
          scenario: name,
          count: 1,
          dataDir: opts.dataDir,
          submitterOf: () => BENCH_SUBMITTER,
          logger,
        });
        sampleInput = chain.runs[0].input;
      }
      const instance = circuitInstance(SCENARIOS[name].createDefinition().template);
      note(`${instance.name}: the prover warm (1 + 3 proofs), then the snarkjs CLI (2 processes)`);
      prover[instance.name] = await benchmarkProver({
        instance,
        input: sampleInput,
        onProof: (what, ms) => note(`${instance.name} ${what} proof: ${ms} ms`),
      });
    }
  }
  if (opts.throughputRuns > 0) {
    const name = names[0];
    const measure = (batch?: number) => {
      const what = batch ? `throughput with --batch ${batch}` : "throughput";
      note(`${name}: ${what}, ${opts.throughputRuns} runs ${opts.concurrent} at a time`);
      return benchmarkThroughput({
        scenario: name,
        runs: opts.throughputRuns,
        concurrent: opts.concurrent,
        dataDir: opts.dataDir,
        logger,
        ...(batch ? { batch } : {}),
        onRun: (ended, runs) => note(`${what}: ${ended}/${runs} runs recorded`),
      });
    };
    throughput = await measure();
    // The same runs through the pipeline's batches (a state template's: a chain of runs).
    throughputBatched = await measure(Math.max(2, opts.concurrent));
  }

  const constraints = Object.fromEntries(
    loadCircuitInstances().map((i) => [i.name, readSetupRecord(i)?.constraints] as const),
  );
  const results = {
    generatedAt: new Date().toISOString(),
    machine: { cpus: os.cpus().length, node: process.version, platform: `${os.platform()} ${os.arch()}` },
    budgets: BENCH_BUDGETS,
    constraints,
    scenarios,
    gas,
    prover,
    ...(throughput ? { throughput } : {}),
    ...(throughputBatched ? { throughputBatched } : {}),
  };
  fs.mkdirSync(path.dirname(opts.results), { recursive: true });
  fs.writeFileSync(opts.results, JSON.stringify(results, null, 2) + "\n");
  const chart = opts.results.replace(/\.json$/, "") + ".svg";
  if (chartFigures.length > 0) {
    fs.writeFileSync(
      chart,
      gasChartSvg(chartFigures, {
        single: BENCH_BUDGETS.singleGas,
        "batch 16": BENCH_BUDGETS.batchGas["16"],
        "batch 32": BENCH_BUDGETS.batchGas["32"],
      }),
    );
  }
  if (opts.json) {
    out(JSON.stringify(results));
    return;
  }
  printTable({ scenarios, gas, prover, throughput, throughputBatched, constraints });
  const written = [opts.results, ...(chartFigures.length > 0 ? [chart] : [])];
  out(`written to ${written.map((file) => path.relative(invocationDir, file)).join(" and ")}`);
}

function printTable(r: {
  scenarios: Record<string, BenchFigures>;
  gas: Record<string, Omit<BatchGasFigures, "sampleInput" | "scenario">>;
  prover: Record<string, ProverFigures>;
  throughput?: ThroughputFigures;
  throughputBatched?: ThroughputFigures;
  constraints: Record<string, number | undefined>;
}): void {
  const pad = (v: string | number, n: number) => String(v).padStart(n);
  out("wesflow bench (medians; every comparison a ratio within this run)");
  out("");
  out(
    "circuit instances           constraints   witness ms   proof ms   verify ms   warm ms   CLI ms   CLI/warm",
  );
  for (const [name, count] of Object.entries(r.constraints)) {
    const p = r.prover[name];
    out(
      `  ${name.padEnd(26)}${pad(count ?? "-", 11)}` +
        (p
          ? `${pad(p.witnessMs, 13)}${pad(p.proofMs, 11)}${pad(p.verifyMs, 12)}${pad(p.warmMs, 10)}${pad(p.cliMs, 9)}${pad(p.ratio.toFixed(2) + "×", 11)}`
          : count === undefined
            ? "   (not built)"
            : "   (not measured: the bench proves each scenario's committed template)"),
    );
  }
  out("");
  out(
    "scenarios        execute ms   prove ms   submit ms   total ms   first run ms   gas single   verifier alone   peak RSS MB",
  );
  for (const [name, f] of Object.entries(r.scenarios)) {
    out(
      `  ${name.padEnd(14)}${pad(f.medianMs.execute, 11)}${pad(f.medianMs.prove, 11)}${pad(f.medianMs.submit, 12)}${pad(f.medianMs.total, 11)}${pad(f.firstRunTotalMs, 15)}${pad(f.gasUsed.max, 13)}${pad(f.gasSplit.verifierOnly, 17)}${pad(f.peakRssMb, 14)}`,
    );
  }
  const sizes = Object.keys(Object.values(r.gas)[0]?.batch ?? {});
  if (sizes.length > 0) {
    out("");
    out(
      `gas per recorded run, all-in   single${sizes.map((s) => pad(`batch ${s}`, 10)).join("")}   (instance)`,
    );
    for (const [name, g] of Object.entries(r.gas)) {
      out(
        `  ${name.padEnd(28)}${pad(g.single, 8)}${sizes.map((s) => pad(g.batch[s], 10)).join("")}   (${g.instance})`,
      );
    }
  }
  out("");
  out("budgets");
  const order = r.gas.order?.single ?? r.scenarios.order?.gasUsed.max;
  if (order !== undefined) {
    out(
      `  order single ≤ ${BENCH_BUDGETS.singleGas} gas: ${order} (${pct(order, BENCH_BUDGETS.singleGas)}) ${verdict(order <= BENCH_BUDGETS.singleGas)}`,
    );
  }
  for (const [name, g] of Object.entries(r.gas)) {
    for (const [size, limit] of Object.entries(BENCH_BUDGETS.batchGas)) {
      const value = g.batch[size];
      if (value !== undefined) {
        out(
          `  ${name} batch of ${size} ≤ ${limit} gas per run: ${value} (${pct(value, limit)}) ${verdict(value <= limit)}`,
        );
      }
    }
  }
  for (const p of Object.values(r.prover)) {
    out(
      `  ${p.instance}: warm prover ≥ ${BENCH_BUDGETS.proverRatio}× the CLI: ${p.ratio.toFixed(2)}× ${verdict(p.ratio >= BENCH_BUDGETS.proverRatio)}`,
    );
  }
  const rate = (t: ThroughputFigures) =>
    `(${t.scenario}, ${t.runs} runs, ${t.concurrent} at a time): ${t.runsPerMinute} runs/min against ` +
    `${t.pureRunsPerMinute} (${(t.ratio * 100).toFixed(0)} %) ${verdict(t.ratio >= BENCH_BUDGETS.throughputRatio)}`;
  if (r.throughput) {
    out(
      `  throughput ≥ ${BENCH_BUDGETS.throughputRatio * 100} % of the pure proving rate ${rate(r.throughput)}`,
    );
  }
  if (r.throughputBatched) {
    const t = r.throughputBatched;
    out(
      `  the same through the pipeline with --batch ${t.batch} ${rate(t)}; ` +
        `${t.transactions} ${t.transactions === 1 ? "transaction" : "transactions"}, ${t.gasPerRun} gas per run all-in`,
    );
  }
  const orderTotal = r.scenarios.order?.medianMs.total;
  if (orderTotal !== undefined) {
    out(
      `  order end to end ≤ ${BENCH_BUDGETS.orderTotalMs} ms median warm: ${orderTotal} ms ${verdict(orderTotal <= BENCH_BUDGETS.orderTotalMs)}`,
    );
  }
}
