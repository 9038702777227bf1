import { expect } from "chai";
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pino from "pino";

import { toHex32 } from "../../src/crypto";
import { executeWorkflow, resumeWorkflow } from "../../src/executor";
import { Journal } from "../../src/journal";
import { ensureDomain, stateMoveOf } from "../../src/pipeline";
import { circuitInstance, Prover, releaseProverResources } from "../../src/prover";
import { orderStateInput, orderStockLeaf } from "../../src/scenarios/order/witness";
import { StateStore } from "../../src/state";
import { DEMO_STOCK, Inventory } from "../../src/scenarios/order/inventory";
import { startOrderSystems, type OrderSystems } from "../../src/scenarios/order/systems";
import { ORDER_STOCK_EFFECT, orderWorkflow } from "../../src/scenarios/order/workflow";
import type { Fault } from "../../src/systems";
import type { RunningSystems } from "../../src/scenarios";
import { supplyChainScenario } from "../../src/scenarios/supply-chain";
import { newRunNonce, workflowIdOf, type Trace } from "../../src/trace";
import type { CrashChildConfig } from "../fixtures/crashChild";
import { ROOT } from "../fixtures/cli";
import { TEST_BINDING } from "../fixtures/orderTrace";
import { effectsOf, effectSummary, liveLedgers, uniqueOrder } from "../fixtures/orderRuns";

const silent = pino({ level: "silent" });
const CHILD = path.join(ROOT, "test", "fixtures", "crashChild.ts");
const CHILD_TIMEOUT_MS = 90_000;

interface ChildEvent {
  n: number;
  type: string;
  stepName?: string;
  phase?: string;
  callSeq?: number;
  status?: string;
}

interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  events: ChildEvent[];
  done?: { outcome: string; records: number };
  stderr: string;
}

const children = new Set<ChildProcess>();

/** Starts the crash child; `onEvent` sees each event line as it arrives (e.g. to SIGKILL it from here). */
function startChild(
  config: CrashChildConfig,
  onEvent?: (event: ChildEvent, child: ChildProcess) => void,
): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    // tsx (esbuild) starts a child in about half the time ts-node takes: there are dozens of them.
    // (Not for bin/wesflow.js: the sources' dynamic import()s need tsx's ESM hooks there, whose
    // loader thread makes a command start slower than ts-node does.)
    const child = spawn(process.execPath, ["-r", "tsx/cjs", CHILD], {
      cwd: ROOT,
      env: { ...process.env, CRASH_CHILD: JSON.stringify(config) },
      stdio: ["ignore", "pipe", "pipe"],
    });
    children.add(child);
    const result: ChildResult = { code: null, signal: null, events: [], stderr: "" };
    let pending = "";
    child.stdout!.on("data", (chunk: Buffer) => {
      pending += chunk.toString("utf8");
      let newline: number;
      while ((newline = pending.indexOf("\n")) >= 0) {
        const line = pending.slice(0, newline);
        pending = pending.slice(newline + 1);
        const space = line.indexOf(" ");
        const kind = line.slice(0, space);
        if (kind === "EVENT") {
          const event = JSON.parse(line.slice(space + 1)) as ChildEvent;
          result.events.push(event);
          onEvent?.(event, child);
        } else if (kind === "DONE") {
          result.done = JSON.parse(line.slice(space + 1));
        }
      }
    });
    child.stderr!.on("data", (chunk: Buffer) => (result.stderr += chunk.toString("utf8")));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`crash child did not end within ${CHILD_TIMEOUT_MS} ms\n${result.stderr}`));
    }, CHILD_TIMEOUT_MS);
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      children.delete(child);
      result.code = code;
      result.signal = signal;
      resolve(result);
    });
  });
}

function describeEvent(event: ChildEvent | undefined): string {
  if (!event) return "(no event)";
  const where = event.stepName ? ` ${event.stepName}` : event.callSeq ? ` call ${event.callSeq}` : "";
  return `${event.type}${where}${event.type === "step-finished" ? ` ${event.status}` : ""}`;
}

function shape(trace: Trace): string[] {
  return trace.steps.map((s) => `${s.stepName} ${s.phase} ${s.status} ${s.evidence} ${s.callSeq}`);
}

