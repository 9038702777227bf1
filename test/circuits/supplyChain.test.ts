import { expect } from "chai";
import type { WitnessTester } from "circomkit";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pino from "pino";
import { encodeString, signMessage, SNARK_SCALAR_FIELD, toHex32, type Signature } from "../../src/crypto";
import type { WorkflowDefinition } from "../../src/definition";
import { executeWorkflow } from "../../src/executor";
import { requestReceipts } from "../../src/host";
import { Journal } from "../../src/journal";
import { ensureDomain, stateMoveOf, stateStoreOf } from "../../src/pipeline";
import type { CircuitInput } from "../../src/prover";
import type { RunningSystems } from "../../src/scenarios";
import {
  SUPPLY_CHAIN_WORKFLOW_TAG,
  SUPPLY_INVENTORY_DOMAIN,
  SUPPLY_INVENTORY_EFFECT,
  supplyChainScenario,
  supplyChainWitness,
} from "../../src/scenarios/supply-chain";
import type { StateChange, StateMove, StateStore } from "../../src/state";
import { loadOrCreateProviderKey, systemCodeOf } from "../../src/systems";
import {
  attestationMessage,
  fixedWorkflowTag,
  hashFields,
  receiptCallsOf,
  receiptChain,
  receiptMessage,
  type SystemName,
  type Trace,
} from "../../src/trace";
import { circomkit } from "../fixtures/circomkit";
import { constraintOf, expectFailAt } from "../fixtures/constraints";

const SUBMITTER = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
const PUBS = ["workflowId", "traceRoot", "providerSetRoot", "stateRootBefore", "stateRootAfter"];
const SYSTEMS: SystemName[] = ["erp", "sql", "logistics"];
const LIMB = 1n << 64n;

const rules = constraintOf("SupplyChainRules", "supplyChain/rules.circom");
const main = constraintOf("SupplyChainSaga", "supplyChain/supplyChain.circom");
const writes = constraintOf("StateWrites", "lib/stateUpdates.circom");
const signature = constraintOf("ProviderSignature", "lib/attestation.circom");

/**
 * Each rule of SupplyChainSaga (circuits/supplyChain/) refuses a run that breaks it, on its own
 * constraint: real runs of the scenario against its simulated systems, then one record, receipt or
 * state write changed. A changed record is signed again with the system's own key (its call and its
 * receipt), so the saga's signature checks pass and the rule is what fails: what a system that
 * signs an inconsistent answer, or a workflow that calls inconsistently, cannot get proven.
 */
