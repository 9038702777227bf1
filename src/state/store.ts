import type Database from "better-sqlite3";
import pLimit from "p-limit";
import { toHex32 } from "../crypto";
import type { Journal } from "../journal";
import { checkStateValue, stateDomainId, stateKeyField, stateLeaf } from "./encoding";
import { checkValueFields, packStateValue, sameValueFields, unpackStateValue } from "./fields";
import {
  StaleStateError,
  StateDomainExistsError,
  StateError,
  StateIntegrityError,
  StateSlotTakenError,
  StateValueError,
  UnknownStateDomainError,
  UnknownStateTransitionError,
} from "./errors";
import { MAX_STATE_VALUE, SparseMerkleTree, STATE_DEPTH, stateSlotOf } from "./tree";

export type StateTransitionStatus = "PENDING" | "APPLIED" | "DISCARDED";

/**
 * One change of a run to a state domain: `value` sets the key's value (in a domain of named fields,
 * the packed value), `delta` adds to it (negative to take away, e.g. stock −qty; only in a domain of
 * one field), `deltas` adds to each field (one per field of the domain's valueFields, in their
 * order: `[-24n, 24n]` moves 24 from stock to scrap). A key the domain does not hold yet counts as 0
 * (every field 0) and takes the slot its key fixes (stateSlotOf), refused when another key holds it.
 */
export type StateChange =
  | { key: string; value: bigint }
  | { key: string; delta: bigint }
  | { key: string; deltas: readonly bigint[] };

/**
 * A genesis value: one bigint (the value, or in a domain of named fields the packed value) or, in a
 * domain of named fields, one bigint per field (`[500n, 0n]`: stock 500, scrap 0).
 */
export type StateGenesisValue = bigint | readonly bigint[];

export interface CreateDomainOptions {
  /**
   * The names of the fields a value packs (1 to 3, field 0 lowest: `packStateValue`); omitted, a
   * value is one unnamed 64-bit field. Kept with the domain (StateDomainInfo.valueFields).
   */
  valueFields?: readonly string[];
}

export interface PrepareOptions {
  /**
   * Whether a change may add a key the domain does not hold (default true). A circuit that only
   * updates used leaves (leaf before = Poseidon(key, valueBefore), e.g. circuits/lib/state.circom's
   * StateLeafUpdate) cannot prove an insertion: pass false to refuse one when preparing.
   */
  allowNewKeys?: boolean;
  /**
   * Prepare on top of these PENDING transitions of the domain (ids, oldest first) instead of its
   * applied state: the first must start from the applied root and each next one from the root the
   * one before it leaves (a chain of runs submitted together, `submitBatchWithState`). Refused
   * (StaleStateError) when they do not chain so. Omitted or empty: against the applied state.
   */
  onTopOf?: readonly number[];
}

/** A key's current leaf and its Merkle path under the domain's current root. */
export interface StateInclusion extends StateEntry {
  root: bigint;
  leaf: bigint;
  pathElements: bigint[];
  pathIndices: number[];
}

export interface StateEntry {
  key: string;
  /** The key as a field element (`stateKeyField`: the UTF-8 bytes packed big-endian). */
  keyField: bigint;
  slot: number;
  value: bigint;
}

/**
 * One write of a transition, in the tree as it is after the transition's previous writes: the
 * path is that of `slot` at `rootBefore`, and is the same one at `rootAfter` (only the leaf
 * changes). `leafBefore` is 0 when the write takes a free slot (`inserted`), else
 * Poseidon(keyField, valueBefore); `leafAfter` is Poseidon(keyField, valueAfter).
 */
export interface StateWrite {
  key: string;
  keyField: bigint;
  slot: number;
  inserted: boolean;
  valueBefore: bigint;
  valueAfter: bigint;
  leafBefore: bigint;
  leafAfter: bigint;
  pathElements: bigint[];
  pathIndices: number[];
  /** Root before this write (the transition's rootBefore for the first write). */
  rootBefore: bigint;
  /** Root after this write (the transition's rootAfter for the last write). */
  rootAfter: bigint;
}

export interface StateTransition {
  id: number;
  domain: string;
  /** keccak256(utf8 domain name), 0x-hex: the domain's id on chain. */
  domainId: string;
  runId: string;
  /** The domain's version it was prepared against (applying it makes the version + 1). */
  version: number;
  rootBefore: bigint;
  rootAfter: bigint;
  writes: StateWrite[];
  status: StateTransitionStatus;
  createdAt: string;
  /** When it was applied or discarded. */
  settledAt?: string;
}

export interface StateDomainInfo {
  name: string;
  domainId: string;
  depth: number;
  root: bigint;
  /** Number of transitions applied since genesis (0 at genesis). */
  version: number;
  genesisRoot: bigint;
  /** Keys held (= slots taken). */
  size: number;
  /** The names of the fields a value packs (field 0 lowest); absent: one unnamed 64-bit field. */
  valueFields?: readonly string[];
  createdAt: string;
  updatedAt: string;
}

