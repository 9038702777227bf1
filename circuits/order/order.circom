pragma circom 2.1.9;

include "../lib/saga.circom";

// The e-commerce order template: create order (1) → reserve inventory (2) → payment (3, calls
// payment.charge) → logistics (4, logistics.ship) → invoice (5, invoice.issue) → accounting (6).
// Compensations: cancel order (local), release inventory (local), payment.refund, logistics.cancel,
// invoice.void; accounting, the last step, has none. Codes: the system modules, src/systems/<name>/.
//
// Two instances of the same statement (lib/saga.circom):
//   OrderWorkflow(TRACE_DEPTH, PROVIDER_DEPTH) proves COMMITTED runs only (3 attested calls);
//   OrderSaga(TRACE_DEPTH, PROVIDER_DEPTH) proves COMMITTED or ROLLED_BACK runs (up to 6 calls: the
//   three forward calls and the three compensating calls, when accounting fails).
// Public signals: runClaim (the output: submitter + outcome * 2^160), workflowId, traceRoot,
// providerSetRoot. The run's id is bound
// to its submitter and to the order (workflowId = Poseidon(submitter, orderWorkflowTag(), runNonce),
// runNonce private): the tag is the same for every order template, so a run's signatures fit the
// order's templates only, never a user-defined workflow's.

// The order's workflow tag: encodeString("wesflow/order") (src/crypto/field.ts), the "workflowTag"
// of the order's instances in circuits.json. Tests prove with the TypeScript value, so the two agree.
function orderWorkflowTag() {
    return 0x776573666c6f772f6f72646572;
}

template OrderWorkflow(TRACE_DEPTH, PROVIDER_DEPTH) {
    signal input workflowId;
    signal input outcome;
    signal input traceRoot;
    signal input providerSetRoot;
    signal input submitter;
    signal output runClaim;
    signal input runNonce;
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

    component saga = SagaWorkflow(TRACE_DEPTH, PROVIDER_DEPTH, 6, 3, 0,
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
    runClaim <== saga.runClaim;
}

template OrderSaga(TRACE_DEPTH, PROVIDER_DEPTH) {
    signal input workflowId;
    signal input outcome;
    signal input traceRoot;
    signal input providerSetRoot;
    signal input submitter;
    signal output runClaim;
    signal input runNonce;
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

    component saga = SagaWorkflow(TRACE_DEPTH, PROVIDER_DEPTH, 6, 6, 1,
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
    runClaim <== saga.runClaim;
}
