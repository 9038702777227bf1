/**
 * A run's move of one state domain as its proof shows it (binary Poseidon tree, node =
 * Poseidon(left, right), empty leaf 0, used leaf Poseidon(key, value) at the key's own slot): the
 * writes applied one after the other, write w opening its key's leaf under the root writes 0..w-1
 * left (circuits/lib/stateUpdates.circom's StateUpdates takes them as they are). A run that leaves
 * the state as it was (a rolled-back run) has no writes and rootAfter = rootBefore.
 */
export interface StateMove {
  domain: string;
  /** The root the proof starts from (public stateRootBefore). */
  rootBefore: bigint;
  /** The root after the last write (public stateRootAfter). */
  rootAfter: bigint;
  writes: readonly StateMoveWrite[];
}

/** One write of a StateMove (the store's StateWrite has this shape). */
export interface StateMoveWrite {
  /** The key's name and its field element (stateKeyField of the name). */
  key: string;
  keyField: bigint;
  /** The key's own slot, stateSlotOf(keyField, depth). */
  slot: number;
  /** The key was not in the tree: its leaf before is the empty leaf. */
  inserted: boolean;
  valueBefore: bigint;
  valueAfter: bigint;
  /** Siblings bottom-up, in the tree as the previous writes left it. */
  pathElements: readonly bigint[];
  /** Per level, 1 when the node is a right child: the bits of `slot`, lowest first. */
  pathIndices: readonly number[];
  /** The root this write opens its leaf under, and the root it leaves. */
  rootBefore: bigint;
  rootAfter: bigint;
}
