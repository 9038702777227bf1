import { expect } from "chai";

import { poseidon, PoseidonMerkleTree, rootFromPath, SNARK_SCALAR_FIELD } from "../../src/crypto";
import { emptyStateRoot, SparseMerkleTree, STATE_DEPTH, zeroHashes } from "../../src/state";

/** A deterministic pseudo-random generator (tests must not depend on luck). */
function prng(seed: number) {
  let x = seed >>> 0 || 1;
  const next = () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
  return {
    int: (n: number) => next() % n,
    field: () =>
      (BigInt(next()) * 2n ** 224n + BigInt(next()) * 2n ** 192n + BigInt(next())) % SNARK_SCALAR_FIELD,
  };
}

describe("state: sparse Poseidon Merkle tree", function () {
  this.timeout(60_000);

  it("has depth 10 (1,024 slots); the empty tree's root is the fold of Poseidon(z, z) from z = 0", () => {
    expect(STATE_DEPTH).to.equal(10);
    const tree = new SparseMerkleTree();
    expect(tree.capacity).to.equal(1024);
    let z = 0n;
    for (let level = 0; level < STATE_DEPTH; level++) z = poseidon([z, z]);
    expect(tree.root()).to.equal(z);
    expect(emptyStateRoot()).to.equal(z);
    expect(zeroHashes()[STATE_DEPTH]).to.equal(z);
    expect(zeroHashes()).to.have.length(STATE_DEPTH + 1);
    // The reference: the complete tree over 1,024 zero leaves (what MerkleTreeRoot computes).
    expect(new PoseidonMerkleTree(STATE_DEPTH, []).root).to.equal(z);
  });

  it("equals the complete 1,024-leaf PoseidonMerkleTree for random states, paths included", () => {
    const states: [seed: number, count: number][] = [
      [7, 1],
      [2024, 37],
      [99991, 300],
    ];
    for (const [seed, count] of states) {
      const random = prng(seed);
      const tree = new SparseMerkleTree();
      const leaves = new Array<bigint>(1024).fill(0n);
      for (let i = 0; i < count; i++) {
        const slot = random.int(1024);
        const leaf = random.field();
        leaves[slot] = leaf;
        tree.update(slot, leaf);
      }
      // A leaf set back to 0 (an emptied slot) is hashed as an empty one.
      const emptied = leaves.findIndex((leaf) => leaf !== 0n);
      leaves[emptied] = 0n;
      tree.update(emptied, 0n);

      const reference = new PoseidonMerkleTree(STATE_DEPTH, leaves);
      expect(tree.root(), `root, seed ${seed}`).to.equal(reference.root);
      const rebuilt = SparseMerkleTree.fromLeaves(tree.leaves());
      expect(rebuilt.root(), `fromLeaves, seed ${seed}`).to.equal(reference.root);

      for (const slot of [0, 1, 511, 512, 1023, emptied, random.int(1024), random.int(1024)]) {
        const path = tree.path(slot);
        expect(path, `path of ${slot}`).to.deep.equal(reference.path(slot));
        expect(path.pathIndices).to.deep.equal(
          [...Array(STATE_DEPTH).keys()].map((bit) => (slot >> bit) & 1),
        );
        expect(rootFromPath(tree.leaf(slot), path)).to.equal(reference.root);
        expect(tree.leaf(slot)).to.equal(leaves[slot]);
      }
    }
  });

  it("update returns the new root and rehashes one path; a fork leaves its parent alone until absorbed", () => {
    const tree = new SparseMerkleTree();
    const before = tree.root();
    const path = tree.path(5);
    const root = tree.update(5, 123n);
    expect(root).to.equal(tree.root());
    expect(rootFromPath(123n, path)).to.equal(root); // the sibling path does not change with the leaf
    expect(rootFromPath(0n, path)).to.equal(before);

    const fork = tree.fork();
    fork.update(5, 0n);
    fork.update(6, 456n);
    const forkOfFork = fork.fork();
    forkOfFork.update(1023, 789n);
    expect(tree.root()).to.equal(root);
    expect(tree.leaf(6)).to.equal(0n);
    expect(fork.leaf(5)).to.equal(0n);

    const expected = new PoseidonMerkleTree(STATE_DEPTH, [0n, 0n, 0n, 0n, 0n, 0n, 456n]);
    expect(fork.root()).to.equal(expected.root);
    expect(fork.leaves()).to.deep.equal([[6, 456n]]);

    tree.absorb(forkOfFork);
    const leaves = new Array<bigint>(1024).fill(0n);
    leaves[6] = 456n;
    leaves[1023] = 789n;
    expect(tree.root()).to.equal(new PoseidonMerkleTree(STATE_DEPTH, leaves).root);
    expect(tree.leaves()).to.deep.equal([
      [6, 456n],
      [1023, 789n],
    ]);
    expect(() => new SparseMerkleTree().absorb(fork)).to.throw(/forked from this tree/);
  });

  it("refuses slots outside the tree", () => {
    const tree = new SparseMerkleTree();
    expect(() => tree.update(1024, 1n)).to.throw(RangeError, /slot 1024 is outside a depth-10 tree/);
    expect(() => tree.path(-1)).to.throw(RangeError);
    expect(() => tree.leaf(1.5)).to.throw(RangeError);
    expect(() => new SparseMerkleTree(0)).to.throw(RangeError);
  });

  it("works at other depths", () => {
    const tree = new SparseMerkleTree(3);
    tree.update(7, 9n);
    expect(tree.root()).to.equal(new PoseidonMerkleTree(3, [0n, 0n, 0n, 0n, 0n, 0n, 0n, 9n]).root);
    expect(emptyStateRoot(3)).to.equal(new PoseidonMerkleTree(3, []).root);
  });
});
