import { expect } from "chai";
import type { WitnessTester } from "circomkit";
import {
  encodeString,
  poseidon,
  PoseidonMerkleTree,
  rootFromPath,
  SNARK_SCALAR_FIELD,
} from "../../src/crypto";
import { WitnessInputError, type CircuitInput } from "../../src/prover";
import { orderStateInput, type StateLeafTransition } from "../../src/scenarios/order/witness";
import {
  SparseMerkleTree,
  STATE_DEPTH as STORE_DEPTH,
  stateKeyField,
  stateLeaf,
  stateSlotOf,
} from "../../src/state";
import type { ProviderSet, Trace } from "../../src/trace";
import { circomkit } from "../fixtures/circomkit";
import { constraintOf, expectFailAt, type Constraint } from "../fixtures/constraints";
import {
  PROVIDER_DEPTH,
  providerFixtures,
  providerSetOf,
  signedTrace,
  TRACE_DEPTH,
  type FailureKind,
  type ProviderFixture,
  type StepSpec,
} from "../fixtures/orderTrace";

const STATE_DEPTH = 10;
const SUBMITTER = 0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266n;
const PUBS = ["workflowId", "traceRoot", "providerSetRoot", "stateRootBefore", "stateRootAfter"];
const P = SNARK_SCALAR_FIELD;
const s = encodeString;
const STEP_NAMES = ["create_order", "reserve_inventory", "payment", "logistics", "invoice", "accounting"];
const CALL_STEPS = new Set([2, 3, 4]);

// ------------------------------------------------------------------ the order's records

/** The figures an order's records carry (src/scenarios/order/workflow.ts); defaults: the fixture order. */
interface OrderFigures {
  orderId: string;
  customerId: string;
  sku: string;
  quantity: bigint;
  unitPrice: bigint;
  taxRate: bigint;
  net: bigint;
  tax: bigint;
  gross: bigint;
  stockBefore: bigint;
  stockAfter: bigint;
}

/** Consistent figures from the given ones: net = qty × price, tax rounded half up, gross = net + tax. */
function figures(given: Partial<OrderFigures> = {}): OrderFigures {
  const quantity = given.quantity ?? 3n;
  const unitPrice = given.unitPrice ?? 1899n;
  const taxRate = given.taxRate ?? 1900n;
  const net = given.net ?? quantity * unitPrice;
  const tax = given.tax ?? (net * taxRate + 5000n) / 10000n;
  const stockBefore = given.stockBefore ?? 500n;
  return {
    orderId: "ORD-1",
    customerId: "CUST-1",
    sku: "SKU-1",
    quantity,
    unitPrice,
    taxRate,
    net,
    tax,
    gross: net + tax,
    stockBefore,
    stockAfter: stockBefore - quantity,
    ...given,
  };
}

/** The order template's steps (as test/fixtures/orderTrace.ts ORDER_STEPS) with the figures `f`. */
function orderSteps(f: OrderFigures): StepSpec[] {
  const [order, customer, sku] = [s(f.orderId), s(f.customerId), s(f.sku)];
  return [
    {
      code: 1,
      name: "create_order",
      request: [order, customer, sku, f.quantity],
      response: [f.unitPrice, f.net, f.tax, f.taxRate],
      compensation: { request: [order, customer, f.gross, 0n], response: [1n, 0n, 0n, 0n] },
    },
    {
      code: 2,
      name: "reserve_inventory",
      request: [order, sku, f.quantity, 0n],
      response: [f.stockBefore, f.stockAfter, 0n, 0n],
      compensation: {
        request: [order, sku, f.quantity, 0n],
        response: [f.stockAfter, f.stockBefore, 1n, 0n],
      },
    },
    {
      code: 3,
      name: "payment",
      request: [],
      response: [],
      call: {
        operation: "payment.charge",
        settle: "payment.status",
        system: "payment",
        request: [order, customer, f.gross, s("EUR")],
        response: [1n, s("PAY-000001"), f.gross, 0n],
      },
      compensation: {
        request: [],
        response: [],
        call: {
          operation: "payment.refund",
          system: "payment",
          request: [order, s("PAY-000001"), f.gross, s("EUR")],
          response: [1n, s("RFD-000001"), f.gross, 0n],
        },
      },
    },
    {
      code: 4,
      name: "logistics",
      request: [],
      response: [],
      call: {
        operation: "logistics.ship",
        settle: "logistics.status",
        system: "logistics",
        request: [order, sku, f.quantity, s("10115 Berlin DE")],
        response: [1n, s("TRK-000001"), s("SIM-CARRIER"), 2n],
      },
      compensation: {
        request: [],
        response: [],
        call: {
          operation: "logistics.cancel",
          system: "logistics",
          request: [order, s("TRK-000001"), 0n, 0n],
          response: [1n, s("TRK-000001"), s("CXL-000001"), 0n],
        },
      },
    },
    {
      code: 5,
      name: "invoice",
      request: [],
      response: [],
      call: {
        operation: "invoice.issue",
        settle: "invoice.status",
        system: "invoicing",
        request: [order, customer, f.gross, f.tax],
        response: [1n, s("INV-000001"), f.gross, 0n],
      },
      compensation: {
        request: [],
        response: [],
        call: {
          operation: "invoice.void",
          system: "invoicing",
          request: [order, s("INV-000001"), f.gross, 0n],
          response: [1n, s("CN-000001"), f.gross, 0n],
        },
      },
    },
    {
      code: 6,
      name: "accounting",
      request: [order, f.gross, f.net, f.tax],
      response: [f.gross, f.gross, 3n, 0n],
    },
  ];
}

