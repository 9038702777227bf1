import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { id } from "ethers";

import { encodeString, poseidon, PoseidonMerkleTree, rootFromPath } from "../../src/crypto";
import { Journal } from "../../src/journal";
import {
  emptyStateRoot,
  MAX_STATE_VALUE,
  STATE_DEPTH,
  StaleStateError,
  StateDomainExistsError,
  StateError,
  StateSlotTakenError,
  stateSlotOf,
  StateIntegrityError,
  StateStore,
  StateValueError,
  UnknownStateDomainError,
  type StateTransition,
} from "../../src/state";

const STOCK = "order/stock";
const GENESIS = { "SKU-COFFEE-1KG": 500n, "SKU-MUG-CERAMIC": 120n, "SKU-TEA-250G": 80n };

/** The reference: the complete 1,024-leaf tree over (slot → Poseidon(encodeString(key), value)). */
/** A key's own slot (fixed by the key): the low 10 bits of Poseidon(its field). */
const slotOf = (key: string) => stateSlotOf(encodeString(key));

function referenceRoot(entries: readonly { key: string; slot: number; value: bigint }[]): bigint {
  const leaves = new Array<bigint>(2 ** STATE_DEPTH).fill(0n);
  for (const e of entries) leaves[e.slot] = poseidon([encodeString(e.key), e.value]);
  return new PoseidonMerkleTree(STATE_DEPTH, leaves).root;
}

