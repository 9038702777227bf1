pragma circom 2.1.9;

include "circomlib/circuits/comparators.circom";
include "./trace.circom";
include "./attestation.circom";

// SagaWorkflow(TRACE_DEPTH, PROVIDER_DEPTH, N, MAX_CALLS, ROLLBACK,
//              STEP_CODE, STEP_OP, STEP_SYSTEM, HAS_COMP, COMP_OP, COMP_SYSTEM)
//
// The statement of a workflow template of N forward steps, described by the constant arrays
// (length N): STEP_CODE (step codes), STEP_OP / STEP_SYSTEM (the operation and system a step calls,
// 0 = local step), HAS_COMP (1 if the step has a compensation), COMP_OP / COMP_SYSTEM (the
// compensation's call, 0 = local compensation).
//
// Proves there is a trace committed by traceRoot (TraceCommitment over 2^TRACE_DEPTH slots) whose
// records are exactly, for the private failedStep k:
//   k = N (outcome = COMMITTED = 1):  F0..F(N-1), all FORWARD/OK;
//   k < N (outcome = ROLLED_BACK = 2, only when ROLLBACK = 1):  F0..F(k-1) FORWARD/OK, then Fk
//     FORWARD/FAILED, then the compensations of steps k-1..0 that have one, in that order,
//     COMPENSATE/OK, each with the code of the step it compensates;
// with the step codes, operations and call sequence numbers (1, 2, ... in trace order) of the
// template, slots after the last record 0, and:
//   - every call of an OK record is attested: its system's key (system code fixed by the template)
//     is in the provider set providerSetRoot and signed (workflowId, callSeq, operation,
//     requestHash, responseHash) over the recorded fields, and response[0] = 1 (succeeded);
//   - the failed step's call (if it has one) is either attested with response[0] != 1 (the system
//     said no: evidence ATTESTED) or declared (no signature: evidence DECLARED, response all 0);
//   - each record's evidence field says which (NONE for local records).
//   - the run's id is bound (RunBinding, lib/trace.circom): workflowId = Poseidon(submitter,
//     workflowTag, runNonce), workflowTag the template's constant (the wrapper fixes it), runNonce
//     private;
//   - failedCallAttested is 0 unless the failed step made a call; request and response fields of
//     slots the selected layout does not use are 0 (nothing rides along outside the trace).
// Public: workflowId, outcome, traceRoot, providerSetRoot, submitter (declared by the wrapping
// template).
// Assumptions: request/response values are field elements; business meaning is checked elsewhere.
template SagaWorkflow(TRACE_DEPTH, PROVIDER_DEPTH, N, MAX_CALLS, ROLLBACK,
                      STEP_CODE, STEP_OP, STEP_SYSTEM, HAS_COMP, COMP_OP, COMP_SYSTEM) {
    assert(ROLLBACK == 0 || ROLLBACK == 1);
    assert(N > 0);
    var FIELDS = 4;
    var SLOTS = 1 << TRACE_DEPTH;
    var K = N + 1; // failedStep = 0..N-1 a failed step, N = none
    var K_FROM = ROLLBACK == 1 ? 0 : N;

    var PHASE_FORWARD = 1;
    var PHASE_COMPENSATE = 2;
    var STATUS_OK = 1;
    var STATUS_FAILED = 2;
    var EVIDENCE_DECLARED = 1;
    var EVIDENCE_ATTESTED = 2;
    var CALL_SUCCEEDED = 1;

    // ---- the layout of the trace for each failedStep k, computed at compile time
    var USED[K][SLOTS];
    var CODE[K][SLOTS];
    var PHASE[K][SLOTS];
    var STATUS[K][SLOTS];
    var OP[K][SLOTS];
    var SEQ[K][SLOTS];
    var MUST_SUCCEED[K][SLOTS]; // an OK record's call: attested, succeeded
    var FAILED_CALL[K][SLOTS];  // the failed step's call: attested refusal or declared
    var CALL_SLOT[K][MAX_CALLS];
    var CALL_KIND[K][MAX_CALLS]; // 0 none, 1 OK record's call, 2 failed step's call
    var CALL_SYSTEM[K][MAX_CALLS];
    var COUNT[K];
    for (var k = 0; k < K; k++) {
        for (var i = 0; i < SLOTS; i++) {
            USED[k][i] = 0; CODE[k][i] = 0; PHASE[k][i] = 0; STATUS[k][i] = 0; OP[k][i] = 0;
            SEQ[k][i] = 0; MUST_SUCCEED[k][i] = 0; FAILED_CALL[k][i] = 0;
        }
        for (var c = 0; c < MAX_CALLS; c++) {
            CALL_SLOT[k][c] = 0; CALL_KIND[k][c] = 0; CALL_SYSTEM[k][c] = 0;
        }
        COUNT[k] = 0;
    }
    for (var k = K_FROM; k < K; k++) {
        var pos = 0;
        var calls = 0;
        var done = k == N ? N : k;
        for (var j = 0; j < done; j++) {
            USED[k][pos] = 1; CODE[k][pos] = STEP_CODE[j]; PHASE[k][pos] = PHASE_FORWARD;
            STATUS[k][pos] = STATUS_OK; OP[k][pos] = STEP_OP[j];
            if (STEP_OP[j] != 0) {
                assert(calls < MAX_CALLS);
                SEQ[k][pos] = calls + 1; MUST_SUCCEED[k][pos] = 1;
                CALL_SLOT[k][calls] = pos; CALL_KIND[k][calls] = 1; CALL_SYSTEM[k][calls] = STEP_SYSTEM[j];
                calls++;
            }
            pos++;
        }
        if (k < N) {
            USED[k][pos] = 1; CODE[k][pos] = STEP_CODE[k]; PHASE[k][pos] = PHASE_FORWARD;
            STATUS[k][pos] = STATUS_FAILED; OP[k][pos] = STEP_OP[k];
            if (STEP_OP[k] != 0) {
                assert(calls < MAX_CALLS);
                SEQ[k][pos] = calls + 1; FAILED_CALL[k][pos] = 1;
                CALL_SLOT[k][calls] = pos; CALL_KIND[k][calls] = 2; CALL_SYSTEM[k][calls] = STEP_SYSTEM[k];
                calls++;
            }
            pos++;
            for (var j = k - 1; j >= 0; j--) {
                if (HAS_COMP[j] == 1) {
                    USED[k][pos] = 1; CODE[k][pos] = STEP_CODE[j]; PHASE[k][pos] = PHASE_COMPENSATE;
                    STATUS[k][pos] = STATUS_OK; OP[k][pos] = COMP_OP[j];
                    if (COMP_OP[j] != 0) {
                        assert(calls < MAX_CALLS);
                        SEQ[k][pos] = calls + 1; MUST_SUCCEED[k][pos] = 1;
                        CALL_SLOT[k][calls] = pos; CALL_KIND[k][calls] = 1; CALL_SYSTEM[k][calls] = COMP_SYSTEM[j];
                        calls++;
                    }
                    pos++;
                }
            }
        }
        assert(pos <= SLOTS);
        COUNT[k] = pos;
    }
    // which slots and calls any allowed layout uses (the others cost nothing)
    var SLOT_IN_USE[SLOTS];
    var SLOT_MAY_SUCCEED[SLOTS];
    var SLOT_MAY_FAIL_CALL[SLOTS];
    for (var i = 0; i < SLOTS; i++) {
        SLOT_IN_USE[i] = 0; SLOT_MAY_SUCCEED[i] = 0; SLOT_MAY_FAIL_CALL[i] = 0;
        for (var k = K_FROM; k < K; k++) {
            if (USED[k][i] == 1) SLOT_IN_USE[i] = 1;
            if (MUST_SUCCEED[k][i] == 1) SLOT_MAY_SUCCEED[i] = 1;
            if (FAILED_CALL[k][i] == 1) SLOT_MAY_FAIL_CALL[i] = 1;
        }
    }

    signal input workflowId;
    signal input outcome;
    signal input traceRoot;
    signal input providerSetRoot;
    signal input submitter;
    signal input workflowTag; // the wrapper's constant: which workflow this template proves
    signal input runNonce;    // private: workflowId = Poseidon(submitter, workflowTag, runNonce)

    signal input failedStep;
    signal input failedCallAttested;
    signal input request[SLOTS][FIELDS];
    signal input response[SLOTS][FIELDS];
    signal input salt[SLOTS]; // one random salt per record slot (ignored in unused slots)
    signal input providerKey[MAX_CALLS][2];
    signal input signatureR8[MAX_CALLS][2];
    signal input signatureS[MAX_CALLS];
    signal input providerPathElements[MAX_CALLS][PROVIDER_DEPTH];
    signal input providerPathIndices[MAX_CALLS][PROVIDER_DEPTH];

    // ---- failedStep selects exactly one layout
    component isK[K];
    signal sel[K];
    var selSum = 0;
    for (var k = 0; k < K; k++) {
        isK[k] = IsEqual();
        isK[k].in[0] <== failedStep;
        isK[k].in[1] <== k;
        sel[k] <== isK[k].out;
        selSum += sel[k];
    }
    selSum === 1;
    if (ROLLBACK == 0) {
        sel[N] === 1;
    }
    outcome === 2 - sel[N];
    failedCallAttested * (1 - failedCallAttested) === 0;
    // failedCallAttested says something only about a failed call: 0 when the failed step is local
    // or nothing failed
    var anyFailedCall = 0;
    for (var k = K_FROM; k < N; k++) {
        if (STEP_OP[k] != 0) anyFailedCall += sel[k];
    }
    failedCallAttested * (1 - anyFailedCall) === 0;

    // ---- the records
    component steps[SLOTS];
    component succeeded[SLOTS];
    signal leaves[SLOTS];
    signal attestedFailure[SLOTS];
    for (var i = 0; i < SLOTS; i++) {
        if (SLOT_IN_USE[i] == 0) {
            leaves[i] <== 0;
            attestedFailure[i] <== 0;
            for (var f = 0; f < FIELDS; f++) {
                request[i][f] === 0;
                response[i][f] === 0;
            }
        } else {
            var used = 0;
            var code = 0;
            var phase = 0;
            var status = 0;
            var operation = 0;
            var callSeq = 0;
            var mustSucceed = 0;
            var failedCall = 0;
            for (var k = K_FROM; k < K; k++) {
                used += sel[k] * USED[k][i];
                code += sel[k] * CODE[k][i];
                phase += sel[k] * PHASE[k][i];
                status += sel[k] * STATUS[k][i];
                operation += sel[k] * OP[k][i];
                callSeq += sel[k] * SEQ[k][i];
                mustSucceed += sel[k] * MUST_SUCCEED[k][i];
                failedCall += sel[k] * FAILED_CALL[k][i];
            }
            attestedFailure[i] <== failedCallAttested * failedCall;

            steps[i] = StepLeaf(FIELDS);
            steps[i].index <== i;
            steps[i].stepCode <== code;
            steps[i].phase <== phase;
            steps[i].status <== status;
            steps[i].callSeq <== callSeq;
            steps[i].operation <== operation;
            // OK call: ATTESTED; failed call: DECLARED, or ATTESTED when the system signed its refusal
            steps[i].evidence <== EVIDENCE_ATTESTED * mustSucceed + EVIDENCE_DECLARED * failedCall + attestedFailure[i];
            steps[i].request <== request[i];
            steps[i].response <== response[i];
            steps[i].salt <== salt[i];
            leaves[i] <== used * steps[i].leaf;
            // no data outside the trace: a slot this layout does not use carries zeros
            for (var f = 0; f < FIELDS; f++) {
                (1 - used) * request[i][f] === 0;
                (1 - used) * response[i][f] === 0;
            }

            if (SLOT_MAY_SUCCEED[i] == 1) {
                mustSucceed * (response[i][0] - CALL_SUCCEEDED) === 0;
            }
            if (SLOT_MAY_FAIL_CALL[i] == 1) {
                succeeded[i] = IsEqual();
                succeeded[i].in[0] <== response[i][0];
                succeeded[i].in[1] <== CALL_SUCCEEDED;
                attestedFailure[i] * succeeded[i].out === 0;
                for (var f = 0; f < FIELDS; f++) {
                    (failedCall - attestedFailure[i]) * response[i][f] === 0;
                }
            }
        }
    }

    // ---- the calls: attestation c belongs to the call with callSeq c + 1
    component attestations[MAX_CALLS];
    signal failedAttested[MAX_CALLS];
    signal requestTerm[MAX_CALLS][K];
    signal responseTerm[MAX_CALLS][K];
    for (var c = 0; c < MAX_CALLS; c++) {
        var callOk = 0;
        var callFailed = 0;
        var callOperation = 0;
        var callSystem = 0;
        var callRequestHash = 0;
        var callResponseHash = 0;
        for (var k = 0; k < K; k++) {
            if (k >= K_FROM && CALL_KIND[k][c] != 0) {
                var slot = CALL_SLOT[k][c];
                if (CALL_KIND[k][c] == 1) callOk += sel[k];
                if (CALL_KIND[k][c] == 2) callFailed += sel[k];
                callOperation += sel[k] * OP[k][slot];
                callSystem += sel[k] * CALL_SYSTEM[k][c];
                requestTerm[c][k] <== sel[k] * steps[slot].requestHash;
                responseTerm[c][k] <== sel[k] * steps[slot].responseHash;
            } else {
                requestTerm[c][k] <== 0;
                responseTerm[c][k] <== 0;
            }
            callRequestHash += requestTerm[c][k];
            callResponseHash += responseTerm[c][k];
        }
        failedAttested[c] <== failedCallAttested * callFailed;
        attestations[c] = ProviderAttestation(PROVIDER_DEPTH);
        attestations[c].enabled <== callOk + failedAttested[c];
        attestations[c].workflowId <== workflowId;
        attestations[c].callSeq <== c + 1;
        attestations[c].operation <== callOperation;
        attestations[c].requestHash <== callRequestHash;
        attestations[c].responseHash <== callResponseHash;
        attestations[c].systemCode <== callSystem;
        attestations[c].providerSetRoot <== providerSetRoot;
        attestations[c].publicKey <== providerKey[c];
        attestations[c].signatureR8 <== signatureR8[c];
        attestations[c].signatureS <== signatureS[c];
        attestations[c].pathElements <== providerPathElements[c];
        attestations[c].pathIndices <== providerPathIndices[c];
    }

    // ---- the commitment
    var stepCount = 0;
    for (var k = K_FROM; k < K; k++) {
        stepCount += sel[k] * COUNT[k];
    }
    component commitment = TraceCommitment(TRACE_DEPTH);
    commitment.workflowId <== workflowId;
    commitment.outcome <== outcome;
    commitment.stepCount <== stepCount;
    commitment.leaves <== leaves;
    commitment.traceRoot === traceRoot;

    // ---- the run's id: bound to its submitter and this template's workflow
    component binding = RunBinding();
    binding.workflowId <== workflowId;
    binding.submitter <== submitter;
    binding.workflowTag <== workflowTag;
    binding.runNonce <== runNonce;
}