/** What `reconcile` did; every transition listed is as it is after reconciling. */
export interface StateReconcileResult {
  domain: string;
  chainRoot: bigint;
  /** Pending transitions that led to the chain's root: now APPLIED. */
  applied: StateTransition[];
  /** Pending transitions prepared against the chain's (= the local) root: still PENDING, may be submitted. */
  resubmittable: StateTransition[];
  /** Pending transitions that can never be accepted any more: now DISCARDED. */
  discarded: StateTransition[];
  /**
   * Only when the local root is not the chain's after reconciling: pending transitions that start
   * from or lead to the chain's root, left PENDING for an operator (the local state diverged).
   */
  unresolved: StateTransition[];
  /** The local root after reconciling. */
  root: bigint;
  /** Whether the local root equals the chain's root after reconciling. */
  inSync: boolean;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS state_domains (
  domain       TEXT PRIMARY KEY,
  domain_id    TEXT NOT NULL,
  depth        INTEGER NOT NULL,
  genesis_root TEXT NOT NULL,
  root         TEXT NOT NULL,
  version      INTEGER NOT NULL,
  created_at   TEXT NOT NULL,
  updated_at   TEXT NOT NULL,
  value_fields TEXT
);
CREATE TABLE IF NOT EXISTS state_entries (
  domain    TEXT NOT NULL REFERENCES state_domains (domain),
  key       TEXT NOT NULL,
  key_field TEXT NOT NULL,
  slot      INTEGER NOT NULL,
  value     TEXT NOT NULL,
  PRIMARY KEY (domain, key),
  UNIQUE (domain, slot)
);
CREATE TABLE IF NOT EXISTS state_transitions (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  domain      TEXT NOT NULL REFERENCES state_domains (domain),
  version     INTEGER NOT NULL,
  run_id      TEXT NOT NULL,
  root_before TEXT NOT NULL,
  root_after  TEXT NOT NULL,
  writes_json TEXT NOT NULL,
  status      TEXT NOT NULL CHECK (status IN ('PENDING', 'APPLIED', 'DISCARDED')),
  created_at  TEXT NOT NULL,
  settled_at  TEXT
);
CREATE INDEX IF NOT EXISTS state_transitions_domain ON state_transitions (domain, status, id);
CREATE UNIQUE INDEX IF NOT EXISTS state_transitions_applied_run
  ON state_transitions (domain, run_id) WHERE status = 'APPLIED';
`;

interface DomainRow {
  domain: string;
  domain_id: string;
  depth: number;
  genesis_root: string;
  root: string;
  version: number;
  created_at: string;
  updated_at: string;
  /** JSON array of the field names, NULL for one unnamed field. */
  value_fields: string | null;
}

interface EntryRow {
  key: string;
  key_field: string;
  slot: number;
  value: string;
}

interface TransitionRow {
  id: number;
  domain: string;
  version: number;
  run_id: string;
  root_before: string;
  root_after: string;
  writes_json: string;
  status: StateTransitionStatus;
  created_at: string;
  settled_at: string | null;
}

/**
 * A domain as held in memory: valid while the database's root of it is `root` (the same root is
 * the same tree). `generation` counts the changes made to `tree` in place.
 */
interface LoadedDomain {
  name: string;
  valueFields: readonly string[] | undefined;
  version: number;
  root: bigint;
  tree: SparseMerkleTree;
  entries: Map<string, StateEntry>;
  generation: number;
}

/** A transition applied in the database, not yet reflected in memory. */
interface Application {
  transition: StateTransition;
  state: LoadedDomain;
  /** The tree after it (a view of `state.tree`, or of the previous application's view). */
  view: SparseMerkleTree;
  /** The entries after it. */
  entries: Map<string, StateEntry>;
}

const now = () => new Date().toISOString();

/**
 * Key → value state domains, each committed by a depth-10 Poseidon Merkle tree, kept in a SQLite
 * database (normally the journal's: `StateStore.open(journal)`). The tables are created if
 * missing. See `src/state/index.ts` for the transition life cycle and the concurrency policy.
 *
 * Every method that reads or writes the database is synchronous and one SQLite transaction
 * (IMMEDIATE for writes): `applyTransition` checks the root inside it, so a transition made stale
 * by another process is refused too. Trees are held in memory per domain and rebuilt from the
 * entries (and checked against the stored root) when the domain's root in the database is not the
 * one held.
 */
export class StateStore {
  private readonly loaded = new Map<string, LoadedDomain>();
  /** Trees computed by prepareTransition, reused by applyTransition when nothing changed in between. */
  private readonly prepared = new Map<
    number,
    { base: LoadedDomain; generation: number; view: SparseMerkleTree }
  >();
  private readonly locks = new Map<string, ReturnType<typeof pLimit>>();

  constructor(private readonly db: Database) {
    db.exec(SCHEMA);
    addValueFieldsColumn(db);
  }

  /** A store in the journal's database file. */
  static open(journal: Journal): StateStore {
    return new StateStore(journal.database());
  }

  // ------------------------------------------------------------------ domains

  /**
   * Creates a domain with its genesis contents (version 0). Slots are given in the order of
   * `initial` (a Record's order is JavaScript's: integer-like keys first; pass a Map or an array
   * of pairs to choose it). With `options.valueFields` a value packs those fields (a genesis value
   * may then be given per field, `[500n, 0n]`, and the genesis root is that of the packed values).
   * Creating an existing domain again with the same genesis contents and fields returns it as it
   * is now; with other contents or other fields it is refused.
   */
  createDomain(
    name: string,
    initial:
      | Readonly<Record<string, StateGenesisValue>>
      | ReadonlyMap<string, StateGenesisValue>
      | readonly (readonly [string, StateGenesisValue])[] = {},
    options: CreateDomainOptions = {},
  ): StateDomainInfo {
    checkDomainName(name);
    const valueFields =
      options.valueFields === undefined ? undefined : [...checkValueFields(options.valueFields)];
    const fieldCount = valueFields?.length ?? 1;
    const pairs: (readonly [string, StateGenesisValue])[] =
      initial instanceof Map
        ? [...(initial as ReadonlyMap<string, StateGenesisValue>).entries()]
        : Array.isArray(initial)
          ? [...(initial as readonly (readonly [string, StateGenesisValue])[])]
          : Object.entries(initial as Readonly<Record<string, StateGenesisValue>>);
    const entries = new Map<string, StateEntry>();
    const holders = new Map<number, string>();
    for (const [key, value] of pairs) {
      if (entries.has(key)) throw new StateError(`key "${key}" appears twice in the genesis of "${name}"`);
      const keyField = stateKeyField(key);
      const slot = stateSlotOf(keyField, STATE_DEPTH);
      const holder = holders.get(slot);
      if (holder !== undefined) throw new StateSlotTakenError(name, key, slot, holder);
      holders.set(slot, key);
      entries.set(key, { key, keyField, slot, value: genesisValueOf(name, key, value, valueFields) });
    }
    const tree = SparseMerkleTree.fromLeaves(
      [...entries.values()].map((e) => [e.slot, stateLeaf(e.keyField, e.value, fieldCount)] as const),
      STATE_DEPTH,
    );
    const root = tree.root();
    const created = this.db
      .transaction(() => {
        const existing = this.domainRow(name);
        if (existing) {
          if (BigInt(existing.genesis_root) !== root) {
            throw new StateDomainExistsError(
              `state domain "${name}" already exists with other genesis contents ` +
                `(genesis root ${existing.genesis_root}, these contents give ${toHex32(root)})`,
            );
          }
          const held = valueFieldsOfRow(existing);
          if (!sameValueFields(held, valueFields)) {
            throw new StateDomainExistsError(
              `state domain "${name}" already exists with ${describeValueFields(held)}, not ${describeValueFields(valueFields)}`,
            );
          }
          return false;
        }
        const at = now();
        this.db
          .prepare(
            `INSERT INTO state_domains (domain, domain_id, depth, genesis_root, root, version, created_at, updated_at, value_fields)
             VALUES (?, ?, ?, ?, ?, 0, ?, ?, ?)`,
          )
          .run(
            name,
            stateDomainId(name),
            STATE_DEPTH,
            toHex32(root),
            toHex32(root),
            at,
            at,
            valueFields === undefined ? null : JSON.stringify(valueFields),
          );
        const insert = this.db.prepare(
          "INSERT INTO state_entries (domain, key, key_field, slot, value) VALUES (?, ?, ?, ?, ?)",
        );
        for (const e of entries.values())
          insert.run(name, e.key, e.keyField.toString(), e.slot, e.value.toString());
        return true;
      })
      .immediate();
    if (created) {
      this.loaded.set(name, { name, valueFields, version: 0, root, tree, entries, generation: 0 });
    }
    return this.domain(name);
  }

  /** Whether a domain exists. */
  hasDomain(name: string): boolean {
    return this.domainRow(name) !== undefined;
  }

  domain(name: string): StateDomainInfo {
    const row = this.db
      .prepare<DomainRow & { size: number }>(
        `SELECT d.*, (SELECT COUNT(*) FROM state_entries e WHERE e.domain = d.domain) AS size
         FROM state_domains d WHERE d.domain = ?`,
      )
      .get(name);
    if (!row) throw new UnknownStateDomainError(`no state domain "${name}"`);
    return domainFromRow(row, row.size);
  }

  domains(): StateDomainInfo[] {
    return this.db
      .prepare<DomainRow & { size: number }>(
        `SELECT d.*, (SELECT COUNT(*) FROM state_entries e WHERE e.domain = d.domain) AS size
         FROM state_domains d ORDER BY d.domain`,
      )
      .all()
      .map((row) => domainFromRow(row, row.size));
  }

  /** The domain's current root. */
  root(domain: string): bigint {
    return this.load(domain).root;
  }

  /** The key's current value, undefined when the domain does not hold the key. */
  get(domain: string, key: string): bigint | undefined {
    return this.load(domain).entries.get(key)?.value;
  }

  /** The key's leaf and Merkle path under the current root; undefined when the domain does not hold the key. */
  inclusion(domain: string, key: string): StateInclusion | undefined {
    const state = this.load(domain);
    const entry = state.entries.get(key);
    if (!entry) return undefined;
    return { ...entry, root: state.root, leaf: state.tree.leaf(entry.slot), ...state.tree.path(entry.slot) };
  }

  /** The domain's entries in slot order. */
  entries(domain: string): StateEntry[] {
    return [...this.load(domain).entries.values()].sort((a, b) => a.slot - b.slot).map((e) => ({ ...e }));
  }

  // ------------------------------------------------------------------ transitions

  /**
   * Turns a run's changes into a transition against the domain's CURRENT root (or on top of a chain
   * of pending transitions: `options.onTopOf`) and stores it as PENDING (nothing is applied). Writes
   * are taken in order, each in the tree as the previous ones left it (several changes of one key
   * are several writes). Refused: a result below 0 or at or above 2^64 (StateValueError: e.g. stock
   * would go negative), a new key whose slot (fixed by the key) another key holds
   * (StateSlotTakenError) or when `options.allowNewKeys` is false, a run whose transition of this
   * domain is already applied.
   */
  prepareTransition(
    domain: string,
    runId: string,
    changes: readonly StateChange[],
    options: PrepareOptions = {},
  ): StateTransition {
    checkRunId(runId);
    if (!Array.isArray(changes)) throw new StateError("changes must be an array of { key, value | delta }");
    const { transition, base, view, chained } = this.db
      .transaction(() => {
        const base = this.load(domain);
        this.refuseAppliedRun(domain, runId);
        const view = base.tree.fork();
        const current = new Map<string, { slot: number; keyField: bigint; value: bigint }>();
        const holders = new Map<number, string>([...base.entries.values()].map((e) => [e.slot, e.key]));
        // The chain it goes on top of: each pending transition's writes, in order, from the applied root.
        let tipRoot = base.root;
        for (const id of options.onTopOf ?? []) {
          const below = this.transitionOrThrow(id);
          if (below.domain !== domain || below.status !== "PENDING") {
            throw new StateError(
              `state transition #${id} is not a PENDING transition of "${domain}" (it is ${below.status} in "${below.domain}")`,
            );
          }
          if (below.runId === runId)
            throw new StateError(`run ${runId} already has transition #${id} in the chain`);
          if (below.rootBefore !== tipRoot) throw new StaleStateError(domain, id, below.rootBefore, tipRoot);
          for (const write of below.writes) {
            view.update(write.slot, write.leafAfter);
            current.set(write.key, { slot: write.slot, keyField: write.keyField, value: write.valueAfter });
            holders.set(write.slot, write.key);
          }
          if (view.root() !== below.rootAfter) {
            throw new StateIntegrityError(`the writes of transition #${id} do not give its rootAfter`);
          }
          tipRoot = below.rootAfter;
        }
        const chained = (options.onTopOf ?? []).length;
        const writes: StateWrite[] = [];
        for (const change of changes) {
          const { key } = change as { key: unknown };
          if (typeof key !== "string")
            throw new StateError(`a state change needs a string key, got ${String(key)}`);
          let entry = current.get(key) ?? base.entries.get(key);
          const inserted = entry === undefined;
          if (!entry) {
            if (options.allowNewKeys === false) {
              throw new StateError(
                `state domain "${domain}" holds no key "${key}", and this transition may not add one`,
              );
            }
            const keyField = stateKeyField(key);
            const slot = stateSlotOf(keyField, view.depth);
            const holder = holders.get(slot);
            if (holder !== undefined) throw new StateSlotTakenError(domain, key, slot, holder);
            holders.set(slot, key);
            entry = { slot, keyField, value: 0n };
          }
          const valueBefore = entry.value;
          const valueAfter = resultOf(domain, change, valueBefore, base.valueFields);
          const leafBefore = view.leaf(entry.slot);
          const { pathElements, pathIndices } = view.path(entry.slot);
          const rootBefore = view.root();
          const leafAfter = stateLeaf(entry.keyField, valueAfter, base.valueFields?.length ?? 1);
          const rootAfter = view.update(entry.slot, leafAfter);
          current.set(key, { ...entry, value: valueAfter });
          writes.push({
            key,
            keyField: entry.keyField,
            slot: entry.slot,
            inserted,
            valueBefore,
            valueAfter,
            leafBefore,
            leafAfter,
            pathElements,
            pathIndices,
            rootBefore,
            rootAfter,
          });
        }
        const createdAt = now();
        const rootAfter = view.root();
        const { lastInsertRowid } = this.db
          .prepare(
            `INSERT INTO state_transitions (domain, version, run_id, root_before, root_after, writes_json, status, created_at)
             VALUES (?, ?, ?, ?, ?, ?, 'PENDING', ?)`,
          )
          .run(
            domain,
            base.version + chained,
            runId,
            toHex32(tipRoot),
            toHex32(rootAfter),
            writesToJson(writes),
            createdAt,
          );
        const transition: StateTransition = {
          id: Number(lastInsertRowid),
          domain,
          domainId: stateDomainId(domain),
          runId,
          version: base.version + chained,
          rootBefore: tipRoot,
          rootAfter,
          writes,
          status: "PENDING",
          createdAt,
        };
        return { transition, base, view, chained };
      })
      .immediate();
    // A view over the applied tree only: applyTransition may take it as it is.
    if (chained === 0) this.prepared.set(transition.id, { base, generation: base.generation, view });
    return transition;
  }

  /**
   * Applies a PENDING transition atomically (entries, root, version + 1, status APPLIED) if the
   * domain's root is still its rootBefore; otherwise throws StaleStateError (expected and actual
   * roots) and leaves it PENDING. Applying an APPLIED transition again returns it unchanged; a
   * DISCARDED one is refused.
   */
  applyTransition(id: number): StateTransition {
    const done = this.db
      .transaction(() => {
        const transition = this.transitionOrThrow(id);
        if (transition.status === "APPLIED") return { transition };
        if (transition.status === "DISCARDED") {
          throw new StateError(`state transition #${id} of "${transition.domain}" was discarded`);
        }
        return this.applyPending(transition, this.load(transition.domain));
      })
      .immediate();
    if ("view" in done) this.settleInMemory(done);
    return done.transition;
  }

  /** Marks a PENDING transition DISCARDED (again: no-op). An APPLIED one cannot be discarded. */
  discardTransition(id: number): StateTransition {
    const transition = this.db
      .transaction(() => {
        const transition = this.transitionOrThrow(id);
        if (transition.status === "APPLIED") {
          throw new StateError(
            `state transition #${id} of "${transition.domain}" is applied: it cannot be discarded`,
          );
        }
        if (transition.status === "DISCARDED") return transition;
        return this.discardPending(transition);
      })
      .immediate();
    this.prepared.delete(id);
    return transition;
  }

  getTransition(id: number): StateTransition | undefined {
    const row = this.db.prepare<TransitionRow>("SELECT * FROM state_transitions WHERE id = ?").get(id);
    return row && transitionFromRow(row);
  }

  /** A domain's transitions in the order they were prepared, optionally of some statuses only. */
  transitions(domain: string, statuses?: readonly StateTransitionStatus[]): StateTransition[] {
    const where = statuses?.length ? ` AND status IN (${statuses.map(() => "?").join(", ")})` : "";
    return this.db
      .prepare<TransitionRow>(`SELECT * FROM state_transitions WHERE domain = ?${where} ORDER BY id`)
      .all(domain, ...(statuses ?? []))
      .map(transitionFromRow);
  }

  /** The run's APPLIED transition of the domain, if it has one (a run has at most one). */
  appliedTransition(domain: string, runId: string): StateTransition | undefined {
    const id = this.appliedTransitionOf(domain, runId);
    return id === undefined ? undefined : this.getTransition(id);
  }

  /** The domain's PENDING transitions, oldest first (after a crash: see `reconcile`). */
  pendingTransitions(domain: string): StateTransition[] {
    return this.transitions(domain, ["PENDING"]);
  }

  /**
   * Settles the domain's PENDING transitions against the root the registry holds for it
   * (`chainRoot`), in one transaction, oldest first:
   *  1. a pending transition whose rootAfter is the chain's root and whose rootBefore is the local
   *     root was recorded: it is APPLIED (the local root becomes the chain's; if several qualify —
   *     identical writes of two runs — the oldest, the state being the same whichever it was);
   *  2. then, if the local root is the chain's: one whose rootBefore is that root stays PENDING and
   *     may be (re)submitted; every other one is DISCARDED;
   *  3. if the local root still differs from the chain's (the local state diverged, e.g. the chain
   *     was advanced by another executor), transitions that start from or lead to the chain's root
   *     stay PENDING as `unresolved` and the others are DISCARDED; `inSync` is false.
   * With `recorded` (whether the registry holds an entry for a run), step 1 applies, oldest first,
   * every pending transition whose run the registry recorded and that starts from the local root as
   * the ones applied before it left it: a chain recorded in one batch (whose middle roots the chain's
   * root does not show, and whose runs that change nothing leave the root as it was).
   */
  reconcile(domain: string, chainRoot: bigint, recorded?: (runId: string) => boolean): StateReconcileResult {
    const settled: Application[] = [];
    const result = this.db
      .transaction(() => {
        const state = this.load(domain);
        let localRoot = state.root;
        const result: StateReconcileResult = {
          domain,
          chainRoot,
          applied: [],
          resubmittable: [],
          discarded: [],
          unresolved: [],
          root: localRoot,
          inSync: false,
        };
        const rest: StateTransition[] = [];
        for (const transition of this.pendingTransitions(domain)) {
          const landed =
            transition.rootBefore === localRoot &&
            (recorded ? recorded(transition.runId) : transition.rootAfter === chainRoot);
          if (landed && this.appliedTransitionOf(domain, transition.runId) === undefined) {
            const done = this.applyPending(transition, state, settled.at(-1));
            settled.push(done);
            result.applied.push(done.transition);
            localRoot = transition.rootAfter;
          } else {
            rest.push(transition);
          }
        }
        result.root = localRoot;
        result.inSync = localRoot === chainRoot;
        for (const transition of rest) {
          if (result.inSync && transition.rootBefore === chainRoot) result.resubmittable.push(transition);
          else if (
            !result.inSync &&
            (transition.rootBefore === chainRoot || transition.rootAfter === chainRoot)
          ) {
            result.unresolved.push(transition);
          } else result.discarded.push(this.discardPending(transition));
        }
        return result;
      })
      .immediate();
    for (const done of settled) this.settleInMemory(done);
    for (const transition of result.discarded) this.prepared.delete(transition.id);
    return result;
  }

  // ------------------------------------------------------------------ concurrency

  /**
   * Runs `work` while holding the domain's in-process lock (p-limit(1) per domain): the works of
   * one domain run one after the other, in call order. Do not take the same domain's lock again
   * inside `work` (it would wait for itself).
   */
  exclusive<T>(domain: string, work: () => Promise<T> | T): Promise<T> {
    let lock = this.locks.get(domain);
    if (!lock) {
      lock = pLimit(1);
      this.locks.set(domain, lock);
    }
    return lock(async () => work());
  }

  /** How many works hold (0 or 1) and wait for the domain's in-process lock. */
  lockLoad(domain: string): { active: number; waiting: number } {
    const lock = this.locks.get(domain);
    return { active: lock?.activeCount ?? 0, waiting: lock?.pendingCount ?? 0 };
  }

  /**
   * The rebasing policy in one call: under the domain's lock, prepares the run's changes against
   * the current root, awaits `record(transition)` (prove and submit it; omitted: nothing to wait
   * for) and applies it. If `record` throws, the transition stays PENDING (it may or may not have
   * been recorded: discard it when you know it was not, or let `reconcile` settle it) and the error
   * is passed on.
   */
  commit(
    domain: string,
    runId: string,
    changes: readonly StateChange[],
    record?: (transition: StateTransition) => Promise<void> | void,
    options: PrepareOptions = {},
  ): Promise<StateTransition> {
    return this.exclusive(domain, async () => {
      const transition = this.prepareTransition(domain, runId, changes, options);
      if (record) await record(transition);
      return this.applyTransition(transition.id);
    });
  }

  // ------------------------------------------------------------------ internals

  private domainRow(name: string): DomainRow | undefined {
    return this.db.prepare<DomainRow>("SELECT * FROM state_domains WHERE domain = ?").get(name);
  }

  /** The domain as the database holds it now (from memory while its root did not change). */
  private load(name: string): LoadedDomain {
    // One read transaction (a savepoint inside the caller's): the row and the entries agree.
    return this.db.transaction(() => this.loadNow(name))();
  }

  private loadNow(name: string): LoadedDomain {
    const row = this.domainRow(name);
    if (!row) throw new UnknownStateDomainError(`no state domain "${name}"`);
    const root = BigInt(row.root);
    const held = this.loaded.get(name);
    if (held && held.root === root) {
      held.version = row.version;
      return held;
    }
    if (row.depth !== STATE_DEPTH) {
      throw new StateIntegrityError(
        `state domain "${name}" has depth ${row.depth}; this wesflow uses ${STATE_DEPTH}`,
      );
    }
    const entries = new Map<string, StateEntry>();
    for (const r of this.db
      .prepare<EntryRow>(
        "SELECT key, key_field, slot, value FROM state_entries WHERE domain = ? ORDER BY slot",
      )
      .all(name)) {
      const keyField = BigInt(r.key_field);
      if (r.slot !== stateSlotOf(keyField, STATE_DEPTH)) {
        throw new StateIntegrityError(
          `state domain "${name}" holds key "${r.key}" at slot ${r.slot}, but a key's slot is fixed by the key ` +
            `(${stateSlotOf(keyField, STATE_DEPTH)}): this state was laid out by an earlier wesflow, whose proofs this ` +
            `version cannot continue; start from a new data directory (or WESFLOW_JOURNAL) and redeploy`,
        );
      }
      entries.set(r.key, { key: r.key, keyField, slot: r.slot, value: BigInt(r.value) });
    }
    const valueFields = valueFieldsOfRow(row);
    const fieldCount = valueFields?.length ?? 1;
    const tree = SparseMerkleTree.fromLeaves(
      [...entries.values()].map((e) => [e.slot, stateLeaf(e.keyField, e.value, fieldCount)] as const),
      STATE_DEPTH,
    );
    if (tree.root() !== root) {
      throw new StateIntegrityError(
        `the entries of state domain "${name}" hash to ${toHex32(tree.root())}, not to its root ${row.root}`,
      );
    }
    const loaded: LoadedDomain = {
      name,
      valueFields,
      version: row.version,
      root,
      tree,
      entries,
      generation: 0,
    };
    this.loaded.set(name, loaded);
    return loaded;
  }

  private transitionOrThrow(id: number): StateTransition {
    const transition = this.getTransition(id);
    if (!transition) throw new UnknownStateTransitionError(`no state transition #${id}`);
    return transition;
  }

  private appliedTransitionOf(domain: string, runId: string): number | undefined {
    return this.db
      .prepare<{ id: number }>(
        "SELECT id FROM state_transitions WHERE domain = ? AND run_id = ? AND status = 'APPLIED'",
      )
      .get(domain, runId)?.id;
  }

  private refuseAppliedRun(domain: string, runId: string): void {
    const applied = this.appliedTransitionOf(domain, runId);
    if (applied !== undefined) {
      throw new StateError(`run ${runId} already has an applied transition of "${domain}" (#${applied})`);
    }
  }

  /**
   * Inside a transaction: checks a PENDING transition against the domain as `state` holds it (or
   * as `previous`, an application of the same transaction, left it) and writes its application.
   */
  private applyPending(
    transition: StateTransition,
    state: LoadedDomain,
    previous?: Application,
  ): Application {
    const currentRoot = previous ? previous.transition.rootAfter : state.root;
    const entries = new Map(previous ? previous.entries : state.entries);
    if (currentRoot !== transition.rootBefore) {
      throw new StaleStateError(transition.domain, transition.id, transition.rootBefore, currentRoot);
    }
    this.refuseAppliedRun(transition.domain, transition.runId);
    // Same root, same tree: each write's slot must be its key's own.
    for (const write of transition.writes) {
      const slot = stateSlotOf(write.keyField, STATE_DEPTH);
      if (slot !== write.slot) {
        throw new StateIntegrityError(
          `transition #${transition.id} writes "${write.key}" at slot ${write.slot}, but its slot is ${slot}`,
        );
      }
      entries.set(write.key, { key: write.key, keyField: write.keyField, slot, value: write.valueAfter });
    }
    const prepared = this.prepared.get(transition.id);
    let view: SparseMerkleTree;
    if (!previous && prepared && prepared.base === state && prepared.generation === state.generation) {
      view = prepared.view;
    } else {
      view = (previous ? previous.view : state.tree).fork();
      for (const write of transition.writes) view.update(write.slot, write.leafAfter);
    }
    if (view.root() !== transition.rootAfter) {
      throw new StateIntegrityError(`the writes of transition #${transition.id} do not give its rootAfter`);
    }
    const at = now();
    const upsert = this.db.prepare(
      `INSERT INTO state_entries (domain, key, key_field, slot, value) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (domain, key) DO UPDATE SET value = excluded.value`,
    );
    for (const write of transition.writes) {
      upsert.run(
        transition.domain,
        write.key,
        write.keyField.toString(),
        write.slot,
        write.valueAfter.toString(),
      );
    }
    const updated = this.db
      .prepare(
        "UPDATE state_domains SET root = ?, version = version + 1, updated_at = ? WHERE domain = ? AND root = ?",
      )
      .run(toHex32(transition.rootAfter), at, transition.domain, toHex32(transition.rootBefore));
    if (updated.changes !== 1)
      throw new StateIntegrityError(`state domain "${transition.domain}" changed underneath`);
    this.db
      .prepare("UPDATE state_transitions SET status = 'APPLIED', settled_at = ? WHERE id = ?")
      .run(at, transition.id);
    return { transition: { ...transition, status: "APPLIED", settledAt: at }, state, view, entries };
  }

  private discardPending(transition: StateTransition): StateTransition {
    const at = now();
    this.db
      .prepare(
        "UPDATE state_transitions SET status = 'DISCARDED', settled_at = ? WHERE id = ? AND status = 'PENDING'",
      )
      .run(at, transition.id);
    return { ...transition, status: "DISCARDED", settledAt: at };
  }

  /** After the transaction that applied it committed: the held domain follows the database. */
  private settleInMemory(done: Application): void {
    const { transition, state, view, entries } = done;
    this.prepared.delete(transition.id);
    if (this.loaded.get(state.name) !== state || state.root !== transition.rootBefore) {
      this.loaded.delete(state.name);
      return;
    }
    state.tree.absorb(view);
    state.entries = entries;
    state.root = transition.rootAfter;
    state.version += 1;
    state.generation += 1;
  }
}