describe("crash test: the executor process is SIGKILLed, another process resumes from the journal", function () {
  this.timeout(900_000);
  let dataDir: string;
  let systems: OrderSystems;

  before(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "wesflow-crash-"));
    systems = await startOrderSystems({
      dataDir,
      providerSetDepth: 3,
      logger: silent,
      timeoutHoldMs: 60_000,
    });
  });

  after(async () => {
    for (const child of children) child.kill("SIGKILL");
    await systems?.stop();
    await releaseProverResources();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  /** A fresh run: its id, its own journal file, and faults scoped to it. */
  function newRun(faults: { system: "payment" | "logistics" | "invoicing"; fault: Fault }[] = []) {
    const runNonce = newRunNonce();
    const workflowId = workflowIdOf({ ...TEST_BINDING, runNonce });
    const runId = toHex32(workflowId);
    for (const { system, fault } of faults)
      systems.systems[system].injectFault({ ...fault, workflowId: runId });
    return {
      workflowId,
      runNonce,
      runId,
      journalFile: path.join(dataDir, `journal-${runId.slice(2, 14)}.sqlite`),
      input: uniqueOrder(),
    };
  }

  function config(run: ReturnType<typeof newRun>, extra: Partial<CrashChildConfig>): CrashChildConfig {
    return {
      mode: "run",
      journalFile: run.journalFile,
      dataDir,
      endpoints: systems.endpoints,
      workflowId: run.runId,
      runNonce: toHex32(run.runNonce),
      input: run.input,
      ...extra,
    };
  }

  /** The finished run as the journal holds it (rebuilt without running anything). */
  async function journaledExecution(run: ReturnType<typeof newRun>) {
    const journal = Journal.open(run.journalFile);
    try {
      const runs = journal.listRuns();
      const execution = await resumeWorkflow({
        definition: orderWorkflow(new Inventory(DEMO_STOCK)),
        journal,
        runId: run.runId,
        endpoints: systems.endpoints,
        providers: systems.providers,
        logger: silent,
      });
      const calls = journal.loadRun(run.runId).calls;
      return { runs, execution, calls, status: journal.getRun(run.runId)!.status };
    } finally {
      journal.close();
    }
  }

  type Faults = { system: "payment" | "logistics" | "invoicing"; fault: Fault }[];
  const ROLLBACK_FAULTS: Faults = [
    { system: "invoicing" as const, fault: { operation: "invoice.issue", kind: "decline" as const } },
  ];
  /** The child's retry policy (test/fixtures/crashChild.ts), for the reference run. */
  const CHILD_RETRY = { maxAttempts: 2, initialBackoffMs: 10, maxBackoffMs: 50, callTimeoutMs: 30_000 };
  /** Every call of `operation` of the run answers with `kind` (retries too). */
  const always = (system: Faults[number]["system"], operation: string, kind: Fault["kind"]): Faults => [
    { system, fault: { operation, kind, times: 1_000 } },
  ];
  const COMMITTED_EFFECTS = {
    "payment.charge": ["CAPTURED"],
    "logistics.ship": ["SCHEDULED"],
    "invoice.issue": ["ISSUED"],
  };
  const ROLLED_BACK_EFFECTS = {
    "payment.charge": ["CAPTURED"],
    "logistics.ship": ["SCHEDULED"],
    "invoice.issue": ["REJECTED"],
    "logistics.cancel": ["CANCELLED"],
    "payment.refund": ["REFUNDED"],
  };
  /** The charge performed, its answer unusable: settled TOOK_EFFECT, refunded once (by the ledger). */
  const CHARGE_TOOK_EFFECT = {
    "payment.charge": ["CAPTURED"],
    "payment.status": ["TOOK_EFFECT"],
    "payment.refund": ["REFUNDED"],
  };

  const proven: { outcome: string; trace: Trace }[] = [];
  let killPoints = 0;
  let effectsChecked = 0;

  /** The transitions of an uninterrupted run with the same faults, in this process. */
  async function referenceRun(faults: Faults) {
    const run = newRun(faults);
    const events: string[] = [];
    const execution = await executeWorkflow({
      definition: orderWorkflow(new Inventory(DEMO_STOCK)),
      input: run.input,
      binding: { ...TEST_BINDING, runNonce: run.runNonce },
      endpoints: systems.endpoints,
      providers: systems.providers,
      retry: CHILD_RETRY,
      logger: silent,
      onEvent: (event) => events.push(describeEvent(event as unknown as ChildEvent)),
    });
    return { events, shape: shape(execution.trace) };
  }

  /**
   * Process 1 runs the workflow and is killed right after its first journaled transition; each next
   * process resumes the run from the journal and is killed right after its first new transition;
   * until one finishes. So the run is killed once at every boundary, each time resumed elsewhere.
   */
  async function crashChain(faults: Faults) {
    const run = newRun(faults);
    const killedAt: string[] = [];
    for (let i = 0; i < 100; i++) {
      const result = await startChild(config(run, { mode: i === 0 ? "run" : "resume", killAtEvent: 1 }));
      if (result.signal === "SIGKILL") {
        const fresh = result.events.filter((e) => (e as { new?: boolean }).new);
        killedAt.push(describeEvent(fresh[fresh.length - 1]));
        continue;
      }
      expect(result.code, result.stderr).to.equal(0);
      return { run, killedAt };
    }
    throw new Error("the crash chain did not finish in 100 processes");
  }

  interface ChainScenario {
    faults: Faults;
    outcome: string;
    effects: Record<string, string[]>;
    /** Journaled calls the system never performed (a settled NO_EFFECT: the key is fenced). */
    unperformed?: string[];
  }

  /** Runs the crash chains of `scenarios` side by side and checks each against an uninterrupted run. */
  async function checkChains(scenarios: ChainScenario[]) {
    const chains = await Promise.all(scenarios.map((s) => crashChain(s.faults)));
    for (const [i, scenario] of scenarios.entries()) {
      const { run, killedAt } = chains[i];
      const reference = await referenceRun(scenario.faults);
      // Killed once at every boundary of the uninterrupted run, in order.
      expect(killedAt).to.deep.equal(reference.events);
      const { runs, execution, calls, status } = await journaledExecution(run);
      // Finished, once in the journal, with the same records as the uninterrupted run.
      expect(runs.map((r) => r.runId)).to.deep.equal([run.runId]);
      expect(status).to.equal(scenario.outcome);
      expect(shape(execution.trace)).to.deep.equal(reference.shape);
      // Every external effect exactly once (the systems' ledgers), one idempotency key per call.
      const effects = effectsOf(liveLedgers(systems), run.workflowId);
      expect(effectSummary(effects)).to.deep.equal(scenario.effects);
      const keys = Object.values(effects).flatMap((entries) => entries.map((e) => e.idempotencyKey));
      expect(new Set(keys).size).to.equal(keys.length);
      const unperformed = calls.filter((c) => scenario.unperformed?.includes(c.operationName));
      expect(unperformed.map((c) => c.operationName)).to.deep.equal(scenario.unperformed ?? []);
      expect(calls.map((c) => c.idempotencyKey).sort()).to.deep.equal(
        [...keys, ...unperformed.map((c) => c.idempotencyKey)].sort(),
      );
      killPoints += killedAt.length;
      effectsChecked += keys.length;
      proven.push({ outcome: scenario.outcome, trace: execution.trace });
    }
  }

  it("committed and rolled-back runs: killed after every journaled transition, each time finished by a new process", async () => {
    await checkChains([
      { faults: [], outcome: "COMMITTED", effects: COMMITTED_EFFECTS },
      { faults: ROLLBACK_FAULTS, outcome: "ROLLED_BACK", effects: ROLLED_BACK_EFFECTS },
    ]);
  });

  it("settled runs: killed after every journaled transition, the settling ones included, each time finished by a new process", async () => {
    await checkChains([
      // the charge performed, its answer badly signed: settled TOOK_EFFECT, the charge refunded
      {
        faults: always("payment", "payment.charge", "bad-signature-after-effect"),
        outcome: "ROLLED_BACK",
        effects: CHARGE_TOOK_EFFECT,
      },
      // a garbled answer, nothing charged: settled NO_EFFECT (the key fenced), nothing to refund
      {
        faults: always("payment", "payment.charge", "bad-signature"),
        outcome: "ROLLED_BACK",
        effects: { "payment.status": ["NO_EFFECT"] },
        unperformed: ["payment.charge"],
      },
    ]);
  });

  const midCall: {
    name: string;
    faults: Faults;
    killOn: (e: ChildEvent) => boolean;
    outcome: string;
    effects: Record<string, string[]>;
    /** How often the held call was sent: before the crash, and by the resume (default 2). */
    sends?: number;
    callTimeoutMs?: number;
  }[] = [
    {
      name: "payment.charge held before the effect",
      faults: [{ system: "payment", fault: { operation: "payment.charge", kind: "timeout" } }],
      killOn: (e) => e.type === "call-sending" && e.callSeq === 1,
      outcome: "COMMITTED",
      effects: COMMITTED_EFFECTS,
    },
    {
      name: "payment.charge held after the effect (the answer is lost)",
      faults: [{ system: "payment", fault: { operation: "payment.charge", kind: "timeout-after-effect" } }],
      killOn: (e) => e.type === "call-sending" && e.callSeq === 1,
      outcome: "COMMITTED",
      effects: COMMITTED_EFFECTS,
    },
    {
      name: "payment.charge held after the effect, every retry too: settled TOOK_EFFECT by its status query, refunded",
      faults: always("payment", "payment.charge", "timeout-after-effect"),
      killOn: (e) => e.type === "call-sending" && e.callSeq === 1,
      outcome: "ROLLED_BACK",
      effects: CHARGE_TOOK_EFFECT,
      // sent before the crash, then the resume's two attempts
      sends: 3,
      callTimeoutMs: 1_500,
    },
    {
      name: "the payment.status query held after its answer was kept (the charge badly signed)",
      faults: [
        ...always("payment", "payment.charge", "bad-signature-after-effect"),
        { system: "payment", fault: { operation: "payment.status", kind: "timeout-after-effect" } },
      ],
      killOn: (e) => e.type === "call-sending" && e.callSeq === 2,
      outcome: "ROLLED_BACK",
      effects: CHARGE_TOOK_EFFECT,
    },
    {
      name: "the payment.refund compensation held after the effect",
      faults: [
        ...ROLLBACK_FAULTS,
        { system: "payment", fault: { operation: "payment.refund", kind: "timeout-after-effect" } },
      ],
      killOn: (e) => e.type === "call-sending" && e.callSeq === 5,
      outcome: "ROLLED_BACK",
      effects: ROLLED_BACK_EFFECTS,
    },
  ];

  for (const c of midCall) {
    it(`killed in the middle of an external call (${c.name}): the resume re-sends it, one effect`, async () => {
      const run = newRun(c.faults);
      const timeouts = c.callTimeoutMs ? { callTimeoutMs: c.callTimeoutMs } : {};
      const killed = await startChild(config(run, timeouts), (event, child) => {
        // The request leaves right after it is journaled; give the system time to hold it.
        if (c.killOn(event)) setTimeout(() => child.kill("SIGKILL"), 500);
      });
      expect(killed.signal, killed.stderr).to.equal("SIGKILL");
      const resumed = await startChild(config(run, { mode: "resume", ...timeouts }));
      expect(resumed.code, resumed.stderr).to.equal(0);
      const { runs, status, calls } = await journaledExecution(run);
      expect(runs).to.have.length(1);
      expect(status).to.equal(c.outcome);
      const effects = effectsOf(liveLedgers(systems), run.workflowId);
      expect(effectSummary(effects)).to.deep.equal(c.effects);
      const heldCall = calls.find((call) => c.killOn({ n: 0, type: "call-sending", callSeq: call.callSeq }))!;
      expect(heldCall.attempts, "sent before the crash and again by the resume").to.equal(c.sends ?? 2);
      effectsChecked += Object.values(effects).flat().length;
      killPoints += 1;
    });
  }

  it("crash-resumed runs each prove and verify: committed, rolled back, and rolled back after settling (took effect, no effect)", async function () {
    expect(proven.map((p) => p.outcome)).to.deep.equal([
      "COMMITTED",
      "ROLLED_BACK",
      "ROLLED_BACK",
      "ROLLED_BACK",
    ]);
    // The runs' stock transitions, against a fresh stock domain (the children kept no state).
    const journal = Journal.open(path.join(dataDir, "state-check.sqlite"));
    const store = StateStore.open(journal);
    ensureDomain(store, ORDER_STOCK_EFFECT);
    try {
      for (const { trace } of proven) {
        const instance = circuitInstance(trace.template);
        const runId = toHex32(trace.workflowId);
        const transition = store.prepareTransition(
          ORDER_STOCK_EFFECT.domain,
          runId,
          ORDER_STOCK_EFFECT.changes(trace),
        );
        const leaf = orderStockLeaf(stateMoveOf(transition).move);
        const prover = new Prover(instance);
        const proof = await prover.prove(
          orderStateInput({
            template: instance.template,
            trace,
            providers: systems.providers,
            submitter: BigInt(TEST_BINDING.submitter),
            traceDepth: instance.params[0],
            stateDepth: instance.params[2],
            state: leaf,
          }),
        );
        expect(await prover.verify(proof), trace.outcome).to.equal(true);
        store.applyTransition(transition.id);
      }
    } finally {
      journal.close();
    }
    // For the report: how much the crash test covered.
    process.stdout.write(`      (kill points: ${killPoints}, effects checked: ${effectsChecked})\n`);
  });
});

