import { expect } from "chai";
import type { WitnessTester } from "circomkit";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { poseidon, SNARK_SCALAR_FIELD as P } from "../../src/crypto";
import type { CircuitInput } from "../../src/prover";
import { Journal } from "../../src/journal";
import {
  SparseMerkleTree,
  STATE_DEPTH,
  stateKeyField,
  stateSlotOf,
  StateStore,
  type StateWrite,
} from "../../src/state";
import { circomkit } from "../fixtures/circomkit";
import { constraintOf, expectFailAt } from "../fixtures/constraints";

const DEPTH = 4;
const MAX_WRITES = 4;
const TWO_64 = 1n << 64n;

// ------------------------------------------------------------------ the inputs, from src/state's writes

/** What StateUpdates takes of one write: src/state's StateWrite carries these fields (and more). */
type Write = Pick<
  StateWrite,
  | "key"
  | "keyField"
  | "slot"
  | "inserted"
  | "valueBefore"
  | "valueAfter"
  | "pathElements"
  | "rootBefore"
  | "rootAfter"
>;

/**
 * StateUpdates' input for a transition's writes, in their order, padded to `maxWrites` with
 * disabled all-zero writes; returns it with the root the circuit must output (the last write's
 * rootAfter, or rootBefore). Checks what the circuit relies on, unless `forged` (a test's tampered
 * writes): the writes chain up from `rootBefore` (write w's rootBefore is write w-1's rootAfter)
 * and each is at its key's own slot with a path of the tree's depth.
 */
function stateUpdatesInput(
  rootBefore: bigint,
  writes: readonly Write[],
  maxWrites: number,
  depth: number,
  { forged = false } = {},
): { input: CircuitInput; rootAfter: bigint } {
  if (writes.length > maxWrites) throw new Error(`${writes.length} writes, the circuit takes ${maxWrites}`);
  let root = rootBefore;
  for (const w of writes) {
    if (!forged && w.rootBefore !== root) throw new Error(`"${w.key}": not from the previous write's root`);
    if (!forged && w.slot !== stateSlotOf(w.keyField, depth)) throw new Error(`"${w.key}": not at its slot`);
    if (w.pathElements.length !== depth) throw new Error(`"${w.key}": no depth-${depth} path`);
    root = w.rootAfter;
  }
  const column = <T>(of: (w: Write) => T, padding: T): T[] => [
    ...writes.map(of),
    ...Array.from({ length: maxWrites - writes.length }, () => padding),
  ];
  const input = {
    rootBefore,
    enabled: column(() => 1n, 0n),
    key: column((w) => w.keyField, 0n),
    valueBefore: column((w) => w.valueBefore, 0n),
    valueAfter: column((w) => w.valueAfter, 0n),
    inserted: column((w) => (w.inserted ? 1n : 0n), 0n),
    pathElements: column((w) => [...w.pathElements], new Array<bigint>(depth).fill(0n)),
  };
  return { input, rootAfter: root };
}

/**
 * A small state tree (src/state's SparseMerkleTree, depth 4) and the TypeScript mirror of
 * sequential application: `write` applies changes one after the other, each at its key's own slot
 * with its path taken in the tree as the previous changes left it, as StateStore.prepareTransition
 * does. Leaves are Poseidon(key, value) with no range check, so that forged values (≥ 2^64,
 * negative) can be put in a tree for the circuit to refuse.
 */
class StateTree {
  readonly tree: SparseMerkleTree;
  /** slot → what it holds */
  private readonly held = new Map<number, { key: string; value: bigint }>();

  constructor(genesis: Record<string, bigint> = {}, depth = DEPTH) {
    this.tree = new SparseMerkleTree(depth);
    this.write(Object.entries(genesis));
  }

  get root(): bigint {
    return this.tree.root();
  }

  /** Applies [key, valueAfter] changes in order and returns the writes; `at` another slot: a forgery. */
  write(changes: [key: string, valueAfter: bigint, at?: number][]): Write[] {
    return changes.map(([key, valueAfter, at]) => {
      const keyField = stateKeyField(key);
      const slot = at ?? stateSlotOf(keyField, this.tree.depth);
      const held = this.held.get(slot);
      if (held !== undefined && held.key !== key)
        throw new Error(`slot ${slot} of "${key}" is ${held.key}'s`);
      const rootBefore = this.root;
      const { pathElements } = this.tree.path(slot);
      const rootAfter = this.tree.update(slot, poseidon([keyField, valueAfter]));
      this.held.set(slot, { key, value: valueAfter });
      const [inserted, valueBefore] = held ? [false, held.value] : [true, 0n];
      return { key, keyField, slot, inserted, valueBefore, valueAfter, pathElements, rootBefore, rootAfter };
    });
  }