/**
 * The value a change leaves, from the key's value before. In a domain of named fields each field is
 * computed on its own (before + its delta) and must stay within 64 bits; a refusal names the key
 * and the field.
 */
function resultOf(
  domain: string,
  change: StateChange,
  before: bigint,
  valueFields: readonly string[] | undefined,
): bigint {
  const { key } = change;
  const count = valueFields?.length ?? 1;
  const given = ["value", "delta", "deltas"].filter((what) => what in change);
  if (given.length !== 1) {
    throw new StateError(
      `the change of "${key}" in "${domain}" must have either a value or a delta` +
        (count > 1 ? ` (here deltas, one per field: ${valueFields!.join(", ")})` : ""),
    );
  }
  if ("value" in change) {
    if (valueFields === undefined) return checkStateValue(change.value, key);
    return checkPackedValue(change.value, key, valueFields);
  }
  const deltas = deltasOf(domain, change, valueFields);
  const fieldsBefore = count === 1 ? [before] : unpackStateValue(before, count);
  const fieldsAfter = fieldsBefore.map((fieldBefore, i) =>
    fieldResult({ domain, key, field: valueFields?.[i], before: fieldBefore, delta: deltas[i] }),
  );
  return count === 1 ? fieldsAfter[0] : packStateValue(fieldsAfter, valueFields);
}

