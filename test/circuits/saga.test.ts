import type { WitnessTester } from "circomkit";
import { expect } from "chai";
import { WitnessInputError, type CircuitInput } from "../../src/prover";
import { ORDER_WORKFLOW_TAG, orderTemplateInput } from "../../src/scenarios/order/witness";
import {
  computeTraceRoot,
  workflowIdOf,
  type ProviderSet,
  type StepRecord,
  type Trace,
} from "../../src/trace";
import { circomkit } from "../fixtures/circomkit";
import {
  PROVIDER_DEPTH,
  providerFixtures,
  providerSetOf,
  signedOrderTrace,
  TEST_SUBMITTER,
  TRACE_DEPTH,
  type ProviderFixture,
} from "../fixtures/orderTrace";

const SUBMITTER = 0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266n;
const STEP_NAMES = ["create_order", "reserve_inventory", "payment", "logistics", "invoice", "accounting"];
const CALL_STEPS = new Set([2, 3, 4]);

/** The records re-numbered after an edit (index = position), as a forger would have to. */
function reindexed(trace: Trace, steps: StepRecord[]): Trace {
  return { ...trace, steps: steps.map((s, index) => ({ ...s, index })) };
}

describe("OrderSaga(4, 3) circuit: committed and rolled-back orders", function () {
  this.timeout(900_000);
  let circuit: WitnessTester<string[], string[]>;
  let providers: ProviderFixture[];
  let providerSet: ProviderSet;
  const input = (trace: Trace): CircuitInput =>
    orderTemplateInput({
      template: "OrderSaga",
      trace,
      providers: providerSet,
      submitter: SUBMITTER,
      traceDepth: TRACE_DEPTH,
    });

  before(async () => {
    circuit = await circomkit.WitnessTester("OrderSaga_4_3", {
      file: "order/order",
      template: "OrderSaga",
      params: [TRACE_DEPTH, PROVIDER_DEPTH],
      pubs: ["workflowId", "outcome", "traceRoot", "providerSetRoot", "submitter"],
    });
    providers = await providerFixtures();
    providerSet = providerSetOf(providers);
  });

  it("accepts a committed run", async () => {
    await circuit.expectPass(input(await signedOrderTrace({ providers })));
  });

  for (let k = 0; k < STEP_NAMES.length; k++) {
    const kinds = CALL_STEPS.has(k) ? (["signed-refusal", "declared"] as const) : (["declared"] as const);
    for (const failure of kinds) {
      const how = CALL_STEPS.has(k)
        ? failure === "declared"
          ? " (no answer: declared)"
          : " (signed refusal)"
        : "";
      const compensations =
        k === 0 ? "nothing to compensate" : `compensations of steps ${k - 1}..0 in reverse`;
      it(`accepts a rollback after ${STEP_NAMES[k]} failed${how}: ${compensations}`, async () => {
        await circuit.expectPass(input(await signedOrderTrace({ providers, failAt: k, failure })));
      });
    }
  }

  describe("rejects (tampered witness must fail to prove)", () => {
    it("a compensation missing", async () => {
      const trace = await signedOrderTrace({ providers, failAt: 4, failure: "signed-refusal" });
      const withoutLast = reindexed(trace, trace.steps.slice(0, -1));
      await circuit.expectFail(input(withoutLast));
    });

    it("compensations out of order", async () => {
      const trace = await signedOrderTrace({ providers, failAt: 2 });
      const steps = [...trace.steps];
      // records 3 and 4 compensate reserve_inventory then create_order: swap them
      [steps[3], steps[4]] = [steps[4], steps[3]];
      await circuit.expectFail(input(reindexed(trace, steps)));
    });

    it("a compensation for a step that never ran", async () => {
      const trace = await signedOrderTrace({ providers, failAt: 1 });
      const bogus: StepRecord = {
        ...trace.steps[trace.steps.length - 1],
        stepCode: 2,
        stepName: "reserve_inventory.compensate",
      };
      await circuit.expectFail(input(reindexed(trace, [...trace.steps, bogus])));
    });

    it("a compensating call that no system signed (refund declared, not attested)", async () => {
      const trace = await signedOrderTrace({ providers, failAt: 3, failure: "signed-refusal" });
      const refund = trace.calls.find((c) => c.operationName === "payment.refund")!;
      const forged: Trace = {
        ...trace,
        calls: trace.calls.map((c) => (c === refund ? { ...c, attestation: undefined } : c)),
      };
      await circuit.expectFail(input(forged));
    });

    it("a record's salt changed (the trace root unchanged)", async () => {
      const valid = input(await signedOrderTrace({ providers, failAt: 3, failure: "declared" }));
      const salt = [...(valid.salt as bigint[])];
      salt[1] += 1n;
      await circuit.expectFail({ ...valid, salt });
    });

    it("COMMITTED claimed for a run with a failed step", async () => {
      const valid = input(await signedOrderTrace({ providers, failAt: 3, failure: "declared" }));
      await circuit.expectFail({ ...valid, outcome: 1n });
    });

    it("ROLLED_BACK claimed for a run where no step failed", async () => {
      const valid = input(await signedOrderTrace({ providers }));
      await circuit.expectFail({ ...valid, outcome: 2n });
    });

    it("a failed step index outside the template", async () => {
      const valid = input(await signedOrderTrace({ providers }));
      await circuit.expectFail({ ...valid, failedStep: 7n });
    });

    it("a declared failure that carries a response no system signed", async () => {
      const trace = await signedOrderTrace({ providers, failAt: 2, failure: "declared" });
      const steps = trace.steps.map((s, i) => (i === 2 ? { ...s, response: [2n, 0n, 55n, 0n] } : s));
      await circuit.expectFail(input({ ...trace, steps }));
    });

    it("failedCallAttested = 1 on a committed run (no call failed: the bit says nothing, so it is pinned to 0)", async () => {
      const valid = input(await signedOrderTrace({ providers }));
      await circuit.expectFail({ ...valid, failedCallAttested: 1n });
    });

    it("failedCallAttested = 1 when the failed step is local (create_order, reserve_inventory)", async () => {
      for (const failAt of [0, 1]) {
        const valid = input(await signedOrderTrace({ providers, failAt }));
        await circuit.expectPass(valid);
        await circuit.expectFail({ ...valid, failedCallAttested: 1n });
      }
    });

    it("data in a slot the run does not use (after the last record, and in a slot another layout uses)", async () => {
      const valid = input(await signedOrderTrace({ providers, failAt: 2, failure: "declared" }));
      // failed at payment: 5 records in slots 0..4 (create, reserve, payment failed, 2 compensations);
      // slot 6 is used by other layouts (a later failure), slot 12 by none
      for (const slot of [6, 12]) {
        const request = (valid.request as bigint[][]).map((r) => [...r]);
        request[slot][1] = 42n;
        await circuit.expectFail({ ...valid, request });
        const response = (valid.response as bigint[][]).map((r) => [...r]);
        response[slot][0] = 1n;
        await circuit.expectFail({ ...valid, response });
      }
    });
    it("a signed success presented as the failure (payment captured, run rolled back)", async () => {
      const committed = await signedOrderTrace({ providers });
      const rolledBack = await signedOrderTrace({ providers, failAt: 2, failure: "signed-refusal" });
      // the failed payment record and its call replaced by the captured payment, signed for call 1
      const steps = rolledBack.steps.map((s, i) =>
        i === 2 ? { ...s, response: committed.steps[2].response } : s,
      );
      const calls = rolledBack.calls.map((c) =>
        c.callSeq === 1 ? { ...committed.calls[0], stepIndex: 2 } : c,
      );
      await circuit.expectFail(input({ ...rolledBack, steps, calls }));
    });
  });

  describe("run binding: workflowId = Poseidon(submitter, order tag, runNonce)", () => {
    it("accepts the id its binding makes; refuses another runNonce or another tag", async () => {
      const valid = input(await signedOrderTrace({ providers }));
      await circuit.expectPass(valid);
      await circuit.expectFail({ ...valid, runNonce: (valid.runNonce as bigint) + 1n });
      // a run whose id was made for another workflow (its signatures cover that id): the template's tag is fixed
      const foreign = await signedOrderTrace({ providers, runNonce: 77n });
      const other = { ...foreign.binding, workflowTag: ORDER_WORKFLOW_TAG + 1n };
      const retagged = { ...foreign, workflowId: workflowIdOf(other), binding: other };
      expect(() => input(retagged)).to.throw(WitnessInputError, /belongs to workflow/);
    });

    it("squatting: an attacker's fabricated step-0 rollback (no signature needed) for the victim's workflow id cannot be proven", async () => {
      const VICTIM = TEST_SUBMITTER;
      const ATTACKER = "0x70997970c51812dc3a010c7d01b50e0d17dc79c8";
      const victim = await signedOrderTrace({ providers, submitter: VICTIM, runNonce: 1001n });
      // The attacker's own run: create_order failed (a local step, nothing signed), rolled back.
      const own = await signedOrderTrace({ providers, submitter: ATTACKER, runNonce: 2002n, failAt: 0 });
      const ownInput = orderTemplateInput({
        template: "OrderSaga",
        trace: own,
        providers: providerSet,
        submitter: BigInt(ATTACKER),
        traceDepth: TRACE_DEPTH,
      });
      await circuit.expectPass(ownInput); // its own id: fine, and recorded under that id only
      // The same rollback under the victim's id (trace root recomputed for it), for the attacker's
      // address: no nonce opens the victim's id for another submitter.
      const squat = { ...own, workflowId: victim.workflowId };
      const squatInput = {
        ...ownInput,
        workflowId: victim.workflowId,
        traceRoot: computeTraceRoot(squat, TRACE_DEPTH),
      };
      await circuit.expectFail(squatInput);
      await circuit.expectFail({ ...squatInput, runNonce: victim.binding.runNonce });
      // and the builder says why before any witness is computed
      expect(() =>
        orderTemplateInput({
          template: "OrderSaga",
          trace: squat,
          providers: providerSet,
          submitter: BigInt(ATTACKER),
          traceDepth: TRACE_DEPTH,
        }),
      ).to.throw(WitnessInputError, /not Poseidon\(submitter, workflowTag, runNonce\)/);
      // the victim's own proof (its address) still passes
      await circuit.expectPass(
        orderTemplateInput({
          template: "OrderSaga",
          trace: victim,
          providers: providerSet,
          submitter: BigInt(VICTIM),
          traceDepth: TRACE_DEPTH,
        }),
      );
    });

    it("a leaked trace cannot be proven for another submitter (its signatures cover the victim's id)", async () => {
      const victim = await signedOrderTrace({ providers, runNonce: 3003n });
      const valid = input(victim);
      const THIEF = 0x3c44cdddb6a900fa2b585dd299e03d12fa4293bcn;
      await circuit.expectFail({ ...valid, submitter: THIEF });
      expect(() =>
        orderTemplateInput({
          template: "OrderSaga",
          trace: victim,
          providers: providerSet,
          submitter: THIEF,
          traceDepth: TRACE_DEPTH,
        }),
      ).to.throw(WitnessInputError, /was started to be recorded by/);
    });
  });
});
