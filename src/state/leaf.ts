/**
 * One leaf of a state tree as a run's proof opens it when the proof is made (binary Poseidon tree,
 * node = Poseidon(left, right), empty leaf 0, used leaf Poseidon(key, value) at the key's own slot).
 */
export interface StateLeafTransition {
  /** The state root the proof starts from (public stateRootBefore). */
  rootBefore: bigint;
  /** The leaf's key as a field element (stateKeyField of its name). */
  key: bigint;
  /** The leaf's index in the tree: the key's own slot, stateSlotOf(key, depth). */
  slot: number;
  /** The value in the leaf under rootBefore. */
  valueBefore: bigint;
  /** The value after the run (equal to valueBefore when the run leaves the state as it was). */
  valueAfter: bigint;
  /** Siblings bottom-up (the tree's depth = their number). */
  pathElements: readonly bigint[];
  /** Per level, 1 when the node is a right child: the bits of `slot`, lowest first. */
  pathIndices: readonly (number | bigint)[];
}