/** A delta change's deltas, one per field: `delta` only in a domain of one field. */
function deltasOf(
  domain: string,
  change: { key: string; delta: bigint } | { key: string; deltas: readonly bigint[] },
  valueFields: readonly string[] | undefined,
): readonly unknown[] {
  const { key } = change;
  const count = valueFields?.length ?? 1;
  if ("delta" in change) {
    if (count > 1) {
      throw new StateError(
        `the change of "${key}" gives one delta, but state domain "${domain}" packs ${count} fields ` +
          `(${valueFields!.join(", ")}): a change of this domain gives deltas, one per field (check the workflow's changes)`,
      );
    }
    return [change.delta];
  }
  const { deltas } = change;
  if (!Array.isArray(deltas) || deltas.length !== count) {
    const fields =
      valueFields === undefined
        ? "one value"
        : `${count} field${count === 1 ? "" : "s"} (${valueFields.join(", ")})`;
    throw new StateError(
      `the change of "${key}" in "${domain}" gives ${Array.isArray(deltas) ? `${deltas.length} deltas` : "deltas that are no array"}; ` +
        `the domain's values have ${fields}: give one delta per field`,
    );
  }
  return deltas;
}

/** One field after its delta: within 0 ≤ f < 2^64, else a StateValueError naming the key and the field. */
function fieldResult(args: {
  domain: string;
  key: string;
  /** The field's name; undefined in a domain of one unnamed field. */
  field: string | undefined;
  before: bigint;
  delta: unknown;
}): bigint {
  const { domain, key, field, before, delta } = args;
  const subject =
    field === undefined ? `"${key}" in "${domain}"` : `field "${field}" of "${key}" in "${domain}"`;
  const what = field === undefined ? "state values" : "the fields of a state value";
  if (typeof delta !== "bigint") {
    throw new StateValueError(
      `the delta of ${subject} must be a bigint, got ${typeof delta}`,
      key,
      delta,
      field,
    );
  }
  const after = before + delta;
  const sum = `${before} ${delta < 0n ? "-" : "+"} ${delta < 0n ? -delta : delta} = ${after}`;
  if (after < 0n) {
    throw new StateValueError(
      `${subject} would go negative (${sum}): ${what} are unsigned 64-bit integers`,
      key,
      after,
      field,
    );
  }
  if (after > MAX_STATE_VALUE) {
    throw new StateValueError(
      `${subject} would overflow (${sum}, above 2^64 - 1): ${what} are unsigned 64-bit integers`,
      key,
      after,
      field,
    );
  }
  return after;
}