/** The data of forward step j: a local step's record fields or its call's. */
function forward(steps: StepSpec[], j: number): { request: bigint[]; response: bigint[] } {
  return steps[j].call ?? steps[j];
}

// ------------------------------------------------------------------ the state

/** A stock entry of the state tree: SKU, leaf index, stock. */
interface StockEntry {
  sku: string;
  slot: number;
  stock: bigint;
}
/** Each SKU's leaf sits at the slot its key fixes (stateSlotOf: low 10 bits of Poseidon(key)). */
const STOCK: StockEntry[] = [
  { sku: "SKU-1", stock: 500n },
  { sku: "SKU-2", stock: 120n },
  { sku: "SKU-3", stock: 7n },
].map((e) => ({ ...e, slot: stateSlotOf(s(e.sku)) }));

/** The depth-10 state tree over 1,024 leaves: Poseidon(encodeString(sku), stock) at each entry's slot. */
function stateTree(entries: readonly StockEntry[]): PoseidonMerkleTree {
  const leaves = new Array<bigint>(1 << STATE_DEPTH).fill(0n);
  for (const e of entries) leaves[e.slot] = poseidon([s(e.sku), e.stock]);
  return new PoseidonMerkleTree(STATE_DEPTH, leaves);
}

function modPow(base: bigint, exponent: bigint): bigint {
  let result = 1n;
  let b = base % P;
  for (let e = exponent; e > 0n; e >>= 1n) {
    if (e & 1n) result = (result * b) % P;
    b = (b * b) % P;
  }
  return result;
}
const inverse = (x: bigint): bigint => modPow(x, P - 2n);

// ------------------------------------------------------------------ where a witness must fail

const rule = constraintOf("OrderRules", "order/rules.circom");
const order = constraintOf("OrderState", "order/orderState.circom");
const leafUpdate = constraintOf("StateLeafUpdate", "lib/state.circom");

// ------------------------------------------------------------------ the tests

