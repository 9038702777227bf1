pragma circom 2.1.9;

include "../lib/saga.circom";
include "../lib/stateUpdates.circom";
include "./rules.circom";

// Cross-institution clearing (src/scenarios/clearing/): confirm trades (1, the trade venue's
// venue.confirmBatch 701, system 7) → compute clearing (2, local: the netting) → transfer funds (3,
// the settlement bank's bank.transferBatch 601, system 6, compensated by bank.reverseBatch 602) →
// reconcile (4, bank.statement 603) → settle_1..settle_4 (5..8, local: one record per institution
// slot). Status queries venue.status 702 and bank.status 604; compute clearing's compensation is
// local (the netting is void); a confirmation, a statement and a settle record have none.
//
//   ClearingWorkflow(TRACE_DEPTH, PROVIDER_DEPTH, STATE_DEPTH): COMMITTED runs (3 attested calls),
//     SagaWorkflow's statement, ClearingRules (./rules.circom) over slots 0..7, and the balances'
//     move: StateUpdates(STATE_DEPTH, 4, 0), one write per institution of the batch (no insert: an
//     institution is registered exactly when the domain holds its balance).
//   ClearingSaga(TRACE_DEPTH, PROVIDER_DEPTH, STATE_DEPTH): ROLLED_BACK runs only (up to 4 attested
//     calls: the confirmation, the transfer, the statement or its status query, the reversal):
//     stateRootAfter = stateRootBefore (the balances as they were), and the transfer, when it took
//     effect, reversed: ClearingReversal.
// Public signals: runClaim (the output: submitter + outcome * 2^160), workflowId, traceRoot,
// providerSetRoot, stateRootBefore, stateRootAfter. The run's id is bound to its submitter and to the clearing (clearingWorkflowTag()).

// encodeString("wesflow/clearing"): circuits.json's "workflowTag" of both instances.
function clearingWorkflowTag() {
    return 0x776573666c6f772f636c656172696e67;
}

template ClearingSteps(TRACE_DEPTH, PROVIDER_DEPTH, CALLS, ROLLBACK) {
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
    signal input providerKey[CALLS][2];
    signal input signatureR8[CALLS][2];
    signal input signatureS[CALLS];
    signal input providerPathElements[CALLS][PROVIDER_DEPTH];
    signal input providerPathIndices[CALLS][PROVIDER_DEPTH];

    component saga = SagaWorkflow(TRACE_DEPTH, PROVIDER_DEPTH, 8, CALLS, ROLLBACK,
        [1, 2, 3, 4, 5, 6, 7, 8],
        [701, 0, 601, 603, 0, 0, 0, 0],
        [7, 0, 6, 6, 0, 0, 0, 0],
        [702, 0, 604, 604, 0, 0, 0, 0],
        [0, 1, 1, 0, 0, 0, 0, 0],
        [0, 0, 602, 0, 0, 0, 0, 0],
        [0, 0, 6, 0, 0, 0, 0, 0]);
    saga.workflowId <== workflowId;
    saga.outcome <== outcome;
    saga.traceRoot <== traceRoot;
    saga.providerSetRoot <== providerSetRoot;
    saga.submitter <== submitter;
    saga.workflowTag <== clearingWorkflowTag();
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

template ClearingWorkflow(TRACE_DEPTH, PROVIDER_DEPTH, STATE_DEPTH) {
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
    signal input stateWriteEnabled[4];
    signal input stateWriteKey[4];
    signal input stateWriteValueBefore[4];
    signal input stateWriteValueAfter[4];
    signal input stateWriteInserted[4];
    signal input stateWritePathElements[4][STATE_DEPTH];

    component steps = ClearingSteps(TRACE_DEPTH, PROVIDER_DEPTH, 3, 0);
    steps.workflowId <== workflowId;
    steps.outcome <== outcome;
    steps.traceRoot <== traceRoot;
    steps.providerSetRoot <== providerSetRoot;
    steps.submitter <== submitter;
    steps.runNonce <== runNonce;
    steps.failedStep <== failedStep;
    steps.settlement <== settlement;
    steps.request <== request;
    steps.response <== response;
    steps.salt <== salt;
    steps.providerKey <== providerKey;
    steps.signatureR8 <== signatureR8;
    steps.signatureS <== signatureS;
    steps.providerPathElements <== providerPathElements;
    steps.providerPathIndices <== providerPathIndices;

    component rules = ClearingRules();
    for (var i = 0; i < 8; i++) {
        rules.request[i] <== request[i];
        rules.response[i] <== response[i];
    }
    rules.writeEnabled <== stateWriteEnabled;
    rules.writeKey <== stateWriteKey;
    rules.valueBefore <== stateWriteValueBefore;
    rules.valueAfter <== stateWriteValueAfter;

    component balances = StateUpdates(STATE_DEPTH, 4, 0);
    balances.rootBefore <== stateRootBefore;
    balances.enabled <== stateWriteEnabled;
    balances.key <== stateWriteKey;
    balances.valueBefore <== stateWriteValueBefore;
    balances.valueAfter <== stateWriteValueAfter;
    balances.inserted <== stateWriteInserted;
    balances.pathElements <== stateWritePathElements;
    balances.rootAfter === stateRootAfter;
    runClaim <== steps.runClaim;
}

template ClearingSaga(TRACE_DEPTH, PROVIDER_DEPTH, STATE_DEPTH) {
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
    signal input providerKey[4][2];
    signal input signatureR8[4][2];
    signal input signatureS[4];
    signal input providerPathElements[4][PROVIDER_DEPTH];
    signal input providerPathIndices[4][PROVIDER_DEPTH];

    component steps = ClearingSteps(TRACE_DEPTH, PROVIDER_DEPTH, 4, 1);
    steps.workflowId <== workflowId;
    steps.outcome <== outcome;
    steps.traceRoot <== traceRoot;
    steps.providerSetRoot <== providerSetRoot;
    steps.submitter <== submitter;
    steps.runNonce <== runNonce;
    steps.failedStep <== failedStep;
    steps.settlement <== settlement;
    steps.request <== request;
    steps.response <== response;
    steps.salt <== salt;
    steps.providerKey <== providerKey;
    steps.signatureR8 <== signatureR8;
    steps.signatureS <== signatureS;
    steps.providerPathElements <== providerPathElements;
    steps.providerPathIndices <== providerPathIndices;

    // rolled back only (committed runs: ClearingWorkflow), and the balances as they were
    outcome === 2;
    stateRootAfter === stateRootBefore;

    component reversal = ClearingReversal(1 << TRACE_DEPTH);
    reversal.failedStep <== failedStep;
    reversal.settlement <== settlement;
    reversal.request <== request;
    reversal.response <== response;
    runClaim <== steps.runClaim;
}