  /** The tree rebuilt from its final contents in one pass: the root the writes must lead to. */
  rebuiltRoot(): bigint {
    const leaves = [...this.held].map(([slot, { key, value }]): [number, bigint] => [
      slot,
      poseidon([stateKeyField(key), value]),
    ]);
    return SparseMerkleTree.fromLeaves(leaves, this.tree.depth).root();
  }
}

// Accounts at depth 4: slots bank:A 1, bank:C 2, bank:B 3, bank:E 13; bank:D falls on bank:B's
// slot 3; LOT-1 (slot 9) is not in the genesis.
const GENESIS = { "bank:A": 1_000n, "bank:B": 250n, "bank:C": 40n, "bank:E": 7n };

// ------------------------------------------------------------------ where a witness must fail

const updates = constraintOf("StateWrites", "lib/stateUpdates.circom");
const leafUpdate = constraintOf("StateLeafUpdate", "lib/state.circom");
/** The opening of a write's leaf under the root the previous writes left (StateLeafUpdate). */
const OPENING = leafUpdate("enabled * (before[DEPTH] - rootBefore) === 0;");

/** A copy of an input with write w's fields replaced. */
function withWrite(
  input: CircuitInput,
  w: number,
  fields: Partial<Record<string, bigint | bigint[]>>,
): CircuitInput {
  const copy: Record<string, unknown> = { ...input };
  for (const [name, value] of Object.entries(fields)) {
    const column = [...(input[name] as unknown[])];
    column[w] = value;
    copy[name] = column;
  }
  return copy as CircuitInput;
}

// ------------------------------------------------------------------ the tests

