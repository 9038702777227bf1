import { expect } from "chai";
import type { WitnessTester } from "circomkit";
import { poseidon, rootFromPath, SNARK_SCALAR_FIELD as P } from "../../src/crypto";
import { sagaWorkflowInput, WitnessInputError, type CircuitInput } from "../../src/prover";
import { CLEARING_SHAPES, clearingWitness } from "../../src/scenarios/clearing";
import { stateKeyField, stateSlotOf, type StateMove } from "../../src/state";
import { encodeTradeBatch, netPositions, type TradeBatch } from "../../src/systems";
import type { ProviderSet, Trace } from "../../src/trace";
import {
  balancesOf,
  batchOf,
  clearingMove,
  clearingProviders,
  clearingStateStore,
  FIXTURE_INPUT,
  signedClearingTrace,
  type ClearingFigures,
} from "../fixtures/clearingTrace";
import { circomkit } from "../fixtures/circomkit";
import { constraintOf, expectFailAt } from "../fixtures/constraints";
import { providerSetOf, SETTLED_KINDS, TEST_SUBMITTER, type ProviderFixture } from "../fixtures/orderTrace";

const PUBS = ["workflowId", "traceRoot", "providerSetRoot", "stateRootBefore", "stateRootAfter"];
const SUBMITTER = BigInt(TEST_SUBMITTER);
const rules = constraintOf("ClearingRules", "clearing/rules.circom");
const batchRules = constraintOf("ClearingBatch", "clearing/rules.circom");
const reversal = constraintOf("ClearingReversal", "clearing/rules.circom");
const clearing = constraintOf("ClearingSaga", "clearing/clearing.circom");
const updates = constraintOf("StateWrites", "lib/stateUpdates.circom");
const leafUpdate = constraintOf("StateLeafUpdate", "lib/state.circom");
const attestation = constraintOf("ProviderSignature", "lib/attestation.circom");

