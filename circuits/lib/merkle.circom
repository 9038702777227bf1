pragma circom 2.1.9;

include "circomlib/circuits/poseidon.circom";

// MerkleInclusionRoot(DEPTH)
// Computes the root of a binary Poseidon Merkle tree (node = Poseidon(left, right)) from a leaf and
// its path. Inputs: pathElements are the siblings bottom-up; pathIndices[i] is 1 when the node at
// level i is a right child. Each pathIndices[i] is constrained to be a bit here.
// The caller constrains the output root against the root it trusts.
template MerkleInclusionRoot(DEPTH) {
    assert(DEPTH > 0);
    signal input leaf;
    signal input pathElements[DEPTH];
    signal input pathIndices[DEPTH];
    signal output root;

    signal nodes[DEPTH + 1];
    signal left[DEPTH];
    signal right[DEPTH];
    component hashers[DEPTH];

    nodes[0] <== leaf;
    for (var i = 0; i < DEPTH; i++) {
        pathIndices[i] * (1 - pathIndices[i]) === 0;
        left[i] <== nodes[i] + pathIndices[i] * (pathElements[i] - nodes[i]);
        right[i] <== pathElements[i] + nodes[i] - left[i];
        hashers[i] = Poseidon(2);
        hashers[i].inputs[0] <== left[i];
        hashers[i].inputs[1] <== right[i];
        nodes[i + 1] <== hashers[i].out;
    }
    root <== nodes[DEPTH];
}

// MerkleTreeRoot(DEPTH)
// Root of the complete binary Poseidon Merkle tree over 2^DEPTH leaves (unused leaves are 0).
template MerkleTreeRoot(DEPTH) {
    assert(DEPTH > 0);
    var WIDTH = 1 << DEPTH;
    signal input leaves[WIDTH];
    signal output root;

    signal nodes[2 * WIDTH - 1];
    component hashers[WIDTH - 1];
    for (var i = 0; i < WIDTH; i++) {
        nodes[i] <== leaves[i];
    }
    var next = WIDTH;
    var levelStart = 0;
    for (var levelWidth = WIDTH; levelWidth > 1; levelWidth = levelWidth >> 1) {
        for (var j = 0; j < levelWidth; j += 2) {
            hashers[next - WIDTH] = Poseidon(2);
            hashers[next - WIDTH].inputs[0] <== nodes[levelStart + j];
            hashers[next - WIDTH].inputs[1] <== nodes[levelStart + j + 1];
            nodes[next] <== hashers[next - WIDTH].out;
            next++;
        }
        levelStart += levelWidth;
    }
    root <== nodes[2 * WIDTH - 2];
}
