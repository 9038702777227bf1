import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";

import {
  encodeString,
  poseidon,
  PoseidonMerkleTree,
  rootFromPath,
  SNARK_SCALAR_FIELD,
  toHex32,
} from "../../src/crypto";
import type { WorkflowStateEffect } from "../../src/definition";
import { Journal } from "../../src/journal";
import { ensureDomain } from "../../src/pipeline";
import {
  emptyStateRoot,
  MAX_STATE_FIELDS,
  MAX_STATE_VALUE,
  maxPackedStateValue,
  packStateValue,
  STATE_DEPTH,
  StateDomainExistsError,
  StateError,
  stateLeaf,
  stateDomainId,
  StateStore,
  StateValueError,
  unpackStateValue,
} from "../../src/state";

const MATERIALS = "supply/materials";
const FIELDS = ["stock", "scrap"] as const;
const TWO_64 = 1n << 64n;

/** The reference root: the complete 1,024-leaf tree over (slot → Poseidon(encodeString(key), value)). */
function referenceRoot(entries: readonly { key: string; slot: number; value: bigint }[]): bigint {
  const leaves = new Array<bigint>(2 ** STATE_DEPTH).fill(0n);
  for (const e of entries) leaves[e.slot] = poseidon([encodeString(e.key), e.value]);
  return new PoseidonMerkleTree(STATE_DEPTH, leaves).root;
}

/** The error `fn` throws (fails when it throws none). */
function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  expect.fail("expected a throw");
}

