pragma circom 2.1.9;

include "./state.circom";

// StateUpdates(DEPTH, MAX_WRITES, ALLOW_INSERT)
// A run writes up to MAX_WRITES keys of one state tree (lib/state.circom's tree: binary Poseidon of
// depth DEPTH, empty leaf 0, a used leaf Poseidon(key, value) at the key's StateSlot) in one proof:
// rootAfter is rootBefore with the enabled writes applied one after the other, in order.
// Inputs: rootBefore; per write w: enabled[w] (a bit), key[w], valueBefore[w], valueAfter[w],
// inserted[w] (a bit), pathElements[w][DEPTH] (the siblings of the key's position, bottom-up, in the
// tree as writes 0..w-1 left it). Output: rootAfter.
//   - Sequential application: root[0] = rootBefore, root[w+1] = StateLeafUpdate(DEPTH,
//     ALLOW_INSERT) of write w on root[w], rootAfter = root[MAX_WRITES]. So write w opens its key's
//     leaf (Poseidon(key, valueBefore), or the empty leaf when inserted) under root[w], at the
//     position the key fixes (the path bits are computed from the key, never given), and replaces it
//     by Poseidon(key, valueAfter). This is src/state's StateStore.prepareTransition, whose write w
//     has rootBefore = write w-1's rootAfter and the path taken in the tree as the previous writes
//     left it: a prepared transition's writes are this template's inputs as they are.
//   - The same key may be written several times in one proof ("several changes of one key are
//     several writes", as prepareTransition makes them): the second write opens the leaf the first
//     one left, so its valueBefore must be the first one's valueAfter. Sound because every write is
//     opened under the root the previous ones produced; nothing is applied to a stale root. A key
//     inserted by write w is an existing key for the writes after it (a second insert of it fails:
//     its position is no longer empty).
//   - Enabled writes are a prefix: enabled[w + 1] <= enabled[w]. A disabled write changes nothing:
//     root[w+1] = root[w] (StateLeafUpdate), its valueAfter equals its valueBefore and it inserts
//     nothing (inserted = 0), so a caller may sum deltas (valueAfter - valueBefore) or count
//     inserts over all MAX_WRITES writes without gating them; its key and path are not looked at.
//   - Every value (valueBefore and valueAfter of every write, enabled or not) is range-checked to
//     64 bits (Uint64), always rather than gated by enabled: a gate costs one more multiplication
//     per value, while checking always costs nothing extra and keeps the values of the disabled
//     writes in 64 bits too, so a caller's arithmetic over all writes never wraps around the field.
//     A builder pads the disabled writes with 0 (a rolled-back run's unchanged values also pass).
// Assumptions: the caller chooses the keys and what the values mean (balances, stock), and binds
// rootBefore/rootAfter (public signals, the registry's current root). Two keys of one tree whose
// positions collide cannot both be held (src/state refuses the second when it is added); the
// circuit can only open the leaf that is at the key's position, so such a key cannot be written.
// Cost (circom2 --O2): per write StateLeafUpdate(DEPTH, ALLOW_INSERT), two Uint64 (130) and the
// disabled-write pins, 6,160 at depth 10 (6,164 with inserts; --O2 merges a few), plus one per
// write after the first for the prefix: StateUpdates(10, 4, 0) 24,643 (<= 2^15), (10, 8, 1)
// 49,319 (<= 2^16).
template StateUpdates(DEPTH, MAX_WRITES, ALLOW_INSERT) {
    signal input rootBefore;
    signal input enabled[MAX_WRITES];
    signal input key[MAX_WRITES];
    signal input valueBefore[MAX_WRITES];
    signal input valueAfter[MAX_WRITES];
    signal input inserted[MAX_WRITES];
    signal input pathElements[MAX_WRITES][DEPTH];
    signal output rootAfter;

    component writes = StateWrites(DEPTH, MAX_WRITES, ALLOW_INSERT, 1);
    writes.rootBefore <== rootBefore;
    writes.enabled <== enabled;
    writes.key <== key;
    writes.valueBefore <== valueBefore;
    writes.valueAfter <== valueAfter;
    writes.inserted <== inserted;
    writes.pathElements <== pathElements;
    rootAfter <== writes.rootAfter;
}

// StateWrites(DEPTH, MAX_WRITES, ALLOW_INSERT, LIMBS)
// StateUpdates for a domain whose values pack LIMBS unsigned 64-bit fields (src/state's
// packStateValue: value = Σ limb[i] · 2^(64·i), field 0 lowest; a supply chain keeps a material's
// stock and scrap in one leaf): every value is range-checked to 64·LIMBS bits (Num2Bits, so the
// decomposition is unique: 64·LIMBS <= 192 < 254) and its limbs are outputs, each one a 64-bit value
// the caller's rules may use as they are. StateUpdates is StateWrites with LIMBS = 1 (Uint64's
// Num2Bits(64): the same constraints).
template StateWrites(DEPTH, MAX_WRITES, ALLOW_INSERT, LIMBS) {
    assert(DEPTH > 0);
    assert(MAX_WRITES > 0);
    assert(ALLOW_INSERT == 0 || ALLOW_INSERT == 1);
    assert(LIMBS >= 1 && LIMBS <= 3);
    signal input rootBefore;
    signal input enabled[MAX_WRITES];
    signal input key[MAX_WRITES];
    signal input valueBefore[MAX_WRITES];
    signal input valueAfter[MAX_WRITES];
    signal input inserted[MAX_WRITES];
    signal input pathElements[MAX_WRITES][DEPTH];
    signal output rootAfter;
    signal output limbsBefore[MAX_WRITES][LIMBS];
    signal output limbsAfter[MAX_WRITES][LIMBS];

    component update[MAX_WRITES];
    component rangeBefore[MAX_WRITES];
    component rangeAfter[MAX_WRITES];
    signal root[MAX_WRITES + 1];
    root[0] <== rootBefore;
    for (var w = 0; w < MAX_WRITES; w++) {
        if (w > 0) {
            enabled[w] * (1 - enabled[w - 1]) === 0;
        }
        (1 - enabled[w]) * (valueAfter[w] - valueBefore[w]) === 0;
        (1 - enabled[w]) * inserted[w] === 0;

        rangeBefore[w] = Num2Bits(64 * LIMBS);
        rangeBefore[w].in <== valueBefore[w];
        rangeAfter[w] = Num2Bits(64 * LIMBS);
        rangeAfter[w].in <== valueAfter[w];
        for (var i = 0; i < LIMBS; i++) {
            var before = 0;
            var after = 0;
            for (var b = 0; b < 64; b++) {
                before += rangeBefore[w].out[64 * i + b] * (1 << b);
                after += rangeAfter[w].out[64 * i + b] * (1 << b);
            }
            limbsBefore[w][i] <== before;
            limbsAfter[w][i] <== after;
        }

        update[w] = StateLeafUpdate(DEPTH, ALLOW_INSERT);
        update[w].rootBefore <== root[w];
        update[w].key <== key[w];
        update[w].valueBefore <== valueBefore[w];
        update[w].valueAfter <== valueAfter[w];
        update[w].pathElements <== pathElements[w];
        update[w].enabled <== enabled[w];
        update[w].inserted <== inserted[w];
        root[w + 1] <== update[w].rootAfter;
    }
    rootAfter <== root[MAX_WRITES];
}
