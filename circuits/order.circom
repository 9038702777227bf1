pragma circom 2.1.9;

include "./lib/trace.circom";
include "./lib/attestation.circom";

// OrderWorkflow(TRACE_DEPTH, PROVIDER_DEPTH) — the e-commerce order, committed run.
//
// Public signals: workflowId, outcome, traceRoot, providerSetRoot, submitter.
//
// Proves there is a trace with root traceRoot such that:
//   1. it has exactly the template's six forward steps, in order (create order, reserve inventory,
//      payment, logistics, invoice, accounting), each with status OK, and outcome = COMMITTED (1);
//   2. the payment, logistics and invoice steps each carry an external call (callSeq 1, 2, 3 with
//      the template's operation codes) signed by the key registered for that system in the
//      provider set with root providerSetRoot, over exactly the recorded request and response
//      fields, and each system's response status field (response[0]) is 1 (succeeded);
//   3. submitter is bound to the proof (squared into a constraint) so the registry can check it.
// Inputs assumed: request/response values are field elements (their business meaning and ranges
// are checked by later rule templates, not here). Trace slots after the sixth step are 0.
// Codes: src/trace/catalog.ts and src/trace/types.ts.
template OrderWorkflow(TRACE_DEPTH, PROVIDER_DEPTH) {
    var FIELDS = 4;
    var STEPS = 6;
    var CALLS = 3;
    var SLOTS = 1 << TRACE_DEPTH;
    assert(SLOTS >= STEPS);

    var PHASE_FORWARD = 1;
    var STATUS_OK = 1;
    var EVIDENCE_NONE = 0;
    var EVIDENCE_ATTESTED = 2;
    var OUTCOME_COMMITTED = 1;
    var CALL_SUCCEEDED = 1;

    // step codes 1..6 in template order; per step: its call (0 = local step), operation, system
    var STEP_CODE[6] = [1, 2, 3, 4, 5, 6];
    var CALL_SEQ[6] = [0, 0, 1, 2, 3, 0];
    var OPERATION[6] = [0, 0, 101, 201, 301, 0];
    var SYSTEM[6] = [0, 0, 1, 2, 3, 0];

    signal input workflowId;
    signal input outcome;
    signal input traceRoot;
    signal input providerSetRoot;
    signal input submitter;

    signal input request[STEPS][FIELDS];
    signal input response[STEPS][FIELDS];
    signal input providerKey[CALLS][2];
    signal input signatureR8[CALLS][2];
    signal input signatureS[CALLS];
    signal input providerPathElements[CALLS][PROVIDER_DEPTH];
    signal input providerPathIndices[CALLS][PROVIDER_DEPTH];

    outcome === OUTCOME_COMMITTED;

    component steps[STEPS];
    component attestations[CALLS];
    for (var s = 0; s < STEPS; s++) {
        steps[s] = StepLeaf(FIELDS);
        steps[s].index <== s;
        steps[s].stepCode <== STEP_CODE[s];
        steps[s].phase <== PHASE_FORWARD;
        steps[s].status <== STATUS_OK;
        steps[s].callSeq <== CALL_SEQ[s];
        steps[s].operation <== OPERATION[s];
        steps[s].evidence <== CALL_SEQ[s] == 0 ? EVIDENCE_NONE : EVIDENCE_ATTESTED;
        for (var f = 0; f < FIELDS; f++) {
            steps[s].request[f] <== request[s][f];
            steps[s].response[f] <== response[s][f];
        }

        if (CALL_SEQ[s] != 0) {
            var c = CALL_SEQ[s] - 1;
            response[s][0] === CALL_SUCCEEDED;
            attestations[c] = ProviderAttestation(PROVIDER_DEPTH);
            attestations[c].workflowId <== workflowId;
            attestations[c].callSeq <== CALL_SEQ[s];
            attestations[c].operation <== OPERATION[s];
            attestations[c].requestHash <== steps[s].requestHash;
            attestations[c].responseHash <== steps[s].responseHash;
            attestations[c].systemCode <== SYSTEM[s];
            attestations[c].publicKey <== providerKey[c];
            attestations[c].signatureR8 <== signatureR8[c];
            attestations[c].signatureS <== signatureS[c];
            attestations[c].pathElements <== providerPathElements[c];
            attestations[c].pathIndices <== providerPathIndices[c];
            attestations[c].providerSetRoot === providerSetRoot;
        }
    }

    component commitment = TraceCommitment(TRACE_DEPTH);
    commitment.workflowId <== workflowId;
    commitment.outcome <== outcome;
    commitment.stepCount <== STEPS;
    for (var i = 0; i < SLOTS; i++) {
        commitment.leaves[i] <== i < STEPS ? steps[i].leaf : 0;
    }
    commitment.traceRoot === traceRoot;

    // Bind the submitter: a public input in no constraint could be changed freely.
    signal submitterSquare <== submitter * submitter;
}
