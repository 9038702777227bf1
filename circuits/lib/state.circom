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

// StateSlot(DEPTH)
// The one leaf position a key may occupy in a state tree of depth DEPTH: the low DEPTH bits of
// Poseidon(key), little-endian (bits[i] = pathIndices[i] of the key's leaf). The decomposition is
// strict (Num2Bits_strict: the unique one below the field modulus), so a prover cannot pick another
// position for the same key. Two keys of one domain that fall on one position cannot both be held:
// src/state refuses the second when it is added. Same function as src/state (`stateSlotOf`).
template StateSlot(DEPTH) {
    assert(DEPTH > 0 && DEPTH <= 30);
    signal input key;
    signal output bits[DEPTH];

    component hash = Poseidon(1);
    hash.inputs[0] <== key;
    component decomposition = Num2Bits_strict();
    decomposition.in <== hash.out;
    for (var i = 0; i < DEPTH; i++) {
        bits[i] <== decomposition.out[i];
    }
}

// StateLeafUpdate(DEPTH, ALLOW_INSERT)
// One leaf of the state tree changes value: a binary Poseidon tree of depth DEPTH (node =
// Poseidon(left, right), as lib/merkle.circom's MerkleInclusionRoot; pathElements are the siblings
// bottom-up), empty leaf 0, a used leaf = Poseidon(key, value), at the position StateSlot(DEPTH)
// fixes for the key (the path bits are computed from the key here, never given).
//   enabled = 1, inserted = 0: Poseidon(key, valueBefore) at the key's position hashes to rootBefore,
//                and rootAfter is the root of the same tree with Poseidon(key, valueAfter) there
//                (same siblings);
//   enabled = 1, inserted = 1: the key's first write: its position is empty (leaf 0) under
//                rootBefore, valueBefore = 0, and rootAfter has Poseidon(key, valueAfter) there;
//                only when the template allows it (ALLOW_INSERT = 1), else inserted must be 0;
//   enabled = 0: rootAfter = rootBefore; key, values and path are not looked at.
// How: both roots are computed from the one path; enabled * (oldRoot - rootBefore) === 0 and
// rootAfter <== rootBefore + enabled * (newRoot - rootBefore). enabled and inserted are constrained
// to bits here. The caller range-checks the values (their meaning is its own) and chooses the key.
// Since a key has one position, no second (shadow) leaf of a key can ever be opened, and an empty
// position can be opened only as an insert the template allows.
template StateLeafUpdate(DEPTH, ALLOW_INSERT) {
    assert(DEPTH > 0);
    assert(ALLOW_INSERT == 0 || ALLOW_INSERT == 1);
    signal input rootBefore;
    signal input key;
    signal input valueBefore;
    signal input valueAfter;
    signal input pathElements[DEPTH];
    signal input enabled;
    signal input inserted;
    signal output rootAfter;

    enabled * (1 - enabled) === 0;
    inserted * (1 - inserted) === 0;
    if (ALLOW_INSERT == 0) {
        inserted === 0;
    }
    inserted * valueBefore === 0;

    component slot = StateSlot(DEPTH);
    slot.key <== key;

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
    before[0] <== (1 - inserted) * leafBefore.out;
    after[0] <== leafAfter.out;
    for (var i = 0; i < DEPTH; i++) {
        leftBefore[i] <== before[i] + slot.bits[i] * (pathElements[i] - before[i]);
        hashBefore[i] = Poseidon(2);
        hashBefore[i].inputs[0] <== leftBefore[i];
        hashBefore[i].inputs[1] <== pathElements[i] + before[i] - leftBefore[i];
        before[i + 1] <== hashBefore[i].out;

        leftAfter[i] <== after[i] + slot.bits[i] * (pathElements[i] - after[i]);
        hashAfter[i] = Poseidon(2);
        hashAfter[i].inputs[0] <== leftAfter[i];
        hashAfter[i].inputs[1] <== pathElements[i] + after[i] - leftAfter[i];
        after[i + 1] <== hashAfter[i].out;
    }

    enabled * (before[DEPTH] - rootBefore) === 0;
    rootAfter <== rootBefore + enabled * (after[DEPTH] - rootBefore);
}