describe("crash test, the supply chain: one run killed after every journaled transition, finished by a new process", function () {
  this.timeout(900_000);
  let dataDir: string;
  let systems: RunningSystems;

  before(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "wesflow-crash-supply-"));
    systems = await supplyChainScenario.startSystems({ dataDir, providerSetDepth: 3, logger: silent });
  });

  after(async () => {
    for (const child of children) child.kill("SIGKILL");
    await systems?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  const ledgers = () => ({
    erp: systems.ledger("erp"),
    sql: systems.ledger("sql"),
    logistics: systems.ledger("logistics"),
  });
  const input = (n: number) => ({
    orderId: `SO-CRASH-${n}`,
    product: "PUMP-3",
    quantity: 3,
    destination: "20095 Hamburg DE",
  });

  it("an inspection that fails (the lot scrapped): every effect once, the same records as an uninterrupted run", async () => {
    // the uninterrupted run
    systems.injectActorFault!("lab", "fail-inspection", 1);
    const events: string[] = [];
    const referenceNonce = newRunNonce();
    const reference = await executeWorkflow({
      definition: supplyChainScenario.createDefinition(),
      input: input(1),
      binding: { ...TEST_BINDING, runNonce: referenceNonce },
      endpoints: systems.endpoints,
      providers: systems.providers,
      retry: { maxAttempts: 2, initialBackoffMs: 10, maxBackoffMs: 50, callTimeoutMs: 30_000 },
      logger: silent,
      onEvent: (event) => events.push(describeEvent(event as unknown as ChildEvent)),
    });
    expect(reference.trace.outcome).to.equal("ROLLED_BACK");

    // the same run, killed at every boundary
    systems.injectActorFault!("lab", "fail-inspection", 1);
    const runNonce = newRunNonce();
    const workflowId = workflowIdOf({ ...TEST_BINDING, runNonce });
    const runId = toHex32(workflowId);
    const journalFile = path.join(dataDir, "journal-supply.sqlite");
    const killedAt: string[] = [];
    for (let i = 0; ; i++) {
      expect(i, "the crash chain finishes").to.be.lessThan(100);
      const result = await startChild({
        mode: i === 0 ? "run" : "resume",
        scenario: "supply-chain",
        journalFile,
        dataDir,
        endpoints: systems.endpoints,
        workflowId: runId,
        runNonce: toHex32(runNonce),
        input: input(2),
        killAtEvent: 1,
      });
      if (result.signal === "SIGKILL") {
        const fresh = result.events.filter((e) => (e as { new?: boolean }).new);
        killedAt.push(describeEvent(fresh[fresh.length - 1]));
        continue;
      }
      expect(result.code, result.stderr).to.equal(0);
      break;
    }
    expect(killedAt).to.deep.equal(events);
    const journal = Journal.open(journalFile);
    try {
      const execution = await resumeWorkflow({
        definition: supplyChainScenario.createDefinition(),
        journal,
        runId,
        endpoints: systems.endpoints,
        providers: systems.providers,
        logger: silent,
      });
      expect(shape(execution.trace)).to.deep.equal(shape(reference.trace));
    } finally {
      journal.close();
    }
    const effects = effectsOf(ledgers(), workflowId);
    expect(effectSummary(effects)).to.deep.equal({
      "erp.plan": ["PLANNED"],
      "erp.purchase": ["ORDERED"],
      "erp.produce": ["PRODUCED"],
      "lab.inspection_result": ["FAILED"],
      "erp.scrapLot": ["SCRAPPED"],
      "erp.cancelPurchase": ["CANCELLED"],
      "erp.cancelPlan": ["CANCELLED"],
    });
    process.stdout.write(`      (kill points: ${killedAt.length})\n`);
  });
});
