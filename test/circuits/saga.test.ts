import type { WitnessTester } from "circomkit";
import { expect } from "chai";
import { signMessage } from "../../src/crypto";
import { WitnessInputError, type CircuitInput } from "../../src/prover";
import { ORDER_WORKFLOW_TAG, orderTemplateInput } from "../../src/scenarios/order/witness";
import {
  attestationMessage,
  computeTraceRoot,
  hashFields,
  workflowIdOf,
  type ProviderSet,
  type StepRecord,
  type Trace,
} from "../../src/trace";
import { circomkit } from "../fixtures/circomkit";
import { constraintOf, expectFailAt } from "../fixtures/constraints";
import {
  PROVIDER_DEPTH,
  providerFixtures,
  providerSetOf,
  SETTLED_KINDS,
  signedOrderTrace,
  TEST_SUBMITTER,
  TRACE_DEPTH,
  type ProviderFixture,
} from "../fixtures/orderTrace";

const saga = constraintOf("Saga", "lib/saga.circom");
const attestation = constraintOf("ProviderSignature", "lib/attestation.circom");

const SUBMITTER = 0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266n;
const STEP_NAMES = ["create_order", "reserve_inventory", "payment", "logistics", "invoice", "accounting"];
const CALL_STEPS = new Set([2, 3, 4]);

/** The records re-numbered after an edit (index = position), as a forger would have to. */
function reindexed(trace: Trace, steps: StepRecord[]): Trace {
  return { ...trace, steps: steps.map((s, index) => ({ ...s, index })) };
}

/**
 * The trace with record `index`'s fields edited and its call signed again over them by its system's
 * key, as if the system had signed that (`workflowId` / `operation`: signed for another run or
 * operation than the record's, the record left as it is).
 */
