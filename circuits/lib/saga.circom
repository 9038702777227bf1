pragma circom 2.1.9;

include "circomlib/circuits/comparators.circom";
include "./trace.circom";
include "./attestation.circom";

// SagaWorkflow(TRACE_DEPTH, PROVIDER_DEPTH, N, MAX_CALLS, ROLLBACK,
//              STEP_CODE, STEP_OP, STEP_SYSTEM, STEP_SETTLE_OP, HAS_COMP, COMP_OP, COMP_SYSTEM)
//
// The statement of a workflow template of N forward steps, described by the constant arrays
// (length N): STEP_CODE (step codes), STEP_OP / STEP_SYSTEM (the operation and system a step calls,
// 0 = local step), STEP_SETTLE_OP (the status query of the step's system that settles its call when
// the call got no usable answer, 0 = none), HAS_COMP (1 if the step has a compensation), COMP_OP /
// COMP_SYSTEM (the compensation's call, 0 = local compensation).
//
// Proves there is a trace committed by traceRoot (TraceCommitment over 2^TRACE_DEPTH slots) whose
// records are exactly, for the private failedStep k and settlement m:
//   k = N, m = 0 (outcome = COMMITTED = 1):  F0..F(N-1), all FORWARD/OK;
//   k < N (outcome = ROLLED_BACK = 2, only when ROLLBACK = 1):  F0..F(k-1) FORWARD/OK, then Fk
//     FORWARD/FAILED, then
//       m = 0 (a local step, or the system signed a refusal): nothing more;
//       m = 1 (the call got no usable answer; its status query says NO_EFFECT or REFUSED): Qk;
//       m = 2 (no usable answer; the status query says TOOK_EFFECT): Qk, then Ck (the failed step's
//         own compensation, if it has one);
//     then the compensations of steps k-1..0 that have one, in that order, COMPENSATE/OK, each
//     with the code of the step it compensates. Qk is the SETTLE/OK record of Fk's status query
//     (operation STEP_SETTLE_OP[k], code STEP_CODE[k]); m = 1, 2 only for a step with a call and a
//     status query: a failed call without a signed answer is never proven unsettled;
// with the step codes, operations and call sequence numbers (1, 2, ... in trace order) of the
// template, slots after the last record 0, and:
//   - every call of an OK record is attested: its system's key (system code fixed by the template)
//     is in the provider set providerSetRoot and signed (workflowId, callSeq, operation,
//     requestHash, responseHash) over the recorded fields; forward and compensating calls answered
//     response[0] = 1 (succeeded);
//   - the failed step's call: m = 0, attested with response[0] != 1 (the system said no: evidence
//     ATTESTED); m = 1, no signature, response all 0 (evidence DECLARED); m = 2, no signature of its
//     own, response[0] = 1 and its response hash is the one Qk signed (evidence SETTLED);
//   - Qk (attested by the failed step's system): request = [Fk's callSeq, Fk's operation, Fk's
//     request hash, 0] (the call it settles: its idempotency key, operation and request), response
//     = [outcome, hash, 0, 0] with outcome = 1 (TOOK_EFFECT) and hash = Fk's response hash for
//     m = 2, outcome 2 (NO_EFFECT) or 3 (REFUSED) for m = 1. Its signature is over its own callSeq
//     and the status operation: it is no answer of Fk (another operation code), nor of any other
//     call, run or request;
//   - each record's evidence field says which (NONE for local records).
//   - the run's id is bound (RunBinding, lib/trace.circom): workflowId = Poseidon(submitter,
//     workflowTag, runNonce), workflowTag the template's constant (the wrapper fixes it), runNonce
//     private;
//   - settlement is 0, 1 or 2 and 0 unless the failed step calls and has a status query; request
//     and response fields of slots the selected layout does not use are 0 (nothing rides along
//     outside the trace).
// Attestation slot c holds the c-th signed call in trace order (a settled call has none of its own).
// Public: workflowId, outcome, traceRoot, providerSetRoot, submitter (declared by the wrapping
// template).
// Assumptions: request/response values are field elements; business meaning is checked elsewhere.
template SagaWorkflow(TRACE_DEPTH, PROVIDER_DEPTH, N, MAX_CALLS, ROLLBACK,
                      STEP_CODE, STEP_OP, STEP_SYSTEM, STEP_SETTLE_OP, HAS_COMP, COMP_OP, COMP_SYSTEM) {
    assert(ROLLBACK == 0 || ROLLBACK == 1);
    assert(N > 0);
    var FIELDS = 4;
    var SLOTS = 1 << TRACE_DEPTH;
    var K = N + 1; // failedStep = 0..N-1 a failed step, N = none
    var MODES = 3; // settlement: 0 none, 1 settled without effect, 2 settled: took effect
    var L = K * MODES; // layout k * MODES + m
    var K_FROM = ROLLBACK == 1 ? 0 : N;

    var PHASE_FORWARD = 1;
    var PHASE_COMPENSATE = 2;
    var PHASE_SETTLE = 3;
    var STATUS_OK = 1;
    var STATUS_FAILED = 2;
    var EVIDENCE_DECLARED = 1;
    var EVIDENCE_ATTESTED = 2;
    var EVIDENCE_SETTLED = 3;
    var CALL_SUCCEEDED = 1;
    var TOOK_EFFECT = 1;

    // ---- the layouts, computed at compile time
    var VALID[L];
    var USED[L][SLOTS];
    var CODE[L][SLOTS];
    var PHASE[L][SLOTS];
    var STATUS[L][SLOTS];
    var OP[L][SLOTS];
    var SEQ[L][SLOTS];
    var EVID[L][SLOTS];
    var R0_CHECK[L][SLOTS];  // response[0] must be R0_VALUE
    var R0_VALUE[L][SLOTS];
    var REFUSED[L][SLOTS];   // the failed call's signed refusal: response[0] != 1
    var ZERO_RESP[L][SLOTS]; // a call without an answer: response all 0
    var QUERY[L][SLOTS];     // a status query: bound to the record before it
    var Q_EFFECT[L][SLOTS];  // ... that says TOOK_EFFECT with that record's response hash
    var Q_NONE[L][SLOTS];    // ... that says NO_EFFECT or REFUSED
    var Q_SEQ[L][SLOTS];     // the callSeq it queries
    var Q_OP[L][SLOTS];      // the operation it queries
    var CALL_ON[L][MAX_CALLS]; // attestation slot c holds a signed call
    var CALL_SLOT[L][MAX_CALLS];
    var CALL_SYSTEM[L][MAX_CALLS];
    var COUNT[L];
    for (var l = 0; l < L; l++) {
        VALID[l] = 0;
        for (var i = 0; i < SLOTS; i++) {
            USED[l][i] = 0; CODE[l][i] = 0; PHASE[l][i] = 0; STATUS[l][i] = 0; OP[l][i] = 0;
            SEQ[l][i] = 0; EVID[l][i] = 0; R0_CHECK[l][i] = 0; R0_VALUE[l][i] = 0; REFUSED[l][i] = 0;
            ZERO_RESP[l][i] = 0; QUERY[l][i] = 0; Q_EFFECT[l][i] = 0; Q_NONE[l][i] = 0;
            Q_SEQ[l][i] = 0; Q_OP[l][i] = 0;
        }
        for (var c = 0; c < MAX_CALLS; c++) {
            CALL_ON[l][c] = 0; CALL_SLOT[l][c] = 0; CALL_SYSTEM[l][c] = 0;
        }
        COUNT[l] = 0;
    }
    for (var k = K_FROM; k < K; k++) {
        for (var m = 0; m < MODES; m++) {
            var l = k * MODES + m;
            var settles = 0;
            if (k < N) {
                if (STEP_OP[k] != 0 && STEP_SETTLE_OP[k] != 0) settles = 1;
            }
            if (m == 0 || settles == 1) {
                VALID[l] = 1;
                var pos = 0;
                var calls = 0; // callSeqs given
                var att = 0;   // attestation slots used
                var done = k == N ? N : k;
                for (var j = 0; j < done; j++) {
                    USED[l][pos] = 1; CODE[l][pos] = STEP_CODE[j]; PHASE[l][pos] = PHASE_FORWARD;
                    STATUS[l][pos] = STATUS_OK; OP[l][pos] = STEP_OP[j];
                    if (STEP_OP[j] != 0) {
                        calls++;
                        SEQ[l][pos] = calls; EVID[l][pos] = EVIDENCE_ATTESTED;
                        R0_CHECK[l][pos] = 1; R0_VALUE[l][pos] = CALL_SUCCEEDED;
                        assert(att < MAX_CALLS);
                        CALL_ON[l][att] = 1; CALL_SLOT[l][att] = pos; CALL_SYSTEM[l][att] = STEP_SYSTEM[j];
                        att++;
                    }
                    pos++;
                }
                if (k < N) {
                    var failedPos = pos;
                    USED[l][pos] = 1; CODE[l][pos] = STEP_CODE[k]; PHASE[l][pos] = PHASE_FORWARD;
                    STATUS[l][pos] = STATUS_FAILED; OP[l][pos] = STEP_OP[k];
                    if (STEP_OP[k] != 0) {
                        calls++;
                        SEQ[l][pos] = calls;
                        if (m == 0) {
                            EVID[l][pos] = EVIDENCE_ATTESTED; REFUSED[l][pos] = 1;
                            assert(att < MAX_CALLS);
                            CALL_ON[l][att] = 1; CALL_SLOT[l][att] = pos; CALL_SYSTEM[l][att] = STEP_SYSTEM[k];
                            att++;
                        }
                        if (m == 1) {
                            EVID[l][pos] = EVIDENCE_DECLARED; ZERO_RESP[l][pos] = 1;
                        }
                        if (m == 2) {
                            EVID[l][pos] = EVIDENCE_SETTLED;
                            R0_CHECK[l][pos] = 1; R0_VALUE[l][pos] = CALL_SUCCEEDED;
                        }
                    }
                    pos++;
                    if (m != 0) {
                        // the status query of the failed call
                        USED[l][pos] = 1; CODE[l][pos] = STEP_CODE[k]; PHASE[l][pos] = PHASE_SETTLE;
                        STATUS[l][pos] = STATUS_OK; OP[l][pos] = STEP_SETTLE_OP[k];
                        calls++;
                        SEQ[l][pos] = calls; EVID[l][pos] = EVIDENCE_ATTESTED;
                        QUERY[l][pos] = 1; Q_SEQ[l][pos] = SEQ[l][failedPos]; Q_OP[l][pos] = STEP_OP[k];
                        if (m == 1) Q_NONE[l][pos] = 1;
                        if (m == 2) {
                            Q_EFFECT[l][pos] = 1; R0_CHECK[l][pos] = 1; R0_VALUE[l][pos] = TOOK_EFFECT;
                        }
                        assert(att < MAX_CALLS);
                        CALL_ON[l][att] = 1; CALL_SLOT[l][att] = pos; CALL_SYSTEM[l][att] = STEP_SYSTEM[k];
                        att++;
                        pos++;
                    }
                    // the compensations: the failed step's own when its call took effect, then k-1..0
                    var first = m == 2 ? k : k - 1;
                    for (var j = first; j >= 0; j--) {
                        if (HAS_COMP[j] == 1) {
                            USED[l][pos] = 1; CODE[l][pos] = STEP_CODE[j]; PHASE[l][pos] = PHASE_COMPENSATE;
                            STATUS[l][pos] = STATUS_OK; OP[l][pos] = COMP_OP[j];
                            if (COMP_OP[j] != 0) {
                                calls++;
                                SEQ[l][pos] = calls; EVID[l][pos] = EVIDENCE_ATTESTED;
                                R0_CHECK[l][pos] = 1; R0_VALUE[l][pos] = CALL_SUCCEEDED;
                                assert(att < MAX_CALLS);
                                CALL_ON[l][att] = 1; CALL_SLOT[l][att] = pos; CALL_SYSTEM[l][att] = COMP_SYSTEM[j];
                                att++;
                            }
                            pos++;
                        }
                    }
                }
                assert(pos <= SLOTS);
                COUNT[l] = pos;
            }
        }
    }
    // which slots any valid layout uses, and for what (the others cost nothing)
    var SLOT_IN_USE[SLOTS];
    var SLOT_R0[SLOTS];
    var SLOT_REFUSED[SLOTS];
    var SLOT_ZERO[SLOTS];
    var SLOT_QUERY[SLOTS];
    var SLOT_Q_EFFECT[SLOTS];
    var SLOT_Q_NONE[SLOTS];
    for (var i = 0; i < SLOTS; i++) {
        SLOT_IN_USE[i] = 0; SLOT_R0[i] = 0; SLOT_REFUSED[i] = 0; SLOT_ZERO[i] = 0; SLOT_QUERY[i] = 0;
        SLOT_Q_EFFECT[i] = 0; SLOT_Q_NONE[i] = 0;
        for (var l = 0; l < L; l++) {
            if (VALID[l] == 1) {
                if (USED[l][i] == 1) SLOT_IN_USE[i] = 1;
                if (R0_CHECK[l][i] == 1) SLOT_R0[i] = 1;
                if (REFUSED[l][i] == 1) SLOT_REFUSED[i] = 1;
                if (ZERO_RESP[l][i] == 1) SLOT_ZERO[i] = 1;
                if (QUERY[l][i] == 1) SLOT_QUERY[i] = 1;
                if (Q_EFFECT[l][i] == 1) SLOT_Q_EFFECT[i] = 1;
                if (Q_NONE[l][i] == 1) SLOT_Q_NONE[i] = 1;
            }
        }
        // a status query follows the record it settles (never in slot 0)
        assert(SLOT_QUERY[i] == 0 || i > 0);
    }

    signal input workflowId;
    signal input outcome;
    signal input traceRoot;
    signal input providerSetRoot;
    signal input submitter;
    signal input workflowTag; // the wrapper's constant: which workflow this template proves
    signal input runNonce;    // private: workflowId = Poseidon(submitter, workflowTag, runNonce)

    signal input failedStep;
    signal input settlement; // 0 none, 1 settled without effect, 2 settled: took effect
    signal input request[SLOTS][FIELDS];
    signal input response[SLOTS][FIELDS];
    signal input salt[SLOTS]; // one random salt per record slot (ignored in unused slots)
    signal input providerKey[MAX_CALLS][2];
    signal input signatureR8[MAX_CALLS][2];
    signal input signatureS[MAX_CALLS];
    signal input providerPathElements[MAX_CALLS][PROVIDER_DEPTH];
    signal input providerPathIndices[MAX_CALLS][PROVIDER_DEPTH];

    // ---- (failedStep, settlement) selects exactly one valid layout
    component isK[K];
    signal kSel[K];
    var kSum = 0;
    for (var k = 0; k < K; k++) {
        isK[k] = IsEqual();
        isK[k].in[0] <== failedStep;
        isK[k].in[1] <== k;
        kSel[k] <== isK[k].out;
        kSum += kSel[k];
    }
    kSum === 1;
    component isM[MODES];
    signal mSel[MODES];
    var mSum = 0;
    for (var m = 0; m < MODES; m++) {
        isM[m] = IsEqual();
        isM[m].in[0] <== settlement;
        isM[m].in[1] <== m;
        mSel[m] <== isM[m].out;
        mSum += mSel[m];
    }
    mSum === 1;
    signal sel[L];
    var validSum = 0;
    for (var l = 0; l < L; l++) {
        if (VALID[l] == 1) {
            sel[l] <== kSel[l \ MODES] * mSel[l % MODES];
            validSum += sel[l];
        } else {
            sel[l] <== 0;
        }
    }
    // the one (failedStep, settlement) pair that is 1 must be a layout of the template
    validSum === 1;
    if (ROLLBACK == 0) {
        // commit-only: fixed, so the compiler folds the selectors into constants
        failedStep === N;
        settlement === 0;
    }
    outcome === 2 - kSel[N];

    // ---- the records
    component steps[SLOTS];
    component succeeded[SLOTS];
    signal leaves[SLOTS];
    signal noEffect[SLOTS];
    for (var i = 0; i < SLOTS; i++) {
        if (SLOT_IN_USE[i] == 0) {
            leaves[i] <== 0;
            noEffect[i] <== 0;
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
            var evidence = 0;
            var r0Check = 0;
            var r0Value = 0;
            var refused = 0;
            var zeroResponse = 0;
            var query = 0;
            var queryEffect = 0;
            var queryNone = 0;
            var querySeq = 0;
            var queryOp = 0;
            for (var l = 0; l < L; l++) {
                if (VALID[l] == 1) {
                    used += sel[l] * USED[l][i];
                    code += sel[l] * CODE[l][i];
                    phase += sel[l] * PHASE[l][i];
                    status += sel[l] * STATUS[l][i];
                    operation += sel[l] * OP[l][i];
                    callSeq += sel[l] * SEQ[l][i];
                    evidence += sel[l] * EVID[l][i];
                    r0Check += sel[l] * R0_CHECK[l][i];
                    r0Value += sel[l] * R0_CHECK[l][i] * R0_VALUE[l][i];
                    refused += sel[l] * REFUSED[l][i];
                    zeroResponse += sel[l] * ZERO_RESP[l][i];
                    query += sel[l] * QUERY[l][i];
                    queryEffect += sel[l] * Q_EFFECT[l][i];
                    queryNone += sel[l] * Q_NONE[l][i];
                    querySeq += sel[l] * QUERY[l][i] * Q_SEQ[l][i];
                    queryOp += sel[l] * QUERY[l][i] * Q_OP[l][i];
                }
            }

            steps[i] = StepLeaf(FIELDS);
            steps[i].index <== i;
            steps[i].stepCode <== code;
            steps[i].phase <== phase;
            steps[i].status <== status;
            steps[i].callSeq <== callSeq;
            steps[i].operation <== operation;
            steps[i].evidence <== evidence;
            steps[i].request <== request[i];
            steps[i].response <== response[i];
            steps[i].salt <== salt[i];
            leaves[i] <== used * steps[i].leaf;
            // no data outside the trace: a slot this layout does not use carries zeros
            for (var f = 0; f < FIELDS; f++) {
                (1 - used) * request[i][f] === 0;
                (1 - used) * response[i][f] === 0;
            }

            // OK calls, a settled call that took effect, a status query that says so: the status
            if (SLOT_R0[i] == 1) {
                r0Check * response[i][0] === r0Value;
            }
            // the failed call's signed refusal: not "succeeded"
            if (SLOT_REFUSED[i] == 1) {
                succeeded[i] = IsEqual();
                succeeded[i].in[0] <== response[i][0];
                succeeded[i].in[1] <== CALL_SUCCEEDED;
                refused * succeeded[i].out === 0;
            }
            // a call without an answer records none
            if (SLOT_ZERO[i] == 1) {
                for (var f = 0; f < FIELDS; f++) {
                    zeroResponse * response[i][f] === 0;
                }
            }
            // a status query names the call before it: its callSeq (so its idempotency key), its
            // operation and its request; and answers [outcome, response hash, 0, 0]
            if (SLOT_QUERY[i] == 1) {
                query * request[i][0] === querySeq;
                query * request[i][1] === queryOp;
                query * (request[i][2] - steps[i - 1].requestHash) === 0;
                query * request[i][3] === 0;
                query * response[i][2] === 0;
                query * response[i][3] === 0;
            }
            if (SLOT_Q_EFFECT[i] == 1) {
                queryEffect * (response[i][1] - steps[i - 1].responseHash) === 0;
            }
            if (SLOT_Q_NONE[i] == 1) {
                // NO_EFFECT (2) or REFUSED (3)
                noEffect[i] <== queryNone * (response[i][0] - 2);
                noEffect[i] * (response[i][0] - 3) === 0;
            } else {
                noEffect[i] <== 0;
            }
        }
    }

    // ---- the signed calls: attestation c belongs to the c-th signed call in trace order
    component attestations[MAX_CALLS];
    signal requestTerm[MAX_CALLS][L];
    signal responseTerm[MAX_CALLS][L];
    for (var c = 0; c < MAX_CALLS; c++) {
        var callOn = 0;
        var callSeqOf = 0;
        var callOperation = 0;
        var callSystem = 0;
        var callRequestHash = 0;
        var callResponseHash = 0;
        for (var l = 0; l < L; l++) {
            if (VALID[l] == 1 && CALL_ON[l][c] == 1) {
                var slot = CALL_SLOT[l][c];
                callOn += sel[l];
                callSeqOf += sel[l] * SEQ[l][slot];
                callOperation += sel[l] * OP[l][slot];
                callSystem += sel[l] * CALL_SYSTEM[l][c];
                requestTerm[c][l] <== sel[l] * steps[slot].requestHash;
                responseTerm[c][l] <== sel[l] * steps[slot].responseHash;
            } else {
                requestTerm[c][l] <== 0;
                responseTerm[c][l] <== 0;
            }
            callRequestHash += requestTerm[c][l];
            callResponseHash += responseTerm[c][l];
        }
        attestations[c] = ProviderAttestation(PROVIDER_DEPTH);
        attestations[c].enabled <== callOn;
        attestations[c].workflowId <== workflowId;
        attestations[c].callSeq <== callSeqOf;
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
    for (var l = 0; l < L; l++) {
        if (VALID[l] == 1) stepCount += sel[l] * COUNT[l];
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