/** Every write's path opens its leaf before and after at the write's roots; writes chain up. */
function expectPathsVerify(transition: StateTransition): void {
  let root = transition.rootBefore;
  for (const write of transition.writes) {
    const merklePath = { pathElements: write.pathElements, pathIndices: write.pathIndices };
    expect(write.rootBefore).to.equal(root);
    expect(rootFromPath(write.leafBefore, merklePath)).to.equal(write.rootBefore);
    expect(rootFromPath(write.leafAfter, merklePath)).to.equal(write.rootAfter);
    expect(write.pathIndices).to.deep.equal(
      [...Array(STATE_DEPTH).keys()].map((bit) => (write.slot >> bit) & 1),
    );
    expect(write.leafAfter).to.equal(poseidon([encodeString(write.key), write.valueAfter]));
    expect(write.leafBefore).to.equal(
      write.inserted ? 0n : poseidon([encodeString(write.key), write.valueBefore]),
    );
    root = write.rootAfter;
  }
  expect(transition.rootAfter).to.equal(root);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("state: StateStore (SQLite, the journal's database)", function () {
  this.timeout(120_000);
  let dir: string;
  let file: string;
  let journal: Journal;
  let store: StateStore;

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "wesflow-state-"));
  });
  beforeEach(() => {
    file = path.join(dir, `journal-${Date.now()}-${Math.random().toString(16).slice(2)}.sqlite`);
    journal = Journal.open(file);
    store = StateStore.open(journal);
  });
  afterEach(() => journal.close());
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("creates a domain at genesis: root as the reference tree, each key at its own slot, keccak id", () => {
    const info = store.createDomain(STOCK, GENESIS);
    expect(info).to.include({ name: STOCK, domainId: id(STOCK), depth: 10, version: 0, size: 3 });
    // entries in slot order; a key's slot is fixed by the key (19, 938, 961 for these three)
    expect(store.entries(STOCK).map((e) => [e.key, e.slot, e.value])).to.deep.equal([
      ["SKU-TEA-250G", 19, 80n],
      ["SKU-COFFEE-1KG", 938, 500n],
      ["SKU-MUG-CERAMIC", 961, 120n],
    ]);
    expect(store.entries(STOCK)[1].keyField).to.equal(encodeString("SKU-COFFEE-1KG"));
    expect(info.root).to.equal(referenceRoot(store.entries(STOCK)));
    expect(info.genesisRoot).to.equal(info.root);
    expect(store.root(STOCK)).to.equal(info.root);
    expect(store.get(STOCK, "SKU-MUG-CERAMIC")).to.equal(120n);
    expect(store.get(STOCK, "SKU-NONE")).to.equal(undefined);
    expect(store.domains().map((d) => d.name)).to.deep.equal([STOCK]);

    expect(store.createDomain("empty").root).to.equal(emptyStateRoot());
    // Same genesis again: accepted (idempotent); other contents: refused.
    expect(store.createDomain(STOCK, { ...GENESIS }).root).to.equal(info.root);
    expect(() => store.createDomain(STOCK, { ...GENESIS, "SKU-TEA-250G": 81n })).to.throw(
      StateDomainExistsError,
      /already exists with other genesis contents/,
    );
    expect(() => store.root("nope")).to.throw(UnknownStateDomainError, /no state domain "nope"/);
    expect(() => store.createDomain(" ")).to.throw(StateError);
  });

  it("prepares a transition (PENDING, not applied) whose paths verify, then applies it", () => {
    const genesis = store.createDomain(STOCK, GENESIS);
    const t = store.prepareTransition(STOCK, "run-1", [
      { key: "SKU-MUG-CERAMIC", delta: -2n },
      { key: "SKU-NEW", value: 7n }, // a new key: next free slot, leaf before 0
      { key: "SKU-MUG-CERAMIC", delta: -3n }, // the same key again: a second write on the updated tree
      { key: "SKU-COFFEE-1KG", value: 0n }, // 0 is a value: the slot stays used
    ]);
    expect(t).to.include({
      domain: STOCK,
      domainId: id(STOCK),
      runId: "run-1",
      version: 0,
      status: "PENDING",
    });
    expect(t.rootBefore).to.equal(genesis.root);
    expect(t.writes.map((w) => [w.key, w.slot, w.inserted, w.valueBefore, w.valueAfter])).to.deep.equal([
      ["SKU-MUG-CERAMIC", slotOf("SKU-MUG-CERAMIC"), false, 120n, 118n],
      ["SKU-NEW", slotOf("SKU-NEW"), true, 0n, 7n],
      ["SKU-MUG-CERAMIC", slotOf("SKU-MUG-CERAMIC"), false, 118n, 115n],
      ["SKU-COFFEE-1KG", slotOf("SKU-COFFEE-1KG"), false, 500n, 0n],
    ]);
    expect(t.writes[1].leafBefore).to.equal(0n);
    expectPathsVerify(t);
    const after = [
      { key: "SKU-COFFEE-1KG", slot: slotOf("SKU-COFFEE-1KG"), value: 0n },
      { key: "SKU-MUG-CERAMIC", slot: slotOf("SKU-MUG-CERAMIC"), value: 115n },
      { key: "SKU-TEA-250G", slot: slotOf("SKU-TEA-250G"), value: 80n },
      { key: "SKU-NEW", slot: slotOf("SKU-NEW"), value: 7n },
    ].sort((a, b) => a.slot - b.slot);
    expect(t.rootAfter).to.equal(referenceRoot(after));

    // Not applied yet.
    expect(store.root(STOCK)).to.equal(genesis.root);
    expect(store.get(STOCK, "SKU-MUG-CERAMIC")).to.equal(120n);
    expect(store.pendingTransitions(STOCK).map((p) => p.id)).to.deep.equal([t.id]);
    expect(store.getTransition(t.id)).to.deep.equal(t);

    const applied = store.applyTransition(t.id);
    expect(applied.status).to.equal("APPLIED");
    expect(store.root(STOCK)).to.equal(t.rootAfter);
    expect(store.domain(STOCK)).to.include({ version: 1, size: 4 });
    expect(store.entries(STOCK).map(({ key, slot, value }) => ({ key, slot, value }))).to.deep.equal(after);
    expect(store.pendingTransitions(STOCK)).to.deep.equal([]);
    expect(store.applyTransition(t.id).status).to.equal("APPLIED"); // again: unchanged
    expect(store.domain(STOCK).version).to.equal(1);
    expect(() => store.discardTransition(t.id)).to.throw(StateError, /is applied/);
    expect(() => store.prepareTransition(STOCK, "run-1", [{ key: "SKU-NEW", delta: 1n }])).to.throw(
      StateError,
      /already has an applied transition/,
    );

    // The current leaf and path of a key; a transition may be kept from adding keys.
    const inclusion = store.inclusion(STOCK, "SKU-NEW")!;
    expect(inclusion).to.include({ slot: slotOf("SKU-NEW"), value: 7n, root: t.rootAfter });
    expect(rootFromPath(inclusion.leaf, inclusion)).to.equal(t.rootAfter);
    expect(store.inclusion(STOCK, "SKU-NONE")).to.equal(undefined);
    expect(() =>
      store.prepareTransition(STOCK, "run-4", [{ key: "SKU-NONE", delta: 1n }], { allowNewKeys: false }),
    ).to.throw(StateError, /holds no key "SKU-NONE", and this transition may not add one/);

    // A rolled-back run: no net change, rootAfter == rootBefore.
    const rolledBack = store.prepareTransition(STOCK, "run-2", []);
    expect(rolledBack.rootAfter).to.equal(rolledBack.rootBefore);
    const undone = store.prepareTransition(STOCK, "run-3", [
      { key: "SKU-TEA-250G", delta: -5n },
      { key: "SKU-TEA-250G", delta: 5n },
    ]);
    expect(undone.rootAfter).to.equal(undone.rootBefore);
    expectPathsVerify(undone);
  });

  it("persists domains, entries and pending transitions across a reopen of the file", () => {
    store.createDomain(STOCK, GENESIS);
    const first = store.applyTransition(
      store.prepareTransition(STOCK, "run-1", [{ key: "SKU-TEA-250G", delta: -30n }]).id,
    );
    const pending = store.prepareTransition(STOCK, "run-2", [
      { key: "SKU-TEA-250G", delta: -1n },
      { key: "SKU-OTHER", value: 3n },
    ]);
    journal.close();

    // Another connection sees WAL-committed tables.
    const reader = new Database(file, { readonly: true });
    try {
      const rows = reader.prepare<{ n: number }>("SELECT COUNT(*) AS n FROM state_transitions").get();
      expect(rows?.n).to.equal(2);
    } finally {
      reader.close();
    }

    journal = Journal.open(file);
    store = StateStore.open(journal);
    expect(store.root(STOCK)).to.equal(first.rootAfter);
    expect(store.get(STOCK, "SKU-TEA-250G")).to.equal(50n);
    expect(store.domain(STOCK).version).to.equal(1);
    expect(store.pendingTransitions(STOCK)).to.deep.equal([pending]);
    expect(store.transitions(STOCK, ["APPLIED"]).map((t) => t.id)).to.deep.equal([first.id]);
    const applied = store.applyTransition(pending.id);
    expect(applied.rootAfter).to.equal(referenceRoot(store.entries(STOCK)));
    expect(store.get(STOCK, "SKU-OTHER")).to.equal(3n);
  });

  it("refuses to apply a stale transition (StaleStateError with expected and actual roots)", () => {
    const genesis = store.createDomain(STOCK, GENESIS);
    const a = store.prepareTransition(STOCK, "run-a", [{ key: "SKU-COFFEE-1KG", delta: -1n }]);
    const b = store.prepareTransition(STOCK, "run-b", [{ key: "SKU-COFFEE-1KG", delta: -2n }]);
    expect(b.rootBefore).to.equal(genesis.root);
    store.applyTransition(a.id);
    let error: unknown;
    try {
      store.applyTransition(b.id);
    } catch (e) {
      error = e;
    }
    expect(error).to.be.instanceOf(StaleStateError);
    const stale = error as StaleStateError;
    expect(stale.expectedRoot).to.equal(genesis.root);
    expect(stale.actualRoot).to.equal(a.rootAfter);
    expect(stale.message).to.match(/is stale: prepared against root 0x[0-9a-f]{64}/);
    expect(store.getTransition(b.id)?.status).to.equal("PENDING");
    expect(store.get(STOCK, "SKU-COFFEE-1KG")).to.equal(499n);

    // Rebase: discard, prepare the same deltas against the current root, apply.
    expect(store.discardTransition(b.id).status).to.equal("DISCARDED");
    expect(() => store.applyTransition(b.id)).to.throw(StateError, /was discarded/);
    store.applyTransition(
      store.prepareTransition(STOCK, "run-b", [{ key: "SKU-COFFEE-1KG", delta: -2n }]).id,
    );
    expect(store.get(STOCK, "SKU-COFFEE-1KG")).to.equal(497n);
  });

  it("refuses a transition made stale by another connection (another process on the same journal)", () => {
    store.createDomain(STOCK, GENESIS);
    const other = new StateStore(new Database(file, { timeout: 10_000 }));
    const mine = store.prepareTransition(STOCK, "run-mine", [{ key: "SKU-MUG-CERAMIC", delta: -1n }]);
    other.applyTransition(
      other.prepareTransition(STOCK, "run-theirs", [{ key: "SKU-MUG-CERAMIC", delta: -4n }]).id,
    );
    expect(() => store.applyTransition(mine.id)).to.throw(StaleStateError);
    // This store follows the other's change (its held tree is rebuilt from the entries).
    expect(store.get(STOCK, "SKU-MUG-CERAMIC")).to.equal(116n);
    const rebased = store.prepareTransition(STOCK, "run-mine", [{ key: "SKU-MUG-CERAMIC", delta: -1n }]);
    expect(rebased.rootBefore).to.equal(other.root(STOCK));
    store.applyTransition(rebased.id);
    expect(other.get(STOCK, "SKU-MUG-CERAMIC")).to.equal(115n);
  });

  it("refuses negative results (stock ≥ 0) and values ≥ 2^64, storing nothing", () => {
    store.createDomain(STOCK, GENESIS);
    expect(() => store.prepareTransition(STOCK, "r", [{ key: "SKU-TEA-250G", delta: -81n }])).to.throw(
      StateValueError,
      /"SKU-TEA-250G" in "order\/stock" would go negative \(80 - 81 = -1\)/,
    );
    expect(() => store.prepareTransition(STOCK, "r", [{ key: "SKU-UNKNOWN", delta: -1n }])).to.throw(
      StateValueError,
      /would go negative \(0 - 1 = -1\)/,
    );
    expect(() => store.prepareTransition(STOCK, "r", [{ key: "SKU-TEA-250G", value: -1n }])).to.throw(
      StateValueError,
      /would be negative/,
    );
    expect(() => store.prepareTransition(STOCK, "r", [{ key: "SKU-TEA-250G", value: 2n ** 64n }])).to.throw(
      StateValueError,
      /above 2\^64 - 1/,
    );
    expect(() =>
      store.prepareTransition(STOCK, "r", [
        { key: "SKU-TEA-250G", value: MAX_STATE_VALUE },
        { key: "SKU-TEA-250G", delta: 1n },
      ]),
    ).to.throw(StateValueError, /would overflow/);
    expect(() =>
      store.prepareTransition(STOCK, "r", [{ key: "SKU-TEA-250G", value: 5 as unknown as bigint }]),
    ).to.throw(StateValueError, /must be a bigint/);
    expect(() => store.prepareTransition(STOCK, "r", [{ key: "SKU-TEA-250G" } as never])).to.throw(
      StateError,
      /either a value or a delta/,
    );
    expect(() => store.createDomain("big", { k: 2n ** 64n })).to.throw(StateValueError, /above 2\^64 - 1/);
    expect(() => store.createDomain("neg", { k: -1n })).to.throw(StateValueError, /negative/);
    expect(() => store.prepareTransition(STOCK, "r", [{ key: "x".repeat(32), value: 1n }])).to.throw(
      StateError,
      /longer than 31 UTF-8 bytes/,
    );
    expect(store.transitions(STOCK)).to.deep.equal([]);
    expect(store.hasDomain("big")).to.equal(false);

    // The extremes are fine.
    const t = store.prepareTransition(STOCK, "r", [
      { key: "SKU-TEA-250G", value: MAX_STATE_VALUE },
      { key: "SKU-MUG-CERAMIC", delta: -120n },
    ]);
    store.applyTransition(t.id);
    expect(store.get(STOCK, "SKU-TEA-250G")).to.equal(MAX_STATE_VALUE);
    expect(store.get(STOCK, "SKU-MUG-CERAMIC")).to.equal(0n);
  });

  it("serializes 50 concurrent runs' deltas (rebasing under the domain lock): the exact sum", async () => {
    store.createDomain(STOCK, { "SKU-COFFEE-1KG": 1000n });
    const deltas = Array.from({ length: 50 }, (_, i) => (i % 5 === 0 ? BigInt(i) : -BigInt(1 + (i % 7))));
    let inRecord = 0;
    let maxInRecord = 0;
    const results = await Promise.all(
      deltas.map(async (delta, i) => {
        await sleep(i % 3); // the runs' executions finish in some order
        return store.commit(STOCK, `run-${i}`, [{ key: "SKU-COFFEE-1KG", delta }], async (t) => {
          inRecord++;
          maxInRecord = Math.max(maxInRecord, inRecord);
          expect(t.rootBefore).to.equal(store.root(STOCK)); // prepared against the current root
          await sleep(1); // proving and submitting
          inRecord--;
        });
      }),
    );
    const expected = 1000n + deltas.reduce((a, b) => a + b, 0n);
    expect(store.get(STOCK, "SKU-COFFEE-1KG")).to.equal(expected);
    expect(maxInRecord).to.equal(1);
    expect(store.domain(STOCK).version).to.equal(50);
    expect(results.every((t) => t.status === "APPLIED")).to.equal(true);
    const applied = store.transitions(STOCK, ["APPLIED"]);
    expect(applied).to.have.length(50);
    applied.slice(1).forEach((t, i) => expect(t.rootBefore).to.equal(applied[i].rootAfter));
    expect(store.root(STOCK)).to.equal(
      referenceRoot([{ key: "SKU-COFFEE-1KG", slot: slotOf("SKU-COFFEE-1KG"), value: expected }]),
    );

    // Without the lock, transitions prepared against the same root: all but the first go stale.
    const racing = [1, 2, 3].map((i) =>
      store.prepareTransition(STOCK, `race-${i}`, [{ key: "SKU-COFFEE-1KG", delta: -1n }]),
    );
    store.applyTransition(racing[0].id);
    for (const t of racing.slice(1)) expect(() => store.applyTransition(t.id)).to.throw(StaleStateError);

    // A failed record leaves its transition PENDING and does not block the next run.
    const failing = store.commit(STOCK, "run-fails", [{ key: "SKU-COFFEE-1KG", delta: -1n }], () => {
      throw new Error("prover crashed");
    });
    const next = store.commit(STOCK, "run-next", [{ key: "SKU-COFFEE-1KG", delta: -1n }]);
    const [failed, succeeded] = await Promise.allSettled([failing, next]);
    expect(failed.status === "rejected" && (failed.reason as Error).message).to.equal("prover crashed");
    expect(succeeded.status).to.equal("fulfilled");
    expect(store.pendingTransitions(STOCK).map((t) => t.runId)).to.deep.equal([
      "race-2",
      "race-3",
      "run-fails",
    ]);
    expect(store.get(STOCK, "SKU-COFFEE-1KG")).to.equal(expected - 2n);
  });

  describe("chains of pending transitions (runs submitted together)", () => {
    it("prepares each run on top of the pending ones before it; applied in order they give the same state as one at a time", () => {
      store.createDomain(STOCK, GENESIS);
      const a = store.prepareTransition(STOCK, "run-a", [{ key: "SKU-TEA-250G", delta: -1n }]);
      const b = store.prepareTransition(STOCK, "run-b", [{ key: "SKU-TEA-250G", delta: -2n }], {
        onTopOf: [a.id],
      });
      const none = store.prepareTransition(STOCK, "run-none", [], { onTopOf: [a.id, b.id] });
      const c = store.prepareTransition(
        STOCK,
        "run-c",
        [
          { key: "SKU-NEW", value: 7n },
          { key: "SKU-TEA-250G", delta: -3n },
        ],
        { onTopOf: [a.id, b.id, none.id] },
      );
      expect(b.rootBefore).to.equal(a.rootAfter);
      expect(b.writes[0].valueBefore).to.equal(79n); // a's write, not the applied 80
      expect(none).to.include({ rootBefore: b.rootAfter, rootAfter: b.rootAfter });
      expect(c.rootBefore).to.equal(b.rootAfter);
      expect(c.writes.map((w) => [w.key, w.inserted, w.valueBefore, w.valueAfter])).to.deep.equal([
        ["SKU-NEW", true, 0n, 7n],
        ["SKU-TEA-250G", false, 77n, 74n],
      ]);
      for (const t of [a, b, none, c]) expectPathsVerify(t);
      expect(store.root(STOCK), "nothing applied yet").to.equal(a.rootBefore);
      for (const t of [a, b, none, c]) store.applyTransition(t.id);
      expect(store.root(STOCK)).to.equal(c.rootAfter);
      expect(store.get(STOCK, "SKU-TEA-250G")).to.equal(74n);
      expect(store.domain(STOCK).version).to.equal(4);
      // The same runs one at a time against the applied root reach the same root.
      const other = new StateStore(new Database(":memory:"));
      other.createDomain(STOCK, GENESIS);
      for (const t of [a, b, none, c]) {
        const changes = t.writes.map((w) => ({ key: w.key, value: w.valueAfter }));
        other.applyTransition(other.prepareTransition(STOCK, t.runId, changes).id);
      }
      expect(other.root(STOCK)).to.equal(c.rootAfter);
    });

    it("refuses a chain that does not start from the applied root or does not chain, and a transition that is not pending", () => {
      store.createDomain(STOCK, GENESIS);
      const a = store.prepareTransition(STOCK, "run-a", [{ key: "SKU-TEA-250G", delta: -1n }]);
      const b = store.prepareTransition(STOCK, "run-b", [{ key: "SKU-TEA-250G", delta: -1n }], {
        onTopOf: [a.id],
      });
      const change = [{ key: "SKU-TEA-250G", delta: -1n }];
      expect(() => store.prepareTransition(STOCK, "run-x", change, { onTopOf: [b.id] })).to.throw(
        StaleStateError,
      );
      expect(() => store.prepareTransition(STOCK, "run-x", change, { onTopOf: [b.id, a.id] })).to.throw(
        StaleStateError,
      );
      expect(() => store.prepareTransition(STOCK, "run-a", change, { onTopOf: [a.id] })).to.throw(
        /already has transition/,
      );
      store.discardTransition(a.id);
      expect(() => store.prepareTransition(STOCK, "run-x", change, { onTopOf: [a.id] })).to.throw(
        /not a PENDING transition/,
      );
      // A value that goes negative on top of the chain is refused as against the applied state.
      const c = store.prepareTransition(STOCK, "run-c", [{ key: "SKU-TEA-250G", delta: -80n }]);
      expect(() =>
        store.prepareTransition(STOCK, "run-y", [{ key: "SKU-TEA-250G", delta: -1n }], { onTopOf: [c.id] }),
      ).to.throw(StateValueError);
    });

    it("reconcile with the registry's recorded runs applies a chain recorded in one batch, its no-op runs included, and keeps what follows", () => {
      const genesis = store.createDomain(STOCK, GENESIS);
      const a = store.prepareTransition(STOCK, "run-a", [{ key: "SKU-TEA-250G", delta: -1n }]);
      const noop = store.prepareTransition(STOCK, "run-noop", [], { onTopOf: [a.id] });
      const b = store.prepareTransition(STOCK, "run-b", [{ key: "SKU-TEA-250G", delta: -1n }], {
        onTopOf: [a.id, noop.id],
      });
      const next = store.prepareTransition(STOCK, "run-next", [{ key: "SKU-MUG-CERAMIC", delta: -1n }], {
        onTopOf: [a.id, noop.id, b.id],
      });
      const after = store.prepareTransition(STOCK, "run-after", [{ key: "SKU-MUG-CERAMIC", delta: -1n }], {
        onTopOf: [a.id, noop.id, b.id, next.id],
      });
      expect(store.root(STOCK)).to.equal(genesis.root);
      // Crash: a, noop and b were recorded in one batch; next and after were not sent.
      const recorded = new Set(["run-a", "run-noop", "run-b"]);
      const result = store.reconcile(STOCK, b.rootAfter, (runId) => recorded.has(runId));
      expect(result.applied.map((t) => t.id)).to.deep.equal([a.id, noop.id, b.id]);
      expect(result.resubmittable.map((t) => t.id)).to.deep.equal([next.id]);
      expect(result.discarded.map((t) => t.id)).to.deep.equal([after.id]);
      expect(result).to.include({ inSync: true, root: b.rootAfter });
      expect(store.get(STOCK, "SKU-TEA-250G")).to.equal(78n);

      // A no-op run that was NOT recorded is not taken for recorded (its root alone cannot tell).
      const noop2 = store.prepareTransition(STOCK, "run-noop2", [], { onTopOf: [next.id] });
      const settled = store.reconcile(STOCK, b.rootAfter, () => false);
      expect(settled.applied).to.deep.equal([]);
      expect(settled.resubmittable.map((t) => t.id)).to.include(next.id);
      expect(store.getTransition(noop2.id)!.status).to.not.equal("APPLIED");
    });
  });

  describe("reconcile (crash recovery against the registry's root)", () => {
    it("applies the pending transition that led to the chain's root and discards the stale ones", () => {
      const genesis = store.createDomain(STOCK, GENESIS);
      const recorded = store.prepareTransition(STOCK, "run-1", [{ key: "SKU-TEA-250G", delta: -1n }]);
      const leftover = store.prepareTransition(STOCK, "run-2", [{ key: "SKU-TEA-250G", delta: -2n }]);
      // Crash: run-1 was recorded on chain, the process died before applyTransition.
      const result = store.reconcile(STOCK, recorded.rootAfter);
      expect(result.applied.map((t) => [t.id, t.status])).to.deep.equal([[recorded.id, "APPLIED"]]);
      expect(result.discarded.map((t) => [t.id, t.status])).to.deep.equal([[leftover.id, "DISCARDED"]]);
      expect(result).to.include({ inSync: true, root: recorded.rootAfter });
      expect(result.resubmittable).to.deep.equal([]);
      expect(store.root(STOCK)).to.equal(recorded.rootAfter);
      expect(store.get(STOCK, "SKU-TEA-250G")).to.equal(79n);
      expect(store.pendingTransitions(STOCK)).to.deep.equal([]);
      expect(genesis.root).to.not.equal(recorded.rootAfter);
      // The database says the same as the store's memory.
      const fresh = new StateStore(journal.database());
      expect(fresh.root(STOCK)).to.equal(recorded.rootAfter);
      expect(fresh.domain(STOCK).version).to.equal(1);
    });

    it("keeps a pending transition prepared against the chain's root (resubmittable)", () => {
      const genesis = store.createDomain(STOCK, GENESIS);
      const notSent = store.prepareTransition(STOCK, "run-1", [{ key: "SKU-TEA-250G", delta: -1n }]);
      const result = store.reconcile(STOCK, genesis.root);
      expect(result.resubmittable.map((t) => t.id)).to.deep.equal([notSent.id]);
      expect(result).to.include({ inSync: true, root: genesis.root });
      expect(result.applied).to.deep.equal([]);
      expect(result.discarded).to.deep.equal([]);
      expect(store.pendingTransitions(STOCK).map((t) => t.id)).to.deep.equal([notSent.id]);
      // It can still be applied once recorded.
      store.applyTransition(notSent.id);
      expect(store.get(STOCK, "SKU-TEA-250G")).to.equal(79n);
    });

    it("discards pending transitions of an older root once the local root is the chain's", () => {
      store.createDomain(STOCK, GENESIS);
      const a = store.prepareTransition(STOCK, "run-a", [{ key: "SKU-TEA-250G", delta: -1n }]);
      const b = store.prepareTransition(STOCK, "run-b", [{ key: "SKU-TEA-250G", delta: -1n }]);
      store.applyTransition(a.id);
      const c = store.prepareTransition(STOCK, "run-c", [{ key: "SKU-MUG-CERAMIC", value: 1n }]);
      const result = store.reconcile(STOCK, a.rootAfter);
      expect(result.discarded.map((t) => t.id)).to.deep.equal([b.id]); // same writes as a, an older root
      expect(result.resubmittable.map((t) => t.id)).to.deep.equal([c.id]);
      expect(result.applied).to.deep.equal([]);
      expect(result.inSync).to.equal(true);
    });

    it("reports a local state that diverged from the chain (inSync false), keeping what touches the chain's root", () => {
      const genesis = store.createDomain(STOCK, GENESIS);
      const a = store.prepareTransition(STOCK, "run-a", [{ key: "SKU-TEA-250G", delta: -1n }]);
      store.applyTransition(a.id);
      const b = store.prepareTransition(STOCK, "run-b", [{ key: "SKU-TEA-250G", delta: -1n }]);
      const elsewhere = 12345n; // the chain moved on without this store
      let result = store.reconcile(STOCK, elsewhere);
      expect(result).to.include({ inSync: false, root: a.rootAfter });
      expect(result.discarded.map((t) => t.id)).to.deep.equal([b.id]);
      expect(result.unresolved).to.deep.equal([]);

      const c = store.prepareTransition(STOCK, "run-c", [{ key: "SKU-TEA-250G", delta: -1n }]);
      result = store.reconcile(STOCK, genesis.root); // the chain never saw run-a
      expect(result.inSync).to.equal(false);
      expect(result.discarded.map((t) => t.id)).to.deep.equal([c.id]);
      expect(store.root(STOCK)).to.equal(a.rootAfter);

      // A transition that starts from the chain's root while the local root is elsewhere: left to an operator.
      const g = store.createDomain("other", { k: 1n }).root;
      const x = store.prepareTransition("other", "run-x", [{ key: "k", delta: 1n }]);
      const y = store.prepareTransition("other", "run-y", [{ key: "k", delta: 2n }]);
      store.applyTransition(y.id); // applied locally, never recorded
      const z = store.prepareTransition("other", "run-z", [{ key: "k", delta: 3n }]);
      result = store.reconcile("other", g);
      expect(result).to.include({ inSync: false, root: y.rootAfter });
      expect(result.unresolved.map((t) => [t.id, t.status])).to.deep.equal([[x.id, "PENDING"]]);
      expect(result.discarded.map((t) => t.id)).to.deep.equal([z.id]);
      expect(store.pendingTransitions("other").map((t) => t.id)).to.deep.equal([x.id]);
    });
  });

  it("a key lives at the slot its key fixes; a key whose slot another key holds is refused, in a transition and a genesis", () => {
    // Two keys whose slots collide, and a third that collides with neither.
    const bySlot = new Map<number, string>();
    let pair: [string, string] | undefined;
    for (let i = 0; !pair; i++) {
      const key = `SKU-${i}`;
      const holder = bySlot.get(slotOf(key));
      if (holder) pair = [holder, key];
      else bySlot.set(slotOf(key), key);
    }
    const [first, second] = pair;
    store.createDomain(STOCK, { [first]: 5n });
    expect(store.entries(STOCK)[0]).to.include({ key: first, slot: slotOf(first) });
    expect(() => store.prepareTransition(STOCK, "run-clash", [{ key: second, value: 1n }])).to.throw(
      StateSlotTakenError,
      new RegExp(
        `cannot hold key "${second}": its slot ${slotOf(first)} \\(fixed by the key\\) holds "${first}"`,
      ),
    );
    expect(store.pendingTransitions(STOCK)).to.deep.equal([]);
    expect(() => store.createDomain("clash", { [first]: 1n, [second]: 2n })).to.throw(StateSlotTakenError);
    expect(store.hasDomain("clash")).to.equal(false);
    // Other keys still go in, each at its own slot.
    const other = [...bySlot.values()].find((k) => k !== first)!;
    const t = store.prepareTransition(STOCK, "run-ok", [{ key: other, value: 3n }]);
    expect(t.writes[0]).to.include({ slot: slotOf(other), inserted: true });
    expectPathsVerify(t);
    store.applyTransition(t.id);
    expect(store.root(STOCK)).to.equal(referenceRoot(store.entries(STOCK)));
  });

  it("refuses to load a domain whose keys are not at their own slots (a state laid out by an earlier wesflow)", () => {
    store.createDomain(STOCK, { "SKU-COFFEE-1KG": 5n });
    const db = journal.database();
    const wrong = (slotOf("SKU-COFFEE-1KG") + 1) % 1024;
    db.prepare("UPDATE state_entries SET slot = ? WHERE domain = ?").run(wrong, STOCK);
    journal.close();
    journal = Journal.open(file);
    store = StateStore.open(journal);
    expect(() => store.get(STOCK, "SKU-COFFEE-1KG")).to.throw(
      StateIntegrityError,
      new RegExp(`holds key "SKU-COFFEE-1KG" at slot ${wrong}, but a key's slot is fixed by the key`),
    );
  });

  it("measures prepareTransition (printed, not asserted)", () => {
    // 200 keys with distinct slots (a key's slot is fixed by the key: colliding ones are skipped)
    const genesis = new Map<string, bigint>();
    const taken = new Set<number>();
    for (let i = 0; genesis.size < 200; i++) {
      if (taken.has(slotOf(`SKU-${i}`))) continue;
      taken.add(slotOf(`SKU-${i}`));
      genesis.set(`SKU-${i}`, 1_000_000n);
    }
    const keys = [...genesis.keys()];
    store.createDomain(STOCK, genesis);
    let run = 0;
    const measure = (writes: number, rounds: number) => {
      let prepareMs = 0;
      let applyMs = 0;
      for (let r = 0; r < rounds; r++) {
        const changes = Array.from({ length: writes }, (_, w) => ({
          key: keys[(r * 7 + w * 13) % 200],
          delta: -1n,
        }));
        let started = performance.now();
        const t = store.prepareTransition(STOCK, `perf-${run++}`, changes);
        prepareMs += performance.now() - started;
        started = performance.now();
        store.applyTransition(t.id);
        applyMs += performance.now() - started;
      }
      return { prepare: prepareMs / rounds, apply: applyMs / rounds };
    };
    measure(1, 3); // warm-up
    const one = measure(1, 20);
    const four = measure(4, 10);
    process.stdout.write(
      `      (prepareTransition: ${one.prepare.toFixed(2)} ms with 1 write, ${four.prepare.toFixed(2)} ms with 4 writes; ` +
        `applyTransition: ${one.apply.toFixed(2)} ms / ${four.apply.toFixed(2)} ms; SQLite WAL, synchronous=FULL)\n`,
    );
  });
});