describe("clearing circuits: ClearingWorkflow (committed) and ClearingSaga (rolled back)", function () {
  this.timeout(900_000);
  let workflow: WitnessTester<string[], string[]>;
  let saga: WitnessTester<string[], string[]>;
  let providers: ProviderFixture[];
  let providerSet: ProviderSet;
  let state: ReturnType<typeof clearingStateStore>;
  const batch = batchOf(FIXTURE_INPUT);

  before(async () => {
    providers = await clearingProviders();
    providerSet = providerSetOf(providers);
    state = clearingStateStore();
    workflow = await circomkit.WitnessTester("ClearingWorkflow_4_3_10", {
      file: "clearing/clearing",
      template: "ClearingWorkflow",
      params: [4, 3, 10],
      pubs: PUBS,
    });
    saga = await circomkit.WitnessTester("ClearingSaga_4_3_10", {
      file: "clearing/clearing",
      template: "ClearingSaga",
      params: [4, 3, 10],
      pubs: PUBS,
    });
  });

  after(() => state?.close());

  /** The honest figures of a batch against the store's balances. */
  const figuresOf = (b: TradeBatch, edit: Partial<ClearingFigures> = {}): ClearingFigures => ({
    batch: b,
    before: balancesOf(state.store, b),
    ...edit,
  });

  /** The witness of a run through the scenario's own builder. */
  const witness = (template: "ClearingWorkflow" | "ClearingSaga", trace: Trace, move: StateMove) =>
    clearingWitness({
      template,
      params: [4, 3, 10],
      trace,
      providers: providerSet,
      submitter: SUBMITTER,
      state: move,
    });

  const runIdOf = (trace: Trace) => "0x" + trace.workflowId.toString(16).padStart(64, "0");

  /** A rolled-back run's move: no writes, the root as it is. */
  const unchanged = (): StateMove => {
    const root = state.store.root("clearing/balances");
    return { domain: "clearing/balances", rootBefore: root, rootAfter: root, writes: [] };
  };

  /** SagaWorkflow's part of a ClearingWorkflow input (no check of the state against the records). */
  const sagaPart = (trace: Trace) =>
    sagaWorkflowInput({
      shape: CLEARING_SHAPES.ClearingWorkflow,
      trace,
      providers: providerSet,
      submitter: SUBMITTER,
      traceDepth: 4,
    });

  /** The state part as a move gives it, padded to four writes, values taken as they are. */
  const statePart = (move: StateMove): CircuitInput => ({
    stateRootBefore: move.rootBefore,
    stateRootAfter: move.rootAfter,
    stateWriteEnabled: [0, 1, 2, 3].map((j) => (move.writes[j] ? 1n : 0n)),
    stateWriteKey: [0, 1, 2, 3].map((j) => move.writes[j]?.keyField ?? 0n),
    stateWriteValueBefore: [0, 1, 2, 3].map((j) => move.writes[j]?.valueBefore ?? 0n),
    stateWriteValueAfter: [0, 1, 2, 3].map((j) => move.writes[j]?.valueAfter ?? 0n),
    stateWriteInserted: [0n, 0n, 0n, 0n],
    stateWritePathElements: [0, 1, 2, 3].map((j) => [
      ...(move.writes[j]?.pathElements ?? new Array<bigint>(10).fill(0n)),
    ]),
  });

  /** A tampered run's input, built by hand: the trace's records and the move as they are. */
  const byHand = (trace: Trace, move: StateMove): CircuitInput => ({
    ...sagaPart(trace),
    ...statePart(move),
  });

  /**
   * A committed run of batch `b` with edits to its figures (the signed calls re-signed over the
   * edited fields), the balances' move prepared by src/state; honest runs through the scenario's
   * own witness builder.
   */
  async function committed(
    edit: Partial<ClearingFigures> = {},
    b: TradeBatch = batch,
  ): Promise<{ trace: Trace; input: CircuitInput; move: StateMove }> {
    const trace = await signedClearingTrace({ figures: figuresOf(b, edit), providers });
    const move = clearingMove(state.store, b, runIdOf(trace));
    const honest = Object.keys(edit).length === 0;
    return { trace, move, input: honest ? witness("ClearingWorkflow", trace, move) : byHand(trace, move) };
  }

  describe("ClearingWorkflow accepts", () => {
    it("a committed batch of 8 trades among 4 institutions: balances moved by the nets, statement = balances after", async () => {
      const { input } = await committed();
      await workflow.expectPass(input);
    });

    it("a batch of one trade between two institutions (two writes, empty settle slots)", async () => {
      const small = batchOf({
        batchId: "CB-SMALL",
        trades: [{ tradeId: 1, payer: "LUSOBANK", payee: "NORDBANK", amountCents: 12_345 }],
      });
      const { input } = await committed({}, small);
      await workflow.expectPass(input);
    });

    it("a batch that takes an institution's balance to exactly zero", async () => {
      const all = batchOf({
        batchId: "CB-ZERO",
        trades: [{ tradeId: 7, payer: "BALTBANK", payee: "ALPBANK", amountCents: 12_000_000 }],
      });
      const { input } = await committed({}, all);
      await workflow.expectPass(input);
    });
  });

  describe("ClearingWorkflow refuses, each at its rule", () => {
    it("nets that do not sum to zero", async () => {
      const nets = netPositions(batch);
      nets[0] += 1n;
      const { input } = await committed({ nets });
      await expectFailAt(
        workflow,
        input,
        rules("response[1][0] + response[1][1] + response[1][2] + response[1][3] === 0;"),
      );
    });

    it("a net that is not the institution's received − paid (balanced, but two nets swapped)", async () => {
      const nets = netPositions(batch);
      [nets[0], nets[1]] = [nets[1], nets[0]];
      // legs, balances and statement all follow the swapped nets: only the netting rule is broken
      const trace = await signedClearingTrace({ figures: figuresOf(batch, { nets }), providers });
      const move = clearingMove(state.store, batch, runIdOf(trace), nets);
      await expectFailAt(workflow, byHand(trace, move), rules("response[1][j] === net;"));
    });

    it("a bank leg that differs from the net (the bank signed other legs)", async () => {
      const legNets = netPositions(batch);
      legNets[2] += 100n;
      legNets[3] -= 100n;
      const { input } = await committed({ legNets });
      await expectFailAt(workflow, input, rules("leg[j] === response[1][j];"));
    });

    it("a bank answer whose legs hash is not the legs'", async () => {
      const { input } = await committed({ legsHash: 12345n });
      await expectFailAt(workflow, input, rules("response[2][2] === legsHash.out;"));
    });

    it("a balance after that is not balance before + net", async () => {
      const before = balancesOf(state.store, batch);
      const nets = netPositions(batch);
      const after = before.map((b, j) => b + nets[j]);
      after[1] += 1n;
      const trace = await signedClearingTrace({ figures: figuresOf(batch, { after }), providers });
      const move = clearingMove(
        state.store,
        batch,
        runIdOf(trace),
        after.map((a, j) => a - before[j]),
      );
      const input = byHand(trace, move);
      await expectFailAt(workflow, input, rules("valueAfter[j] === valueBefore[j] + response[1][j];"));
    });

    it("a balance that would go negative (balance before + net below zero, as a field element p - x)", async () => {
      // BALTBANK (slot 3) pays 7,900.00 net and holds 1.00: after = p - 7,899.00
      const poor = clearingStateStore({ BALTBANK: 100n });
      try {
        const nets = netPositions(batch);
        expect(nets[3]).to.equal(-790_000n);
        const before = balancesOf(poor.store, batch);
        const after = before.map((b, j) => b + nets[j]);
        const trace = await signedClearingTrace({ figures: { batch, before, after }, providers });
        // the store refuses a negative balance: its path and the other writes from the store, BALTBANK's value by hand
        const move = clearingMove(poor.store, batch, runIdOf(trace), [nets[0], nets[1], nets[2], 0n]);
        const last = move.writes[3];
        const valueAfter = P + after[3];
        const rootAfter = rootFromPath(poseidon([last.keyField, valueAfter]), {
          pathElements: [...last.pathElements],
          pathIndices: [...last.pathIndices],
        });
        const negative: StateMove = {
          ...move,
          rootAfter,
          writes: [...move.writes.slice(0, 3), { ...last, valueAfter, rootAfter }],
        };
        await expectFailAt(workflow, byHand(trace, negative), updates("rangeAfter[w].in <== valueAfter[w];"));
      } finally {
        poor.close();
      }
    });

    it("a bank statement whose balances differ from the balances after", async () => {
      const before = balancesOf(state.store, batch);
      const nets = netPositions(batch);
      const statement = before.map((b, j) => b + nets[j]);
      statement[0] += 1n;
      const { input } = await committed({ statement });
      await expectFailAt(
        workflow,
        input,
        rules("response[3][1] === after[0] + after[1] * L64 + after[2] * L128;"),
      );
    });

    it("a trade whose payer is its payee", async () => {
      const self: TradeBatch = {
        ...batch,
        trades: batch.trades.map((t, i) => (i === 4 ? { ...t, payee: t.payer } : t)),
      };
      const { input } = await committed({ venueRequest: encodeTradeBatch(self) }, self);
      await expectFailAt(workflow, input, rules("batch.active[t] * selfTrade[t].out === 0;"));
    });

    it("a trade whose payee is no institution of the batch (slot 3 of a 3-institution batch)", async () => {
      const three = batchOf({
        batchId: "CB-THREE",
        trades: [
          { tradeId: 1, payer: "NORDBANK", payee: "ALPBANK", amountCents: 5_000 },
          { tradeId: 2, payer: "ALPBANK", payee: "IBERBANK", amountCents: 3_000 },
        ],
      });
      // trade 1's payee slot (bits 285 + 89 + 2, 2 bits) set to 3: an institution the batch lacks
      const fields = withBits(encodeTradeBatch(three), 285n + 89n + 2n, 2n, 3n);
      const { input } = await committed({ venueRequest: fields }, three);
      await expectFailAt(workflow, input, rules("payeeIn === 1;"));
    });

    it("an institution listed twice", async () => {
      // [NORDBANK, ALPBANK, IBERBANK, NORDBANK]: the trades among the first three, NORDBANK written
      // twice (its second write from where the first left it, net 0): all else consistent
      const twice: TradeBatch = {
        batchId: "CB-TWICE",
        institutions: ["NORDBANK", "ALPBANK", "IBERBANK", "NORDBANK"],
        trades: [
          { tradeId: 1, payer: "NORDBANK", payee: "ALPBANK", amountCents: 5_000 },
          { tradeId: 2, payer: "ALPBANK", payee: "IBERBANK", amountCents: 3_000 },
          { tradeId: 3, payer: "IBERBANK", payee: "NORDBANK", amountCents: 1_000 },
        ],
      };
      const nets = netPositions(twice);
      expect(nets[3]).to.equal(0n);
      const before = balancesOf(state.store, twice);
      before[3] = before[0] + nets[0];
      const trace = await signedClearingTrace({ figures: { batch: twice, before }, providers });
      const move = clearingMove(state.store, twice, runIdOf(trace));
      await expectFailAt(workflow, byHand(trace, move), rules("batch.member[j] * same[pair].out === 0;"));
    });

    it("a trade after the last one", async () => {
      const two = batchOf({
        batchId: "CB-TWO",
        trades: [
          { tradeId: 1, payer: "NORDBANK", payee: "ALPBANK", amountCents: 5_000 },
          { tradeId: 2, payer: "ALPBANK", payee: "NORDBANK", amountCents: 3_000 },
        ],
      });
      // a bit of trade 5's amount (bits 285 + 5 × 89 + 4 ..), beyond the batch's 2 trades
      // (its payer and payee slot 0: it nets to nothing; the netting record's gross counts it)
      const fields = withBits(encodeTradeBatch(two), 285n + 5n * 89n + 4n, 1n, 1n);
      const { input } = await committed({ venueRequest: fields, gross: 5_000n + 3_000n + 1n }, two);
      await expectFailAt(workflow, input, batchRules("(1 - active[t]) * all === 0;"));
    });

    it("an institution the balances domain does not hold (not registered)", async () => {
      const ghost = batchOf({
        batchId: "CB-GHOST",
        trades: [{ tradeId: 1, payer: "NORDBANK", payee: "GHOSTBNK", amountCents: 5_000 }],
      });
      const trace = await signedClearingTrace({
        figures: { batch: ghost, before: [40_000_000n, 0n] },
        providers,
      });
      const good = clearingMove(
        state.store,
        batchOf({ ...FIXTURE_INPUT, trades: FIXTURE_INPUT.trades.slice(0, 1) }),
        "0x" + "3".repeat(64),
      );
      // write 1 opens GHOSTBNK's empty slot as if it held a balance of 0
      const key = stateKeyField("GHOSTBNK");
      const path = good.writes[1].pathElements; // any siblings: the leaf is not in the tree
      const move: StateMove = {
        ...good,
        writes: [
          { ...good.writes[0], valueAfter: good.writes[0].valueBefore - 5_000n },
          {
            ...good.writes[1],
            key: "GHOSTBNK",
            keyField: key,
            slot: stateSlotOf(key),
            valueBefore: 0n,
            valueAfter: 5_000n,
            pathElements: path,
          },
        ],
      };
      await expectFailAt(
        workflow,
        byHand(trace, move),
        leafUpdate("enabled * (before[DEPTH] - rootBefore) === 0;"),
      );
    });

    it("a forged batch: the venue's fields edited after it signed them", async () => {
      const { trace, input } = await committed();
      const request = (input.request as bigint[][]).map((f) => [...f]);
      request[0][3] ^= 1n << 5n; // a bit of trade 7's amount
      await expectFailAt(workflow, { ...input, request }, attestation("verifier.M <== message;"));
      expect(trace.steps[0].operation).to.equal(701);
    });
  });

  describe("ClearingSaga", () => {
    const rollbacks: {
      failAt: number;
      failure?: (typeof SETTLED_KINDS)[number] | "signed-refusal";
      what: string;
    }[] = [
      { failAt: 0, what: "the venue refuses the batch" },
      {
        failAt: 0,
        failure: "settled-no-effect",
        what: "the venue's answer is lost, never confirmed (NO_EFFECT)",
      },
      { failAt: 1, what: "the netting fails (local)" },
      { failAt: 2, what: "the bank refuses the transfer" },
      {
        failAt: 2,
        failure: "settled-took-effect",
        what: "the transfer's answer is lost but it took effect: reversed",
      },
      { failAt: 3, what: "the statement does not match (a signed MISMATCH): reversed" },
      {
        failAt: 3,
        failure: "settled-no-effect",
        what: "the statement's answer is lost (NO_EFFECT): reversed",
      },
      {
        failAt: 3,
        failure: "settled-took-effect",
        what: "the statement's answer is lost, it was issued: reversed",
      },
      { failAt: 7, what: "the last settle record fails (local): reversed" },
    ];
    for (const r of rollbacks) {
      it(`accepts a rollback: ${r.what}`, async () => {
        const trace = await signedClearingTrace({
          figures: figuresOf(batch),
          providers,
          failAt: r.failAt,
          failure: r.failure,
        });
        await saga.expectPass(witness("ClearingSaga", trace, unchanged()));
      });
    }

    it("refuses a reversal of another transfer", async () => {
      const trace = await signedClearingTrace({
        figures: figuresOf(batch, { reversalOf: "TR000009" }),
        providers,
        failAt: 3,
      });
      await expectFailAt(
        saga,
        witness("ClearingSaga", trace, unchanged()),
        reversal("transfer === expectTransfer;"),
      );
    });

    it("refuses a rolled-back batch whose balances root moved", async () => {
      const trace = await signedClearingTrace({ figures: figuresOf(batch), providers, failAt: 3 });
      const input = witness("ClearingSaga", trace, unchanged());
      await expectFailAt(
        saga,
        { ...input, stateRootAfter: (input.stateRootAfter as bigint) + 1n },
        clearing("stateRootAfter === stateRootBefore;"),
      );
    });

    it("refuses a committed batch (ClearingWorkflow proves those)", async () => {
      const trace = await signedClearingTrace({ figures: figuresOf(batch), providers });
      const root = unchanged().rootBefore;
      const input = {
        ...sagaWorkflowInput({
          shape: CLEARING_SHAPES.ClearingSaga,
          trace,
          providers: providerSet,
          submitter: SUBMITTER,
          traceDepth: 4,
        }),
        stateRootBefore: root,
        stateRootAfter: root,
      };
      await expectFailAt(saga, input, clearing("outcome === 2;"));
    });

    it("the builder refuses a committed run on ClearingSaga, and a rolled-back run that moves the balances", async () => {
      const trace = await signedClearingTrace({ figures: figuresOf(batch), providers });
      expect(() => witness("ClearingSaga", trace, unchanged())).to.throw(
        WitnessInputError,
        /proves rolled-back batches/,
      );
      const rolled = await signedClearingTrace({ figures: figuresOf(batch), providers, failAt: 3 });
      const moved = clearingMove(state.store, batch, runIdOf(rolled));
      expect(() => witness("ClearingSaga", rolled, moved)).to.throw(
        WitnessInputError,
        /the balances stay as they were/,
      );
    });
  });

  // ------------------------------------------------------------------ helpers

  /** The venue's four fields with `width` bits at `at` (of their one bit string, 253 a field) set to `value`. */
  function withBits(fields: readonly bigint[], at: bigint, width: bigint, value: bigint): bigint[] {
    const stream = fields.reduce((all, field, f) => all | (field << (253n * BigInt(f))), 0n);
    const mask = ((1n << width) - 1n) << at;
    const edited = (stream & ~mask) | (value << at);
    return [0n, 1n, 2n, 3n].map((f) => (edited >> (253n * f)) & ((1n << 253n) - 1n));
  }
});