/** A packed value of a domain of named fields (a change's `value`, a genesis bigint): below 2^(64·count). */
function checkPackedValue(value: unknown, key: string, valueFields: readonly string[]): bigint {
  try {
    unpackStateValue(value as bigint, valueFields.length);
    return value as bigint;
  } catch (error) {
    if (!(error instanceof StateValueError)) throw error;
    throw new StateValueError(
      `the value of "${key}" (fields ${valueFields.join(", ")}): ${error.message}`,
      key,
      value,
    );
  }
}

/** A genesis value, packed: one bigint (the value), or one bigint per field. */
function genesisValueOf(
  domain: string,
  key: string,
  value: StateGenesisValue,
  valueFields: readonly string[] | undefined,
): bigint {
  if (!Array.isArray(value)) {
    if (valueFields === undefined) return checkStateValue(value, key);
    return checkPackedValue(value, key, valueFields);
  }
  const fields = value as readonly unknown[];
  const names = valueFields ?? ["value"];
  if (fields.length !== names.length) {
    throw new StateError(
      `the genesis of "${key}" in "${domain}" gives ${fields.length} fields; the domain's values have ${names.length} (${names.join(", ")})`,
    );
  }
  const checked = fields.map((field, i) =>
    checkStateValue(field, key, `field "${names[i]}"`, valueFields === undefined ? undefined : names[i]),
  );
  return valueFields === undefined ? checked[0] : packStateValue(checked, valueFields);
}

