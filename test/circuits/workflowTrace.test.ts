import { expect } from "chai";
import type { WitnessTester } from "circomkit";
import { derivePublicKey, encodeString, signMessage, type Signature } from "../../src/crypto";
import {
  genericTemplateParams,
  isGenericTemplate,
  WitnessInputError,
  workflowTraceInput,
  type CircuitInput,
} from "../../src/prover";
import {
  attestationMessage,
  computeTraceRoot,
  hashFields,
  layoutRecords,
  layoutRows,
  layoutRowsHash,
  ProviderSet,
  workflowDefinitionHash,
  workflowIdOf,
  WorkflowLayoutError,
  type CallRecord,
  type StepRecord,
  type Trace,
  type WorkflowLayout,
} from "../../src/trace";
import { SYSTEM_CODES } from "../../src/systems";
import { circomkit } from "../fixtures/circomkit";
import {
  layoutOf,
  ORDER_STEPS,
  PROVIDER_DEPTH,
  providerFixtures,
  providerSetOf,
  signedTrace,
  TRACE_DEPTH,
  type FailureKind,
  type ProviderFixture,
  type StepSpec,
} from "../fixtures/orderTrace";

const SUBMITTER = 0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266n;
const MAX_STEPS = 8;
const MAX_CALLS = 4;
const PUBS = ["workflowId", "traceRoot", "providerSetRoot", "definitionHash"];
const s = encodeString;

/** A 3-step subscription: a local step, payment.charge (refunded on rollback), invoice.issue. */
const SUBSCRIPTION_STEPS: StepSpec[] = [
  {
    code: 11,
    name: "open_subscription",
    request: [s("SUB-1"), s("CUST-7"), s("PLAN-PRO"), 12n],
    response: [1n, 2900n, 0n, 0n],
  },
  {
    code: 12,
    name: "charge",
    request: [],
    response: [],
    call: {
      operation: "payment.charge",
      system: "payment",
      settle: "payment.status",
      request: [s("SUB-1"), s("CUST-7"), 2900n, s("EUR")],
      response: [1n, s("PAY-000042"), 2900n, 0n],
    },
    compensation: {
      request: [],
      response: [],
      call: {
        operation: "payment.refund",
        system: "payment",
        request: [s("SUB-1"), s("PAY-000042"), 2900n, s("EUR")],
        response: [1n, s("REF-000042"), 2900n, 0n],
      },
    },
  },
  {
    code: 13,
    name: "invoice",
    request: [],
    response: [],
    call: {
      operation: "invoice.issue",
      system: "invoicing",
      settle: "invoice.status",
      request: [s("SUB-1"), s("CUST-7"), 2900n, 0n],
      response: [1n, s("INV-000042"), 2900n, 0n],
    },
  },
];

/** The subscription with its invoice step calling invoice.void (302) instead: another definition. */
const VOIDING_SUBSCRIPTION_STEPS: StepSpec[] = SUBSCRIPTION_STEPS.map((step, j) =>
  j === 2 ? { ...step, call: { ...step.call!, operation: "invoice.void" } } : step,
);

const WORKFLOWS = {
  order: { steps: ORDER_STEPS, layout: layoutOf(ORDER_STEPS) },
  subscription: { steps: SUBSCRIPTION_STEPS, layout: layoutOf(SUBSCRIPTION_STEPS) },
};
type WorkflowName = keyof typeof WORKFLOWS;

/** The records re-numbered after an edit (index = position), as a forger would have to. */
function reindexed(trace: Trace, steps: StepRecord[]): Trace {
  return { ...trace, steps: steps.map((step, index) => ({ ...step, index })) };
}

const clone = (input: CircuitInput): CircuitInput => structuredClone(input);

/** The definitionHash of the (possibly edited) definition rows of an input, as a forger would recompute it. */
function rehash(input: CircuitInput): CircuitInput {
  const columns = ["stepCode", "stepOp", "stepSystem", "settleOp", "hasComp", "compOp", "compSystem"].map(
    (name) => input[name] as bigint[],
  );
  const rows = columns[0].map((_, j) => columns.map((column) => Number(column[j])));
  return { ...input, definitionHash: layoutRowsHash(Number(input.stepCount), rows) };
}

