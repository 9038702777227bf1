pragma circom 2.1.9;

include "circomlib/circuits/poseidon.circom";
include "circomlib/circuits/bitify.circom";

// Uint64()
// Constrains `in` to an unsigned 64-bit integer (0 <= in < 2^64): Num2Bits(64), 65 constraints.
// 64 < 254 bits, so the decomposition is unique and no field element >= 2^64 passes.
template Uint64() {
    signal input in;
    component bits = Num2Bits(64);
    bits.in <== in;
}

// StateLeafUpdate(DEPTH)
// One leaf of the state tree changes value: a binary Poseidon tree of depth DEPTH (node =
// Poseidon(left, right), as lib/merkle.circom's MerkleInclusionRoot; pathElements are the siblings
// bottom-up, pathIndices[i] = 1 when the node at level i is a right child), empty leaf 0, a used
// leaf = Poseidon(key, value).
//   enabled = 1: Poseidon(key, valueBefore) at the path hashes to rootBefore, and rootAfter is the
//                root of the same tree with Poseidon(key, valueAfter) at that path (same siblings);
//   enabled = 0: rootAfter = rootBefore; key, values and path are not looked at.
// How: both roots are computed from the one path (the path bits constrained once per level);
// enabled * (oldRoot - rootBefore) === 0 and rootAfter <== rootBefore + enabled * (newRoot - rootBefore).
// enabled is constrained to a bit here. The caller range-checks the values (their meaning is its
// own) and chooses the key; this template does not prove that the key occurs only once in the tree
// (an invariant of the state: no proof adds or moves a leaf, see circuits/README.md).
template StateLeafUpdate(DEPTH) {
    assert(DEPTH > 0);
    signal input rootBefore;
    signal input key;
    signal input valueBefore;
    signal input valueAfter;
    signal input pathElements[DEPTH];
    signal input pathIndices[DEPTH];
    signal input enabled;
    signal output rootAfter;

    enabled * (1 - enabled) === 0;

    component leafBefore = Poseidon(2);
    leafBefore.inputs[0] <== key;
    leafBefore.inputs[1] <== valueBefore;
    component leafAfter = Poseidon(2);
    leafAfter.inputs[0] <== key;
    leafAfter.inputs[1] <== valueAfter;

    signal before[DEPTH + 1];
    signal after[DEPTH + 1];
    signal leftBefore[DEPTH];
    signal leftAfter[DEPTH];
    component hashBefore[DEPTH];
    component hashAfter[DEPTH];
    before[0] <== leafBefore.out;
    after[0] <== leafAfter.out;
    for (var i = 0; i < DEPTH; i++) {
        pathIndices[i] * (1 - pathIndices[i]) === 0;
        leftBefore[i] <== before[i] + pathIndices[i] * (pathElements[i] - before[i]);
        hashBefore[i] = Poseidon(2);
        hashBefore[i].inputs[0] <== leftBefore[i];
        hashBefore[i].inputs[1] <== pathElements[i] + before[i] - leftBefore[i];
        before[i + 1] <== hashBefore[i].out;

        leftAfter[i] <== after[i] + pathIndices[i] * (pathElements[i] - after[i]);
        hashAfter[i] = Poseidon(2);
        hashAfter[i].inputs[0] <== leftAfter[i];
        hashAfter[i].inputs[1] <== pathElements[i] + after[i] - leftAfter[i];
        after[i + 1] <== hashAfter[i].out;
    }

    enabled * (before[DEPTH] - rootBefore) === 0;
    rootAfter <== rootBefore + enabled * (after[DEPTH] - rootBefore);
}