describe("state: values of several named 64-bit fields (packStateValue, valueFields)", () => {
  describe("packStateValue / unpackStateValue", () => {
    it("packs the fields as 64-bit limbs, field 0 lowest, and unpacks them again", () => {
      expect(packStateValue([500n, 24n])).to.equal(500n + 24n * TWO_64);
      expect(packStateValue([7n])).to.equal(7n);
      expect(packStateValue([1n, 2n, 3n])).to.equal(1n + 2n * TWO_64 + 3n * TWO_64 * TWO_64);
      expect(unpackStateValue(500n + 24n * TWO_64, 2)).to.deep.equal([500n, 24n]);
      expect(unpackStateValue(0n, 3)).to.deep.equal([0n, 0n, 0n]);
      // The fields are not interchangeable: [1, 0] and [0, 1] are different values.
      expect(packStateValue([1n, 0n])).to.not.equal(packStateValue([0n, 1n]));
      for (const fields of [
        [0n, MAX_STATE_VALUE],
        [MAX_STATE_VALUE, 0n, 1n],
        [123456789n, 987654321n, MAX_STATE_VALUE - 5n],
      ]) {
        expect(unpackStateValue(packStateValue(fields), fields.length)).to.deep.equal(fields);
      }
    });

    it("stays canonical in the BN254 field: the largest packed value is 2^192 - 1 < p", () => {
      const largest = packStateValue([MAX_STATE_VALUE, MAX_STATE_VALUE, MAX_STATE_VALUE]);
      expect(largest).to.equal((1n << 192n) - 1n);
      expect(largest).to.equal(maxPackedStateValue(MAX_STATE_FIELDS));
      expect(largest < SNARK_SCALAR_FIELD).to.equal(true);
      expect(maxPackedStateValue(1)).to.equal(MAX_STATE_VALUE);
      // Every value below 2^(64·n) is exactly one packing: unpack then pack gives it back.
      for (const value of [0n, 1n, TWO_64 - 1n, TWO_64, (1n << 128n) - 1n]) {
        expect(packStateValue(unpackStateValue(value, 2))).to.equal(value);
      }
    });

    it("refuses fields outside 0 ≤ f < 2^64, naming the field, and counts other than 1 to 3", () => {
      const over = thrown(() => packStateValue([1n, TWO_64], FIELDS));
      expect(over).to.be.instanceOf(StateValueError);
      expect(over.message).to.match(
        /scrap is 18446744073709551616: each field of a state value is an unsigned 64-bit integer/,
      );
      expect((over as StateValueError).field).to.equal("scrap");
      const negative = thrown(() => packStateValue([-1n, 0n]));
      expect(negative).to.be.instanceOf(StateValueError);
      expect((negative as StateValueError).field).to.equal("field 0");
      expect(() => packStateValue([1 as unknown as bigint])).to.throw(StateValueError, /must be a bigint/);
      expect(() => packStateValue([])).to.throw(StateError, /1 to 3 fields of 64 bits, not 0/);
      expect(() => packStateValue([1n, 2n, 3n, 4n])).to.throw(StateError, /not 4/);

      expect(() => unpackStateValue(1n << 128n, 2)).to.throw(
        StateValueError,
        /is not 2 packed unsigned 64-bit fields/,
      );
      expect(() => unpackStateValue(TWO_64, 1)).to.throw(StateValueError, /\(0 ≤ value < 2\^64\)/);
      expect(() => unpackStateValue(-1n, 3)).to.throw(StateValueError);
      expect(() => unpackStateValue(5n, 0)).to.throw(StateError, /not 0/);
      expect(() => unpackStateValue(5n, 4)).to.throw(StateError, /not 4/);
    });

    it("a leaf is Poseidon(key, packed value); a value with bits above its fields is refused", () => {
      const key = encodeString("STEEL");
      const packed = packStateValue([500n, 24n]);
      expect(stateLeaf(key, packed, 2)).to.equal(poseidon([key, packed]));
      expect(() => stateLeaf(key, packed)).to.throw(StateValueError, /above 2\^64 - 1/);
      expect(() => stateLeaf(key, 1n << 128n, 2)).to.throw(StateValueError);
    });
  });

  describe("StateStore with valueFields", function () {
    this.timeout(60_000);
    let dir: string;
    let file: string;
    let journal: Journal;
    let store: StateStore;

    before(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), "wesflow-packed-"));
    });
    beforeEach(() => {
      file = path.join(dir, `journal-${Date.now()}-${Math.random().toString(16).slice(2)}.sqlite`);
      journal = Journal.open(file);
      store = StateStore.open(journal);
    });
    afterEach(() => journal.close());
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    const create = () =>
      store.createDomain(
        MATERIALS,
        { STEEL: [500n, 0n], COPPER: packStateValue([80n, 3n]) },
        { valueFields: FIELDS },
      );

    it("creates a domain whose genesis root is that of the packed values, given per field or packed", () => {
      const info = create();
      expect(info.valueFields).to.deep.equal(FIELDS);
      const entries = store.entries(MATERIALS);
      expect(entries.map((e) => [e.key, unpackStateValue(e.value, 2)])).to.have.deep.members([
        ["STEEL", [500n, 0n]],
        ["COPPER", [80n, 3n]],
      ]);
      expect(info.genesisRoot).to.equal(referenceRoot(entries));
      // The same genesis and fields again: accepted; other fields: refused.
      expect(
        store.createDomain(MATERIALS, { STEEL: [500n, 0n], COPPER: [80n, 3n] }, { valueFields: FIELDS }).root,
      ).to.equal(info.root);
      expect(() =>
        store.createDomain(
          MATERIALS,
          { STEEL: [500n, 0n], COPPER: [80n, 3n] },
          { valueFields: ["on_hand", "scrap"] },
        ),
      ).to.throw(
        StateDomainExistsError,
        /already exists with value fields stock, scrap, not value fields on_hand, scrap/,
      );
      // A domain without fields is unchanged: no valueFields.
      expect(store.createDomain("order/stock", { SKU: 5n })).to.not.have.property("valueFields");
    });

    it("applies per-field deltas: each field after is its field before plus its delta", () => {
      const genesis = create();
      const t = store.prepareTransition(MATERIALS, "run-1", [{ key: "STEEL", deltas: [-24n, 24n] }]);
      expect(t.writes).to.have.length(1);
      const [write] = t.writes;
      expect(unpackStateValue(write.valueBefore, 2)).to.deep.equal([500n, 0n]);
      expect(unpackStateValue(write.valueAfter, 2)).to.deep.equal([476n, 24n]);
      expect(write.leafAfter).to.equal(poseidon([encodeString("STEEL"), packStateValue([476n, 24n])]));
      const merklePath = { pathElements: write.pathElements, pathIndices: write.pathIndices };
      expect(rootFromPath(write.leafBefore, merklePath)).to.equal(genesis.root);
      expect(rootFromPath(write.leafAfter, merklePath)).to.equal(t.rootAfter);
      store.applyTransition(t.id);
      expect(unpackStateValue(store.get(MATERIALS, "STEEL")!, 2)).to.deep.equal([476n, 24n]);
      // A new key counts as every field 0.
      const insert = store.prepareTransition(MATERIALS, "run-2", [{ key: "TIN", deltas: [10n, 0n] }]);
      expect(insert.writes[0]).to.include({ inserted: true, valueBefore: 0n, valueAfter: 10n });
    });

    it("refuses a field below 0 or at 2^64, naming the key and the field, and stores nothing", () => {
      store.createDomain(MATERIALS, { STEEL: [500n, MAX_STATE_VALUE] }, { valueFields: FIELDS });
      const negative = thrown(() =>
        store.prepareTransition(MATERIALS, "r", [{ key: "STEEL", deltas: [-501n, 0n] }]),
      );
      expect(negative).to.be.instanceOf(StateValueError);
      expect(negative.message).to.match(
        /field "stock" of "STEEL" in "supply\/materials" would go negative \(500 - 501 = -1\)/,
      );
      expect(negative).to.include({ key: "STEEL", field: "stock", value: -1n });
      const overflow = thrown(() =>
        store.prepareTransition(MATERIALS, "r", [{ key: "STEEL", deltas: [-1n, 1n] }]),
      );
      expect(overflow).to.be.instanceOf(StateValueError);
      expect(overflow.message).to.match(/field "scrap" of "STEEL" in "supply\/materials" would overflow/);
      expect(overflow).to.include({ key: "STEEL", field: "scrap" });
      // The second change of a key sees the first one's fields.
      expect(() =>
        store.prepareTransition(MATERIALS, "r", [
          { key: "STEEL", deltas: [-500n, 0n] },
          { key: "STEEL", deltas: [-1n, 0n] },
        ]),
      ).to.throw(
        StateValueError,
        /field "stock" of "STEEL" in "supply\/materials" would go negative \(0 - 1 = -1\)/,
      );
      expect(store.transitions(MATERIALS)).to.deep.equal([]);
    });

    it("refuses a single delta, deltas of another length and a packed value beyond the fields", () => {
      create();
      expect(() => store.prepareTransition(MATERIALS, "r", [{ key: "STEEL", delta: -1n }])).to.throw(
        StateError,
        /the change of "STEEL" gives one delta, but state domain "supply\/materials" packs 2 fields \(stock, scrap\): a change of this domain gives deltas, one per field/,
      );
      expect(() => store.prepareTransition(MATERIALS, "r", [{ key: "STEEL", deltas: [-1n] }])).to.throw(
        StateError,
        /gives 1 deltas; the domain's values have 2 fields \(stock, scrap\)/,
      );
      expect(() =>
        store.prepareTransition(MATERIALS, "r", [{ key: "STEEL", deltas: [1 as unknown as bigint, 0n] }]),
      ).to.throw(
        StateValueError,
        /the delta of field "stock" of "STEEL" in "supply\/materials" must be a bigint/,
      );
      expect(() => store.prepareTransition(MATERIALS, "r", [{ key: "STEEL", value: 1n << 128n }])).to.throw(
        StateValueError,
        /the value of "STEEL" \(fields stock, scrap\): .* is not 2 packed unsigned 64-bit fields/,
      );
      expect(() => store.prepareTransition(MATERIALS, "r", [{ key: "STEEL" } as never])).to.throw(
        StateError,
        /must have either a value or a delta \(here deltas, one per field: stock, scrap\)/,
      );
      // A packed value within the fields sets them.
      const set = store.prepareTransition(MATERIALS, "r", [
        { key: "STEEL", value: packStateValue([1n, 2n]) },
      ]);
      expect(unpackStateValue(set.writes[0].valueAfter, 2)).to.deep.equal([1n, 2n]);
      expect(store.transitions(MATERIALS)).to.have.length(1);
    });

    it("refuses a genesis field out of range or a genesis of another number of fields", () => {
      expect(() => store.createDomain(MATERIALS, { STEEL: [500n, -1n] }, { valueFields: FIELDS })).to.throw(
        StateValueError,
        /the field "scrap" of "STEEL" would be negative/,
      );
      expect(() => store.createDomain(MATERIALS, { STEEL: [500n] }, { valueFields: FIELDS })).to.throw(
        StateError,
        /the genesis of "STEEL" in "supply\/materials" gives 1 fields; the domain's values have 2 \(stock, scrap\)/,
      );
      expect(() => store.createDomain(MATERIALS, { STEEL: 1n << 128n }, { valueFields: FIELDS })).to.throw(
        StateValueError,
        /is not 2 packed/,
      );
      expect(() => store.createDomain(MATERIALS, {}, { valueFields: ["a", "a"] })).to.throw(
        StateError,
        /value field "a" is named twice/,
      );
      expect(() => store.createDomain(MATERIALS, {}, { valueFields: ["a", "b", "c", "d"] })).to.throw(
        StateError,
        /valueFields has 4 names/,
      );
      expect(() => store.createDomain(MATERIALS, {}, { valueFields: [""] })).to.throw(
        StateError,
        /non-empty/,
      );
      expect(store.hasDomain(MATERIALS)).to.equal(false);
    });

    it("a domain of one field takes deltas of length 1, and a genesis of one field given as an array", () => {
      store.createDomain("order/stock", { SKU: [5n] });
      expect(store.get("order/stock", "SKU")).to.equal(5n);
      const t = store.prepareTransition("order/stock", "r", [{ key: "SKU", deltas: [-2n] }]);
      expect(t.writes[0].valueAfter).to.equal(3n);
      expect(() =>
        store.prepareTransition("order/stock", "r2", [{ key: "SKU", deltas: [-1n, 0n] }]),
      ).to.throw(StateError, /gives 2 deltas; the domain's values have one value/);
      expect(() => store.prepareTransition("order/stock", "r2", [{ key: "SKU", deltas: [-6n] }])).to.throw(
        StateValueError,
        /"SKU" in "order\/stock" would go negative \(5 - 6 = -1\)/,
      );
    });

    it("keeps the fields with the domain: another store on the file reads them and rebuilds the packed tree", () => {
      const info = create();
      store.applyTransition(
        store.prepareTransition(MATERIALS, "run-1", [{ key: "STEEL", deltas: [-24n, 24n] }]).id,
      );
      const other = new StateStore(new Database(file, { timeout: 10_000 }));
      expect(other.domain(MATERIALS).valueFields).to.deep.equal(FIELDS);
      expect(other.root(MATERIALS)).to.equal(store.root(MATERIALS));
      expect(other.domain(MATERIALS).genesisRoot).to.equal(info.genesisRoot);
      expect(unpackStateValue(other.get(MATERIALS, "STEEL")!, 2)).to.deep.equal([476n, 24n]);
      const next = other.prepareTransition(MATERIALS, "run-2", [{ key: "STEEL", deltas: [-1n, 1n] }]);
      expect(unpackStateValue(next.writes[0].valueAfter, 2)).to.deep.equal([475n, 25n]);
    });

    it("opens a journal written before value fields existed (adds the column; its domains have one field)", () => {
      const oldFile = path.join(dir, `old-${Date.now()}.sqlite`);
      const db = new Database(oldFile);
      db.exec(`CREATE TABLE state_domains (
        domain TEXT PRIMARY KEY, domain_id TEXT NOT NULL, depth INTEGER NOT NULL, genesis_root TEXT NOT NULL,
        root TEXT NOT NULL, version INTEGER NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL)`);
      const empty = toHex32(emptyStateRoot());
      db.prepare("INSERT INTO state_domains VALUES (?, ?, 10, ?, ?, 0, 'then', 'then')").run(
        "order/stock",
        stateDomainId("order/stock"),
        empty,
        empty,
      );
      const old = new StateStore(db);
      expect(old.domain("order/stock")).to.not.have.property("valueFields");
      expect(old.root("order/stock")).to.equal(emptyStateRoot());
      const t = old.prepareTransition("order/stock", "r", [{ key: "SKU", delta: 5n }]);
      expect(t.writes[0].valueAfter).to.equal(5n);
      expect(
        old.createDomain(MATERIALS, { STEEL: [1n, 2n] }, { valueFields: FIELDS }).valueFields,
      ).to.deep.equal(FIELDS);
      db.close();
    });

    it("ensureDomain creates a workflow effect's domain with its fields, and refuses a journal's domain of other fields", () => {
      const effect: WorkflowStateEffect = {
        domain: MATERIALS,
        genesis: { STEEL: [500n, 0n], COPPER: [80n, 3n] },
        valueFields: FIELDS,
        changes: () => [],
      };
      ensureDomain(store, effect);
      const info = store.domain(MATERIALS);
      expect(info.valueFields).to.deep.equal(FIELDS);
      expect(info.genesisRoot).to.equal(referenceRoot(store.entries(MATERIALS)));
      expect(unpackStateValue(store.get(MATERIALS, "COPPER")!, 2)).to.deep.equal([80n, 3n]);
      ensureDomain(store, effect); // held with the same fields: nothing to do
      expect(() => ensureDomain(store, { ...effect, valueFields: undefined })).to.throw(
        StateDomainExistsError,
        /the journal's state domain "supply\/materials" has the value fields stock, scrap, the workflow's effect declares one unnamed value field/,
      );
    });
  });
});