/** A domain row's field names (undefined: one unnamed field). */
function valueFieldsOfRow(row: DomainRow): readonly string[] | undefined {
  if (row.value_fields === null || row.value_fields === undefined) return undefined;
  let names: unknown;
  try {
    names = JSON.parse(row.value_fields);
  } catch (error) {
    throw new StateIntegrityError(
      `state domain "${row.domain}" has unreadable value fields ${row.value_fields}`,
      {
        cause: error,
      },
    );
  }
  try {
    return checkValueFields(names);
  } catch (error) {
    throw new StateIntegrityError(
      `state domain "${row.domain}" holds bad value fields: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
}

function describeValueFields(valueFields: readonly string[] | undefined): string {
  return valueFields === undefined ? "one unnamed value field" : `value fields ${valueFields.join(", ")}`;
}

/** A journal written before domains had named fields: add the column (NULL: one unnamed field). */
function addValueFieldsColumn(db: Database): void {
  const has = () =>
    db
      .prepare<{ name: string }>("PRAGMA table_info(state_domains)")
      .all()
      .some((column) => column.name === "value_fields");
  if (has()) return;
  try {
    db.exec("ALTER TABLE state_domains ADD COLUMN value_fields TEXT");
  } catch (error) {
    if (!has()) throw error; // another connection added it in between: fine
  }
}

function checkDomainName(name: string): void {
  if (typeof name !== "string" || name.trim().length === 0 || name !== name.trim()) {
    throw new StateError(
      `a state domain name must be a non-empty string without surrounding spaces, got ${JSON.stringify(name)}`,
    );
  }
}

function checkRunId(runId: string): void {
  if (typeof runId !== "string" || runId.length === 0) {
    throw new StateError(`a run id must be a non-empty string, got ${JSON.stringify(runId)}`);
  }
}

function domainFromRow(row: DomainRow, size: number): StateDomainInfo {
  return {
    name: row.domain,
    domainId: row.domain_id,
    depth: row.depth,
    root: BigInt(row.root),
    version: row.version,
    genesisRoot: BigInt(row.genesis_root),
    size,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    ...(row.value_fields === null ? {} : { valueFields: valueFieldsOfRow(row) }),
  };
}

type WriteJson = Omit<
  StateWrite,
  | "keyField"
  | "valueBefore"
  | "valueAfter"
  | "leafBefore"
  | "leafAfter"
  | "pathElements"
  | "rootBefore"
  | "rootAfter"
> & {
  keyField: string;
  valueBefore: string;
  valueAfter: string;
  leafBefore: string;
  leafAfter: string;
  pathElements: string[];
  rootBefore: string;
  rootAfter: string;
};

function writesToJson(writes: readonly StateWrite[]): string {
  return JSON.stringify(
    writes.map((w): WriteJson => ({
      ...w,
      keyField: w.keyField.toString(),
      valueBefore: w.valueBefore.toString(),
      valueAfter: w.valueAfter.toString(),
      leafBefore: w.leafBefore.toString(),
      leafAfter: w.leafAfter.toString(),
      pathElements: w.pathElements.map(String),
      rootBefore: w.rootBefore.toString(),
      rootAfter: w.rootAfter.toString(),
    })),
  );
}

function writesFromJson(text: string): StateWrite[] {
  return (JSON.parse(text) as WriteJson[]).map((w) => ({
    ...w,
    keyField: BigInt(w.keyField),
    valueBefore: BigInt(w.valueBefore),
    valueAfter: BigInt(w.valueAfter),
    leafBefore: BigInt(w.leafBefore),
    leafAfter: BigInt(w.leafAfter),
    pathElements: w.pathElements.map((e) => BigInt(e)),
    rootBefore: BigInt(w.rootBefore),
    rootAfter: BigInt(w.rootAfter),
  }));
}

function transitionFromRow(row: TransitionRow): StateTransition {
  return {
    id: row.id,
    domain: row.domain,
    domainId: stateDomainId(row.domain),
    runId: row.run_id,
    version: row.version,
    rootBefore: BigInt(row.root_before),
    rootAfter: BigInt(row.root_after),
    writes: writesFromJson(row.writes_json),
    status: row.status,
    createdAt: row.created_at,
    ...(row.settled_at === null ? {} : { settledAt: row.settled_at }),
  };
}
