pragma circom 2.1.9;

include "circomlib/circuits/comparators.circom";
include "circomlib/circuits/bitify.circom";

// encodeString("lab.inspection_result"): request field 0 of the SQL gateway's query (src/systems/sql).
function inspectionQueryName() {
    return 0x6c61622e696e7370656374696f6e5f726573756c74;
}

// Limbs64(LIMBS): `in` packs LIMBS unsigned 64-bit values, limb 0 lowest (the ERP's "3 slots"
// fields, src/systems/erp/packing.ts): in = Σ limb[i] · 2^(64·i). Num2Bits(64·LIMBS) makes the
// decomposition unique (64·LIMBS <= 192 < 254) and every limb 64-bit.
template Limbs64(LIMBS) {
    signal input in;
    signal output limb[LIMBS];
    component bits = Num2Bits(64 * LIMBS);
    bits.in <== in;
    for (var i = 0; i < LIMBS; i++) {
        var value = 0;
        for (var b = 0; b < 64; b++) value += bits.out[64 * i + b] * (1 << b);
        limb[i] <== value;
    }
}

// The position of step j's compensation record in the layout (k, m) of the supply chain's saga
// (lib/saga.circom's order: F0..F(k-1), Fk, Qk when m > 0, then the compensations of steps
// (m == 2 ? k : k - 1) down to 0 that have one). HAS_COMP = [0, 1, 1, 1, 0, 1].
function supplyCompSlot(k, m, j) {
    var HAS_COMP[6] = [0, 1, 1, 1, 0, 1];
    var pos = k + 1;
    if (m > 0) pos++;
    var first = k - 1;
    if (m == 2) first = k;
    for (var q = first; q > j; q--) {
        if (HAS_COMP[q] == 1) pos++;
    }
    return pos;
}

// Whether step j's compensation runs in layout (k, m): j has one and j <= (m == 2 ? k : k - 1).
function supplyCompRuns(k, m, j) {
    var HAS_COMP[6] = [0, 1, 1, 1, 0, 1];
    var first = k - 1;
    if (m == 2) first = k;
    var runs = 0;
    if (k < 6 && HAS_COMP[j] == 1 && j <= first) runs = 1;
    return runs;
}