describe("StateUpdates (lib/stateUpdates.circom): several writes of one state tree in one proof", function () {
  this.timeout(600_000);

  for (const allowInsert of [0, 1]) {
    describe(`StateUpdates(${DEPTH}, ${MAX_WRITES}, ${allowInsert})`, () => {
      let circuit: WitnessTester<string[], ["rootAfter"]>;
      before(async () => {
        circuit = await circomkit.WitnessTester(`StateUpdates_${DEPTH}_${MAX_WRITES}_${allowInsert}`, {
          file: "lib/stateUpdates",
          template: "StateUpdates",
          params: [DEPTH, MAX_WRITES, allowInsert],
        });
      });
      const prove = (state: StateTree, writes: Write[]) =>
        stateUpdatesInput(writes[0]?.rootBefore ?? state.root, writes, MAX_WRITES, DEPTH);

      // ---------------------------------------------------------------- accepted

      it("4 writes of 4 different keys (a clearing: two debits, two credits): src/state's root", async () => {
        const state = new StateTree(GENESIS);
        const writes = state.write([
          ["bank:A", 900n],
          ["bank:B", 350n],
          ["bank:C", 0n],
          ["bank:E", 47n],
        ]);
        const { input, rootAfter } = prove(state, writes);
        expect(rootAfter).to.equal(state.rebuiltRoot());
        expect(rootAfter).to.equal(
          new StateTree({ "bank:A": 900n, "bank:B": 350n, "bank:C": 0n, "bank:E": 47n }).root,
        );
        await circuit.expectPass(input, { rootAfter });
      });

      it("2 writes of the same key: the second opens the leaf the first left", async () => {
        const state = new StateTree(GENESIS);
        const writes = state.write([
          ["bank:A", 900n],
          ["bank:B", 350n],
          ["bank:A", 850n],
          ["bank:C", 90n],
        ]);
        expect(writes[2].valueBefore).to.equal(900n);
        const { input, rootAfter } = prove(state, writes);
        expect(rootAfter).to.equal(state.rebuiltRoot());
        await circuit.expectPass(input, { rootAfter });
        // the same key written twice in a row, then nothing
        const again = new StateTree(GENESIS);
        const twice = again.write([
          ["bank:E", 6n],
          ["bank:E", 5n],
        ]);
        const second = prove(again, twice);
        expect(second.rootAfter).to.equal(new StateTree({ ...GENESIS, "bank:E": 5n }).root);
        await circuit.expectPass(second.input, { rootAfter: second.rootAfter });
      });

      it("2 enabled writes and 2 disabled ones: the disabled writes change nothing", async () => {
        const state = new StateTree(GENESIS);
        const writes = state.write([
          ["bank:A", 990n],
          ["bank:C", 50n],
        ]);
        const { input, rootAfter } = prove(state, writes);
        expect(input.enabled).to.deep.equal([1n, 1n, 0n, 0n]);
        expect(rootAfter).to.equal(new StateTree({ ...GENESIS, "bank:A": 990n, "bank:C": 50n }).root);
        await circuit.expectPass(input, { rootAfter });
        // a disabled write that carries a real key, its path and its unchanged value: still nothing
        const full = new StateTree(GENESIS);
        const [b] = full.write([["bank:B", 250n]]);
        const carried = withWrite(input, 3, { key: b.keyField, valueBefore: 250n, valueAfter: 250n });
        await circuit.expectPass(withWrite(carried, 3, { pathElements: b.pathElements }), { rootAfter });
        // no write at all: rootAfter = rootBefore
        const none = prove(state, []);
        expect(none.rootAfter).to.equal(state.root);
        await circuit.expectPass(none.input, { rootAfter: state.root });
      });

      if (allowInsert === 1) {
        it("an insert: a key's first write into its empty slot, then an update of it in the same proof", async () => {
          const state = new StateTree(GENESIS);
          const writes = state.write([
            ["bank:A", 995n],
            ["LOT-1", 12n],
            ["LOT-1", 10n],
            ["bank:B", 255n],
          ]);
          expect(writes.map((w) => w.inserted)).to.deep.equal([false, true, false, false]);
          const { input, rootAfter } = prove(state, writes);
          expect(rootAfter).to.equal(
            new StateTree({ ...GENESIS, "bank:A": 995n, "bank:B": 255n, "LOT-1": 10n }).root,
          );
          await circuit.expectPass(input, { rootAfter });
        });
      } else {
        it("an insert is refused where the template allows none (and no 0 value opens an empty slot)", async () => {
          const state = new StateTree(GENESIS);
          const writes = state.write([
            ["bank:A", 995n],
            ["LOT-1", 12n],
          ]);
          const { input } = prove(state, writes);
          await expectFailAt(circuit, input, leafUpdate("inserted === 0;"));
          await expectFailAt(circuit, withWrite(input, 1, { inserted: 0n }), OPENING);
        });
      }

      // ---------------------------------------------------------------- rejected (tampered witnesses)

      it("refuses a write at another position than its key's (a shadow leaf of the key)", async () => {
        const state = new StateTree(GENESIS);
        const shadowSlot = 6; // empty in the genesis; bank:A's own slot is 1
        state.write([["bank:A", 5_000n, shadowSlot]]);
        const rootBefore = state.root;
        const writes = state.write([
          ["bank:C", 30n],
          ["bank:A", 4_000n, shadowSlot], // spends from the shadow leaf
        ]);
        await expectFailAt(
          circuit,
          stateUpdatesInput(rootBefore, writes, MAX_WRITES, DEPTH, { forged: true }).input,
          OPENING,
        );
      });

      it("refuses a wrong sibling", async () => {
        const state = new StateTree(GENESIS);
        const writes = state.write([
          ["bank:A", 900n],
          ["bank:B", 350n],
          ["bank:C", 0n],
        ]);
        const { input } = prove(state, writes);
        const path = [...writes[2].pathElements];
        path[1] += 1n;
        await expectFailAt(circuit, withWrite(input, 2, { pathElements: path }), OPENING);
      });

      it("refuses writes in another order than their paths were computed for", async () => {
        const state = new StateTree(GENESIS);
        const writes = state.write([
          ["bank:A", 900n],
          ["bank:B", 350n],
          ["bank:C", 0n],
          ["bank:E", 47n],
        ]);
        const swapped = [writes[1], writes[0], writes[2], writes[3]].map((w, i) => ({
          ...w,
          rootBefore: i === 0 ? writes[0].rootBefore : writes[i - 1].rootAfter,
        }));
        const { input } = stateUpdatesInput(writes[0].rootBefore, swapped, MAX_WRITES, DEPTH, {
          forged: true,
        });
        await expectFailAt(circuit, input, OPENING);
      });

      it("refuses a disabled write between enabled ones", async () => {
        // a consistent witness of writes A, C with a disabled write between them
        const state = new StateTree(GENESIS);
        const [a, c] = state.write([
          ["bank:A", 900n],
          ["bank:C", 0n],
        ]);
        const { input, rootAfter } = prove(state, [a, c]);
        await circuit.expectPass(input, { rootAfter });
        const zeros = new Array<bigint>(DEPTH).fill(0n);
        const gap = {
          ...input,
          enabled: [1n, 0n, 1n, 0n],
          key: [a.keyField, 0n, c.keyField, 0n],
          valueBefore: [a.valueBefore, 0n, c.valueBefore, 0n],
          valueAfter: [a.valueAfter, 0n, c.valueAfter, 0n],
          pathElements: [a.pathElements, zeros, c.pathElements, zeros],
        } as CircuitInput;
        await expectFailAt(circuit, gap, updates("enabled[w] * (1 - enabled[w - 1]) === 0;"));
      });

      it("refuses a wrong rootAfter (the output edited in a valid witness)", async () => {
        const state = new StateTree(GENESIS);
        const { input, rootAfter } = prove(
          state,
          state.write([
            ["bank:A", 900n],
            ["bank:B", 350n],
          ]),
        );
        const witness = await circuit.calculateWitness(input);
        await circuit.expectConstraintPass(witness);
        const before = new StateTree(GENESIS).root;
        for (const forged of [rootAfter + 1n, before]) {
          const tampered = await circuit.editWitness(witness, { "main.rootAfter": forged });
          await circuit.expectConstraintFail(tampered);
        }
      });

      it("refuses values outside 64 bits: 2^64, and a balance going negative (p - 1)", async () => {
        const state = new StateTree(GENESIS);
        const over = state.write([
          ["bank:A", 900n],
          ["bank:E", TWO_64],
        ]);
        await expectFailAt(circuit, prove(state, over).input, updates("rangeAfter[w].in <== valueAfter[w];"));
        const negative = new StateTree(GENESIS);
        const below = negative.write([
          ["bank:C", 40n - 41n + P],
          ["bank:A", 1_041n],
        ]);
        await expectFailAt(
          circuit,
          prove(negative, below).input,
          updates("rangeAfter[w].in <== valueAfter[w];"),
        );
        // a leaf that holds p - 1 (a forged tree) cannot be opened either
        const forged = new StateTree({ ...GENESIS, "bank:B": P - 1n });
        const spend = forged.write([["bank:B", 0n]]);
        await expectFailAt(
          circuit,
          prove(forged, spend).input,
          updates("rangeBefore[w].in <== valueBefore[w];"),
        );
      });

      it("refuses an empty slot opened as an existing key, and a key whose slot another key holds", async () => {
        const state = new StateTree(GENESIS);
        const writes = state.write([
          ["bank:A", 900n],
          ["LOT-1", 12n],
        ]);
        const { input } = prove(state, writes);
        // LOT-1 claimed to hold 20 (no insert) at its empty slot
        const claimed = withWrite(input, 1, { inserted: 0n, valueBefore: 20n });
        await expectFailAt(circuit, claimed, OPENING);
        // bank:D falls on bank:B's slot 3: neither an update (the leaf is B's) nor an insert (not empty)
        const tree = new StateTree(GENESIS);
        const [d] = tree.write([["bank:B", 250n]]);
        const asD = { ...d, key: "bank:D", keyField: stateKeyField("bank:D") };
        const base = stateUpdatesInput(d.rootBefore, [asD], MAX_WRITES, DEPTH).input;
        await expectFailAt(circuit, base, OPENING);
        const asInsert = withWrite(base, 0, { inserted: 1n, valueBefore: 0n });
        await expectFailAt(circuit, asInsert, allowInsert ? OPENING : leafUpdate("inserted === 0;"));
      });

      it("refuses a disabled write whose values differ (it would be a change the root does not show)", async () => {
        const state = new StateTree(GENESIS);
        const { input } = prove(
          state,
          state.write([
            ["bank:A", 900n],
            ["bank:B", 350n],
          ]),
        );
        const full = new StateTree(GENESIS);
        const [, , c] = full.write([
          ["bank:A", 900n],
          ["bank:B", 350n],
          ["bank:C", 0n],
        ]);
        const pin = updates("(1 - enabled[w]) * (valueAfter[w] - valueBefore[w]) === 0;");
        const tampered = withWrite(input, 2, {
          key: c.keyField,
          valueBefore: 40n,
          valueAfter: 0n,
          pathElements: c.pathElements,
        });
        await expectFailAt(circuit, tampered, pin);
        await expectFailAt(circuit, withWrite(input, 3, { valueAfter: 5n }), pin);
        if (allowInsert === 1) {
          // nor insert anything
          await expectFailAt(
            circuit,
            withWrite(input, 3, { inserted: 1n }),
            updates("(1 - enabled[w]) * inserted[w] === 0;"),
          );
        }
      });

      it("refuses the second write of a key opened at the key's old value (a stale root)", async () => {
        const state = new StateTree(GENESIS);
        const writes = state.write([
          ["bank:A", 900n],
          ["bank:A", 800n],
        ]);
        const { input } = prove(state, writes);
        // both withdrawals taken from 1,000: the second claims the value the first already spent
        await expectFailAt(circuit, withWrite(input, 1, { valueBefore: 1_000n, valueAfter: 900n }), OPENING);
        if (allowInsert === 1) {
          // a key inserted twice: its slot is no longer empty for the second insert
          const fresh = new StateTree(GENESIS);
          const lot = fresh.write([
            ["LOT-1", 12n],
            ["LOT-1", 10n],
          ]);
          const twice = withWrite(prove(fresh, lot).input, 1, { inserted: 1n, valueBefore: 0n });
          await expectFailAt(circuit, twice, OPENING);
        }
      });
    });
  }

  // ------------------------------------------------------------------ the contract with src/state

  describe(`StateUpdates(${STATE_DEPTH}, ${MAX_WRITES}, 1) takes StateStore.prepareTransition's writes as they are`, () => {
    let circuit: WitnessTester<string[], ["rootAfter"]>;
    let dir: string;
    let journal: Journal;
    let store: StateStore;
    before(async () => {
      circuit = await circomkit.WitnessTester(`StateUpdates_${STATE_DEPTH}_${MAX_WRITES}_1`, {
        file: "lib/stateUpdates",
        template: "StateUpdates",
        params: [STATE_DEPTH, MAX_WRITES, 1],
      });
      dir = fs.mkdtempSync(path.join(os.tmpdir(), "wesflow-state-updates-"));
      journal = Journal.open(path.join(dir, "journal.sqlite"));
      store = StateStore.open(journal);
    });
    after(() => {
      journal.close();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    it("a clearing run (4 balances), a run with an insert and repeated keys, a 2-write run: same rootAfter", async () => {
      const BANK = "clearing/balances";
      store.createDomain(BANK, { "bank:A": 1_000n, "bank:B": 250n, "bank:C": 40n, "bank:D": 7n });
      const clearing = store.prepareTransition(BANK, "run-1", [
        { key: "bank:A", delta: -100n },
        { key: "bank:B", delta: 100n },
        { key: "bank:C", delta: -40n },
        { key: "bank:D", delta: 40n },
      ]);
      const first = stateUpdatesInput(clearing.rootBefore, clearing.writes, MAX_WRITES, STATE_DEPTH);
      expect(first.rootAfter).to.equal(clearing.rootAfter);
      await circuit.expectPass(first.input, { rootAfter: clearing.rootAfter });
      store.applyTransition(clearing.id);

      // the next run starts from the applied root
      const next = store.prepareTransition(BANK, "run-2", [
        { key: "bank:B", delta: -50n },
        { key: "bank:A", delta: 50n },
      ]);
      expect(next.rootBefore).to.equal(clearing.rootAfter);
      const second = stateUpdatesInput(next.rootBefore, next.writes, MAX_WRITES, STATE_DEPTH);
      await circuit.expectPass(second.input, { rootAfter: next.rootAfter });

      // store.test.ts's transition: a key written twice, a new key inserted, a value set to 0
      const STOCK = "order/stock";
      store.createDomain(STOCK, { "SKU-COFFEE-1KG": 500n, "SKU-MUG-CERAMIC": 120n, "SKU-TEA-250G": 80n });
      const stock = store.prepareTransition(STOCK, "run-3", [
        { key: "SKU-MUG-CERAMIC", delta: -2n },
        { key: "SKU-NEW", value: 7n },
        { key: "SKU-MUG-CERAMIC", delta: -3n },
        { key: "SKU-COFFEE-1KG", value: 0n },
      ]);
      expect(stock.writes.map((w) => w.inserted)).to.deep.equal([false, true, false, false]);
      const third = stateUpdatesInput(stock.rootBefore, stock.writes, MAX_WRITES, STATE_DEPTH);
      await circuit.expectPass(third.input, { rootAfter: stock.rootAfter });
      store.applyTransition(stock.id);
      expect(store.root(STOCK)).to.equal(stock.rootAfter);

      // a prepared transition proven against another root than its own is refused
      const stale = { ...second.input, rootBefore: first.input.rootBefore };
      await expectFailAt(circuit, stale as CircuitInput, OPENING);
    });
  });
});
