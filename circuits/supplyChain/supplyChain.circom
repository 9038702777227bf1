pragma circom 2.1.9;

include "../lib/saga.circom";
include "../lib/stateUpdates.circom";
include "./rules.circom";

// The supply chain (src/scenarios/supply-chain/): confirm order → production plan (ERP) → raw
// material purchase (ERP) → production (ERP) → quality inspection (the lab's database through the
// SQL gateway) → shipping (logistics), with its rules (./rules.circom) and its move of the state
// domain "supply/inventory" (one leaf per material: stock and scrap, two 64-bit fields).
//
//   SupplyChainSaga(TRACE_DEPTH, PROVIDER_DEPTH, STATE_DEPTH): COMMITTED or ROLLED_BACK runs, every
//   failed step and settlement (lib/saga.circom's Saga), up to 9 signed calls (shipping fails after
//   its effect: plan, purchase, produce, inspection, the shipment's status query, cancel the shipment,
//   scrap the lot, cancel the purchase, cancel the plan), attested by one receipt per system
//   (RECEIPTS = 1: logistics 2, erp 4, sql 5).
// Public signals: runClaim (the output: submitter + outcome * 2^160), workflowId, traceRoot,
// providerSetRoot, stateRootBefore, stateRootAfter.
//
// Steps (codes 1..6): confirm_order (local, no compensation: a rolled-back run's outcome voids it),
// plan (erp.plan 401, settled by erp.status 407, compensated by erp.cancelPlan 404), purchase
// (erp.purchase 402 / 407 / erp.cancelPurchase 405), produce (erp.produce 403 / 407 / erp.scrapLot
// 406), inspect (lab.inspection_result 501 of system sql 5, settled by sql.status 502, a read: no
// compensation), ship (logistics.ship 201 / logistics.status 203 / logistics.cancel 202).
//
// The state move, per material slot i of the plan (write i, key = the material's code, value =
// stock + scrap · 2^64, both 64-bit: StateWrites with 2 limbs), enabled when the material slot is
// used and the lot exists at the end (`produced`):
//   COMMITTED:                 stock after = stock before + purchased[i] − need[i] (so >= 0: the
//                              purchase covered what the stock lacked), scrap unchanged;
//   ROLLED_BACK, lot scrapped  (inspection or shipping failed, or production failed after its
//                              effect): the same stock move (purchases received stay in stock, the
//                              consumed materials left it) and scrap after = scrap before + need[i]
//                              (the ERP's signed write-off, checked by the rules);
//   ROLLED_BACK otherwise:     no write: stateRootAfter = stateRootBefore (the purchase, if any, was
//                              cancelled and returned in full, checked by the rules).
// A material seen for the first time is inserted (ALLOW_INSERT = 1).
template SupplyChainSaga(TRACE_DEPTH, PROVIDER_DEPTH, STATE_DEPTH) {
    var SLOTS = 1 << TRACE_DEPTH;
    var RECEIPT_SYSTEMS = 3;
    signal input workflowId;
    signal input outcome;
    signal input traceRoot;
    signal input providerSetRoot;
    signal input submitter;
    signal output runClaim;
    signal input runNonce;
    signal input stateRootBefore;
    signal input stateRootAfter;
    signal input failedStep;
    signal input settlement;
    signal input request[SLOTS][4];
    signal input response[SLOTS][4];
    signal input salt[SLOTS];
    signal input providerKey[RECEIPT_SYSTEMS][2];
    signal input signatureR8[RECEIPT_SYSTEMS][2];
    signal input signatureS[RECEIPT_SYSTEMS];
    signal input providerPathElements[RECEIPT_SYSTEMS][PROVIDER_DEPTH];
    signal input providerPathIndices[RECEIPT_SYSTEMS][PROVIDER_DEPTH];
    signal input stateWriteEnabled[3];
    signal input stateWriteKey[3];
    signal input stateWriteValueBefore[3];
    signal input stateWriteValueAfter[3];
    signal input stateWriteInserted[3];
    signal input stateWritePathElements[3][STATE_DEPTH];

    component saga = Saga(TRACE_DEPTH, PROVIDER_DEPTH, 6, 9, (1 << 7) - 1, 1,
        [1, 2, 3, 4, 5, 6], [0, 401, 402, 403, 501, 201], [0, 4, 4, 4, 5, 2],
        [0, 407, 407, 407, 502, 203], [0, 1, 1, 1, 0, 1], [0, 404, 405, 406, 0, 202],
        [0, 4, 4, 4, 0, 2]);
    saga.workflowId <== workflowId;
    saga.outcome <== outcome;
    saga.traceRoot <== traceRoot;
    saga.providerSetRoot <== providerSetRoot;
    saga.submitter <== submitter;
    saga.workflowTag <== supplyChainWorkflowTag();
    saga.runNonce <== runNonce;
    saga.failedStep <== failedStep;
    saga.settlement <== settlement;
    saga.request <== request;
    saga.response <== response;
    saga.salt <== salt;
    saga.providerKey <== providerKey;
    saga.signatureR8 <== signatureR8;
    saga.signatureS <== signatureS;
    saga.providerPathElements <== providerPathElements;
    saga.providerPathIndices <== providerPathIndices;

    component rules = SupplyChainRules();
    rules.failedStep <== failedStep;
    rules.settlement <== settlement;
    for (var i = 0; i < 12; i++) {
        rules.request[i] <== request[i];
        rules.response[i] <== response[i];
    }

    component writes = StateWrites(STATE_DEPTH, 3, 1, 2);
    writes.rootBefore <== stateRootBefore;
    writes.enabled <== stateWriteEnabled;
    writes.key <== stateWriteKey;
    writes.valueBefore <== stateWriteValueBefore;
    writes.valueAfter <== stateWriteValueAfter;
    writes.inserted <== stateWriteInserted;
    writes.pathElements <== stateWritePathElements;
    signal enabled[3];
    signal scrapAdded[3];
    for (var i = 0; i < 3; i++) {
        enabled[i] <== rules.produced * rules.used[i];
        stateWriteEnabled[i] === enabled[i];
        enabled[i] * (stateWriteKey[i] - rules.material[i]) === 0;
        scrapAdded[i] <== rules.scrapped * rules.need[i];
        // stock (limb 0) and scrap (limb 1)
        enabled[i] * (writes.limbsAfter[i][0] - writes.limbsBefore[i][0] - rules.purchased[i] + rules.need[i]) === 0;
        enabled[i] * (writes.limbsAfter[i][1] - writes.limbsBefore[i][1] - scrapAdded[i]) === 0;
    }
    writes.rootAfter === stateRootAfter;
    runClaim <== saga.runClaim;
}

// encodeString("wesflow/supply-chain"): circuits.json's "workflowTag".
function supplyChainWorkflowTag() {
    return 0x776573666c6f772f737570706c792d636861696e;
}