// SupplyChainRules()
// The business rules of the supply chain (src/scenarios/supply-chain/) over its trace, for the
// layout (failedStep k, settlement m) lib/saga.circom proves the records follow. Forward step j's
// record is in slot j. Record fields (src/scenarios/supply-chain/README.md):
//   0 confirm_order   request  [orderId, product, quantity, destination]          (local)
//   1 erp.plan        request  [product, quantity, 0, 0]
//                     response [status, planId | specMin·2^64 | specMax·2^128, materials (3 slots), perUnit (3 slots)]
//   2 erp.purchase    request  [planId, materials (3 slots), quantities (3 slots), 0]
//                     response [status, purchase orders (3 slots), 0, 0]
//   3 erp.produce     request  [planId, quantity, 0, 0]
//                     response [status, lotId, quantity, consumed (3 slots)]
//   4 lab.inspection_result (SQL) request [query name, lot, 0, 0]; response [verdict, lot, measured, testId]
//   5 logistics.ship  request  [orderId, sku (the lot), quantity, destination]; response [status, tracking, …]
//   compensations: erp.cancelPlan [planId, 0, 0, 0]; erp.cancelPurchase [planId, purchase orders, 0, 0]
//     → [status, purchase orders, returned (3 slots), 0]; erp.scrapLot [lotId, 0, 0, 0] → [status,
//     quantity, written off (3 slots), 0]; logistics.cancel [orderId, tracking, 0, 0].
// "Step j took effect" (eff[j]): it completed (j < k), or it is the failed step whose call the status
// query settled as TOOK_EFFECT (j = k, m = 2; its record holds the response the query bound).
// Rules, each gated by the records it reads being there:
//   plan (eff[1]): the plan is for the confirmed product and quantity;
//   need[i] = quantity × perUnit[i], 64-bit, per material slot i of the plan;
//   purchase (eff[2]): for the plan; every line's material is one of the plan's (unused lines 0),
//     purchased[i] = the quantity of the line whose material is material i (0 if none);
//   produce (eff[3]): for the plan and its quantity; the lot has exactly that quantity and consumed
//     exactly need (all three slots);
//   inspection: its query is lab.inspection_result of the produced lot (k >= 4 or committed: the
//     record read, passed or failed); passed (committed, k = 5): the row is that lot's and
//     specMin <= measured <= specMax (the plan's spec); verdict PASSED = 1 is the saga's OK status;
//   ship (eff[5]): the confirmed order, the lot, the planned quantity, the confirmed destination;
//   compensations, per layout: cancelPlan names the plan; cancelPurchase names the plan and its
//     purchase orders and returned = the purchased quantities (per order) when no lot was produced,
//     0 once one was (the goods were consumed: they stay booked in stock); scrapLot names the lot and
//     wrote off its quantity and exactly what it consumed; logistics.cancel names the order and the
//     shipment's tracking number.
// Outputs for the state move (SupplyChainSaga): produced = 1 when the lot exists at the end of the
// rules' view (committed, or rolled back with the lot scrapped: k >= 4, or k = 3 and m = 2), scrapped
// = 1 for the latter; material[i], used[i], need[i], purchased[i] per BOM slot.
// Every compared value is 64-bit or a packing of 64-bit limbs; q × perUnit < 2^128 never wraps.
template SupplyChainRules() {
    var N = 6;
    var FIELDS = 4;
    var SLOTS_READ = 12;
    signal input failedStep;
    signal input settlement;
    signal input request[SLOTS_READ][FIELDS];
    signal input response[SLOTS_READ][FIELDS];
    signal output produced;
    signal output scrapped;
    signal output material[3];
    signal output used[3];
    signal output need[3];
    signal output purchased[3];

    // ---- the layout's selectors
    component isK[N + 1];
    signal kSel[N + 1];
    for (var k = 0; k <= N; k++) {
        isK[k] = IsEqual();
        isK[k].in[0] <== failedStep;
        isK[k].in[1] <== k;
        kSel[k] <== isK[k].out;
    }
    component isM[3];
    signal mSel[3];
    for (var m = 0; m < 3; m++) {
        isM[m] = IsEqual();
        isM[m].in[0] <== settlement;
        isM[m].in[1] <== m;
        mSel[m] <== isM[m].out;
    }
    signal layout[N][3];
    for (var k = 0; k < N; k++) {
        for (var m = 0; m < 3; m++) layout[k][m] <== kSel[k] * mSel[m];
    }
    // done[j]: step j completed OK; eff[j]: its effect exists (completed, or settled TOOK_EFFECT)
    signal done[N];
    signal eff[N];
    for (var j = 0; j < N; j++) {
        var after = 0;
        for (var k = j + 1; k <= N; k++) after += kSel[k];
        done[j] <== after;
        eff[j] <== done[j] + layout[j][2];
    }
    scrapped <== kSel[4] + kSel[5] + layout[3][2];
    produced <== kSel[N] + scrapped;

    // ---- the confirmed order (slot 0)
    signal orderId <== done[0] * request[0][0];
    signal product <== done[0] * request[0][1];
    signal quantity <== done[0] * request[0][2];
    signal destination <== done[0] * request[0][3];
    component quantityBits = Num2Bits(64);
    quantityBits.in <== quantity;

    // ---- the plan (slot 1)
    eff[1] * (request[1][0] - product) === 0;
    eff[1] * (request[1][1] - quantity) === 0;
    signal planField <== eff[1] * response[1][1];
    signal materialsField <== eff[1] * response[1][2];
    signal perUnitField <== eff[1] * response[1][3];
    component plan = Limbs64(3);
    plan.in <== planField;
    signal planId <== plan.limb[0];
    signal specMin <== plan.limb[1];
    signal specMax <== plan.limb[2];
    component materials = Limbs64(3);
    materials.in <== materialsField;
    component perUnit = Limbs64(3);
    perUnit.in <== perUnitField;
    component materialZero[3];
    component needBits[3];
    var packedNeed = 0;
    for (var i = 0; i < 3; i++) {
        material[i] <== materials.limb[i];
        materialZero[i] = IsZero();
        materialZero[i].in <== material[i];
        used[i] <== 1 - materialZero[i].out;
        need[i] <== quantity * perUnit.limb[i];
        needBits[i] = Num2Bits(64);
        needBits[i].in <== need[i];
        packedNeed += need[i] * (1 << (64 * i));
    }

    // ---- the purchase (slot 2): lines are plan materials; purchased per plan material
    eff[2] * (request[2][0] - planId) === 0;
    signal lineMaterialsField <== eff[2] * request[2][1];
    signal lineQuantitiesField <== eff[2] * request[2][2];
    component lineMaterials = Limbs64(3);
    lineMaterials.in <== lineMaterialsField;
    component lineQuantities = Limbs64(3);
    lineQuantities.in <== lineQuantitiesField;
    component lineZero[3];
    signal lineUsed[3];
    component same[3][3];
    signal covers[3][3];
    signal bought[3][3];
    for (var j = 0; j < 3; j++) {
        lineZero[j] = IsZero();
        lineZero[j].in <== lineMaterials.limb[j];
        lineUsed[j] <== 1 - lineZero[j].out;
        // an unused line buys nothing
        lineZero[j].out * lineQuantities.limb[j] === 0;
    }
    for (var i = 0; i < 3; i++) {
        for (var j = 0; j < 3; j++) {
            same[i][j] = IsEqual();
            same[i][j].in[0] <== material[i];
            same[i][j].in[1] <== lineMaterials.limb[j];
            covers[i][j] <== same[i][j].out * used[i];
            bought[i][j] <== covers[i][j] * lineQuantities.limb[j];
        }
        purchased[i] <== bought[i][0] + bought[i][1] + bought[i][2];
    }
    for (var j = 0; j < 3; j++) {
        // each used line is exactly one plan material's (plan materials are distinct: the ERP's)
        covers[0][j] + covers[1][j] + covers[2][j] === lineUsed[j];
    }

    // ---- production (slot 3)
    signal lotId <== eff[3] * response[3][1];
    eff[3] * (request[3][0] - planId) === 0;
    eff[3] * (request[3][1] - quantity) === 0;
    eff[3] * (response[3][2] - quantity) === 0;
    eff[3] * (response[3][3] - packedNeed) === 0;

    // ---- inspection (slot 4): of the lot; passed within the plan's spec
    signal inspected <== done[4] + kSel[4];
    inspected * (request[4][0] - inspectionQueryName()) === 0;
    inspected * (request[4][1] - lotId) === 0;
    done[4] * (response[4][1] - lotId) === 0;
    signal measured <== done[4] * response[4][2];
    component measuredBits = Num2Bits(64);
    measuredBits.in <== measured;
    component aboveMin = LessEqThan(64);
    aboveMin.in[0] <== specMin;
    aboveMin.in[1] <== measured;
    component belowMax = LessEqThan(64);
    belowMax.in[0] <== measured;
    belowMax.in[1] <== specMax;
    done[4] * (1 - aboveMin.out) === 0;
    done[4] * (1 - belowMax.out) === 0;

    // ---- shipping (slot 5)
    eff[5] * (request[5][0] - orderId) === 0;
    eff[5] * (request[5][1] - lotId) === 0;
    eff[5] * (request[5][2] - quantity) === 0;
    eff[5] * (request[5][3] - destination) === 0;

    // ---- the compensations, where the layout puts them
    signal purchaseOrders <== eff[2] * response[2][1];
    signal packedQuantities <== lineQuantitiesField;
    signal tracking <== eff[5] * response[5][1];
    for (var k = 0; k < N; k++) {
        for (var m = 0; m < 3; m++) {
            // the layouts lib/saga.circom allows: m = 0, or a step with a call (k >= 1)
            if (m == 0 || k >= 1) {
                if (supplyCompRuns(k, m, 1) == 1) {
                    var p = supplyCompSlot(k, m, 1);
                    layout[k][m] * (request[p][0] - planId) === 0; // cancelPlan: the plan
                }
                if (supplyCompRuns(k, m, 2) == 1) {
                    var p = supplyCompSlot(k, m, 2);
                    var lot = 0;
                    if (k >= 4 || (k == 3 && m == 2)) lot = 1;
                    layout[k][m] * (request[p][0] - planId) === 0; // cancelPurchase: the plan
                    layout[k][m] * (request[p][1] - purchaseOrders) === 0;
                    if (lot == 1) {
                        layout[k][m] * response[p][2] === 0;
                    } else {
                        layout[k][m] * (response[p][2] - packedQuantities) === 0;
                    }
                }
                if (supplyCompRuns(k, m, 3) == 1) {
                    var p = supplyCompSlot(k, m, 3);
                    layout[k][m] * (request[p][0] - lotId) === 0;
                    layout[k][m] * (response[p][1] - quantity) === 0;
                    layout[k][m] * (response[p][2] - packedNeed) === 0;
                }
                if (supplyCompRuns(k, m, 5) == 1) {
                    var p = supplyCompSlot(k, m, 5);
                    layout[k][m] * (request[p][0] - orderId) === 0;
                    layout[k][m] * (request[p][1] - tracking) === 0;
                }
            }
        }
    }
}
