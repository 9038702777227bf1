pragma circom 2.1.9;

include "../lib/saga.circom";
include "./order.circom";
include "./rules.circom";
include "../lib/state.circom";

// The e-commerce order (circuits/order/order.circom's template: the same steps, operations, systems and
// compensations) with its business rules and the state transition it makes: reserving stock.
//
//   OrderStateWorkflow(TRACE_DEPTH, PROVIDER_DEPTH, STATE_DEPTH): COMMITTED runs only (3 attested calls);
//   OrderStateSaga(TRACE_DEPTH, PROVIDER_DEPTH, STATE_DEPTH): COMMITTED or ROLLED_BACK runs (up to 6
//   calls: the three forward calls and the three compensating calls, when accounting fails).
// Public signals: runClaim (the output: submitter + outcome * 2^160), workflowId, traceRoot,
// providerSetRoot, stateRootBefore, stateRootAfter.
//
// Statement: SagaWorkflow's (lib/saga.circom) for the order template, OrderRules (./rules.circom)
// over the forward records in slots 0..5, and the state tree (STATE_DEPTH, lib/state.circom: leaf =
// Poseidon(key, value), key = the SKU as create_order's request[2] carries it, value = the stock):
//   COMMITTED:   the leaf of key = sku holds stateValueBefore under stateRootBefore, and
//                stateRootAfter is the same tree with stateValueAfter = stateValueBefore - quantity
//                there, both values 64-bit (the stock never goes negative); quantity = create_order's
//                (= the reserve record's, by OrderRules);
//   ROLLED_BACK: stateRootAfter = stateRootBefore (the reservation was released by the compensation).
// The leaf's values are the recorded state's at proof time ("rebase"): they need not equal the
// reserve record's stockBefore/stockAfter (the executor's view, checked by OrderRules to differ by
// the quantity). The move is the same: the record's quantity, taken from that SKU's stock.

template OrderState(TRACE_DEPTH, PROVIDER_DEPTH, STATE_DEPTH, CALLS, ROLLBACK) {
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
    signal input request[1 << TRACE_DEPTH][4];
    signal input response[1 << TRACE_DEPTH][4];
    signal input salt[1 << TRACE_DEPTH];
    signal input providerKey[CALLS][2];
    signal input signatureR8[CALLS][2];
    signal input signatureS[CALLS];
    signal input providerPathElements[CALLS][PROVIDER_DEPTH];
    signal input providerPathIndices[CALLS][PROVIDER_DEPTH];
    signal input stateValueBefore;
    signal input stateValueAfter;
    signal input statePathElements[STATE_DEPTH];

    component saga = SagaWorkflow(TRACE_DEPTH, PROVIDER_DEPTH, 6, CALLS, ROLLBACK,
        [1, 2, 3, 4, 5, 6], [0, 0, 101, 201, 301, 0], [0, 0, 1, 2, 3, 0], [0, 0, 103, 203, 303, 0],
        [1, 1, 1, 1, 1, 0], [0, 0, 102, 202, 302, 0], [0, 0, 1, 2, 3, 0]);
    saga.workflowId <== workflowId;
    saga.outcome <== outcome;
    saga.traceRoot <== traceRoot;
    saga.providerSetRoot <== providerSetRoot;
    saga.submitter <== submitter;
    saga.workflowTag <== orderWorkflowTag();
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

    component rules = OrderRules();
    rules.failedStep <== failedStep;
    for (var j = 0; j < 6; j++) {
        rules.request[j] <== request[j];
        rules.response[j] <== response[j];
    }

    // SagaWorkflow constrains outcome to 2 - (failedStep == 6): committed is a bit.
    signal committed <== 2 - outcome;
    component valueBefore64 = Uint64();
    valueBefore64.in <== stateValueBefore;
    component valueAfter64 = Uint64();
    valueAfter64.in <== stateValueAfter;
    committed * (stateValueBefore - stateValueAfter - request[0][3]) === 0;

    // the SKU's leaf, at the one position its key fixes; an order never adds a SKU
    component stock = StateLeafUpdate(STATE_DEPTH, 0);
    stock.rootBefore <== stateRootBefore;
    stock.key <== request[0][2];
    stock.valueBefore <== stateValueBefore;
    stock.valueAfter <== stateValueAfter;
    stock.pathElements <== statePathElements;
    stock.enabled <== committed;
    stock.inserted <== 0;
    stock.rootAfter === stateRootAfter;
    runClaim <== saga.runClaim;
}

