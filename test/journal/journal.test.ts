import { expect } from "chai";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import pino from "pino";

import {
  executeWorkflow,
  JournalWriteError,
  resumeInterruptedRuns,
  resumeWorkflow,
  ResumeError,
} from "../../src/executor";
import { Journal, thisProcessOwner, UnknownRunError } from "../../src/journal";
import { fromJournalJson, toJournalJson } from "../../src/journal/json";
import { SNARK_SCALAR_FIELD } from "../../src/crypto";
import { computeTraceRoot } from "../../src/trace";
import { DEMO_STOCK, Inventory } from "../../src/scenarios/order/inventory";
import { startOrderSystems, type OrderSystems } from "../../src/scenarios/order/systems";
import { orderWorkflow } from "../../src/scenarios/order/workflow";
import { effectsOf, effectSummary, FAST_RETRY, liveLedgers, uniqueOrder } from "../fixtures/orderRuns";
import { TEST_BINDING } from "../fixtures/orderTrace";

const silent = pino({ level: "silent" });

describe("durable journal (SQLite)", function () {
  this.timeout(60_000);
  let dataDir: string;
  let systems: OrderSystems;
  let journal: Journal;
  let file: string;

  before(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "wesflow-journal-"));
    systems = await startOrderSystems({ dataDir, providerSetDepth: 3, logger: silent });
  });
  beforeEach(() => {
    file = path.join(dataDir, `journal-${Date.now()}-${Math.random().toString(16).slice(2)}.sqlite`);
    journal = Journal.open(file);
  });
  afterEach(() => journal.close());
  after(async () => {
    await systems?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  const execute = (options: { input?: unknown } = {}) =>
    executeWorkflow({
      definition: orderWorkflow(new Inventory(DEMO_STOCK)),
      input: options.input ?? uniqueOrder(),
      endpoints: systems.endpoints,
      providers: systems.providers,
      binding: TEST_BINDING,
      retry: FAST_RETRY,
      journal,
      logger: silent,
    });

  it("is a WAL file that another connection can read while the journal is open", () => {
    const reader = new Database(file, { readonly: true });
    try {
      expect(reader.pragma("journal_mode", { simple: true })).to.equal("wal");
      expect(reader.pragma("user_version", { simple: true })).to.equal(3);
    } finally {
      reader.close();
    }
  });

  it("records a run's rows: the run, each record, each call (request before the answer), each transition", async () => {
    const input = uniqueOrder();
    const execution = await execute({ input });
    const { run, steps, calls } = journal.loadRun(execution.runId);
    expect(run).to.include({
      runId: execution.runId,
      scenario: "order",
      status: "COMMITTED",
      outcome: "COMMITTED",
    });
    expect(run.workflowId).to.equal(execution.trace.workflowId);
    expect(run.input).to.deep.equal(input);
    expect(run.owner).to.equal(undefined); // released when the run finished
    expect(steps.map((s) => [s.traceIndex, s.stepName, s.phase, s.status, s.callSeq])).to.deep.equal([
      [0, "create_order", "FORWARD", "OK", 0],
      [1, "reserve_inventory", "FORWARD", "OK", 0],
      [2, "payment", "FORWARD", "OK", 1],
      [3, "logistics", "FORWARD", "OK", 2],
      [4, "invoice", "FORWARD", "OK", 3],
      [5, "accounting", "FORWARD", "OK", 0],
    ]);
    // Each finished record is the trace's record, and a forward step's result is kept for a resume.
    expect(steps.map((s) => s.record)).to.deep.equal(execution.trace.steps);
    expect(steps[0].result).to.deep.equal(execution.results.create_order);
    expect(calls.map((c) => [c.callSeq, c.operationName, c.status, c.attempts])).to.deep.equal([
      [1, "payment.charge", "ANSWERED", 1],
      [2, "logistics.ship", "ANSWERED", 1],
      [3, "invoice.issue", "ANSWERED", 1],
    ]);
    calls.forEach((c, i) => {
      const traced = execution.trace.calls[i];
      expect(c.idempotencyKey).to.equal(traced.idempotencyKey);
      expect(c.request).to.deep.equal(traced.requestJson);
      expect(c.response).to.deep.equal(traced.responseJson);
      expect(c.attestation).to.deep.equal(traced.attestation);
    });
    const kinds = journal.events(execution.runId).map((e) => `${e.kind}${e.callSeq ? ` ${e.callSeq}` : ""}`);
    expect(kinds[0]).to.equal("run-started");
    expect(kinds[kinds.length - 1]).to.equal("run-finished");
    for (const callSeq of [1, 2, 3]) {
      expect(kinds.indexOf(`call-sending ${callSeq}`)).to.be.greaterThan(-1);
      expect(kinds.indexOf(`call-sending ${callSeq}`)).to.be.lessThan(
        kinds.indexOf(`call-answered ${callSeq}`),
      );
    }
    expect(kinds.filter((k) => k === "step-started")).to.have.length(6);
    expect(kinds.filter((k) => k === "step-finished")).to.have.length(6);
  });

  it("resume after an interrupted call re-sends it with the same idempotency key; the system acts once", async () => {
    // The process "dies" right after payment.charge was sent and answered, before the answer is journaled.
    const original = journal.callAnswered.bind(journal);
    let crashed = false;
    journal.callAnswered = (args) => {
      if (!crashed) {
        crashed = true;
        throw new Error("simulated crash before the answer reached the journal");
      }
      original(args);
    };
    let runId = "";
    try {
      await execute();
      expect.fail("the run should have stopped at the journal write");
    } catch (error) {
      expect(error).to.be.instanceOf(JournalWriteError);
    } finally {
      journal.callAnswered = original;
    }
    [{ runId }] = journal.listRuns();
    const before = journal.loadRun(runId);
    expect(before.run.status).to.equal("RUNNING");
    expect(before.calls.map((c) => [c.callSeq, c.status])).to.deep.equal([[1, "PENDING"]]);
    expect(before.steps[2]).to.include({ stepName: "payment", status: "STARTED", callSeq: 1 });
    const key = before.calls[0].idempotencyKey;
    expect(effectSummary(effectsOf(liveLedgers(systems), BigInt(runId)))).to.deep.equal({
      "payment.charge": ["CAPTURED"],
    });

    const execution = await resumeWorkflow({
      definition: orderWorkflow(new Inventory(DEMO_STOCK)),
      journal,
      runId,
      endpoints: systems.endpoints,
      providers: systems.providers,
      retry: FAST_RETRY,
      logger: silent,
    });
    expect(execution.trace.outcome).to.equal("COMMITTED");
    const after = journal.loadRun(runId);
    expect(after.calls[0]).to.include({ idempotencyKey: key, status: "ANSWERED", attempts: 2 });
    const sends = journal.events(runId).filter((e) => e.kind === "call-sending" && e.callSeq === 1);
    expect(sends.map((e) => (e.detail as { idempotencyKey: string }).idempotencyKey)).to.deep.equal([
      key,
      key,
    ]);
    const effects = effectsOf(liveLedgers(systems), BigInt(runId));
    expect(effects["payment.charge"]).to.have.length(1);
    expect(effects["payment.charge"][0].idempotencyKey).to.equal(key);
    expect(execution.trace.calls[0].responseJson).to.deep.equal(effects["payment.charge"][0].response);
    expect(journal.listRuns()).to.have.length(1);
  });

  it("resumeInterruptedRuns finishes every run whose process stopped mid-run, and leaves finished ones alone", async () => {
    const finished = await execute();
    const original = journal.stepFinished.bind(journal);
    let writes = 0;
    journal.stepFinished = (args) => {
      writes += 1;
      if (args.record.stepName === "logistics") throw new Error("simulated crash");
      original(args);
    };
    for (let i = 0; i < 2; i++) {
      await execute().then(
        () => expect.fail("the run should have stopped"),
        (error: unknown) => expect(error).to.be.instanceOf(JournalWriteError),
      );
    }
    journal.stepFinished = original;
    expect(writes).to.be.greaterThan(0);
    const resumed = await resumeInterruptedRuns({
      definition: orderWorkflow(new Inventory(DEMO_STOCK)),
      journal,
      endpoints: systems.endpoints,
      providers: systems.providers,
      retry: FAST_RETRY,
      logger: silent,
    });
    expect(resumed).to.have.length(2);
    for (const { run, execution, error } of resumed) {
      expect(error).to.equal(undefined);
      expect(run.status).to.equal("RUNNING");
      expect(execution?.trace.outcome).to.equal("COMMITTED");
      expect(effectSummary(effectsOf(liveLedgers(systems), run.workflowId))).to.deep.equal({
        "payment.charge": ["CAPTURED"],
        "logistics.ship": ["SCHEDULED"],
        "invoice.issue": ["ISSUED"],
      });
    }
    expect(resumed.map((r) => r.run.runId)).not.to.include(finished.runId);
    expect(journal.listRuns().map((r) => r.status)).to.deep.equal(["COMMITTED", "COMMITTED", "COMMITTED"]);
  });

  it("50 runs at once share one journal: every run, record and call journaled once", async () => {
    const inventory = new Inventory({ "SKU-COFFEE-1KG": 1_000 });
    const executions = await Promise.all(
      Array.from({ length: 50 }, () =>
        executeWorkflow({
          definition: orderWorkflow(inventory),
          input: uniqueOrder(),
          endpoints: systems.endpoints,
          providers: systems.providers,
          binding: TEST_BINDING,
          // Each system performs and signs one effect at a time: 150 calls queue up.
          retry: { ...FAST_RETRY, callTimeoutMs: 30_000 },
          journal,
          logger: silent,
        }),
      ),
    );
    executions.forEach((e) => expect(e.failure?.message).to.equal(undefined));
    const runs = journal.listRuns();
    expect(runs).to.have.length(50);
    expect(new Set(runs.map((r) => r.runId))).to.deep.equal(new Set(executions.map((e) => e.runId)));
    for (const execution of executions) {
      const { run, steps, calls } = journal.loadRun(execution.runId);
      expect(run.status).to.equal("COMMITTED");
      expect(steps.map((s) => s.record)).to.deep.equal(execution.trace.steps);
      expect(calls.map((c) => c.callSeq)).to.deep.equal([1, 2, 3]);
      const effects = effectsOf(liveLedgers(systems), execution.trace.workflowId);
      expect(Object.values(effects).flat()).to.have.length(3);
    }
    expect(inventory.available("SKU-COFFEE-1KG")).to.equal(1_000 - 50 * 3);
  });

  it("a resumed run keeps the salts journaled with its records: the same trace root", async () => {
    // The process "dies" after invoice was answered, before the answer is journaled: records 0..3
    // are final (with their salts), invoice and accounting are not.
    const original = journal.callAnswered.bind(journal);
    journal.callAnswered = (args) => {
      if (args.callSeq === 3) throw new Error("simulated crash before the answer reached the journal");
      original(args);
    };
    try {
      await execute();
      expect.fail("the run should have stopped at the journal write");
    } catch (error) {
      expect(error).to.be.instanceOf(JournalWriteError);
    } finally {
      journal.callAnswered = original;
    }
    const [{ runId }] = journal.listRuns();
    const journaled = journal.loadRun(runId).steps.flatMap((s) => (s.record ? [s.record] : []));
    expect(journaled.map((r) => r.stepName)).to.deep.equal([
      "create_order",
      "reserve_inventory",
      "payment",
      "logistics",
    ]);
    for (const record of journaled) {
      expect(record.salt > 0n && record.salt < SNARK_SCALAR_FIELD).to.equal(true);
    }
    const resume = () =>
      resumeWorkflow({
        definition: orderWorkflow(new Inventory(DEMO_STOCK)),
        journal,
        runId,
        endpoints: systems.endpoints,
        providers: systems.providers,
        retry: FAST_RETRY,
        logger: silent,
      });
    const resumed = await resume();
    expect(resumed.trace.outcome).to.equal("COMMITTED");
    expect(resumed.trace.steps.slice(0, 4)).to.deep.equal(journaled);
    const salts = resumed.trace.steps.map((s) => s.salt);
    expect(new Set(salts).size).to.equal(6);
    // Resumed again (finished), and read back from a new connection: the same salts, the same root.
    const root = computeTraceRoot(resumed.trace, 4);
    const again = await resume();
    expect(again.trace.steps.map((s) => s.salt)).to.deep.equal(salts);
    expect(computeTraceRoot(again.trace, 4)).to.equal(root);
    const reopened = Journal.open(file);
    try {
      expect(reopened.loadRun(runId).steps.map((s) => s.record!.salt)).to.deep.equal(salts);
    } finally {
      reopened.close();
    }
  });

  it("migrates a journal without salts (schema 1): the column added, finished records salted once", async () => {
    const execution = await execute();
    journal.close();
    // Make it a version-1 journal: no salt column.
    const db = new Database(file);
    try {
      db.exec("ALTER TABLE steps DROP COLUMN salt");
      db.pragma("user_version = 1");
    } finally {
      db.close();
    }
    journal = Journal.open(file);
    const salts = journal.loadRun(execution.runId).steps.map((s) => s.record!.salt);
    expect(salts).to.have.length(6);
    expect(new Set(salts).size).to.equal(6);
    for (const salt of salts) expect(salt > 0n && salt < SNARK_SCALAR_FIELD).to.equal(true);
    journal.close();
    journal = Journal.open(file);
    expect(journal.loadRun(execution.runId).steps.map((s) => s.record!.salt)).to.deep.equal(salts);
    const reader = new Database(file, { readonly: true });
    try {
      expect(reader.pragma("user_version", { simple: true })).to.equal(3);
    } finally {
      reader.close();
    }
    // The resumed (finished) run is rebuilt with those salts, and its root is stable.
    const resume = () =>
      resumeWorkflow({
        definition: orderWorkflow(new Inventory(DEMO_STOCK)),
        journal,
        runId: execution.runId,
        endpoints: systems.endpoints,
        providers: systems.providers,
        logger: silent,
      });
    const first = await resume();
    expect(first.trace.steps.map((s) => s.salt)).to.deep.equal(salts);
    expect(computeTraceRoot((await resume()).trace, 4)).to.equal(computeTraceRoot(first.trace, 4));
  });

  it("migrates a journal of schema 2 (run ids not bound): the columns added; such a run is refused by resume with the reason", async () => {
    const execution = await execute();
    expect(journal.getRun(execution.runId)?.binding).to.deep.equal(execution.trace.binding);
    journal.close();
    // Make it a version-2 journal: no binding columns.
    const db = new Database(file);
    try {
      for (const column of ["submitter", "workflow_tag", "run_nonce"])
        db.exec(`ALTER TABLE runs DROP COLUMN ${column}`);
      db.pragma("user_version = 2");
    } finally {
      db.close();
    }
    journal = Journal.open(file);
    expect(journal.getRun(execution.runId)).to.not.have.property("binding");
    const reader = new Database(file, { readonly: true });
    try {
      expect(reader.pragma("user_version", { simple: true })).to.equal(3);
    } finally {
      reader.close();
    }
    let error: unknown;
    try {
      await resumeWorkflow({
        definition: orderWorkflow(new Inventory(DEMO_STOCK)),
        journal,
        runId: execution.runId,
        endpoints: systems.endpoints,
        providers: systems.providers,
        logger: silent,
      });
    } catch (e) {
      error = e;
    }
    expect(error).to.be.instanceOf(ResumeError);
    expect((error as Error).message).to.match(
      /started by an earlier wesflow whose run ids were not bound to a submitter/,
    );
  });

  it("a settled run's rows: the status query journaled as its own call and record, the failed call SETTLED with the response it showed, the failed record amended; rebuilt alike", async () => {
    systems.systems.payment.injectFault({ operation: "payment.charge", kind: "unknown-key" });
    const execution = await execute();
    systems.systems.payment.clearFaults();
    const { run, steps, calls } = journal.loadRun(execution.runId);
    expect(run).to.include({ status: "ROLLED_BACK", failedStep: "payment" });
    expect(steps.map((s) => `${s.stepName} ${s.phase} ${s.status} ${s.record?.evidence}`)).to.deep.equal([
      "create_order FORWARD OK NONE",
      "reserve_inventory FORWARD OK NONE",
      "payment FORWARD FAILED SETTLED",
      "payment.settle SETTLE OK ATTESTED",
      "refund_payment COMPENSATE OK ATTESTED",
      "release_inventory COMPENSATE OK NONE",
      "cancel_order COMPENSATE OK NONE",
    ]);
    const charge = effectsOf(liveLedgers(systems), execution.trace.workflowId)["payment.charge"][0];
    // the failed record keeps the response the query showed, and the result the step's code made of it
    expect(steps[2].record?.response[0]).to.equal(1n);
    expect(steps[2].result).to.deep.equal(charge.response);
    expect(
      calls.map((c) => `${c.callSeq} ${c.operationName} ${c.status} ${c.attestation ? "signed" : "-"}`),
    ).to.deep.equal([
      "1 payment.charge SETTLED -",
      "2 payment.status ANSWERED signed",
      "3 payment.refund ANSWERED signed",
    ]);
    expect(calls[0].response).to.deep.equal(charge.response);
    const kinds = journal.events(execution.runId).map((e) => e.kind);
    expect(kinds.filter((k) => k === "call-settled")).to.have.length(1);
    // rebuilt from the journal: the same trace
    const again = await resumeWorkflow({
      definition: orderWorkflow(new Inventory(DEMO_STOCK)),
      journal,
      runId: execution.runId,
      endpoints: systems.endpoints,
      providers: systems.providers,
      logger: silent,
    });
    expect(computeTraceRoot(again.trace, 4)).to.equal(computeTraceRoot(execution.trace, 4));
    expect(again.trace.calls).to.deep.equal(execution.trace.calls);
    expect(again.failure).to.include({ evidence: "SETTLED", settlement: "TOOK_EFFECT" });
    expect(
      effectSummary(effectsOf(liveLedgers(systems), execution.trace.workflowId))["payment.refund"],
    ).to.deep.equal(["REFUNDED"]);
  });

  it("a finished run resumed again is rebuilt from the journal without running anything", async () => {
    const execution = await execute();
    const eventsBefore = journal.events(execution.runId).length;
    const again = await resumeWorkflow({
      definition: orderWorkflow(new Inventory(DEMO_STOCK)),
      journal,
      runId: execution.runId,
      endpoints: systems.endpoints,
      providers: systems.providers,
      logger: silent,
    });
    expect(again.trace).to.deep.equal(execution.trace);
    expect(journal.events(execution.runId)).to.have.length(eventsBefore);
  });

  it("only one live process owns a run: a claim by another is refused until that process is gone", () => {
    const runId = journal.createRun({ workflowId: 0xabcdefn, scenario: "order", template: "T", input: {} });
    expect(journal.getRun(runId)?.owner).to.equal(thisProcessOwner());
    const db = new Database(file);
    try {
      // The parent of this process is alive: its claim stands.
      db.prepare("UPDATE runs SET owner = ? WHERE run_id = ?").run(`${os.hostname()}:${process.ppid}`, runId);
      expect(journal.claimRun(runId)).to.equal(false);
      // A process that has exited owns nothing.
      const gone = spawnSync(process.execPath, ["-e", "0"]).pid;
      db.prepare("UPDATE runs SET owner = ? WHERE run_id = ?").run(`${os.hostname()}:${gone}`, runId);
      expect(journal.claimRun(runId)).to.equal(true);
      expect(journal.getRun(runId)?.owner).to.equal(thisProcessOwner());
    } finally {
      db.close();
    }
  });

  it("finds a run by an unambiguous id prefix and says so when it cannot", () => {
    const runId = journal.createRun({
      workflowId: 0x123456789n,
      scenario: "order",
      template: "T",
      input: {},
    });
    journal.createRun({ workflowId: 0x123456700n, scenario: "order", template: "T", input: {} });
    expect(journal.resolveRunId(runId)).to.equal(runId);
    expect(journal.resolveRunId(runId.slice(0, 66 - 1))).to.equal(runId);
    expect(() => journal.resolveRunId(runId.slice(0, 63))).to.throw(UnknownRunError, /several runs/);
    expect(() => journal.resolveRunId("0xffffff")).to.throw(UnknownRunError, /no run/);
    expect(() => journal.resolveRunId("order-1")).to.throw(UnknownRunError, /not a run id/);
  });

  it("keeps bigints in JSON columns, even when a library gave BigInt a toJSON", () => {
    const value = { a: [1n, 2n ** 200n], b: { c: -3n, d: "x" }, e: null };
    const withToJson = (BigInt.prototype as unknown as { toJSON?: unknown }).toJSON;
    (BigInt.prototype as unknown as { toJSON: () => string }).toJSON = function (this: bigint) {
      return this.toString();
    };
    try {
      expect(fromJournalJson(toJournalJson(value))).to.deep.equal(value);
    } finally {
      if (withToJson === undefined) delete (BigInt.prototype as unknown as { toJSON?: unknown }).toJSON;
      else (BigInt.prototype as unknown as { toJSON: unknown }).toJSON = withToJson;
    }
    expect(() =>
      toJournalJson(
        (() => {
          const cyclic: Record<string, unknown> = {};
          cyclic.self = cyclic;
          return cyclic;
        })(),
      ),
    ).to.throw(/cycle/);
  });
});