describe("OrderStateWorkflow / OrderStateSaga (4, 3, 10): order rules and the stock transition", function () {
  this.timeout(1_800_000);
  const circuits: Record<
    "OrderStateWorkflow" | "OrderStateSaga",
    WitnessTester<string[], string[]>
  > = {} as never;
  let providers: ProviderFixture[];
  let providerSet: ProviderSet;
  let tree: PoseidonMerkleTree;
  const sku1 = STOCK[0];

  before(async () => {
    for (const template of ["OrderStateWorkflow", "OrderStateSaga"] as const) {
      circuits[template] = await circomkit.WitnessTester(`${template}_4_3_10`, {
        file: "order/orderState",
        template,
        params: [TRACE_DEPTH, PROVIDER_DEPTH, STATE_DEPTH],
        pubs: PUBS,
      });
    }
    providers = await providerFixtures();
    providerSet = providerSetOf(providers);
    tree = stateTree(STOCK);
  });

  /** A signed order run with the figures `f`, its steps edited by `edit` before signing. */
  async function orderTrace(
    args: {
      f?: OrderFigures;
      edit?: (steps: StepSpec[]) => void;
      failAt?: number;
      failure?: FailureKind;
    } = {},
  ): Promise<Trace> {
    const steps = orderSteps(args.f ?? figures());
    args.edit?.(steps);
    return signedTrace({
      steps,
      scenario: "order",
      templates: { committed: "OrderStateWorkflow_4_3_10", rolledBack: "OrderStateSaga_4_3_10" },
      providers,
      failAt: args.failAt,
      failure: args.failure,
    });
  }

  /** The state transition of SKU-1's leaf in `stateTree`: committed takes `quantity`, rolled back nothing. */
  function transition(
    trace: Trace,
    entry: StockEntry = sku1,
    t: PoseidonMerkleTree = tree,
    quantity = 3n,
  ): StateLeafTransition {
    const path = t.path(entry.slot);
    return {
      rootBefore: t.root,
      key: s(entry.sku),
      slot: entry.slot,
      valueBefore: entry.stock,
      valueAfter: trace.outcome === "COMMITTED" ? entry.stock - quantity : entry.stock,
      ...path,
    };
  }

  function input(
    template: "OrderStateWorkflow" | "OrderStateSaga",
    trace: Trace,
    state: StateLeafTransition = transition(trace),
  ): CircuitInput {
    return orderStateInput({
      template,
      trace,
      providers: providerSet,
      submitter: SUBMITTER,
      traceDepth: TRACE_DEPTH,
      stateDepth: STATE_DEPTH,
      state,
    });
  }

  describe("accepts", () => {
    for (const template of ["OrderStateWorkflow", "OrderStateSaga"] as const) {
      it(`${template}: a committed order; stateRootAfter = the tree with SKU-1's stock 500 → 497`, async () => {
        const valid = input(template, await orderTrace());
        await circuits[template].expectPass(valid);
        const expected = stateTree(STOCK.map((e) => (e === sku1 ? { ...e, stock: 497n } : e))).root;
        expect(valid.stateRootAfter).to.equal(expected);
        expect(valid.stateRootBefore).to.equal(tree.root);
      });
    }

    it("a committed order on src/state's tree (SparseMerkleTree, stateKeyField, stateLeaf): same roots", async () => {
      expect(STORE_DEPTH).to.equal(STATE_DEPTH);
      const store = SparseMerkleTree.fromLeaves(
        STOCK.map((e) => [e.slot, stateLeaf(stateKeyField(e.sku), e.stock)] as const),
      );
      expect(store.root()).to.equal(tree.root);
      const trace = await orderTrace();
      const valid = input("OrderStateSaga", trace, {
        rootBefore: store.root(),
        key: stateKeyField(sku1.sku),
        slot: sku1.slot,
        valueBefore: 500n,
        valueAfter: 497n,
        ...store.path(sku1.slot),
      });
      await circuits.OrderStateSaga.expectPass(valid);
      expect(valid.stateRootAfter).to.equal(
        store.update(sku1.slot, stateLeaf(stateKeyField(sku1.sku), 497n)),
      );
    });

    it("a committed order rebased on the recorded state: leaf 300 → 297 while the reserve record says 500 → 497", async () => {
      const state = stateTree([{ ...sku1, stock: 300n }, ...STOCK.slice(1)]);
      const trace = await orderTrace();
      const valid = input("OrderStateSaga", trace, transition(trace, { ...sku1, stock: 300n }, state));
      await circuits.OrderStateSaga.expectPass(valid);
      expect(valid.stateRootAfter).to.equal(stateTree([{ ...sku1, stock: 297n }, ...STOCK.slice(1)]).root);
    });

    it("an order taking the last units (stock 7 → 0, its own leaf) and another tax rate (7 %, 0 %)", async () => {
      const entry = STOCK[2];
      for (const taxRate of [700n, 0n]) {
        const f = figures({ sku: entry.sku, quantity: 7n, unitPrice: 1234n, taxRate, stockBefore: 40n });
        const trace = await orderTrace({ f });
        await circuits.OrderStateSaga.expectPass(
          input("OrderStateSaga", trace, transition(trace, entry, tree, 7n)),
        );
      }
    });

    it("an exact half cent rounds up (net 50, 1 %: tax 0.5 → 1)", async () => {
      const f = figures({ quantity: 1n, unitPrice: 50n, taxRate: 100n });
      expect(f.tax).to.equal(1n);
      const trace = await orderTrace({ f });
      await circuits.OrderStateSaga.expectPass(
        input("OrderStateSaga", trace, transition(trace, sku1, tree, 1n)),
      );
    });

    for (let k = 0; k < STEP_NAMES.length; k++) {
      const kinds = CALL_STEPS.has(k)
        ? (["signed-refusal", "settled-no-effect", "settled-took-effect"] as const)
        : (["signed-refusal"] as const);
      for (const failure of kinds) {
        const how = CALL_STEPS.has(k) ? ` (${failure})` : "";
        it(`OrderStateSaga: a rollback after ${STEP_NAMES[k]} failed${how}; stateRootAfter = stateRootBefore`, async () => {
          const trace = await orderTrace({ failAt: k, failure });
          const valid = input("OrderStateSaga", trace);
          await circuits.OrderStateSaga.expectPass(valid);
          expect(valid.stateRootAfter).to.equal(valid.stateRootBefore);
        });
      }
    }

    it("a rollback: the failed step's own record is not checked (a refused charge for another amount)", async () => {
      const trace = await orderTrace({
        failAt: 2,
        failure: "signed-refusal",
        edit: (steps) => (forward(steps, 2).request[2] = 1n),
      });
      await circuits.OrderStateSaga.expectPass(input("OrderStateSaga", trace));
    });

    it("a rollback: the state path is not looked at (any siblings)", async () => {
      const trace = await orderTrace({ failAt: 3, failure: "settled-no-effect" });
      const valid = input("OrderStateSaga", trace);
      const witness = {
        ...valid,
        statePathElements: (valid.statePathElements as bigint[]).map((x) => x + 1n),
      };
      await circuits.OrderStateSaga.expectPass(witness);
    });
  });

  describe("rejects (each tampered witness fails, first at the rule it breaks)", () => {
    /** Committed runs whose records break one rule, each re-signed: they fail on both templates. */
    const committedCases: {
      name: string;
      f?: Partial<OrderFigures>;
      edit?: (steps: StepSpec[]) => void;
      at: Constraint;
    }[] = [
      {
        name: "payment amount ≠ gross (charged 1 cent more, captured = gross)",
        edit: (steps) => (forward(steps, 2).request[2] += 1n),
        at: rule("done[2] * (request[2][2] - gross) === 0"),
      },
      {
        name: "amount captured ≠ gross",
        edit: (steps) => (forward(steps, 2).response[2] -= 1n),
        at: rule("done[2] * (response[2][2] - gross) === 0"),
      },
      {
        name: "tax one cent too high (all records consistent with it)",
        f: { tax: 1083n },
        at: rule("remainderBits.in <== remainder;"),
      },
      {
        name: "tax one cent too low, remainder 15,000 < 2^14 (caught by remainder < 10,000)",
        f: { unitPrice: 1000n, tax: 569n },
        at: rule("remainderMax.out === 1;"),
      },
      {
        name: "a tax rate above 100 % (10,001 bps)",
        f: { taxRate: 10001n },
        at: rule("taxRateMax.out === 1;"),
      },
      {
        name: "net ≠ quantity × unit price (net 5,698, tax and total consistent with it)",
        f: { net: 5698n },
        at: rule("net === quantity * unitPrice;"),
      },
      {
        name: "an amount ≥ 2^64: unit price = 5,698 / 3 in the field, so 3 × price ≡ net (mod p)",
        f: { net: 5698n, unitPrice: (5698n * inverse(3n)) % P },
        at: rule("unitPrice64.in <== unitPrice;"),
      },
      {
        name: "invoice amount ≠ gross",
        edit: (steps) => (forward(steps, 4).request[2] += 1n),
        at: rule("done[4] * (request[4][2] - gross) === 0"),
      },
      {
        name: "invoiced amount (response) ≠ gross",
        edit: (steps) => (forward(steps, 4).response[2] += 1n),
        at: rule("done[4] * (response[4][2] - gross) === 0"),
      },
      {
        name: "invoice taxCents ≠ tax",
        edit: (steps) => (forward(steps, 4).request[3] += 1n),
        at: rule("done[4] * (request[4][3] - tax) === 0"),
      },
      {
        name: "accounting debits ≠ credits",
        edit: (steps) => (forward(steps, 5).response[0] += 1n),
        at: rule("done[5] * (response[5][0] - response[5][1]) === 0"),
      },
      {
        name: "accounting balanced on another total (debits = credits ≠ gross)",
        edit: (steps) => {
          forward(steps, 5).response[0] += 100n;
          forward(steps, 5).response[1] += 100n;
        },
        at: rule("done[5] * (response[5][1] - gross) === 0"),
      },
      {
        name: "accounting request's net ≠ the order's",
        edit: (steps) => (forward(steps, 5).request[2] += 1n),
        at: rule("done[5] * (request[5][2] - net) === 0"),
      },
      {
        name: "reserve record: stock after ≠ stock before − quantity (500 → 498 for 3)",
        f: { stockAfter: 498n },
        at: rule("done[1] * (response[1][0] - response[1][1] - request[1][2]) === 0"),
      },
      {
        name: "reserve record: stock going negative (2 → 2 − 3 mod p)",
        f: { stockBefore: 2n, stockAfter: P - 1n },
        at: rule("stockAfter64.in <== stockAfter;"),
      },
      {
        name: "order id mismatch: reserve_inventory for ORD-2",
        edit: (steps) => (forward(steps, 1).request[0] = s("ORD-2")),
        at: rule("done[1] * (request[1][0] - orderId) === 0"),
      },
      {
        name: "SKU mismatch: reserve_inventory of SKU-2 (the order's SKU-1 leaf is updated)",
        edit: (steps) => (forward(steps, 1).request[1] = s("SKU-2")),
        at: rule("done[1] * (request[1][1] - sku) === 0"),
      },
      {
        name: "quantity mismatch: 4 reserved (500 → 496) for an order of 3",
        edit: (steps) => {
          forward(steps, 1).request[2] = 4n;
          forward(steps, 1).response[1] = 496n;
        },
        at: rule("done[1] * (request[1][2] - request[0][3]) === 0"),
      },
      {
        name: "order id mismatch: payment for ORD-2",
        edit: (steps) => (forward(steps, 2).request[0] = s("ORD-2")),
        at: rule("done[2] * (request[2][0] - orderId) === 0"),
      },
      {
        name: "customer mismatch: invoice to CUST-2",
        edit: (steps) => (forward(steps, 4).request[1] = s("CUST-2")),
        at: rule("done[4] * (request[4][1] - customerId) === 0"),
      },
      {
        name: "SKU mismatch: logistics ships SKU-2",
        edit: (steps) => (forward(steps, 3).request[1] = s("SKU-2")),
        at: rule("done[3] * (request[3][1] - sku) === 0"),
      },
      {
        name: "quantity mismatch: logistics ships 2",
        edit: (steps) => (forward(steps, 3).request[2] = 2n),
        at: rule("done[3] * (request[3][2] - request[0][3]) === 0"),
      },
    ];

    for (const template of ["OrderStateWorkflow", "OrderStateSaga"] as const) {
      describe(template, () => {
        for (const c of committedCases) {
          it(c.name, async () => {
            const trace = await orderTrace({ f: figures(c.f), edit: c.edit });
            await expectFailAt(circuits[template], input(template, trace), c.at);
          });
        }
        it("an order of quantity 0 (records consistent, the stock leaf unchanged): a COMMITTED order must move stock", async () => {
          const trace = await orderTrace({ f: figures({ quantity: 0n }) });
          await expectFailAt(
            circuits[template],
            input(template, trace, transition(trace, sku1, tree, 0n)),
            rule("done[0] * quantityZero.out === 0;"),
          );
        });
      });
    }

    describe("the state transition (committed run, valid records)", () => {
      let trace: Trace;
      let valid: CircuitInput;
      before(async () => {
        trace = await orderTrace();
        valid = input("OrderStateSaga", trace);
      });
      const path = () => tree.path(sku1.slot);

      it("the leaf's stock after ≠ before − quantity (nothing taken; root recomputed)", async () => {
        const stateRootAfter = rootFromPath(poseidon([s(sku1.sku), sku1.stock]), path());
        await expectFailAt(
          circuits.OrderStateSaga,
          { ...valid, stateValueAfter: sku1.stock, stateRootAfter },
          order("committed * (stateValueBefore - stateValueAfter - request[0][3]) === 0"),
        );
      });

      it("the leaf's stock going negative: the state holds 2 for an order of 3 (after = 2 − 3 mod p)", async () => {
        const small = stateTree([{ ...sku1, stock: 2n }, ...STOCK.slice(1)]);
        const smallPath = small.path(sku1.slot);
        const witness = {
          ...valid,
          stateRootBefore: small.root,
          stateValueBefore: 2n,
          stateValueAfter: P - 1n,
          statePathElements: smallPath.pathElements,
          stateRootAfter: rootFromPath(poseidon([s(sku1.sku), P - 1n]), smallPath),
        };
        await expectFailAt(circuits.OrderStateSaga, witness, order("valueAfter64.in <== stateValueAfter;"));
      });

      it("a wrong Merkle path (a sibling tampered; the new root computed on it)", async () => {
        const pathElements = [...path().pathElements];
        pathElements[4] += 1n;
        const forged = { pathElements, pathIndices: path().pathIndices };
        const witness = {
          ...valid,
          statePathElements: pathElements,
          stateRootAfter: rootFromPath(poseidon([s(sku1.sku), sku1.stock - 3n]), forged),
        };
        await expectFailAt(
          circuits.OrderStateSaga,
          witness,
          leafUpdate("enabled * (before[DEPTH] - rootBefore) === 0;"),
        );
      });

      it("a shadow leaf: a second leaf of SKU-1 (stock 1,000) at another slot cannot be opened (the path bits are the key's)", async () => {
        const shadowSlot = (sku1.slot + 1) % (1 << STATE_DEPTH);
        const leaves = new Array<bigint>(1 << STATE_DEPTH).fill(0n);
        for (const e of STOCK) leaves[e.slot] = poseidon([s(e.sku), e.stock]);
        leaves[shadowSlot] = poseidon([s(sku1.sku), 1000n]);
        const shadowed = new PoseidonMerkleTree(STATE_DEPTH, leaves);
        const shadowPath = shadowed.path(shadowSlot);
        const witness = {
          ...valid,
          stateRootBefore: shadowed.root,
          stateValueBefore: 1000n,
          stateValueAfter: 997n,
          statePathElements: shadowPath.pathElements,
          stateRootAfter: rootFromPath(poseidon([s(sku1.sku), 997n]), shadowPath),
        };
        await expectFailAt(
          circuits.OrderStateSaga,
          witness,
          leafUpdate("enabled * (before[DEPTH] - rootBefore) === 0;"),
        );
      });

      it("an empty slot opened as an existing key: SKU-1's own slot is empty, the proof claims stock 500 there", async () => {
        const without = stateTree(STOCK.slice(1));
        const emptyPath = without.path(sku1.slot);
        const witness = {
          ...valid,
          stateRootBefore: without.root,
          statePathElements: emptyPath.pathElements,
          stateRootAfter: rootFromPath(poseidon([s(sku1.sku), sku1.stock - 3n]), emptyPath),
        };
        await expectFailAt(
          circuits.OrderStateSaga,
          witness,
          leafUpdate("enabled * (before[DEPTH] - rootBefore) === 0;"),
        );
      });

      it("a wrong new root", async () => {
        await expectFailAt(
          circuits.OrderStateSaga,
          { ...valid, stateRootAfter: (valid.stateRootAfter as bigint) + 1n },
          order("stock.rootAfter === stateRootAfter;"),
        );
      });

      it("a wrong key: SKU-2's leaf (stock 120) taken from by an order of SKU-1", async () => {
        // The circuit's key is the order's SKU: the forged new root puts Poseidon(SKU-1, 117) in
        // SKU-2's slot, so only the old-leaf check can tell.
        const other = STOCK[1];
        const otherPath = tree.path(other.slot);
        const witness = {
          ...valid,
          stateValueBefore: other.stock,
          stateValueAfter: other.stock - 3n,
          statePathElements: otherPath.pathElements,
          stateRootAfter: rootFromPath(poseidon([s(sku1.sku), other.stock - 3n]), otherPath),
        };
        await expectFailAt(
          circuits.OrderStateSaga,
          witness,
          leafUpdate("enabled * (before[DEPTH] - rootBefore) === 0;"),
        );
      });

      it("another stateRootBefore (the leaf is not in it)", async () => {
        const other = stateTree([{ ...sku1, stock: 501n }, ...STOCK.slice(1)]);
        await expectFailAt(
          circuits.OrderStateSaga,
          { ...valid, stateRootBefore: other.root },
          leafUpdate("enabled * (before[DEPTH] - rootBefore) === 0;"),
        );
      });
    });

    describe("rolled-back runs", () => {
      it("ROLLED_BACK with stateRootAfter ≠ stateRootBefore (the stock taken although the order rolled back)", async () => {
        const trace = await orderTrace({ failAt: 4, failure: "signed-refusal" });
        const valid = input("OrderStateSaga", trace);
        const taken = rootFromPath(poseidon([s(sku1.sku), sku1.stock - 3n]), tree.path(sku1.slot));
        await expectFailAt(
          circuits.OrderStateSaga,
          { ...valid, stateValueAfter: sku1.stock - 3n, stateRootAfter: taken },
          order("stock.rootAfter === stateRootAfter;"),
        );
      });

      it("the rules of the completed steps still apply: payment ≠ gross in a run that failed at invoice", async () => {
        const trace = await orderTrace({
          failAt: 4,
          failure: "settled-no-effect",
          edit: (steps) => (forward(steps, 2).request[2] += 1n),
        });
        await expectFailAt(
          circuits.OrderStateSaga,
          input("OrderStateSaga", trace),
          rule("done[2] * (request[2][2] - gross) === 0"),
        );
      });

      it("the rules of the completed steps still apply: reserve stock going negative in a run that failed at payment", async () => {
        const trace = await orderTrace({
          f: figures({ stockBefore: 2n, stockAfter: P - 1n }),
          failAt: 2,
          failure: "settled-no-effect",
        });
        await expectFailAt(
          circuits.OrderStateSaga,
          input("OrderStateSaga", trace),
          rule("stockAfter64.in <== stockAfter;"),
        );
      });

      it("create_order's rules apply once it completed: net ≠ quantity × price in a run that failed at reserve", async () => {
        const trace = await orderTrace({ f: figures({ net: 5698n }), failAt: 1 });
        await expectFailAt(
          circuits.OrderStateSaga,
          input("OrderStateSaga", trace),
          rule("net === quantity * unitPrice;"),
        );
      });
    });
  });

  describe("orderStateInput refuses inconsistent transitions", () => {
    let trace: Trace;
    before(async () => {
      trace = await orderTrace();
    });
    const refuses = (state: Partial<StateLeafTransition>, pattern: RegExp, t?: Trace) =>
      expect(() => input("OrderStateSaga", t ?? trace, { ...transition(t ?? trace), ...state }))
        .to.throw(WitnessInputError)
        .with.property("message")
        .that.matches(pattern);

    it("a key that is not the order's SKU", () => refuses({ key: s("SKU-2") }, /not the order's SKU/));
    it("a stock after that is not before − quantity", () => refuses({ valueAfter: 498n }, /stock after/));
    it("a leaf that is not in rootBefore", () =>
      refuses({ valueBefore: 501n, valueAfter: 498n }, /is not in the state/));
    it("a slot that is not the key's own", () =>
      refuses(
        { slot: (sku1.slot + 1) % 1024, ...tree.path((sku1.slot + 1) % 1024) },
        /lives at slot \d+, not \d+: a key's slot is fixed by the key/,
      ));
    it("a negative stock after", () =>
      refuses({ valueBefore: 2n, valueAfter: -1n }, /not an unsigned 64-bit/));
    it("a path of another depth", () => {
      const path = tree.path(sku1.slot);
      refuses(
        { pathElements: path.pathElements.slice(1), pathIndices: path.pathIndices.slice(1) },
        /has 9 levels/,
      );
    });
    it("a rolled-back run that changes the stock", async () => {
      const rolledBack = await orderTrace({ failAt: 2, failure: "settled-no-effect" });
      refuses({ valueAfter: 497n }, /leaves the state as it was/, rolledBack);
    });
    it("OrderStateWorkflow: a rolled-back run", async () => {
      const rolledBack = await orderTrace({ failAt: 2, failure: "settled-no-effect" });
      expect(() => input("OrderStateWorkflow", rolledBack)).to.throw(
        WitnessInputError,
        /proves committed runs/,
      );
    });
  });
});