template OrderStateWorkflow(TRACE_DEPTH, PROVIDER_DEPTH, STATE_DEPTH) {
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
    signal input request[1 << TRACE_DEPTH][4];
    signal input response[1 << TRACE_DEPTH][4];
    signal input salt[1 << TRACE_DEPTH];
    signal input providerKey[3][2];
    signal input signatureR8[3][2];
    signal input signatureS[3];
    signal input providerPathElements[3][PROVIDER_DEPTH];
    signal input providerPathIndices[3][PROVIDER_DEPTH];
    signal input stateValueBefore;
    signal input stateValueAfter;
    signal input statePathElements[STATE_DEPTH];

    component order = OrderState(TRACE_DEPTH, PROVIDER_DEPTH, STATE_DEPTH, 3, 0);
    order.workflowId <== workflowId;
    order.outcome <== outcome;
    order.traceRoot <== traceRoot;
    order.providerSetRoot <== providerSetRoot;
    order.submitter <== submitter;
    order.runNonce <== runNonce;
    order.stateRootBefore <== stateRootBefore;
    order.stateRootAfter <== stateRootAfter;
    order.failedStep <== failedStep;
    order.settlement <== settlement;
    order.request <== request;
    order.response <== response;
    order.salt <== salt;
    order.providerKey <== providerKey;
    order.signatureR8 <== signatureR8;
    order.signatureS <== signatureS;
    order.providerPathElements <== providerPathElements;
    order.providerPathIndices <== providerPathIndices;
    order.stateValueBefore <== stateValueBefore;
    order.stateValueAfter <== stateValueAfter;
    order.statePathElements <== statePathElements;
    runClaim <== order.runClaim;
}

template OrderStateSaga(TRACE_DEPTH, PROVIDER_DEPTH, STATE_DEPTH) {
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
    signal input request[1 << TRACE_DEPTH][4];
    signal input response[1 << TRACE_DEPTH][4];
    signal input salt[1 << TRACE_DEPTH];
    signal input providerKey[6][2];
    signal input signatureR8[6][2];
    signal input signatureS[6];
    signal input providerPathElements[6][PROVIDER_DEPTH];
    signal input providerPathIndices[6][PROVIDER_DEPTH];
    signal input stateValueBefore;
    signal input stateValueAfter;
    signal input statePathElements[STATE_DEPTH];

    component order = OrderState(TRACE_DEPTH, PROVIDER_DEPTH, STATE_DEPTH, 6, 1);
    order.workflowId <== workflowId;
    order.outcome <== outcome;
    order.traceRoot <== traceRoot;
    order.providerSetRoot <== providerSetRoot;
    order.submitter <== submitter;
    order.runNonce <== runNonce;
    order.stateRootBefore <== stateRootBefore;
    order.stateRootAfter <== stateRootAfter;
    order.failedStep <== failedStep;
    order.settlement <== settlement;
    order.request <== request;
    order.response <== response;
    order.salt <== salt;
    order.providerKey <== providerKey;
    order.signatureR8 <== signatureR8;
    order.signatureS <== signatureS;
    order.providerPathElements <== providerPathElements;
    order.providerPathIndices <== providerPathIndices;
    order.stateValueBefore <== stateValueBefore;
    order.stateValueAfter <== stateValueAfter;
    order.statePathElements <== statePathElements;
    runClaim <== order.runClaim;
}
