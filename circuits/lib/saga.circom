pragma circom 2.1.9;

include "circomlib/circuits/comparators.circom";
include "./trace.circom";
include "./attestation.circom";

// encodeString("wesflow/receipt"): the first field of every run receipt's message (src/trace/receipt.ts).
function receiptTag() {
    return 0x776573666c6f772f72656365697074;
}

// Saga(TRACE_DEPTH, PROVIDER_DEPTH, N, MAX_CALLS, FAILED_STEPS, RECEIPTS,
//      STEP_CODE, STEP_OP, STEP_SYSTEM, STEP_SETTLE_OP, HAS_COMP, COMP_OP, COMP_SYSTEM)
// (SagaWorkflow, at the end of this file, is Saga with FAILED_STEPS all or committed only and
// RECEIPTS = 0.)
//
// FAILED_STEPS is a mask over k = 0..N: bit k set allows the layouts with failedStep = k (bit N: the
// committed run), so one instance may prove committed runs only (1 << N), every run ((1 << (N+1)) - 1)
// or any subset (e.g. the rollbacks that fit a budget). RECEIPTS = 0: one signature per signed call
// (attestation slot c: the c-th signed call, MAX_CALLS slots); RECEIPTS = 1: one receipt per system
// the template calls (slot r: the r-th of them by ascending code), each a signature over
// Poseidon(receiptTag, workflowId, n, chain) where chain links the system's n signed calls of the
// layout in trace order (link(h, call) = Poseidon(h, callSeq, operation, requestHash, responseHash),
// from 0: src/trace/receipt.ts). A receipt vouches for exactly the calls one signature per call would
// (a call left out, added, changed or reordered gives another chain) at about a third of the cost for
// a system with several calls: ~5.5k constraints per system plus ~300 per possible call.
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
//   k < N (outcome = ROLLED_BACK = 2, when FAILED_STEPS allows k):  F0..F(k-1) FORWARD/OK, then Fk
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
//     requestHash, responseHash) over the recorded fields (RECEIPTS = 1: signed the receipt whose
//     chain holds exactly those fields of each of its calls); forward and compensating calls answered
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
// Attestation slot c holds the c-th signed call in trace order (a settled call has none of its own);
// with receipts, slot r the r-th system's receipt (a system the layout does not call: disabled).
// Public (declared by the wrapping template): workflowId, traceRoot, providerSetRoot, and the output
// runClaim = submitter + outcome * 2^160 (RunClaim, lib/trace.circom); outcome and submitter are
// private.
// Assumptions: request/response values are field elements; business meaning is checked elsewhere.
template Saga(TRACE_DEPTH, PROVIDER_DEPTH, N, MAX_CALLS, FAILED_STEPS, RECEIPTS,
              STEP_CODE, STEP_OP, STEP_SYSTEM, STEP_SETTLE_OP, HAS_COMP, COMP_OP, COMP_SYSTEM) {
    assert(N > 0);
    assert(FAILED_STEPS > 0 && FAILED_STEPS < (1 << (N + 1)));
    assert(RECEIPTS == 0 || RECEIPTS == 1);
    var FIELDS = 4;
    var SLOTS = 1 << TRACE_DEPTH;
    var K = N + 1; // failedStep = 0..N-1 a failed step, N = none
    var MODES = 3; // settlement: 0 none, 1 settled without effect, 2 settled: took effect
    var L = K * MODES; // layout k * MODES + m

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
    for (var k = 0; k < K; k++) {
        var allowed = (FAILED_STEPS >> k) & 1;
        for (var m = 0; m < MODES; m++) {
            var l = k * MODES + m;
            var settles = 0;
            if (k < N) {
                if (STEP_OP[k] != 0 && STEP_SETTLE_OP[k] != 0) settles = 1;
            }
            if (allowed == 1 && (m == 0 || settles == 1)) {
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

    // the systems the template calls, in ascending code order (RECEIPTS = 1: one receipt each)
    var SYS[2 * N];
    var R = 0;
    for (var j = 0; j < 2 * N; j++) {
        var sysCode = 0;
        if (j < N) {
            if (STEP_OP[j] != 0) sysCode = STEP_SYSTEM[j];
        } else {
            if (HAS_COMP[j - N] == 1 && COMP_OP[j - N] != 0) sysCode = COMP_SYSTEM[j - N];
        }
        var known = 0;
        for (var r = 0; r < R; r++) {
            if (SYS[r] == sysCode) known = 1;
        }
        if (sysCode != 0 && known == 0) {
            // insert in order
            var at = R;
            for (var q = R; q > 0; q--) {
                if (SYS[q - 1] > sysCode && at == q) {
                    SYS[q] = SYS[q - 1];
                    at = q - 1;
                }
            }
            SYS[at] = sysCode;
            R++;
        }
    }
    for (var r = R; r < 2 * N; r++) SYS[r] = 0;
    var ATT = RECEIPTS == 1 ? (R > 0 ? R : 1) : MAX_CALLS;

    signal input workflowId;
    signal input outcome;
    signal input traceRoot;
    signal input providerSetRoot;
    signal input submitter;
    signal output runClaim;
    signal input workflowTag; // the wrapper's constant: which workflow this template proves
    signal input runNonce;    // private: workflowId = Poseidon(submitter, workflowTag, runNonce)

    signal input failedStep;
    signal input settlement; // 0 none, 1 settled without effect, 2 settled: took effect
    signal input request[SLOTS][FIELDS];
    signal input response[SLOTS][FIELDS];
    signal input salt[SLOTS]; // one random salt per record slot (ignored in unused slots)
    // per attestation slot (RECEIPTS = 0: the c-th signed call's; RECEIPTS = 1: the r-th system's
    // receipt, systems in ascending code order)
    signal input providerKey[ATT][2];
    signal input signatureR8[ATT][2];
    signal input signatureS[ATT];
    signal input providerPathElements[ATT][PROVIDER_DEPTH];
    signal input providerPathIndices[ATT][PROVIDER_DEPTH];

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
    if (FAILED_STEPS == (1 << N)) {
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

    // ---- the signed calls in trace order: the c-th signed call's slot, system and hashes
    signal callOn[MAX_CALLS];
    signal callSeqOf[MAX_CALLS];
    signal callOperation[MAX_CALLS];
    signal callSystem[MAX_CALLS];
    signal callRequestHash[MAX_CALLS];
    signal callResponseHash[MAX_CALLS];
    signal requestTerm[MAX_CALLS][L];
    signal responseTerm[MAX_CALLS][L];
    for (var c = 0; c < MAX_CALLS; c++) {
        var on = 0;
        var seq = 0;
        var op = 0;
        var system = 0;
        var requestHash = 0;
        var responseHash = 0;
        for (var l = 0; l < L; l++) {
            if (VALID[l] == 1 && CALL_ON[l][c] == 1) {
                var slot = CALL_SLOT[l][c];
                on += sel[l];
                seq += sel[l] * SEQ[l][slot];
                op += sel[l] * OP[l][slot];
                system += sel[l] * CALL_SYSTEM[l][c];
                requestTerm[c][l] <== sel[l] * steps[slot].requestHash;
                responseTerm[c][l] <== sel[l] * steps[slot].responseHash;
            } else {
                requestTerm[c][l] <== 0;
                responseTerm[c][l] <== 0;
            }
            requestHash += requestTerm[c][l];
            responseHash += responseTerm[c][l];
        }
        callOn[c] <== on;
        callSeqOf[c] <== seq;
        callOperation[c] <== op;
        callSystem[c] <== system;
        callRequestHash[c] <== requestHash;
        callResponseHash[c] <== responseHash;
    }

    if (RECEIPTS == 0) {
        // ---- one signature per signed call: attestation c belongs to the c-th signed call
        component attestations[MAX_CALLS];
        for (var c = 0; c < MAX_CALLS; c++) {
            attestations[c] = ProviderAttestation(PROVIDER_DEPTH);
            attestations[c].enabled <== callOn[c];
            attestations[c].workflowId <== workflowId;
            attestations[c].callSeq <== callSeqOf[c];
            attestations[c].operation <== callOperation[c];
            attestations[c].requestHash <== callRequestHash[c];
            attestations[c].responseHash <== callResponseHash[c];
            attestations[c].systemCode <== callSystem[c];
            attestations[c].providerSetRoot <== providerSetRoot;
            attestations[c].publicKey <== providerKey[c];
            attestations[c].signatureR8 <== signatureR8[c];
            attestations[c].signatureS <== signatureS[c];
            attestations[c].pathElements <== providerPathElements[c];
            attestations[c].pathIndices <== providerPathIndices[c];
        }
    } else {
        // ---- one receipt per system: system SYS[r] signed
        //   Poseidon(RECEIPT_TAG, workflowId, n, chain), chain = link(...link(link(0, call 1), call 2)..., call n)
        // over its signed calls of the run in trace order, link(h, call) = Poseidon(h, callSeq,
        // operation, requestHash, responseHash): the same fields its own signature of each call
        // covers, so one signature vouches for all of them, and for no other call (a call left out,
        // added, reordered or changed changes the chain). A system with no call in the layout signs
        // nothing (its slot is disabled).
        component links[ATT][MAX_CALLS];
        signal chain[ATT][MAX_CALLS + 1];
        signal linkTerm[ATT][MAX_CALLS];
        component receiptMessage[ATT];
        component receipts[ATT];
        for (var r = 0; r < ATT; r++) {
            chain[r][0] <== 0;
            var count = 0;
            for (var c = 0; c < MAX_CALLS; c++) {
                // whether some layout puts a call of SYS[r] in signed-call slot c (else nothing to hash)
                var possible = 0;
                var on = 0;
                for (var l = 0; l < L; l++) {
                    if (r < R && VALID[l] == 1 && CALL_ON[l][c] == 1 && CALL_SYSTEM[l][c] == SYS[r]) {
                        possible = 1;
                        on += sel[l];
                    }
                }
                if (possible == 1) {
                    links[r][c] = Poseidon(5);
                    links[r][c].inputs[0] <== chain[r][c];
                    links[r][c].inputs[1] <== callSeqOf[c];
                    links[r][c].inputs[2] <== callOperation[c];
                    links[r][c].inputs[3] <== callRequestHash[c];
                    links[r][c].inputs[4] <== callResponseHash[c];
                    linkTerm[r][c] <== on * (links[r][c].out - chain[r][c]);
                    chain[r][c + 1] <== chain[r][c] + linkTerm[r][c];
                    count += on;
                } else {
                    linkTerm[r][c] <== 0;
                    chain[r][c + 1] <== chain[r][c];
                }
            }
            // the receipt is required exactly when the selected layout has a call of SYS[r]
            var enabled = 0;
            for (var l = 0; l < L; l++) {
                var has = 0;
                for (var c = 0; c < MAX_CALLS; c++) {
                    if (r < R && VALID[l] == 1 && CALL_ON[l][c] == 1 && CALL_SYSTEM[l][c] == SYS[r]) has = 1;
                }
                if (has == 1) enabled += sel[l];
            }
            receiptMessage[r] = Poseidon(4);
            receiptMessage[r].inputs[0] <== receiptTag();
            receiptMessage[r].inputs[1] <== workflowId;
            receiptMessage[r].inputs[2] <== count;
            receiptMessage[r].inputs[3] <== chain[r][MAX_CALLS];
            receipts[r] = ProviderSignature(PROVIDER_DEPTH);
            receipts[r].enabled <== enabled;
            receipts[r].message <== receiptMessage[r].out;
            receipts[r].systemCode <== r < R ? SYS[r] : 0;
            receipts[r].providerSetRoot <== providerSetRoot;
            receipts[r].publicKey <== providerKey[r];
            receipts[r].signatureR8 <== signatureR8[r];
            receipts[r].signatureS <== signatureS[r];
            receipts[r].pathElements <== providerPathElements[r];
            receipts[r].pathIndices <== providerPathIndices[r];
        }
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

    // ---- the run's claim: its outcome and submitter in one public signal (RunClaim, lib/trace.circom)
    component claim = RunClaim();
    claim.submitter <== submitter;
    claim.outcome <== outcome;
    runClaim <== claim.runClaim;
}

// SagaWorkflow(TRACE_DEPTH, PROVIDER_DEPTH, N, MAX_CALLS, ROLLBACK, STEP_CODE, ...): Saga with every
// failed step's layouts (ROLLBACK = 1) or the committed run's only (ROLLBACK = 0), and one signature
// per signed call (RECEIPTS = 0). The same statement, inputs and constraints as Saga's.
template SagaWorkflow(TRACE_DEPTH, PROVIDER_DEPTH, N, MAX_CALLS, ROLLBACK,
                      STEP_CODE, STEP_OP, STEP_SYSTEM, STEP_SETTLE_OP, HAS_COMP, COMP_OP, COMP_SYSTEM) {
    assert(ROLLBACK == 0 || ROLLBACK == 1);
    var SLOTS = 1 << TRACE_DEPTH;
    var FAILED_STEPS = 1 << N;
    if (ROLLBACK == 1) FAILED_STEPS = (1 << (N + 1)) - 1;

    signal input workflowId;
    signal input outcome;
    signal input traceRoot;
    signal input providerSetRoot;
    signal input submitter;
    signal output runClaim;
    signal input workflowTag;
    signal input runNonce;
    signal input failedStep;
    signal input settlement;
    signal input request[SLOTS][4];
    signal input response[SLOTS][4];
    signal input salt[SLOTS];
    signal input providerKey[MAX_CALLS][2];
    signal input signatureR8[MAX_CALLS][2];
    signal input signatureS[MAX_CALLS];
    signal input providerPathElements[MAX_CALLS][PROVIDER_DEPTH];
    signal input providerPathIndices[MAX_CALLS][PROVIDER_DEPTH];

    component saga = Saga(TRACE_DEPTH, PROVIDER_DEPTH, N, MAX_CALLS, FAILED_STEPS, 0,
                          STEP_CODE, STEP_OP, STEP_SYSTEM, STEP_SETTLE_OP, HAS_COMP, COMP_OP, COMP_SYSTEM);
    saga.workflowId <== workflowId;
    saga.outcome <== outcome;
    saga.traceRoot <== traceRoot;
    saga.providerSetRoot <== providerSetRoot;
    saga.submitter <== submitter;
    saga.workflowTag <== workflowTag;
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