describe("SupplyChainSaga: every rule refuses the run that breaks it (circuits/supplyChain/)", function () {
  this.timeout(1_800_000);
  let circuit: WitnessTester<string[], string[]>;
  let dataDir: string;
  let systems: RunningSystems;
  let journal: Journal;
  let store: StateStore;
  let definition: WorkflowDefinition<unknown>;
  const keys = new Map<string, Uint8Array>();

  let committed: Trace;
  let scrapped: Trace;
  let early: Trace;

  async function executed(input: object, fail?: () => void): Promise<Trace> {
    fail?.();
    const execution = await executeWorkflow({
      definition,
      input,
      endpoints: systems.endpoints,
      providers: systems.providers,
      binding: { submitter: SUBMITTER, workflowTag: fixedWorkflowTag(SUPPLY_CHAIN_WORKFLOW_TAG) },
      retry: { initialBackoffMs: 5, maxBackoffMs: 20 },
      logger: pino({ level: "silent" }),
    });
    const { trace } = execution;
    return {
      ...trace,
      receipts: await requestReceipts({ trace, endpoints: systems.endpoints, providers: systems.providers }),
    };
  }

  /** Each honest run's state move, prepared (and discarded) on the store's root: a tampered copy keeps it. */
  const moves = new Map<bigint, StateMove>();

  function moveOf(trace: Trace, changes: StateChange[] = SUPPLY_INVENTORY_EFFECT.changes(trace)): StateMove {
    const transition = store.prepareTransition(SUPPLY_INVENTORY_DOMAIN, toHex32(trace.workflowId), changes);
    store.discardTransition(transition.id);
    return stateMoveOf(transition).move;
  }

  /** The circuit input of a run (a tampered copy: with the honest run's state move). */
  function witnessOf(trace: Trace, move = moves.get(trace.workflowId)!): CircuitInput {
    return supplyChainWitness({
      template: "SupplyChainSaga",
      params: [4, 3, 10],
      trace,
      providers: systems.providers,
      submitter: BigInt(SUBMITTER),
      state: move,
    });
  }

  /** Signs the receipts of a trace again over its calls as they are (or as `chainOf` gives them). */
  async function resignReceipts(trace: Trace, workflowId = trace.workflowId): Promise<Trace> {
    const receipts = await Promise.all(
      trace.receipts!.map(async (receipt) => {
        const calls = receiptCallsOf(trace, receipt.system);
        const chain = receiptChain(calls);
        return {
          ...receipt,
          count: calls.length,
          chain,
          signature: await signMessage(
            keys.get(receipt.system)!,
            receiptMessage(workflowId, calls.length, chain),
          ),
        };
      }),
    );
    return { ...trace, receipts };
  }

  /** A copy of the trace with records changed, each changed call signed again by its system, and its receipts. */
  async function tampered(trace: Trace, change: (steps: Trace["steps"]) => void): Promise<Trace> {
    const steps = trace.steps.map((s) => ({ ...s, request: [...s.request], response: [...s.response] }));
    change(steps);
    const calls = await Promise.all(
      trace.calls.map(async (call) => {
        const step = steps[call.stepIndex];
        const requestHash = hashFields(step.request);
        const responseHash = hashFields(step.response);
        if (!call.attestation || (requestHash === call.requestHash && responseHash === call.responseHash)) {
          return call;
        }
        const message = attestationMessage({
          workflowId: trace.workflowId,
          callSeq: call.callSeq,
          operation: call.operation,
          requestHash,
          responseHash,
        });
        return {
          ...call,
          requestHash,
          responseHash,
          attestation: { ...call.attestation, signature: await signMessage(keys.get(call.system)!, message) },
        };
      }),
    );
    return resignReceipts({ ...trace, steps, calls });
  }

  const slotOf = (trace: Trace, name: string) => {
    const index = trace.steps.findIndex((s) => s.stepName === name);
    expect(index, name).to.be.greaterThan(-1);
    return index;
  };

  before(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "wesflow-supply-circuit-"));
    circuit = await circomkit.WitnessTester("SupplyChainSaga_4_3_10", {
      file: "supplyChain/supplyChain",
      template: "SupplyChainSaga",
      params: [4, 3, 10],
      pubs: PUBS,
    });
    systems = await supplyChainScenario.startSystems({ dataDir, providerSetDepth: 3, timeoutHoldMs: 500 });
    for (const system of SYSTEMS) {
      keys.set(system, (await loadOrCreateProviderKey({ dataDir, system })).privateKey);
    }
    journal = Journal.open(path.join(dataDir, "journal.sqlite"));
    store = stateStoreOf(journal);
    ensureDomain(store, SUPPLY_INVENTORY_EFFECT);
    definition = supplyChainScenario.createDefinition({ state: store });
    // 15 gearboxes need 180 STEEL and 60 BEARING: more than the demo stock holds, so both are bought
    committed = await executed({
      orderId: "SO-C-1",
      product: "GEARBOX-7",
      quantity: 15,
      destination: "Hamburg",
    });
    scrapped = await executed(
      { orderId: "SO-C-2", product: "GEARBOX-7", quantity: 4, destination: "Hamburg" },
      () => systems.injectActorFault!("lab", "fail-inspection", 1),
    );
    early = await executed(
      { orderId: "SO-C-3", product: "GEARBOX-7", quantity: 15, destination: "Hamburg" },
      () => systems.injectFault("erp", { operation: "erp.produce", kind: "decline", times: 1 }),
    );
    expect(committed.outcome).to.equal("COMMITTED");
    expect(scrapped.outcome).to.equal("ROLLED_BACK");
    expect(early.outcome).to.equal("ROLLED_BACK");
    expect(early.steps[slotOf(early, "produce")].status).to.equal("FAILED");
    for (const trace of [committed, scrapped, early]) moves.set(trace.workflowId, moveOf(trace));
  });

  after(async () => {
    journal?.close();
    await systems?.stop();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it("the runs as they happened pass: committed, scrapped after a failed inspection, rolled back before production", async () => {
    for (const trace of [committed, scrapped, early]) await circuit.expectPass(witnessOf(trace));
  });

  describe("the plan, the purchase and production", () => {
    it("a plan for another product or quantity than the confirmed order", async () => {
      const other = await tampered(committed, (s) => (s[1].request[0] = encodeString("PUMP-3")));
      await expectFailAt(circuit, witnessOf(other), rules("eff[1] * (request[1][0] - product) === 0;"));
      const fewer = await tampered(committed, (s) => (s[1].request[1] = 14n));
      await expectFailAt(circuit, witnessOf(fewer), rules("eff[1] * (request[1][1] - quantity) === 0;"));
    });

    it("a need beyond 64 bits (quantity × per unit)", async () => {
      // per unit of slot 0: 2^63; 15 units need 15 · 2^63 >= 2^64
      const huge = await tampered(committed, (s) => {
        const perUnit = s[1].response[3];
        s[1].response[3] = perUnit - (perUnit % LIMB) + (1n << 63n);
      });
      await expectFailAt(circuit, witnessOf(huge), rules("needBits[i].in <== need[i];"));
    });

    it("a purchase for another plan, of a material the plan does not use, or a quantity on an unused line", async () => {
      const otherPlan = await tampered(committed, (s) => (s[2].request[0] = encodeString("PL999999")));
      await expectFailAt(circuit, witnessOf(otherPlan), rules("eff[2] * (request[2][0] - planId) === 0;"));
      const brass = await tampered(committed, (s) => {
        const materials = s[2].request[1];
        s[2].request[1] = materials - (materials % LIMB) + encodeString("BRASS");
      });
      await expectFailAt(
        circuit,
        witnessOf(brass),
        rules("covers[0][j] + covers[1][j] + covers[2][j] === lineUsed[j];"),
      );
      const stray = await tampered(committed, (s) => (s[2].request[2] += 7n * LIMB * LIMB));
      await expectFailAt(circuit, witnessOf(stray), rules("lineZero[j].out * lineQuantities.limb[j] === 0;"));
    });

    it("production of another quantity, or consuming other than the need", async () => {
      const fewer = await tampered(committed, (s) => (s[3].response[2] = 14n));
      await expectFailAt(circuit, witnessOf(fewer), rules("eff[3] * (response[3][2] - quantity) === 0;"));
      const more = await tampered(committed, (s) => (s[3].response[3] += 1n));
      await expectFailAt(circuit, witnessOf(more), rules("eff[3] * (response[3][3] - packedNeed) === 0;"));
    });
  });

  describe("the inspection and shipping", () => {
    it("an inspection read of another lot, or a result row of another lot", async () => {
      const query = await tampered(committed, (s) => (s[4].request[1] = encodeString("LT999999")));
      await expectFailAt(circuit, witnessOf(query), rules("inspected * (request[4][1] - lotId) === 0;"));
      const row = await tampered(committed, (s) => (s[4].response[1] = encodeString("LT999999")));
      await expectFailAt(circuit, witnessOf(row), rules("done[4] * (response[4][1] - lotId) === 0;"));
    });

    it("a passed inspection whose measured value is outside the plan's spec", async () => {
      // GEARBOX-7's spec: [4950, 5050]
      const above = await tampered(committed, (s) => (s[4].response[2] = 5_051n));
      await expectFailAt(circuit, witnessOf(above), rules("done[4] * (1 - belowMax.out) === 0;"));
      const below = await tampered(committed, (s) => (s[4].response[2] = 4_949n));
      await expectFailAt(circuit, witnessOf(below), rules("done[4] * (1 - aboveMin.out) === 0;"));
    });

    it("shipping another lot, another quantity, or to another destination", async () => {
      const lot = await tampered(committed, (s) => (s[5].request[1] = encodeString("LT999999")));
      await expectFailAt(circuit, witnessOf(lot), rules("eff[5] * (request[5][1] - lotId) === 0;"));
      const quantity = await tampered(committed, (s) => (s[5].request[2] = 14n));
      await expectFailAt(circuit, witnessOf(quantity), rules("eff[5] * (request[5][2] - quantity) === 0;"));
      const elsewhere = await tampered(committed, (s) => (s[5].request[3] = encodeString("Bremen")));
      await expectFailAt(
        circuit,
        witnessOf(elsewhere),
        rules("eff[5] * (request[5][3] - destination) === 0;"),
      );
    });
  });

  describe("the compensations", () => {
    it("a scrapped lot: another lot scrapped, a write-off other than the need, the purchase returned although consumed", async () => {
      const scrap = slotOf(scrapped, "scrap_lot");
      const otherLot = await tampered(scrapped, (s) => (s[scrap].request[0] = encodeString("LT999999")));
      await expectFailAt(
        circuit,
        witnessOf(otherLot),
        rules("layout[k][m] * (request[p][0] - lotId) === 0;"),
      );
      const writeOff = await tampered(scrapped, (s) => (s[scrap].response[2] -= 1n));
      await expectFailAt(
        circuit,
        witnessOf(writeOff),
        rules("layout[k][m] * (response[p][2] - packedNeed) === 0;"),
      );
      const cancel = slotOf(scrapped, "cancel_purchase");
      const returned = await tampered(scrapped, (s) => (s[cancel].response[2] = s[2].request[2]));
      expect(scrapped.steps[2].request[2], "the scrapped run bought something").to.not.equal(0n);
      await expectFailAt(circuit, witnessOf(returned), rules("layout[k][m] * response[p][2] === 0;"));
    });

    it("before production: the purchase returned short, other purchase orders cancelled, another plan cancelled", async () => {
      const cancel = slotOf(early, "cancel_purchase");
      const short = await tampered(early, (s) => (s[cancel].response[2] -= 1n));
      await expectFailAt(
        circuit,
        witnessOf(short),
        rules("layout[k][m] * (response[p][2] - packedQuantities) === 0;"),
      );
      const orders = await tampered(early, (s) => (s[cancel].request[1] += 1n));
      await expectFailAt(
        circuit,
        witnessOf(orders),
        rules("layout[k][m] * (request[p][1] - purchaseOrders) === 0;"),
      );
      const plan = slotOf(early, "cancel_plan");
      const otherPlan = await tampered(early, (s) => (s[plan].request[0] = encodeString("PL999999")));
      await expectFailAt(
        circuit,
        witnessOf(otherPlan),
        rules("layout[k][m] * (request[p][0] - planId) === 0; // cancelPlan: the plan"),
      );
    });
  });

  describe("the inventory's writes", () => {
    // GEARBOX-7's bill: STEEL, BEARING, OIL (writes 0, 1, 2). Changing the last write leaves the writes
    // before it (and their roots) as they are, so the rule, not the tree, is what refuses it.
    it("a committed stock move other than purchased − need, or one that writes scrap", async () => {
      const input = witnessOf(committed);
      const after = input.stateWriteValueAfter as bigint[];
      await expectFailAt(
        circuit,
        { ...input, stateWriteValueAfter: [after[0], after[1], after[2] + 1n] },
        main(
          "enabled[i] * (writes.limbsAfter[i][0] - writes.limbsBefore[i][0] - rules.purchased[i] + rules.need[i]) === 0;",
        ),
      );
      await expectFailAt(
        circuit,
        { ...input, stateWriteValueAfter: [after[0], after[1], after[2] + LIMB] },
        main("enabled[i] * (writes.limbsAfter[i][1] - writes.limbsBefore[i][1] - scrapAdded[i]) === 0;"),
      );
    });

    it("a scrapped lot whose materials are not written off", async () => {
      const input = witnessOf(scrapped);
      const after = input.stateWriteValueAfter as bigint[];
      await expectFailAt(
        circuit,
        { ...input, stateWriteValueAfter: [after[0], after[1], after[2] - LIMB] },
        main("enabled[i] * (writes.limbsAfter[i][1] - writes.limbsBefore[i][1] - scrapAdded[i]) === 0;"),
      );
    });

    it("stock that would go negative (the purchase did not cover the need) has no 64-bit stock after", async () => {
      const input = witnessOf(committed);
      const before = input.stateWriteValueBefore as bigint[];
      const after = input.stateWriteValueAfter as bigint[];
      // OIL on an empty warehouse: stock before 0, nothing bought, need 15: 0 + 0 − 15 < 0
      expect(committed.steps[2].request[1] / (LIMB * LIMB), "OIL was not bought").to.equal(0n);
      await expectFailAt(
        circuit,
        {
          ...input,
          stateWriteValueBefore: [before[0], before[1], 0n],
          stateWriteValueAfter: [after[0], after[1], SNARK_SCALAR_FIELD - 15n],
        },
        writes("rangeAfter[w].in <== valueAfter[w];"),
      );
    });

    it("a write of another key, a write left out, a write where the run moves nothing", async () => {
      const honest = SUPPLY_INVENTORY_EFFECT.changes(committed);
      // the same move written to BRASS instead of OIL (a valid opening of BRASS)
      const brass = moveOf(committed, [...honest.slice(0, 2), { ...honest[2], key: "BRASS" }]);
      await expectFailAt(
        circuit,
        witnessOf(committed, brass),
        main("enabled[i] * (stateWriteKey[i] - rules.material[i]) === 0;"),
      );
      const twoOfThree = moveOf(committed, honest.slice(0, 2));
      await expectFailAt(
        circuit,
        witnessOf(committed, twoOfThree),
        main("stateWriteEnabled[i] === enabled[i];"),
      );
      const moved = moveOf(early, [{ key: "STEEL", deltas: [0n, 0n] }]);
      await expectFailAt(circuit, witnessOf(early, moved), main("stateWriteEnabled[i] === enabled[i];"));
    });
  });

  describe("the receipts", () => {
    const erpSlot = () =>
      [systemCodeOf("logistics"), systemCodeOf("erp"), systemCodeOf("sql")]
        .sort((a, b) => a - b)
        .indexOf(systemCodeOf("erp"));

    it("a changed record whose receipt was not signed again", async () => {
      // the shipment's carrier field (no rule reads it) changed, its call signed again, its receipt not
      const changed = await tampered(committed, (s) => (s[5].response[2] = encodeString("OTHER-CARRIER")));
      const original = committed.receipts!.find((r) => r.system === "logistics")!;
      const stale = {
        ...changed,
        receipts: changed.receipts!.map((r) =>
          r.system === "logistics" ? { ...r, signature: original.signature } : r,
        ),
      };
      await expectFailAt(circuit, witnessOf(stale), signature("verifier.M <== message;"));
    });

    it("a receipt that leaves a call out, a receipt of another run", async () => {
      const input = witnessOf(committed);
      // the ERP signs the chain of its first three calls only (the circuit links all four)
      const calls = receiptCallsOf(committed, "erp");
      const partial = receiptChain(calls.slice(0, -1));
      const left = await signMessage(
        keys.get("erp")!,
        receiptMessage(committed.workflowId, calls.length - 1, partial),
      );
      const slot = erpSlot();
      const withSig = (sig: Signature) => ({
        ...input,
        signatureR8: (input.signatureR8 as bigint[][]).map((r, i) => (i === slot ? [...sig.R8] : r)),
        signatureS: (input.signatureS as bigint[]).map((v, i) => (i === slot ? sig.S : v)),
      });
      await expectFailAt(circuit, withSig(left), signature("verifier.M <== message;"));
      const other = await signMessage(
        keys.get("erp")!,
        receiptMessage(scrapped.workflowId, calls.length, receiptChain(calls)),
      );
      await expectFailAt(circuit, withSig(other), signature("verifier.M <== message;"));
    });

    it("a receipt signed with another system's key", async () => {
      const input = witnessOf(committed);
      const calls = receiptCallsOf(committed, "erp");
      const message = receiptMessage(committed.workflowId, calls.length, receiptChain(calls));
      const sqlKey = systems.providers.keyOf("sql")!.publicKey;
      const forged = await signMessage(keys.get("sql")!, message);
      const slot = erpSlot();
      await expectFailAt(
        circuit,
        {
          ...input,
          providerKey: (input.providerKey as bigint[][]).map((k, i) => (i === slot ? [...sqlKey] : k)),
          signatureR8: (input.signatureR8 as bigint[][]).map((r, i) => (i === slot ? [...forged.R8] : r)),
          signatureS: (input.signatureS as bigint[]).map((v, i) => (i === slot ? forged.S : v)),
        },
        signature("enabled * (inclusion.root - providerSetRoot) === 0;"),
      );
    });
  });
});
