import { poseidon, type MerklePath } from "../crypto";

/** Depth of every state tree: 2^10 = 1,024 slots per state domain. */
export const STATE_DEPTH = 10;

/** Largest value a state slot holds: values are unsigned 64-bit integers. */
export const MAX_STATE_VALUE = (1n << 64n) - 1n;

/**
 * The one slot a key may occupy in a state tree of `depth` levels: the low `depth` bits of
 * Poseidon(keyField), as the circuits compute it (circuits/lib/state.circom `StateSlot`). A key's
 * position is fixed by the key, so no second (shadow) leaf of it can exist, and two keys of one
 * domain whose slots collide cannot both be held (the second is refused when it is added).
 */
export function stateSlotOf(keyField: bigint, depth: number = STATE_DEPTH): number {
  checkDepth(depth);
  return Number(poseidon([keyField]) & ((1n << BigInt(depth)) - 1n));
}

const zeroCache: bigint[] = [0n];

/**
 * `zeroHashes(depth)[level]` is the root of an empty subtree of height `level`: 0 for an empty
 * leaf, then Poseidon(z, z) level by level (the empty tree is hashed like any other).
 */
export function zeroHashes(depth: number = STATE_DEPTH): readonly bigint[] {
  checkDepth(depth);
  while (zeroCache.length <= depth) {
    const below = zeroCache[zeroCache.length - 1];
    zeroCache.push(poseidon([below, below]));
  }
  return zeroCache.slice(0, depth + 1);
}

/** Root of the empty state tree of a depth (all leaves 0). */
export function emptyStateRoot(depth: number = STATE_DEPTH): bigint {
  return zeroHashes(depth)[depth];
}

/**
 * A sparse binary Poseidon Merkle tree of fixed depth (node = Poseidon(left, right), the circuits'
 * `MerkleInclusionRoot`): only nodes that differ from the empty subtree's hash are stored, every
 * other node is the precomputed zero hash of its level. `update` rehashes the leaf's path only
 * (`depth` hashes), and `path` returns the siblings bottom-up in the {@link MerklePath} shape.
 *
 * `fork()` gives a copy-on-write view for trying updates without touching this tree; `absorb`
 * makes such a view's updates this tree's own (valid only while this tree was not changed since
 * the fork).
 */
export class SparseMerkleTree {
  readonly depth: number;
  readonly capacity: number;
  /** nodes[level]: index → hash, level 0 the leaves, level `depth` the root. */
  private readonly nodes: Map<number, bigint>[];
  private readonly zeros: readonly bigint[];
  private readonly parent?: SparseMerkleTree;

  constructor(depth: number = STATE_DEPTH, parent?: SparseMerkleTree) {
    checkDepth(depth);
    this.depth = depth;
    this.capacity = 2 ** depth;
    this.zeros = zeroHashes(depth);
    this.nodes = Array.from({ length: depth + 1 }, () => new Map<number, bigint>());
    this.parent = parent;
  }

  /** Builds a tree from its non-empty leaves in one bottom-up pass (at most 2·n hashes). */
  static fromLeaves(leaves: Iterable<readonly [slot: number, leaf: bigint]>, depth = STATE_DEPTH) {
    const tree = new SparseMerkleTree(depth);
    for (const [slot, leaf] of leaves) {
      tree.checkSlot(slot);
      tree.store(0, slot, leaf);
    }
    for (let level = 0; level < depth; level++) {
      const parents = new Set<number>();
      for (const index of tree.nodes[level].keys()) parents.add(index >> 1);
      for (const index of parents) {
        tree.store(
          level + 1,
          index,
          poseidon([tree.node(level, 2 * index), tree.node(level, 2 * index + 1)]),
        );
      }
    }
    return tree;
  }

  root(): bigint {
    return this.node(this.depth, 0);
  }

  /** The leaf at `slot` (0 when the slot is empty). */
  leaf(slot: number): bigint {
    this.checkSlot(slot);
    return this.node(0, slot);
  }

  /** The node at `index` of `level` (level 0: leaves; level `depth`: the root). */
  node(level: number, index: number): bigint {
    const own = this.nodes[level].get(index);
    if (own !== undefined) return own;
    return this.parent ? this.parent.node(level, index) : this.zeros[level];
  }

  /** Siblings bottom-up; pathIndices[i] = bit i of `slot` (1: the node at level i is a right child). */
  path(slot: number): MerklePath {
    this.checkSlot(slot);
    const pathElements: bigint[] = [];
    const pathIndices: number[] = [];
    let index = slot;
    for (let level = 0; level < this.depth; level++) {
      pathElements.push(this.node(level, index ^ 1));
      pathIndices.push(index & 1);
      index >>= 1;
    }
    return { pathElements, pathIndices };
  }

  /** Sets the leaf at `slot` and rehashes its path (`depth` hashes). Returns the new root. */
  update(slot: number, leaf: bigint): bigint {
    this.checkSlot(slot);
    let index = slot;
    let node = leaf;
    this.store(0, index, node);
    for (let level = 0; level < this.depth; level++) {
      const sibling = this.node(level, index ^ 1);
      node = index & 1 ? poseidon([sibling, node]) : poseidon([node, sibling]);
      index >>= 1;
      this.store(level + 1, index, node);
    }
    return node;
  }

  /** A copy-on-write view of this tree: its updates stay in the view. */
  fork(): SparseMerkleTree {
    return new SparseMerkleTree(this.depth, this);
  }

  /**
   * Takes over the updates of a view forked from this tree (or from a view of it, and so on), as
   * if they had been made here. Valid only if this tree was not changed since the fork.
   */
  absorb(view: SparseMerkleTree): void {
    const chain: SparseMerkleTree[] = [];
    let tree: SparseMerkleTree | undefined = view;
    for (; tree && tree !== this; tree = tree.parent) chain.push(tree);
    if (tree !== this) throw new Error("absorb takes a view forked from this tree");
    for (const fork of chain.reverse()) {
      fork.nodes.forEach((level, depth) => level.forEach((hash, index) => this.store(depth, index, hash)));
    }
  }

  /** Non-empty leaves in slot order. */
  leaves(): [slot: number, leaf: bigint][] {
    const slots = new Set<number>(this.nodes[0].keys());
    for (let tree = this.parent; tree; tree = tree.parent)
      for (const slot of tree.nodes[0].keys()) slots.add(slot);
    return [...slots]
      .sort((a, b) => a - b)
      .map((slot) => [slot, this.node(0, slot)] as [number, bigint])
      .filter(([, leaf]) => leaf !== 0n);
  }

  private store(level: number, index: number, hash: bigint): void {
    // A view keeps even empty-subtree hashes: they hide what its parent holds there.
    if (hash === this.zeros[level] && !this.parent) this.nodes[level].delete(index);
    else this.nodes[level].set(index, hash);
  }

  private checkSlot(slot: number): void {
    if (!Number.isInteger(slot) || slot < 0 || slot >= this.capacity) {
      throw new RangeError(`slot ${slot} is outside a depth-${this.depth} tree (0..${this.capacity - 1})`);
    }
  }
}

function checkDepth(depth: number): void {
  if (!Number.isInteger(depth) || depth < 1 || depth > 30) {
    throw new RangeError(`a state tree's depth must be an integer from 1 to 30, got ${depth}`);
  }
}