async function resigned(
  trace: Trace,
  providers: ProviderFixture[],
  index: number,
  edit: { request?: bigint[]; response?: bigint[]; workflowId?: bigint; operation?: number },
): Promise<Trace> {
  const steps = trace.steps.map((s) =>
    s.index === index
      ? { ...s, request: edit.request ?? s.request, response: edit.response ?? s.response }
      : s,
  );
  const record = steps[index];
  const requestHash = hashFields(record.request);
  const responseHash = hashFields(record.response);
  const calls = await Promise.all(
    trace.calls.map(async (c) => {
      if (c.callSeq !== record.callSeq) return c;
      const key = providers.find((p) => p.system === c.system)!;
      const message = attestationMessage({
        workflowId: edit.workflowId ?? trace.workflowId,
        callSeq: c.callSeq,
        operation: edit.operation ?? c.operation,
        requestHash,
        responseHash,
      });
      return {
        ...c,
        requestHash,
        responseHash,
        attestation: { ...c.attestation!, signature: await signMessage(key.privateKey, message) },
      };
    }),
  );
  return { ...trace, steps, calls };
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
      pubs: ["workflowId", "traceRoot", "providerSetRoot"],
    });
    providers = await providerFixtures();
    providerSet = providerSetOf(providers);
  });

  it("accepts a committed run", async () => {
    await circuit.expectPass(input(await signedOrderTrace({ providers })));
  });

  for (let k = 0; k < STEP_NAMES.length; k++) {
    const kinds = CALL_STEPS.has(k)
      ? (["signed-refusal", ...SETTLED_KINDS] as const)
      : (["signed-refusal"] as const);
    for (const failure of kinds) {
      const how = CALL_STEPS.has(k) ? ` (${failure})` : "";
      const from = failure === "settled-took-effect" ? k : k - 1;
      const compensations =
        from < 0 ? "nothing to compensate" : `compensations of steps ${from}..0 in reverse`;
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
      const valid = input(await signedOrderTrace({ providers, failAt: 3, failure: "settled-no-effect" }));
      const salt = [...(valid.salt as bigint[])];
      salt[1] += 1n;
      await circuit.expectFail({ ...valid, salt });
    });

    it("COMMITTED claimed for a run with a failed step", async () => {
      const valid = input(await signedOrderTrace({ providers, failAt: 3, failure: "settled-no-effect" }));
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
      const trace = await signedOrderTrace({ providers, failAt: 2, failure: "settled-no-effect" });
      const steps = trace.steps.map((s, i) => (i === 2 ? { ...s, response: [2n, 0n, 55n, 0n] } : s));
      await circuit.expectFail(input({ ...trace, steps }));
    });

    it("a settlement on a committed run, on a local failure, or out of range (0, 1, 2)", async () => {
      const committed = input(await signedOrderTrace({ providers }));
      for (const settlement of [1n, 2n]) {
        await expectFailAt(circuit, { ...committed, settlement }, saga("validSum === 1;"));
      }
      for (const failAt of [0, 1]) {
        const valid = input(await signedOrderTrace({ providers, failAt }));
        await circuit.expectPass(valid);
        await expectFailAt(circuit, { ...valid, settlement: 1n }, saga("validSum === 1;"));
      }
      await expectFailAt(circuit, { ...committed, settlement: 3n }, saga("mSum === 1;"));
    });

    it("a failed call without a signed refusal and without its status query (the unsettled declared failure)", async () => {
      const trace = await signedOrderTrace({ providers, failAt: 2, failure: "declared" });
      // layout (payment, 0) wants the failed call's signed refusal: there is no signature
      await expectFailAt(circuit, input(trace), attestation("verifier.M <== message;"));
    });

    it("data in a slot the run does not use (after the last record, and in a slot another layout uses)", async () => {
      const valid = input(await signedOrderTrace({ providers, failAt: 2, failure: "settled-no-effect" }));
      // failed at payment: 6 records in slots 0..5 (create, reserve, payment failed, its status
      // query, 2 compensations); slot 6 is used by other layouts (a later failure), slot 12 by none
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

  describe("uncertain outcomes: a failed call without a usable answer is settled by its signed status query", () => {
    // payment (step 2) fails without a usable answer: records 0..1 OK, 2 payment FAILED, 3 its status
    // query (payment.status, call 2), then [4 refund (took effect)], then release and cancel.
    const PAYMENT = 2;
    const QUERY = 3;
    const tookEffect = () => signedOrderTrace({ providers, failAt: PAYMENT, failure: "settled-took-effect" });
    const noEffect = () => signedOrderTrace({ providers, failAt: PAYMENT, failure: "settled-no-effect" });

    it("the settled layouts: the status query names the call (callSeq, operation, request hash); TOOK_EFFECT signs its response hash", async () => {
      const took = await tookEffect();
      expect(took.steps.map((s) => `${s.stepName} ${s.phase} ${s.evidence}`)).to.deep.equal([
        "create_order FORWARD NONE",
        "reserve_inventory FORWARD NONE",
        "payment FORWARD SETTLED",
        "payment.settle SETTLE ATTESTED",
        "payment.compensate COMPENSATE ATTESTED",
        "reserve_inventory.compensate COMPENSATE NONE",
        "create_order.compensate COMPENSATE NONE",
      ]);
      const [failed, query] = [took.steps[PAYMENT], took.steps[QUERY]];
      expect(query.request).to.deep.equal([1n, 101n, hashFields(failed.request), 0n]);
      expect(query.response).to.deep.equal([1n, hashFields(failed.response), 0n, 0n]);
      expect(input(took).settlement).to.equal(2n);
      expect(input(await noEffect()).settlement).to.equal(1n);
    });

    it("compensation of an uncertain step without the attested status query (the query record left out)", async () => {
      // The forger has every other signature, the refund's signed for call 2 (where the query was).
      const took = await tookEffect();
      const steps = took.steps
        .filter((s) => s.phase !== "SETTLE")
        .map((s) => (s.phase === "COMPENSATE" && s.stepCode === 3 ? { ...s, callSeq: 2 } : s));
      const calls = took.calls
        .filter((c) => c.operationName !== "payment.status")
        .map((c) => (c.operationName === "payment.refund" ? { ...c, callSeq: 2, stepIndex: QUERY } : c));
      const forged = await resigned(reindexed({ ...took, calls }, steps), providers, QUERY, {});
      // as the builder reads it (no query: not settled, so a signed refusal is wanted), and with the
      // settlement claimed anyway (the query's slot holds the refund)
      const witness = input(forged);
      expect(witness.settlement).to.equal(0n);
      // the refused layout has one record fewer: the last one is data outside the trace (and the
      // failed call's record says succeeded)
      await expectFailAt(circuit, witness, saga("(1 - used) * request[i][f] === 0;"));
      await circuit.expectFail({ ...witness, settlement: 2n });
    });

    it("compensation of an uncertain step with a status query no system signed", async () => {
      const took = await tookEffect();
      const query = took.calls.find((c) => c.operationName === "payment.status")!;
      const unsigned = {
        ...took,
        calls: took.calls.filter((c) => c !== query).concat({ ...query, attestation: undefined }),
      };
      await circuit.expectFail(input(unsigned));
    });

    it('"no effect" claimed without a valid signature: the query edited to NO_EFFECT, the refund left out', async () => {
      // The system signed TOOK_EFFECT; the prover wants to skip the refund.
      const took = await tookEffect();
      const steps = took.steps
        .filter((s) => !(s.phase === "COMPENSATE" && s.stepCode === 3))
        .map((s) =>
          s.index === PAYMENT
            ? { ...s, evidence: "DECLARED" as const, response: [0n, 0n, 0n, 0n] }
            : s.index === QUERY
              ? { ...s, response: [2n, 0n, 0n, 0n] }
              : s,
        );
      const calls = took.calls.filter((c) => c.operationName !== "payment.refund");
      const forged = reindexed({ ...took, calls }, steps);
      // the query's signature covers TOOK_EFFECT and the response hash: it does not verify
      await expectFailAt(circuit, input(forged), attestation("verifier.M <== message;"));
    });

    it('"no effect" claimed with the system\'s own TOOK_EFFECT answer (settlement 1, the refund left out)', async () => {
      const took = await tookEffect();
      const steps = took.steps
        .filter((s) => !(s.phase === "COMPENSATE" && s.stepCode === 3))
        .map((s) =>
          s.index === PAYMENT ? { ...s, evidence: "DECLARED" as const, response: [0n, 0n, 0n, 0n] } : s,
        );
      const calls = took.calls.filter((c) => c.operationName !== "payment.refund");
      const forged = reindexed({ ...took, calls }, steps);
      await expectFailAt(circuit, input(forged), saga("noEffect[i] * (response[i][0] - 3) === 0;"));
    });

    it("a step settled as completed but not compensated (the refund left out)", async () => {
      const took = await tookEffect();
      const steps = took.steps.filter((s) => !(s.phase === "COMPENSATE" && s.stepCode === 3));
      const calls = took.calls.filter((c) => c.operationName !== "payment.refund");
      await circuit.expectFail(input(reindexed({ ...took, calls }, steps)));
    });

    it("TOOK_EFFECT settled as nothing to undo, or NO_EFFECT as took effect (the settlement against the signed answer)", async () => {
      const took = input(await tookEffect());
      const none = input(await noEffect());
      await circuit.expectPass(took);
      await circuit.expectPass(none);
      await circuit.expectFail({ ...took, settlement: 1n });
      await circuit.expectFail({ ...none, settlement: 2n });
    });

    it("a status answer that queries another call, another operation or another request (signed by the system as it is)", async () => {
      const none = await noEffect();
      const [fseq, fop, fhash] = none.steps[QUERY].request;
      const edits: [bigint[], string][] = [
        [[fseq + 1n, fop, fhash, 0n], "query * request[i][0] === querySeq;"],
        [[fseq, 102n, fhash, 0n], "query * request[i][1] === queryOp;"],
        [[fseq, fop, fhash + 1n, 0n], "query * (request[i][2] - steps[i - 1].requestHash) === 0;"],
        [[fseq, fop, fhash, 7n], "query * request[i][3] === 0;"],
      ];
      for (const [request, line] of edits) {
        await expectFailAt(circuit, input(await resigned(none, providers, QUERY, { request })), saga(line));
      }
    });

    it("TOOK_EFFECT signed over another response than the one the failed record holds", async () => {
      const took = await tookEffect();
      const other = hashFields([1n, 42n, 6779n, 0n]);
      const forged = await resigned(took, providers, QUERY, { response: [1n, other, 0n, 0n] });
      await expectFailAt(
        circuit,
        input(forged),
        saga("queryEffect * (response[i][1] - steps[i - 1].responseHash) === 0;"),
      );
    });

    it("a status answer of another run, or an ordinary call's signature (another operation code) as the status answer", async () => {
      const none = await noEffect();
      const otherRun = await resigned(none, providers, QUERY, { workflowId: none.workflowId + 1n });
      await expectFailAt(circuit, input(otherRun), attestation("verifier.M <== message;"));
      const asCharge = await resigned(none, providers, QUERY, { operation: 101 });
      await expectFailAt(circuit, input(asCharge), attestation("verifier.M <== message;"));
    });

    it("a settled call's record with a response although the query says NO_EFFECT", async () => {
      const none = await noEffect();
      const steps = none.steps.map((s) =>
        s.index === PAYMENT ? { ...s, response: [1n, 5n, 6779n, 0n] } : s,
      );
      await expectFailAt(circuit, input({ ...none, steps }), saga("zeroResponse * response[i][f] === 0;"));
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
