import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pino from "pino";
import { z } from "zod";

import { defineWorkflow, StepError } from "../../src/definition";
import { executeWorkflow, NeedsAttentionError, resumeWorkflow, type ExecutorEvent } from "../../src/executor";
import { Journal } from "../../src/journal";
import { DEMO_STOCK, Inventory } from "../../src/scenarios/order/inventory";
import { paymentCharge } from "../../src/scenarios/order/operations";
import { startOrderSystems, type OrderSystems } from "../../src/scenarios/order/systems";
import { orderWorkflow } from "../../src/scenarios/order/workflow";
import type { FaultKind } from "../../src/systems";
import { hashFields, type SystemName, type Trace } from "../../src/trace";
import { effectsOf, effectSummary, FAST_RETRY, liveLedgers, uniqueOrder } from "../fixtures/orderRuns";
import { TEST_BINDING } from "../fixtures/orderTrace";

const silent = pino({ level: "silent" });
const SKU = "SKU-COFFEE-1KG";
const ZERO = ["0", "0", "0", "0"];

const FORWARD = ["create_order", "reserve_inventory", "payment", "logistics", "invoice", "accounting"];
const COMPENSATION = [
  "cancel_order",
  "release_inventory",
  "refund_payment",
  "cancel_shipment",
  "void_invoice",
];

interface FailingStep {
  system: SystemName;
  operation: string;
  step: number;
}
const FAILING_STEPS: FailingStep[] = [
  { system: "payment", operation: "payment.charge", step: 2 },
  { system: "logistics", operation: "logistics.ship", step: 3 },
  { system: "invoicing", operation: "invoice.issue", step: 4 },
];
const KINDS: FaultKind[] = [
  "decline",
  "error",
  "timeout",
  "bad-signature",
  "timeout-after-effect",
  "bad-signature-after-effect",
  "unknown-key",
];
/** The kinds after which the failed call took effect: its status query says TOOK_EFFECT. */
const AFTER_EFFECT: FaultKind[] = ["timeout-after-effect", "bad-signature-after-effect", "unknown-key"];
/** What the compensation of each calling step answers when it undoes an effect. */
const UNDONE: Record<string, [string, string]> = {
  "payment.charge": ["payment.refund", "REFUNDED"],
  "logistics.ship": ["logistics.cancel", "CANCELLED"],
  "invoice.issue": ["invoice.void", "VOIDED"],
};

/** The trace's records as "name PHASE STATUS evidence callSeq" lines. */
function shape(trace: Trace): string[] {
  return trace.steps.map((s) => `${s.stepName} ${s.phase} ${s.status} ${s.evidence} ${s.callSeq}`);
}