describe("WorkflowTrace(4, 3, 8, 4) circuit: one generic circuit for user-defined workflows", function () {
  this.timeout(900_000);
  let circuit: WitnessTester<string[], string[]>;
  let providers: ProviderFixture[];
  let providerSet: ProviderSet;

  const run = (workflow: WorkflowName, failAt?: number, failure?: FailureKind): Promise<Trace> =>
    signedTrace({
      steps: WORKFLOWS[workflow].steps,
      scenario: workflow,
      templates: { committed: "WorkflowTrace_8_4", rolledBack: "WorkflowTrace_8_4" },
      providers,
      failAt,
      failure,
    });
  const input = (trace: Trace, layout: WorkflowLayout, maxCalls = MAX_CALLS): CircuitInput =>
    workflowTraceInput({
      trace,
      layout,
      providers: providerSet,
      submitter: SUBMITTER,
      traceDepth: TRACE_DEPTH,
      maxSteps: MAX_STEPS,
      maxCalls,
    });
  const provider = (system: string) => providers.find((p) => p.system === system)!;
  /** A call re-signed as its system would sign it, for a record edited by a forger. */
  const resign = (trace: Trace, call: CallRecord, edit: { callSeq?: number; response?: bigint[] }) =>
    signMessage(
      provider(call.system).privateKey,
      attestationMessage({
        workflowId: trace.workflowId,
        callSeq: edit.callSeq ?? call.callSeq,
        operation: call.operation,
        requestHash: call.requestHash,
        responseHash: edit.response ? hashFields(edit.response) : call.responseHash,
      }),
    );
  const withSignature = (call: CallRecord, signature: Signature): CallRecord => ({
    ...call,
    attestation: { ...call.attestation!, signature },
  });

  before(async () => {
    circuit = await circomkit.WitnessTester("WorkflowTrace_8_4", {
      file: "workflow",
      template: "WorkflowTrace",
      params: [TRACE_DEPTH, PROVIDER_DEPTH, MAX_STEPS, MAX_CALLS],
      pubs: PUBS,
    });
    providers = await providerFixtures();
    providerSet = providerSetOf(providers);
  });

  describe("definitionHash: TypeScript and circuit agree", () => {
    let hasher: WitnessTester<string[], string[]>;
    before(async () => {
      hasher = await circomkit.WitnessTester(`WorkflowDefinitionHash_${MAX_STEPS}`, {
        file: "lib/workflowTrace",
        template: "WorkflowDefinitionHash",
        params: [MAX_STEPS],
      });
    });

    for (const name of ["order", "subscription"] as const) {
      it(`WorkflowDefinitionHash(8) of the ${name} definition = workflowDefinitionHash`, async () => {
        const { layout } = WORKFLOWS[name];
        const rows = layoutRows(layout, MAX_STEPS);
        await hasher.expectPass(
          {
            stepCount: layout.steps.length,
            stepCode: rows.map((r) => r[0]),
            stepOp: rows.map((r) => r[1]),
            stepSystem: rows.map((r) => r[2]),
            settleOp: rows.map((r) => r[3]),
            hasComp: rows.map((r) => r[4]),
            compOp: rows.map((r) => r[5]),
            compSystem: rows.map((r) => r[6]),
          },
          { hash: workflowDefinitionHash(layout, MAX_STEPS) },
        );
      });
    }

    it("differs between definitions, and depends on the circuit's maximum of steps", () => {
      const order = workflowDefinitionHash(WORKFLOWS.order.layout, MAX_STEPS);
      const subscription = workflowDefinitionHash(WORKFLOWS.subscription.layout, MAX_STEPS);
      const voiding = workflowDefinitionHash(layoutOf(VOIDING_SUBSCRIPTION_STEPS), MAX_STEPS);
      expect(new Set([order, subscription, voiding]).size).to.equal(3);
      expect(workflowDefinitionHash(WORKFLOWS.order.layout, 6)).to.not.equal(order);
    });

    it("the witness builder puts the TypeScript hash in the public definitionHash", async () => {
      const valid = input(await run("subscription"), WORKFLOWS.subscription.layout);
      expect(valid.definitionHash).to.equal(workflowDefinitionHash(WORKFLOWS.subscription.layout, MAX_STEPS));
    });
  });

  describe("the layout TypeScript derives is the trace the executor records", () => {
    for (const name of ["order", "subscription"] as const) {
      it(`${name}: layoutRecords(k, settlement) = the records of a run failing at k (and committed)`, async () => {
        const { steps, layout } = WORKFLOWS[name];
        const settlements = [
          ["NONE", "signed-refusal"],
          ["NOTHING_TO_UNDO", "settled-no-effect"],
          ["TOOK_EFFECT", "settled-took-effect"],
        ] as const;
        for (let k = 0; k <= steps.length; k++) {
          for (const [settlement, failure] of settlements) {
            if (settlement !== "NONE" && !steps[k]?.call) continue;
            const trace = await run(name, k < steps.length ? k : undefined, failure);
            const actual = trace.steps.map((r) => [r.stepCode, r.phase, r.status, r.operation, r.callSeq]);
            const expected = layoutRecords(layout, k, settlement).map((r) => [
              r.stepCode,
              r.phase,
              r.status,
              r.operation,
              r.callSeq,
            ]);
            expect(actual, `k = ${k}, ${settlement}`).to.deep.equal(expected);
            const signed = trace.calls.filter((c) => c.attestation).map((c) => c.callSeq);
            expect(signed).to.deep.equal(
              layoutRecords(layout, k, settlement)
                .filter((r) => r.signed)
                .map((r) => r.callSeq),
            );
          }
        }
      });
    }
  });

  describe("accepts", () => {
    for (const name of ["order", "subscription"] as const) {
      const { steps, layout } = WORKFLOWS[name];
      it(`a committed ${name} run`, async () => {
        await circuit.expectPass(input(await run(name), layout));
      });
      for (let k = 0; k < steps.length; k++) {
        const kinds: FailureKind[] = steps[k].call
          ? ["signed-refusal", "settled-no-effect", "settled-refused", "settled-took-effect"]
          : ["signed-refusal"];
        for (const failure of kinds) {
          const settlement =
            failure === "settled-took-effect"
              ? "TOOK_EFFECT"
              : failure === "signed-refusal"
                ? "NONE"
                : "NOTHING_TO_UNDO";
          const signed = layoutRecords(layout, k, settlement).filter((r) => r.signed).length;
          if (signed > MAX_CALLS) continue; // see "the witness builder refuses"
          const how = steps[k].call ? ` (${failure})` : " (local step)";
          it(`a ${name} run rolled back after ${steps[k].name} failed${how}`, async () => {
            await circuit.expectPass(input(await run(name, k, failure), layout));
          });
        }
      }
    }

    it("a run of another definition against its own hash (invoice.void instead of invoice.issue)", async () => {
      const trace = await signedTrace({
        steps: VOIDING_SUBSCRIPTION_STEPS,
        scenario: "subscription",
        templates: { committed: "WorkflowTrace_8_4", rolledBack: "WorkflowTrace_8_4" },
        providers,
      });
      await circuit.expectPass(input(trace, layoutOf(VOIDING_SUBSCRIPTION_STEPS)));
    });
  });

  describe("rejects (tampered witness must fail to prove)", () => {
    const order = WORKFLOWS.order.layout;
    const subscription = WORKFLOWS.subscription.layout;

    it("a compensation missing", async () => {
      const trace = await run("order", 3, "signed-refusal");
      await circuit.expectFail(input(reindexed(trace, trace.steps.slice(0, -1)), order));
    });

    it("compensations out of order", async () => {
      const trace = await run("order", 2);
      const steps = [...trace.steps];
      // records 3 and 4 compensate reserve_inventory then create_order: swap them
      [steps[3], steps[4]] = [steps[4], steps[3]];
      await circuit.expectFail(input(reindexed(trace, steps), order));
    });

    it("a compensation for a step that never ran", async () => {
      const trace = await run("order", 1);
      const bogus: StepRecord = { ...trace.steps[trace.steps.length - 1], stepCode: 2 };
      await circuit.expectFail(input(reindexed(trace, [...trace.steps, bogus]), order));
    });

    it("an extra record after the last", async () => {
      const trace = await run("subscription");
      const extra: StepRecord = { ...trace.steps[0], stepCode: 99, stepName: "extra" };
      await circuit.expectFail(input(reindexed(trace, [...trace.steps, extra]), subscription));
    });

    it("COMMITTED claimed for a run with a failed step (outcome alone, or outcome, root and failedStep)", async () => {
      const trace = await run("subscription", 2, "settled-no-effect");
      const valid = input(trace, subscription);
      await circuit.expectFail({ ...valid, outcome: 1n });
      await circuit.expectFail({
        ...valid,
        outcome: 1n,
        failedStep: 3n,
        traceRoot: computeTraceRoot({ ...trace, outcome: "COMMITTED" }, TRACE_DEPTH),
      });
    });

    it("ROLLED_BACK claimed for a run where no step failed", async () => {
      const valid = input(await run("subscription"), subscription);
      await circuit.expectFail({ ...valid, outcome: 2n });
    });

    it("a failed step index beyond the definition's steps", async () => {
      const valid = input(await run("subscription"), subscription);
      await circuit.expectFail({ ...valid, failedStep: 4n });
      await circuit.expectFail({ ...valid, failedStep: 9n });
    });

    it("a failed step beyond stepCount with the records it would select (a rollback invented after a commit)", async () => {
      // failedStep 4 of 3 steps would read the zero rows 3 and 4 as steps: F0..F2, F3 (code 0) OK,
      // F4 (code 0) FAILED, then the refund of the charge, all signed
      const blank = { code: 0, name: "blank", request: [0n, 0n, 0n, 0n], response: [0n, 0n, 0n, 0n] };
      const padded = [...SUBSCRIPTION_STEPS, blank, blank];
      const trace = await signedTrace({
        steps: padded,
        scenario: "subscription",
        templates: { committed: "WorkflowTrace_8_4", rolledBack: "WorkflowTrace_8_4" },
        providers,
        failAt: 4,
      });
      const forged = input(trace, layoutOf(padded));
      const definition = input(await run("subscription"), subscription);
      const definitionInputs = [
        "stepCount",
        "stepCode",
        "stepOp",
        "stepSystem",
        "settleOp",
        "hasComp",
        "compOp",
        "compSystem",
      ];
      for (const name of ["definitionHash", ...definitionInputs]) forged[name] = definition[name];
      expect(forged.failedStep).to.equal(4n);
      await circuit.expectFail(forged);
    });

    it("forward steps swapped (invoice before payment)", async () => {
      const trace = await run("subscription");
      const steps = [...trace.steps];
      [steps[1], steps[2]] = [steps[2], steps[1]];
      await circuit.expectFail(input(reindexed(trace, steps), subscription));
    });

    it("a proof for definition A presented with the definitionHash of B", async () => {
      const valid = input(await run("subscription"), subscription);
      await circuit.expectFail({ ...valid, definitionHash: workflowDefinitionHash(order, MAX_STEPS) });
    });

    it("definition B's rows and hash with a run of definition A (the run bound to B's hash, so only the records differ)", async () => {
      const voiding = layoutOf(VOIDING_SUBSCRIPTION_STEPS);
      const trace = await signedTrace({
        steps: WORKFLOWS.subscription.steps,
        scenario: "subscription",
        templates: { committed: "WorkflowTrace_8_4", rolledBack: "WorkflowTrace_8_4" },
        providers,
        workflowTag: workflowDefinitionHash(voiding, MAX_STEPS),
      });
      await circuit.expectFail(input(trace, voiding));
    });

    it("a run bound to definition A presented as definition B: the builder refuses, and the circuit too (id not bound to B)", async () => {
      const trace = await run("subscription");
      const voiding = layoutOf(VOIDING_SUBSCRIPTION_STEPS);
      expect(() => input(trace, voiding)).to.throw(WitnessInputError, /belongs to workflow/);
      const valid = input(trace, subscription);
      const rows = layoutRows(voiding, MAX_STEPS);
      const column = (f: number) => rows.map((row) => BigInt(row[f]));
      await circuit.expectFail({
        ...valid,
        stepCode: column(0),
        stepOp: column(1),
        stepSystem: column(2),
        settleOp: column(3),
        hasComp: column(4),
        compOp: column(5),
        compSystem: column(6),
        definitionHash: layoutRowsHash(voiding.steps.length, rows),
      });
    });

    it("template swap: an order run (bound to the order's tag, genuinely signed) proven through a matching generic definition", async () => {
      const order = await signedTrace({
        steps: ORDER_STEPS,
        scenario: "order",
        templates: { committed: "OrderStateWorkflow_4_3_10", rolledBack: "OrderStateSaga_4_3_10" },
        providers,
      });
      const orderLayout = layoutOf(ORDER_STEPS);
      expect(() => input(order, orderLayout, 3)).to.throw(WitnessInputError, /belongs to workflow/);
      // by hand, past the builder: the same run with the definition's hash as its tag claimed
      const claimed = {
        ...order,
        binding: { ...order.binding, workflowTag: workflowDefinitionHash(orderLayout, MAX_STEPS) },
      };
      const forged = input({ ...claimed, workflowId: workflowIdOf(claimed.binding) }, orderLayout);
      await circuit.expectFail({
        ...forged,
        workflowId: order.workflowId,
        traceRoot: computeTraceRoot(order, TRACE_DEPTH),
      });
      // re-binding the id to the definition makes the order's signatures (over the old id) worthless
      await circuit.expectFail(forged);
    });

    it("a trace using another operation than the definition says (invoice.void for invoice.issue)", async () => {
      const trace = await signedTrace({
        steps: VOIDING_SUBSCRIPTION_STEPS,
        scenario: "subscription",
        templates: { committed: "WorkflowTrace_8_4", rolledBack: "WorkflowTrace_8_4" },
        providers,
        workflowTag: workflowDefinitionHash(subscription, MAX_STEPS),
      });
      await circuit.expectFail(input(trace, subscription));
    });

    it("a definition row beyond stepCount that is not zero (hash recomputed)", async () => {
      const valid = input(await run("subscription"), subscription);
      const stepCode = [...(valid.stepCode as bigint[])];
      stepCode[3] = 7n;
      await circuit.expectFail(rehash({ ...valid, stepCode }));
    });

    it("a local step that names a system, or compensation fields without a compensation (hash recomputed)", async () => {
      const valid = input(await run("subscription"), subscription);
      const stepSystem = [...(valid.stepSystem as bigint[])];
      stepSystem[0] = 5n;
      await circuit.expectFail(rehash({ ...valid, stepSystem }));
      const compOp = [...(valid.compOp as bigint[])];
      const compSystem = [...(valid.compSystem as bigint[])];
      compOp[2] = 302n;
      compSystem[2] = 3n;
      await circuit.expectFail(rehash({ ...valid, compOp, compSystem }));
      // hasComp not a bit
      const hasComp = [...(valid.hasComp as bigint[])];
      hasComp[1] = 2n;
      await circuit.expectFail(rehash({ ...valid, hasComp }));
    });

    it("a record's salt changed (the trace root unchanged)", async () => {
      const valid = input(await run("subscription"), subscription);
      const salt = [...(valid.salt as bigint[])];
      salt[0] += 1n;
      await circuit.expectFail({ ...valid, salt });
    });

    it("a response field altered after signing", async () => {
      const valid = input(await run("subscription"), subscription);
      const tampered = clone(valid);
      (tampered.response as bigint[][])[1][2] = 1n;
      await circuit.expectFail(tampered);
    });

    it("a forged signature (S and R8 of another message)", async () => {
      const valid = input(await run("order"), order);
      const other = await signMessage(provider("payment").privateKey, 12345n);
      const tampered = clone(valid);
      (tampered.signatureS as bigint[])[0] = other.S;
      (tampered.signatureR8 as bigint[][])[0] = [...other.R8];
      await circuit.expectFail(tampered);
    });

    it("a call signed by another registered system (invoicing key signing the payment)", async () => {
      const trace = await run("subscription");
      const invoicing = provider("invoicing");
      const call = trace.calls[0];
      const signature = await signMessage(
        invoicing.privateKey,
        attestationMessage({
          workflowId: trace.workflowId,
          callSeq: call.callSeq,
          operation: call.operation,
          requestHash: call.requestHash,
          responseHash: call.responseHash,
        }),
      );
      const path = providerSet.pathOf(SYSTEM_CODES.invoicing, invoicing.publicKey);
      const tampered = clone(input(trace, subscription));
      (tampered.providerKey as bigint[][])[0] = [...invoicing.publicKey];
      (tampered.signatureR8 as bigint[][])[0] = [...signature.R8];
      (tampered.signatureS as bigint[])[0] = signature.S;
      (tampered.providerPathElements as bigint[][])[0] = path.pathElements;
      (tampered.providerPathIndices as bigint[][])[0] = path.pathIndices.map(BigInt);
      await circuit.expectFail(tampered);
    });

    it("a signature by a key outside the provider set", async () => {
      const trace = await run("subscription");
      const foreignKey = Buffer.alloc(32, 99);
      const foreignPub = await derivePublicKey(foreignKey);
      const call = trace.calls[0];
      const signature = await signMessage(
        foreignKey,
        attestationMessage({
          workflowId: trace.workflowId,
          callSeq: call.callSeq,
          operation: call.operation,
          requestHash: call.requestHash,
          responseHash: call.responseHash,
        }),
      );
      // a set that does contain the foreign key gives it a valid path, but to another root
      const foreignSet = new ProviderSet(PROVIDER_DEPTH, [
        { system: "payment", systemCode: SYSTEM_CODES.payment, publicKey: foreignPub },
        ...providerSet.providers.slice(1),
      ]);
      const path = foreignSet.pathOf(SYSTEM_CODES.payment, foreignPub);
      const tampered = clone(input(trace, subscription));
      (tampered.providerKey as bigint[][])[0] = [...foreignPub];
      (tampered.signatureR8 as bigint[][])[0] = [...signature.R8];
      (tampered.signatureS as bigint[])[0] = signature.S;
      (tampered.providerPathElements as bigint[][])[0] = path.pathElements;
      (tampered.providerPathIndices as bigint[][])[0] = path.pathIndices.map(BigInt);
      await circuit.expectFail(tampered);
    });

    it("calls misnumbered (1, 3: invoice re-signed as call 3)", async () => {
      const trace = await run("subscription");
      const invoice = trace.calls[1];
      const signature = await resign(trace, invoice, { callSeq: 3 });
      const tampered: Trace = {
        ...trace,
        steps: trace.steps.map((step) => (step.callSeq === 2 ? { ...step, callSeq: 3 } : step)),
        calls: [trace.calls[0], { ...withSignature(invoice, signature), callSeq: 3 }],
      };
      expect(() => input(tampered, subscription)).to.throw(WitnessInputError, /not numbered/);
      // the witness a forger would build anyway: the valid one with this trace's root and signature
      const forged = clone(input(trace, subscription));
      forged.traceRoot = computeTraceRoot(tampered, TRACE_DEPTH);
      (forged.signatureR8 as bigint[][])[1] = [...signature.R8];
      (forged.signatureS as bigint[])[1] = signature.S;
      await circuit.expectFail(forged);
    });

    it("an OK call whose signed response says it did not succeed (response[0] = 2)", async () => {
      const trace = await run("subscription");
      const declined = [2n, ...trace.steps[1].response.slice(1)];
      const payment = trace.calls[0];
      const signature = await resign(trace, payment, { response: declined });
      const tampered: Trace = {
        ...trace,
        steps: trace.steps.map((step, i) => (i === 1 ? { ...step, response: declined } : step)),
        calls: [{ ...withSignature(payment, signature), responseHash: hashFields(declined) }, trace.calls[1]],
      };
      await circuit.expectFail(input(tampered, subscription));
    });

    it("a compensating call that no system signed (refund declared, not attested)", async () => {
      const trace = await run("subscription", 2, "signed-refusal");
      const forged: Trace = {
        ...trace,
        calls: trace.calls.map((c) =>
          c.operationName === "payment.refund" ? { ...c, attestation: undefined } : c,
        ),
      };
      await circuit.expectFail(input(forged, subscription));
    });

    it("a declared failure that carries a response no system signed", async () => {
      const trace = await run("subscription", 1, "settled-no-effect");
      const steps = trace.steps.map((step, i) => (i === 1 ? { ...step, response: [2n, 0n, 55n, 0n] } : step));
      await circuit.expectFail(input({ ...trace, steps }, subscription));
    });

    it("a settlement claimed without a failed call (on a committed run, a local failure), or out of range", async () => {
      const valid = input(await run("subscription"), subscription);
      await circuit.expectFail({ ...valid, settlement: 1n });
      await circuit.expectFail({ ...valid, settlement: 2n });
      await circuit.expectFail({ ...valid, settlement: 3n });
      const local = input(await run("subscription", 0), subscription);
      await circuit.expectPass(local);
      await circuit.expectFail({ ...local, settlement: 1n });
    });

    it("a failed call without a signed refusal and without its status query (the unsettled declared failure)", async () => {
      await circuit.expectFail(input(await run("subscription", 1, "declared"), subscription));
    });

    it("a settled call of a step whose definition has no status query (settleOp 0, hash recomputed)", async () => {
      const valid = input(await run("subscription", 1, "settled-no-effect"), subscription);
      await circuit.expectPass(valid);
      const settleOp = [...(valid.settleOp as bigint[])];
      settleOp[1] = 0n;
      await circuit.expectFail(rehash({ ...valid, settleOp }));
      // nor may a local step have one
      const local = [...(valid.settleOp as bigint[])];
      local[0] = 103n;
      await circuit.expectFail(rehash({ ...valid, settleOp: local }));
    });

    it('"no effect" claimed for a call whose status query says TOOK_EFFECT (the refund left out)', async () => {
      const took = await run("subscription", 1, "settled-took-effect");
      await circuit.expectPass(input(took, subscription));
      const steps = took.steps
        .filter((step) => step.phase !== "COMPENSATE" || step.stepCode !== 12)
        .map((step) =>
          step.index === 1 ? { ...step, evidence: "DECLARED" as const, response: [0n, 0n, 0n, 0n] } : step,
        );
      const calls = took.calls.filter((c) => c.operationName !== "payment.refund");
      await circuit.expectFail(input(reindexed({ ...took, calls }, steps), subscription));
    });

    it("a step settled as completed but not compensated, and a settled step's compensation without the status query", async () => {
      const took = await run("subscription", 1, "settled-took-effect");
      const noRefund = took.steps.filter((step) => step.phase !== "COMPENSATE" || step.stepCode !== 12);
      await circuit.expectFail(
        input(
          reindexed(
            { ...took, calls: took.calls.filter((c) => c.operationName !== "payment.refund") },
            noRefund,
          ),
          subscription,
        ),
      );
      const valid = input(took, subscription);
      await circuit.expectFail({ ...valid, settlement: 1n });
      // the refund renumbered to the query's call 2 and signed so (the forger has that signature)
      const noQuery = took.steps
        .filter((step) => step.phase !== "SETTLE")
        .map((step) =>
          step.phase === "COMPENSATE" && step.stepCode === 12 ? { ...step, callSeq: 2 } : step,
        );
      const refund = took.calls.find((c) => c.operationName === "payment.refund")!;
      const signature = await resign(took, refund, { callSeq: 2 });
      const calls = took.calls
        .filter((c) => c.operationName !== "payment.status")
        .map((c) => (c === refund ? { ...withSignature(c, signature), callSeq: 2, stepIndex: 2 } : c));
      const forged = input(reindexed({ ...took, calls }, noQuery), subscription);
      expect(forged.settlement).to.equal(0n);
      await circuit.expectFail(forged);
      await circuit.expectFail({ ...forged, settlement: 2n });
    });

    it("a status query of another call or request, or TOOK_EFFECT over another response (signed by the system as it is)", async () => {
      const took = await run("subscription", 1, "settled-took-effect");
      const query = took.calls.find((c) => c.operationName === "payment.status")!;
      const edits: { request?: bigint[]; response?: bigint[] }[] = [
        { request: [2n, ...took.steps[2].request.slice(1)] },
        { request: [took.steps[2].request[0], 302n, ...took.steps[2].request.slice(2)] },
        { request: [...took.steps[2].request.slice(0, 2), 5n, 0n] },
        { response: [1n, 5n, 0n, 0n] },
      ];
      for (const edit of edits) {
        const request = edit.request ?? took.steps[2].request;
        const response = edit.response ?? took.steps[2].response;
        const signature = await signMessage(
          provider("payment").privateKey,
          attestationMessage({
            workflowId: took.workflowId,
            callSeq: query.callSeq,
            operation: query.operation,
            requestHash: hashFields(request),
            responseHash: hashFields(response),
          }),
        );
        const tampered: Trace = {
          ...took,
          steps: took.steps.map((step) => (step.index === 2 ? { ...step, request, response } : step)),
          calls: took.calls.map((c) =>
            c === query
              ? {
                  ...withSignature(c, signature),
                  requestHash: hashFields(request),
                  responseHash: hashFields(response),
                }
              : c,
          ),
        };
        await circuit.expectFail(input(tampered, subscription));
      }
    });

    it("data in a slot after the last record", async () => {
      const tampered = clone(input(await run("subscription"), subscription));
      (tampered.request as bigint[][])[5][0] = 1n;
      await circuit.expectFail(tampered);
    });

    it("a run with more calls than attestation slots (the fifth call unattested)", async () => {
      // order, invoice failed: charge, ship, issue (refused), cancel shipment, refund = 5 calls
      const trace = await run("order", 4, "signed-refusal");
      const wide = input(trace, order, 6);
      const forged: CircuitInput = { ...wide };
      for (const name of [
        "providerKey",
        "signatureR8",
        "signatureS",
        "providerPathElements",
        "providerPathIndices",
      ]) {
        forged[name] = (wide[name] as bigint[]).slice(0, MAX_CALLS) as CircuitInput[string];
      }
      await circuit.expectFail(forged);
    });

    it("binds the submitter: a witness with the submitter changed alone violates the constraints", async () => {
      const witness = await circuit.calculateWitness(input(await run("subscription"), subscription));
      await circuit.expectConstraintPass(witness);
      const tampered = await circuit.editWitness(witness, { "main.submitter": SUBMITTER + 1n });
      await circuit.expectConstraintFail(tampered);
    });

    it("binds the definition: a witness with definitionHash changed alone violates the constraints", async () => {
      const witness = await circuit.calculateWitness(input(await run("subscription"), subscription));
      const tampered = await circuit.editWitness(witness, {
        "main.definitionHash": workflowDefinitionHash(order, MAX_STEPS),
      });
      await circuit.expectConstraintFail(tampered);
    });
  });

  describe("the witness builder refuses runs that cannot fit, with a clear message", () => {
    it("more calls than attestation slots (order rolled back after invoice or accounting)", async () => {
      for (const k of [4, 5]) {
        const trace = await run("order", k, "signed-refusal");
        expect(() => input(trace, WORKFLOWS.order.layout)).to.throw(
          WitnessInputError,
          /the run (made|has) [56] (signed )?calls; WorkflowTrace\(4, 3, 8, 4\) proves at most 4/,
        );
      }
    });

    it("a definition of more steps than the circuit's rows, or with a local step naming a system", async () => {
      const trace = await run("subscription");
      const nine = { steps: Array.from({ length: 9 }, (_, j) => ({ code: j + 1, operation: 0, system: 0 })) };
      expect(() => input(trace, nine)).to.throw(WitnessInputError, /9 steps; the circuit holds at most 8/);
      const odd = { steps: [{ code: 1, operation: 0, system: 5 }] };
      expect(() => layoutRows(odd, MAX_STEPS)).to.throw(WorkflowLayoutError, /operation 0, system 5/);
      expect(() => input(trace, odd)).to.throw(WitnessInputError);
    });

    it("a failed record beyond the definition's steps, or an outcome that contradicts the records", async () => {
      const trace = await run("subscription", 2, "settled-no-effect");
      expect(() => input({ ...trace, outcome: "COMMITTED" }, WORKFLOWS.subscription.layout)).to.throw(
        WitnessInputError,
        /COMMITTED run has a failed step/,
      );
      const short = { steps: WORKFLOWS.subscription.layout.steps.slice(0, 2) };
      expect(() => input(trace, short)).to.throw(WitnessInputError, /fails at step 0..1/);
    });

    it("names the generic template and its parameters", () => {
      expect(isGenericTemplate("WorkflowTrace")).to.equal(true);
      expect(isGenericTemplate("OrderSaga")).to.equal(false);
      expect(genericTemplateParams("WorkflowTrace", [4, 3, 8, 4])).to.deep.equal({
        traceDepth: 4,
        providerDepth: 3,
        maxSteps: 8,
        maxCalls: 4,
      });
    });
  });
});
