import { poseidon } from "./poseidon";

/** A path from a leaf to the root: siblings bottom-up and, per level, 1 when the node is a right child. */
export interface MerklePath {
  pathElements: bigint[];
  pathIndices: number[];
}

/**
 * A complete binary Poseidon Merkle tree of fixed depth (node = Poseidon(left, right)), as the
 * circuits' `MerkleTreeRoot` and `MerkleInclusionRoot` compute it. Missing leaves are 0.
 */
export class PoseidonMerkleTree {
  private readonly levels: bigint[][];

  constructor(
    readonly depth: number,
    leaves: readonly bigint[],
  ) {
    const width = 1 << depth;
    if (leaves.length > width) {
      throw new RangeError(`a depth-${depth} tree holds ${width} leaves, got ${leaves.length}`);
    }
    let level = [...leaves, ...new Array<bigint>(width - leaves.length).fill(0n)];
    this.levels = [level];
    for (let d = 0; d < depth; d++) {
      const next: bigint[] = [];
      for (let i = 0; i < level.length; i += 2) next.push(poseidon([level[i], level[i + 1]]));
      this.levels.push(next);
      level = next;
    }
  }

  get root(): bigint {
    return this.levels[this.depth][0];
  }

  get leaves(): readonly bigint[] {
    return this.levels[0];
  }

  path(index: number): MerklePath {
    if (!Number.isInteger(index) || index < 0 || index >= this.levels[0].length) {
      throw new RangeError(`leaf index ${index} is outside a depth-${this.depth} tree`);
    }
    const pathElements: bigint[] = [];
    const pathIndices: number[] = [];
    let position = index;
    for (let d = 0; d < this.depth; d++) {
      pathElements.push(this.levels[d][position ^ 1]);
      pathIndices.push(position & 1);
      position >>= 1;
    }
    return { pathElements, pathIndices };
  }
}

/** Recomputes the root from a leaf and its path (what `MerkleInclusionRoot` does in the circuit). */
export function rootFromPath(leaf: bigint, path: MerklePath): bigint {
  return path.pathElements.reduce(
    (node, sibling, level) =>
      path.pathIndices[level] ? poseidon([sibling, node]) : poseidon([node, sibling]),
    leaf,
  );
}