describe("executor: saga rollback against the simulated systems on loopback", function () {
  this.timeout(120_000);
  let dataDir: string;
  let systems: OrderSystems;
  let journal: Journal;

  before(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "wesflow-saga-"));
    systems = await startOrderSystems({ dataDir, providerSetDepth: 3, logger: silent, timeoutHoldMs: 3_000 });
    journal = Journal.open(path.join(dataDir, "journal.sqlite"));
  });

  afterEach(() => {
    for (const system of Object.values(systems.systems)) system.clearFaults();
  });

  after(async () => {
    journal?.close();
    await systems?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  async function run(args: { inventory?: Inventory; input?: unknown; events?: ExecutorEvent[] } = {}) {
    const inventory = args.inventory ?? new Inventory(DEMO_STOCK);
    const execution = await executeWorkflow({
      definition: orderWorkflow(inventory),
      input: args.input ?? uniqueOrder(),
      endpoints: systems.endpoints,
      providers: systems.providers,
      binding: TEST_BINDING,
      retry: FAST_RETRY,
      journal,
      logger: silent,
      onEvent: args.events && ((e) => args.events!.push(e)),
    });
    return { execution, inventory, effects: effectsOf(liveLedgers(systems), execution.trace.workflowId) };
  }

  it("commits: six forward records, calls numbered 1..3 and attested, journaled as COMMITTED", async () => {
    const { execution, inventory, effects } = await run();
    expect(execution.trace.outcome).to.equal("COMMITTED");
    expect(execution.failure).to.equal(undefined);
    expect(shape(execution.trace)).to.deep.equal([
      "create_order FORWARD OK NONE 0",
      "reserve_inventory FORWARD OK NONE 0",
      "payment FORWARD OK ATTESTED 1",
      "logistics FORWARD OK ATTESTED 2",
      "invoice FORWARD OK ATTESTED 3",
      "accounting FORWARD OK NONE 0",
    ]);
    expect(execution.trace.calls.map((c) => [c.callSeq, c.stepIndex, !!c.attestation])).to.deep.equal([
      [1, 2, true],
      [2, 3, true],
      [3, 4, true],
    ]);
    expect(effectSummary(effects)).to.deep.equal({
      "payment.charge": ["CAPTURED"],
      "logistics.ship": ["SCHEDULED"],
      "invoice.issue": ["ISSUED"],
    });
    expect(inventory.available(SKU)).to.equal(DEMO_STOCK[SKU] - 3);
    expect(journal.getRun(execution.runId)?.status).to.equal("COMMITTED");
  });

  for (const failing of FAILING_STEPS) {
    for (const kind of KINDS) {
      const tookEffect = AFTER_EFFECT.includes(kind);
      const settled = kind !== "decline";
      const compensated = tookEffect ? failing.step : failing.step - 1;
      it(`${failing.operation} fails with ${kind}: ${settled ? `settled (${tookEffect ? "took effect" : "no effect"}), ` : ""}compensates steps ${compensated}..0 in reverse, once each`, async () => {
        // Retryable kinds fail every attempt, so the retries run out; the others fail at once.
        systems.systems[failing.system as "payment"].injectFault({
          operation: failing.operation,
          kind,
          times: kind === "decline" ? 1 : 100,
        });
        const { execution, inventory, effects } = await run();
        const { trace } = execution;
        const k = failing.step;
        expect(trace.outcome).to.equal("ROLLED_BACK");

        // Shape: F0..F(k-1) OK, Fk FAILED, [its status query, and Ck when it took effect], then C(k-1)..C0.
        const callsBefore = FORWARD.slice(0, k).filter((_, i) => i >= 2).length;
        const evidence = kind === "decline" ? "ATTESTED" : tookEffect ? "SETTLED" : "DECLARED";
        const expected = [
          ...FORWARD.slice(0, k).map(
            (name, i) => `${name} FORWARD OK ${i >= 2 ? "ATTESTED" : "NONE"} ${i >= 2 ? i - 1 : 0}`,
          ),
          `${FORWARD[k]} FORWARD FAILED ${evidence} ${callsBefore + 1}`,
        ];
        let callSeq = callsBefore + 1;
        if (settled) expected.push(`${FORWARD[k]}.settle SETTLE OK ATTESTED ${++callSeq}`);
        for (let j = tookEffect ? k : k - 1; j >= 0; j--) {
          const external = j >= 2;
          expected.push(
            `${COMPENSATION[j]} COMPENSATE OK ${external ? "ATTESTED" : "NONE"} ${external ? ++callSeq : 0}`,
          );
        }
        expect(shape(trace)).to.deep.equal(expected);
        trace.steps.forEach((s, i) => expect(s.index).to.equal(i));
        trace.steps
          .filter((s) => s.phase === "COMPENSATE")
          .forEach((s) =>
            expect(s.stepCode).to.equal(
              trace.steps.find((f) => f.stepName === FORWARD[s.stepCode - 1])!.stepCode,
            ),
          );

        // The failed record: its call's request is recorded; the response when the system signed it,
        // or when its status query showed it (bound by the hash the query signed).
        const failed = trace.steps[k];
        expect(failed.request.map(String)).not.to.deep.equal(ZERO);
        const failedCall = trace.calls.find((c) => c.callSeq === failed.callSeq)!;
        expect(failedCall.requestHash).to.equal(hashFields(failed.request));
        if (kind === "decline") {
          expect(failed.response[0]).to.equal(2n);
          expect(failedCall.attestation).to.not.equal(undefined);
        } else if (tookEffect) {
          expect(failed.response[0]).to.equal(1n);
          expect(failedCall.attestation).to.equal(undefined);
          expect(failedCall.responseJson).to.deep.equal(effects[failing.operation][0].response);
        } else {
          expect(failed.response.map(String)).to.deep.equal(ZERO);
          expect(failedCall.attestation).to.equal(undefined);
          expect(failedCall.responseJson).to.equal(null);
        }
        if (settled) {
          // The status query: it names the failed call (callSeq, operation, request hash) and says
          // what the system did, with the hash of the response it showed.
          const query = trace.steps[k + 1];
          expect(query.request.slice(0, 3)).to.deep.equal([
            BigInt(failed.callSeq),
            BigInt(failed.operation),
            hashFields(failed.request),
          ]);
          expect(query.response[0]).to.equal(tookEffect ? 1n : 2n);
          expect(query.response[1]).to.equal(tookEffect ? hashFields(failed.response) : 0n);
          expect(execution.failure?.settlement).to.equal(tookEffect ? "TOOK_EFFECT" : "NO_EFFECT");
        }
        // One CallRecord per callSeq, 1..n in trace order; all but the failed one attested.
        expect(trace.calls.map((c) => c.callSeq)).to.deep.equal(
          Array.from({ length: trace.calls.length }, (_, i) => i + 1),
        );
        trace.calls
          .filter((c) => c.callSeq !== failed.callSeq)
          .forEach((c) => expect(c.attestation, `call ${c.callSeq}`).to.not.equal(undefined));

        // Effects: every external effect undone exactly once, the failed call's too when it took
        // effect (from the systems' ledgers); stock back.
        const summary = effectSummary(effects);
        const [undo, undone] = UNDONE[failing.operation];
        expect(summary["payment.refund"]).to.deep.equal(
          k > 2 || (tookEffect && k === 2) ? ["REFUNDED"] : undefined,
        );
        expect(summary["logistics.cancel"]).to.deep.equal(
          k > 3 || (tookEffect && k === 3) ? ["CANCELLED"] : undefined,
        );
        expect(summary["invoice.void"]).to.deep.equal(tookEffect && k === 4 ? ["VOIDED"] : undefined);
        const failedEffects = summary[failing.operation] ?? [];
        if (kind === "decline") expect(failedEffects).to.have.length(1).and.not.include("CAPTURED");
        else if (tookEffect) {
          // It acted, then answered with no usable answer: settled, and undone once.
          expect(failedEffects).to.have.length(1);
          expect(summary[undo]).to.deep.equal([undone]);
        } else expect(failedEffects).to.deep.equal([]);
        const system = failing.operation.split(".")[0];
        const queries = summary[`${system}.status`] ?? [];
        expect(queries).to.have.length(settled ? 1 : 0);
        expect(inventory.available(SKU)).to.equal(DEMO_STOCK[SKU]);

        // Journal: rolled back, retries only for retryable failures.
        const events = journal.events(execution.runId);
        // (the failed record's own retries: its status query may retry too on a slow machine)
        const retries = events.filter((e) => e.kind === "step-attempt-failed" && e.traceIndex === k).length;
        const retried = kind === "error" || kind === "timeout" || kind === "timeout-after-effect";
        expect(retries).to.equal(retried ? FAST_RETRY.maxAttempts - 1 : 0);
        expect(journal.getRun(execution.runId)?.status).to.equal("ROLLED_BACK");
        expect(execution.failure).to.include({ stepName: FORWARD[k], traceIndex: k });
      });
    }
  }

  it("a local step that fails (not enough stock) rolls back with evidence NONE and no call", async () => {
    const inventory = new Inventory({ [SKU]: 2 });
    const { execution } = await run({ inventory });
    expect(shape(execution.trace)).to.deep.equal([
      "create_order FORWARD OK NONE 0",
      "reserve_inventory FORWARD FAILED NONE 0",
      "cancel_order COMPENSATE OK NONE 0",
    ]);
    expect(execution.trace.steps[1].request.map(String)).to.deep.equal(ZERO);
    expect(execution.trace.calls).to.deep.equal([]);
    expect(execution.failure?.message).to.match(/insufficient stock/);
    expect(inventory.available(SKU)).to.equal(2);
  });

  it("retries a 503 with the same idempotency key and commits with one effect", async () => {
    systems.systems.payment.injectFault({ operation: "payment.charge", kind: "error", times: 2 });
    const events: ExecutorEvent[] = [];
    const { execution, effects } = await run({ events });
    expect(execution.trace.outcome).to.equal("COMMITTED");
    expect(events.filter((e) => e.type === "step-retrying")).to.have.length(2);
    const sends = events.filter((e) => e.type === "call-sending" && e.callSeq === 1);
    expect(sends).to.have.length(3);
    expect(new Set(sends.map((e) => (e as { idempotencyKey: string }).idempotencyKey)).size).to.equal(1);
    expect(effectSummary(effects)["payment.charge"]).to.deep.equal(["CAPTURED"]);
  });

  it("a timeout after the effect: the retry gets the original signed answer, one charge", async () => {
    systems.systems.payment.injectFault({ operation: "payment.charge", kind: "timeout-after-effect" });
    const { execution, effects } = await run();
    expect(execution.trace.outcome).to.equal("COMMITTED");
    expect(effectSummary(effects)["payment.charge"]).to.deep.equal(["CAPTURED"]);
    expect(execution.trace.calls[0].responseJson).to.deep.equal(effects["payment.charge"][0].response);
  });

  it("a compensation that keeps failing parks the run as NEEDS_ATTENTION; resume finishes the rollback", async () => {
    systems.systems.invoicing.injectFault({ operation: "invoice.issue", kind: "decline" });
    systems.systems.payment.injectFault({ operation: "payment.refund", kind: "error", times: 100 });
    const inventory = new Inventory(DEMO_STOCK);
    const input = uniqueOrder();
    let parked: NeedsAttentionError | undefined;
    try {
      await run({ inventory, input });
    } catch (error) {
      parked = error as NeedsAttentionError;
    }
    expect(parked).to.be.instanceOf(NeedsAttentionError);
    expect(parked!.stepName).to.equal("refund_payment");
    const runId = parked!.runId;
    const journaled = journal.getRun(runId)!;
    expect(journaled.status).to.equal("NEEDS_ATTENTION");
    expect(journaled.reason).to.match(/payment\.refund.*503/);
    // The stock is still reserved: compensations stop at the parked one, in order.
    expect(inventory.available(SKU)).to.equal(DEMO_STOCK[SKU] - 3);

    systems.systems.payment.clearFaults();
    const execution = await resumeWorkflow({
      definition: orderWorkflow(inventory),
      journal,
      runId,
      endpoints: systems.endpoints,
      providers: systems.providers,
      retry: FAST_RETRY,
      logger: silent,
    });
    expect(execution.trace.outcome).to.equal("ROLLED_BACK");
    expect(shape(execution.trace).slice(5)).to.deep.equal([
      "cancel_shipment COMPENSATE OK ATTESTED 4",
      "refund_payment COMPENSATE OK ATTESTED 5",
      "release_inventory COMPENSATE OK NONE 0",
      "cancel_order COMPENSATE OK NONE 0",
    ]);
    const effects = effectSummary(effectsOf(liveLedgers(systems), execution.trace.workflowId));
    expect(effects["payment.refund"]).to.deep.equal(["REFUNDED"]);
    expect(effects["logistics.cancel"]).to.deep.equal(["CANCELLED"]);
    expect(inventory.available(SKU)).to.equal(DEMO_STOCK[SKU]);
    expect(journal.getRun(runId)?.status).to.equal("ROLLED_BACK");
  });

  it("a status query still unanswered after its retries parks the run NEEDS_ATTENTION (nothing compensated yet); resume settles it", async () => {
    systems.systems.payment.injectFault({
      operation: "payment.charge",
      kind: "bad-signature-after-effect",
      times: 100,
    });
    systems.systems.payment.injectFault({ operation: "payment.status", kind: "error", times: 100 });
    const inventory = new Inventory(DEMO_STOCK);
    const parked = await run({ inventory }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(parked).to.be.instanceOf(NeedsAttentionError);
    const { runId, stepName } = parked as NeedsAttentionError;
    expect(stepName).to.equal("payment.settle");
    expect((parked as Error).message).to.match(/settling payment\.settle failed/);
    const journaled = journal.getRun(runId)!;
    expect(journaled.status).to.equal("NEEDS_ATTENTION");
    expect(journaled.reason).to.match(/the outcome of payment\.charge \(call 1\) is unknown: .*503/);
    // never treated as if nothing happened: the charge stands, nothing was compensated yet
    let effects = effectSummary(effectsOf(liveLedgers(systems), BigInt(runId)));
    expect(effects).to.deep.equal({ "payment.charge": ["CAPTURED"] });
    expect(inventory.available(SKU)).to.equal(DEMO_STOCK[SKU] - 3);

    systems.systems.payment.clearFaults();
    const execution = await resumeWorkflow({
      definition: orderWorkflow(inventory),
      journal,
      runId,
      endpoints: systems.endpoints,
      providers: systems.providers,
      retry: FAST_RETRY,
      logger: silent,
    });
    expect(shape(execution.trace)).to.deep.equal([
      "create_order FORWARD OK NONE 0",
      "reserve_inventory FORWARD OK NONE 0",
      "payment FORWARD FAILED SETTLED 1",
      "payment.settle SETTLE OK ATTESTED 2",
      "refund_payment COMPENSATE OK ATTESTED 3",
      "release_inventory COMPENSATE OK NONE 0",
      "cancel_order COMPENSATE OK NONE 0",
    ]);
    effects = effectSummary(effectsOf(liveLedgers(systems), BigInt(runId)));
    expect(effects).to.deep.equal({
      "payment.charge": ["CAPTURED"],
      "payment.status": ["TOOK_EFFECT"],
      "payment.refund": ["REFUNDED"],
    });
    expect(inventory.available(SKU)).to.equal(DEMO_STOCK[SKU]);
    expect(journal.getRun(runId)?.status).to.equal("ROLLED_BACK");
    // the journal kept the settled answer of call 1 (the response the query showed) apart from its own
    const calls = journal.loadRun(runId).calls;
    expect(calls.find((c) => c.callSeq === 1)).to.include({ status: "SETTLED" });
    expect(calls.find((c) => c.callSeq === 1)?.attestation).to.equal(undefined);
    expect(calls.find((c) => c.callSeq === 2)).to.include({
      status: "ANSWERED",
      operationName: "payment.status",
    });
  });

  it("a step whose operation names no status query cannot be settled: parked NEEDS_ATTENTION", async () => {
    const unsettled = { ...paymentCharge, settle: undefined };
    systems.systems.payment.injectFault({ operation: "payment.charge", kind: "bad-signature-after-effect" });
    const definition = defineWorkflow<{ n: number }>({
      name: "unsettled",
      template: "WorkflowTrace_8_4",
      description: "test",
      inputSchema: z.object({ n: z.number() }),
      steps: [
        {
          name: "charge",
          code: 1,
          operation: unsettled,
          async run({ call }) {
            const result = await call(unsettled, {
              orderId: "U-1",
              customerId: "C",
              amountCents: 5,
              currency: "EUR",
            });
            return { result };
          },
        },
      ],
    });
    const error = await executeWorkflow({
      definition,
      input: { n: 1 },
      endpoints: systems.endpoints,
      providers: systems.providers,
      binding: TEST_BINDING,
      retry: FAST_RETRY,
      journal,
      logger: silent,
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(NeedsAttentionError);
    expect((error as NeedsAttentionError).reason).to.match(/declares no status query to settle it/);
  });

  it("a compensation the system refuses (signed) stays parked: the same key gets the same refusal", async () => {
    systems.systems.logistics.injectFault({ operation: "logistics.ship", kind: "decline" });
    systems.systems.payment.injectFault({ operation: "payment.refund", kind: "decline" });
    const inventory = new Inventory(DEMO_STOCK);
    const error = await run({ inventory }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(NeedsAttentionError);
    const { runId } = error as NeedsAttentionError;
    expect(journal.getRun(runId)?.reason).to.equal(
      "CallRefusedError: payment.refund (call 3) was refused by the payment system: status REFUSED (2): " +
        "the refund names no capture of this order and currency, or asks more than is left of it",
    );
    const again = await resumeWorkflow({
      definition: orderWorkflow(inventory),
      journal,
      runId,
      endpoints: systems.endpoints,
      providers: systems.providers,
      retry: FAST_RETRY,
      logger: silent,
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(again).to.be.instanceOf(NeedsAttentionError);
    expect(journal.getRun(runId)?.status).to.equal("NEEDS_ATTENTION");
    const refunds = effectsOf(liveLedgers(systems), BigInt(runId))["payment.refund"];
    expect(refunds).to.have.length(1); // the replay performed nothing new
  });

  describe("user-defined steps: retryable errors, final errors, and the step's contract", () => {
    function tinyWorkflow(steps: Parameters<typeof defineWorkflow<{ n: number }>>[0]["steps"]) {
      return defineWorkflow<{ n: number }>({
        name: "tiny",
        template: "WorkflowTrace_8_4",
        description: "test",
        inputSchema: z.object({ n: z.number() }),
        steps,
      });
    }
    const local = (result: unknown) => ({ result, request: [1n, 2n, 3n, 4n], response: [1n, 0n, 0n, 0n] });

    async function runTiny(definition: ReturnType<typeof tinyWorkflow>) {
      return executeWorkflow({
        definition,
        input: { n: 1 },
        endpoints: systems.endpoints,
        providers: systems.providers,
        binding: TEST_BINDING,
        retry: FAST_RETRY,
        logger: silent,
      });
    }

    it("retries a StepError.retryable and gives up at once on a plain Error", async () => {
      let flaky = 0;
      let compensated = 0;
      const execution = await runTiny(
        tinyWorkflow([
          {
            name: "flaky",
            code: 1,
            async run() {
              flaky += 1;
              if (flaky < 3) throw StepError.retryable("busy");
              return local("ok");
            },
            compensation: {
              async run() {
                compensated += 1;
                return local("undone");
              },
            },
          },
          {
            name: "broken",
            code: 2,
            async run() {
              throw new Error("broken for good");
            },
          },
        ]),
      );
      expect(flaky).to.equal(3);
      expect(compensated).to.equal(1);
      expect(shape(execution.trace)).to.deep.equal([
        "flaky FORWARD OK NONE 0",
        "broken FORWARD FAILED NONE 0",
        "flaky.compensate COMPENSATE OK NONE 0",
      ]);
      expect(execution.failure?.retryable).to.equal(false);
    });

    it("a step calling an operation it does not declare fails without sending anything", async () => {
      const before = systems.systems.payment.ledger().length;
      const execution = await runTiny(
        tinyWorkflow([
          {
            name: "sneaky",
            code: 1,
            async run({ call }) {
              await call(paymentCharge, { orderId: "X", customerId: "Y", amountCents: 1, currency: "EUR" });
              return local("never");
            },
          },
        ]),
      );
      expect(execution.trace.outcome).to.equal("ROLLED_BACK");
      expect(execution.failure?.message).to.match(/StepContractError: sneaky declares no operation/);
      expect(systems.systems.payment.ledger().length).to.equal(before);
    });

    it("a step that declares an operation but fails before calling keeps the callSeq, request zeros, DECLARED", async () => {
      const execution = await runTiny(
        tinyWorkflow([
          {
            name: "early",
            code: 1,
            operation: paymentCharge,
            async run() {
              throw new Error("no customer");
            },
          },
        ]),
      );
      // Never sent, but settled all the same (a proof cannot tell): NO_EFFECT, and the key fenced.
      expect(shape(execution.trace)).to.deep.equal([
        "early FORWARD FAILED DECLARED 1",
        "early.settle SETTLE OK ATTESTED 2",
      ]);
      expect(execution.trace.steps[0].request.map(String)).to.deep.equal(ZERO);
      expect(execution.trace.calls).to.have.length(2);
      expect(execution.trace.calls[0]).to.include({
        callSeq: 1,
        operationName: "payment.charge",
        requestJson: null,
      });
      expect(execution.trace.calls[1]).to.include({ callSeq: 2, operationName: "payment.status" });
      expect(execution.trace.calls[1].responseJson).to.deep.equal({ outcome: "NO_EFFECT" });
      expect(execution.failure?.settlement).to.equal("NO_EFFECT");
    });
  });
});
