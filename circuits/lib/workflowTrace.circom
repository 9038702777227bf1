pragma circom 2.1.9;

include "circomlib/circuits/comparators.circom";
include "circomlib/circuits/poseidon.circom";
include "./trace.circom";
include "./attestation.circom";

// WorkflowDefinitionHash(MAX_STEPS)
// The hash that identifies a workflow definition of stepCount forward steps, given as MAX_STEPS rows
// (rows at and after stepCount are all zero):
//   rowHash[j] = Poseidon(stepCode[j], stepOp[j], stepSystem[j], settleOp[j], hasComp[j], compOp[j],
//                         compSystem[j])
//   hash = Poseidon(stepCount, rowHash[0], ..., rowHash[MAX_STEPS - 1])
// Same encoding as src/trace/layout.ts (`workflowDefinitionHash`); a test checks they agree.
// Only hashes: WorkflowTrace constrains the rows to be well formed.
template WorkflowDefinitionHash(MAX_STEPS) {
    assert(MAX_STEPS >= 1 && MAX_STEPS <= 15); // Poseidon takes at most 16 inputs
    signal input stepCount;
    signal input stepCode[MAX_STEPS];
    signal input stepOp[MAX_STEPS];
    signal input stepSystem[MAX_STEPS];
    signal input settleOp[MAX_STEPS];
    signal input hasComp[MAX_STEPS];
    signal input compOp[MAX_STEPS];
    signal input compSystem[MAX_STEPS];
    signal output hash;

    component rowHash[MAX_STEPS];
    component definition = Poseidon(1 + MAX_STEPS);
    definition.inputs[0] <== stepCount;
    for (var j = 0; j < MAX_STEPS; j++) {
        rowHash[j] = Poseidon(7);
        rowHash[j].inputs[0] <== stepCode[j];
        rowHash[j].inputs[1] <== stepOp[j];
        rowHash[j].inputs[2] <== stepSystem[j];
        rowHash[j].inputs[3] <== settleOp[j];
        rowHash[j].inputs[4] <== hasComp[j];
        rowHash[j].inputs[5] <== compOp[j];
        rowHash[j].inputs[6] <== compSystem[j];
        definition.inputs[1 + j] <== rowHash[j].out;
    }
    hash <== definition.out;
}

// WorkflowTrace(TRACE_DEPTH, PROVIDER_DEPTH, MAX_STEPS, MAX_CALLS)
//
// The generic workflow statement: SagaWorkflow's statement (lib/saga.circom) for a definition that
// is a private input instead of constants, bound by the public definitionHash.
//
// Definition (private, rows j = 0..MAX_STEPS-1): stepCount n (1..MAX_STEPS); stepCode, stepOp and
// stepSystem (the operation and system the step calls, both 0 for a local step); settleOp (the
// status query of stepSystem that settles the step's call when it got no usable answer; 0 = none,
// always 0 for a local step); hasComp (0 or 1); compOp and compSystem (the compensation's call,
// both 0 for a local compensation, and both 0 when hasComp = 0). Rows j >= n are all zero.
// definitionHash = WorkflowDefinitionHash(rows).
//
// Proves there is a trace committed by traceRoot (TraceCommitment over 2^TRACE_DEPTH slots) whose
// records are exactly, for the private failedStep k (0..n) and settlement m (0, 1, 2):
//   k = n, m = 0 (outcome = COMMITTED = 1):  F0..F(n-1), all FORWARD/OK;
//   k < n (outcome = ROLLED_BACK = 2):  F0..F(k-1) FORWARD/OK, then Fk FORWARD/FAILED, then Qk (its
//     status query, SETTLE/OK, code of step k, operation settleOp[k]) when m > 0, then Ck (step k's
//     own compensation) when m = 2 and hasComp[k] = 1, then the compensations of steps k-1..0 that
//     have one, in that order, COMPENSATE/OK, each with the code of the step it compensates and
//     the compensation's operation; m > 0 only when step k has a status query (settleOp[k] != 0);
// record i in slot i (its index field), slots after the last record 0, stepCount of the commitment =
// the number of records, calls (records with operation != 0) numbered 1, 2, ... in trace order
// (callSeq 0 for local records), at most MAX_CALLS signed calls (the failed call of m = 1, 2 has no
// signature of its own), and:
//   - every call of an OK record is attested: a key of the definition's system for that call
//     (stepSystem forward and for Qk, compSystem compensating) is in the provider set
//     providerSetRoot and signed (workflowId, callSeq, operation, requestHash, responseHash) over
//     the recorded fields; forward and compensating calls answered response[0] = 1 (succeeded);
//   - the failed step's call (if it has one): m = 0, attested with response[0] != 1 (evidence
//     ATTESTED); m = 1, no signature, response all 0 (DECLARED); m = 2, no signature of its own,
//     response[0] = 1 and its response hash signed by Qk (SETTLED);
//   - Qk: request [Fk's callSeq, Fk's operation, Fk's request hash, 0], response [outcome, hash, 0,
//     0] with outcome 1 (TOOK_EFFECT) and hash = Fk's response hash for m = 2, outcome 2 (NO_EFFECT)
//     or 3 (REFUSED) for m = 1;
//   - each record's evidence field says which (NONE for local records).
// The run's id is bound (RunBinding, lib/trace.circom): workflowId = Poseidon(submitter,
// definitionHash, runNonce), runNonce private. Public, in this order: the output runClaim =
// submitter + outcome * 2^160 (RunClaim, lib/trace.circom; outcome and submitter private), then
// workflowId, traceRoot, providerSetRoot, definitionHash.
//
// How: the layout is computed from (n, k, m, hasComp) with one-hot selectors of n, k and m and
// equality tests only (no range comparator is needed): forward record i is step i; Qk is in slot
// k + 1, Ck in slot k + 2; the compensation of step j (j < k, hasComp[j] = 1) is in slot
// k + shift + P(k) - P(j), where shift = (m > 0) + (m = 2 and hasComp[k]) and P(t) = the number of
// steps before t with a compensation, and every such compensation must find its slot (a path longer
// than the slots cannot be proven); attestation slot c is the signed call record with c signed calls
// before it. No auxiliary witness: every record field is a function of the definition, k and m. The
// request and response fields of slots after the last record must be 0 (nothing rides along
// outside the trace).
// Assumptions: request/response values are field elements; business meaning is checked elsewhere.
template WorkflowTrace(TRACE_DEPTH, PROVIDER_DEPTH, MAX_STEPS, MAX_CALLS) {
    assert(MAX_STEPS >= 1 && MAX_STEPS <= 15);
    assert(MAX_CALLS >= 1);
    var FIELDS = 4;
    var SLOTS = 1 << TRACE_DEPTH;
    // the longest trace: steps 0..MAX_STEPS-2 done, the last failed and settled, its status query,
    // and MAX_STEPS compensations (its own first)
    var USED_SLOTS = 2 * MAX_STEPS + 1;
    if (USED_SLOTS > SLOTS) USED_SLOTS = SLOTS;
    assert(2 * MAX_STEPS - 1 <= SLOTS); // at least every rollback without a status query fits
    var COMP_STEPS = MAX_STEPS - 1; // compensations after a later step's failure: steps 0..MAX_STEPS-2

    var PHASE_FORWARD = 1;
    var PHASE_COMPENSATE = 2;
    var PHASE_SETTLE = 3;
    var STATUS_OK = 1;
    var STATUS_FAILED = 2;
    var EVIDENCE_DECLARED = 1;
    var EVIDENCE_ATTESTED = 2;
    var EVIDENCE_SETTLED = 3;
    var CALL_SUCCEEDED = 1;

    // public (this order)
    signal input workflowId;
    signal input outcome;
    signal input traceRoot;
    signal input providerSetRoot;
    signal input submitter;
    signal output runClaim;
    signal input definitionHash;

    // private: workflowId = Poseidon(submitter, definitionHash, runNonce)
    signal input runNonce;

    // the definition
    signal input stepCount;
    signal input stepCode[MAX_STEPS];
    signal input stepOp[MAX_STEPS];
    signal input stepSystem[MAX_STEPS];
    signal input settleOp[MAX_STEPS];
    signal input hasComp[MAX_STEPS];
    signal input compOp[MAX_STEPS];
    signal input compSystem[MAX_STEPS];

    // the run
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

    // ---- the definition: n in 1..MAX_STEPS, well-formed rows, bound by definitionHash
    component isN[MAX_STEPS + 1];
    signal nSel[MAX_STEPS + 1];
    var nSum = 0;
    nSel[0] <== 0;
    for (var t = 1; t <= MAX_STEPS; t++) {
        isN[t] = IsEqual();
        isN[t].in[0] <== stepCount;
        isN[t].in[1] <== t;
        nSel[t] <== isN[t].out;
        nSum += nSel[t];
    }
    nSum === 1;
    var active[MAX_STEPS]; // active[j] = 1 iff j < n
    for (var j = 0; j < MAX_STEPS; j++) {
        active[j] = 0;
        for (var t = j + 1; t <= MAX_STEPS; t++) {
            active[j] += nSel[t];
        }
    }

    component opIsZero[MAX_STEPS];
    component systemIsZero[MAX_STEPS];
    component compOpIsZero[MAX_STEPS];
    component compSystemIsZero[MAX_STEPS];
    for (var j = 0; j < MAX_STEPS; j++) {
        hasComp[j] * (hasComp[j] - 1) === 0;
        // rows at and after n are zero
        (1 - active[j]) * stepCode[j] === 0;
        (1 - active[j]) * stepOp[j] === 0;
        (1 - active[j]) * stepSystem[j] === 0;
        (1 - active[j]) * settleOp[j] === 0;
        (1 - active[j]) * hasComp[j] === 0;
        // no compensation: no compensating call
        (1 - hasComp[j]) * compOp[j] === 0;
        (1 - hasComp[j]) * compSystem[j] === 0;
        // a step (compensation) calls iff it names a system: operation 0 <=> system 0
        opIsZero[j] = IsZero();
        opIsZero[j].in <== stepOp[j];
        systemIsZero[j] = IsZero();
        systemIsZero[j].in <== stepSystem[j];
        opIsZero[j].out === systemIsZero[j].out;
        // a local step has no status query
        opIsZero[j].out * settleOp[j] === 0;
        compOpIsZero[j] = IsZero();
        compOpIsZero[j].in <== compOp[j];
        compSystemIsZero[j] = IsZero();
        compSystemIsZero[j].in <== compSystem[j];
        compOpIsZero[j].out === compSystemIsZero[j].out;
    }

    component definition = WorkflowDefinitionHash(MAX_STEPS);
    definition.stepCount <== stepCount;
    definition.stepCode <== stepCode;
    definition.stepOp <== stepOp;
    definition.stepSystem <== stepSystem;
    definition.settleOp <== settleOp;
    definition.hasComp <== hasComp;
    definition.compOp <== compOp;
    definition.compSystem <== compSystem;
    definition.hash === definitionHash;

    // ---- failedStep k in 0..n (n = none)
    component isK[MAX_STEPS + 1];
    signal kSel[MAX_STEPS + 1];
    var kSum = 0;
    for (var t = 0; t <= MAX_STEPS; t++) {
        isK[t] = IsEqual();
        isK[t].in[0] <== failedStep;
        isK[t].in[1] <== t;
        kSel[t] <== isK[t].out;
        kSum += kSel[t];
    }
    kSum === 1;
    for (var t = 1; t <= MAX_STEPS; t++) {
        kSel[t] * (1 - active[t - 1]) === 0; // k = t only if t <= n
    }
    component isCommitted = IsEqual();
    isCommitted.in[0] <== failedStep;
    isCommitted.in[1] <== stepCount;
    signal committed <== isCommitted.out;
    outcome === 2 - committed;

    var before[MAX_STEPS]; // before[j] = 1 iff j < k: step j completed
    for (var j = 0; j < MAX_STEPS; j++) {
        before[j] = 0;
        for (var t = j + 1; t <= MAX_STEPS; t++) {
            before[j] += kSel[t];
        }
    }
    signal failsHere[MAX_STEPS]; // step j is the failed step (j = k < n)
    for (var j = 0; j < MAX_STEPS; j++) {
        failsHere[j] <== kSel[j] * (1 - committed);
    }

    // ---- settlement m in 0..2: only for a failed step with a status query
    component isM[3];
    signal mSel[3];
    var mSum = 0;
    for (var m = 0; m < 3; m++) {
        isM[m] = IsEqual();
        isM[m].in[0] <== settlement;
        isM[m].in[1] <== m;
        mSel[m] <== isM[m].out;
        mSum += mSel[m];
    }
    mSum === 1;
    signal settled <== mSel[1] + mSel[2];
    signal failedSettleTerm[MAX_STEPS];
    signal failedCompTerm[MAX_STEPS];
    var failedSettleOp = 0;
    var failedHasComp = 0;
    for (var j = 0; j < MAX_STEPS; j++) {
        failedSettleTerm[j] <== failsHere[j] * settleOp[j];
        failedSettleOp += failedSettleTerm[j];
        failedCompTerm[j] <== failsHere[j] * hasComp[j];
        failedHasComp += failedCompTerm[j];
    }
    component noSettleOp = IsZero();
    noSettleOp.in <== failedSettleOp;
    settled * noSettleOp.out === 0; // committed, a local step or one without a status query: m = 0
    signal ownComp <== mSel[2] * failedHasComp; // the failed step's own compensation runs

    // ---- where the compensations go: step j's compensation in slot k + shift + P(k) - P(j)
    var prefix[MAX_STEPS + 1]; // P(t): steps before t with a compensation
    prefix[0] = 0;
    for (var t = 0; t < MAX_STEPS; t++) {
        prefix[t + 1] = prefix[t] + hasComp[t];
    }
    signal prefixTerm[MAX_STEPS + 1];
    var prefixAtK = 0;
    for (var t = 0; t <= MAX_STEPS; t++) {
        prefixTerm[t] <== kSel[t] * prefix[t];
        prefixAtK += prefixTerm[t];
    }
    signal completedWithComp[COMP_STEPS];
    signal compensated[COMP_STEPS]; // j < k < n and hasComp[j]
    for (var j = 0; j < COMP_STEPS; j++) {
        completedWithComp[j] <== hasComp[j] * before[j];
        compensated[j] <== completedWithComp[j] * (1 - committed);
    }
    // compensation of step j in slot s: s >= k + 1 >= j + 2 and s <= USED_SLOTS - 1
    component compSlotIs[SLOTS][COMP_STEPS];
    signal compAt[SLOTS][COMP_STEPS];
    signal compCodeTerm[SLOTS][COMP_STEPS];
    signal compOpTerm[SLOTS][COMP_STEPS];
    signal compSystemTerm[SLOTS][COMP_STEPS];
    var compSlots[COMP_STEPS];
    for (var j = 0; j < COMP_STEPS; j++) {
        compSlots[j] = 0;
    }
    for (var s = 0; s < SLOTS; s++) {
        for (var j = 0; j < COMP_STEPS; j++) {
            if (s >= j + 2 && s < USED_SLOTS) {
                compSlotIs[s][j] = IsZero();
                compSlotIs[s][j].in <== s - failedStep - settled - ownComp - prefixAtK + prefix[j];
                compAt[s][j] <== compSlotIs[s][j].out * compensated[j];
                compCodeTerm[s][j] <== compAt[s][j] * stepCode[j];
                compOpTerm[s][j] <== compAt[s][j] * compOp[j];
                compSystemTerm[s][j] <== compAt[s][j] * compSystem[j];
            } else {
                compAt[s][j] <== 0;
                compCodeTerm[s][j] <== 0;
                compOpTerm[s][j] <== 0;
                compSystemTerm[s][j] <== 0;
            }
            compSlots[j] += compAt[s][j];
        }
    }
    // every compensation due has its slot: a rollback longer than the slots cannot be proven
    for (var j = 0; j < COMP_STEPS; j++) {
        compSlots[j] === compensated[j];
    }

    // ---- the status query (slot k + 1) and the failed step's own compensation (slot k + 2)
    signal queryAt[SLOTS];
    signal queryCode[SLOTS];
    signal queryOp[SLOTS];
    signal querySystem[SLOTS];
    signal ownAt[SLOTS];
    signal ownCode[SLOTS];
    signal ownOp[SLOTS];
    signal ownSystem[SLOTS];
    for (var s = 0; s < SLOTS; s++) {
        if (s >= 1 && s <= MAX_STEPS && s < USED_SLOTS) {
            queryAt[s] <== kSel[s - 1] * settled;
            queryCode[s] <== queryAt[s] * stepCode[s - 1];
            queryOp[s] <== queryAt[s] * settleOp[s - 1];
            querySystem[s] <== queryAt[s] * stepSystem[s - 1];
        } else {
            queryAt[s] <== 0;
            queryCode[s] <== 0;
            queryOp[s] <== 0;
            querySystem[s] <== 0;
        }
        if (s >= 2 && s <= MAX_STEPS + 1 && s < USED_SLOTS) {
            ownAt[s] <== kSel[s - 2] * ownComp;
            ownCode[s] <== ownAt[s] * stepCode[s - 2];
            ownOp[s] <== ownAt[s] * compOp[s - 2];
            ownSystem[s] <== ownAt[s] * compSystem[s - 2];
        } else {
            ownAt[s] <== 0;
            ownCode[s] <== 0;
            ownOp[s] <== 0;
            ownSystem[s] <== 0;
        }
    }

    // the status query and the own compensation have their slots too
    var querySlots = 0;
    var ownSlots = 0;
    for (var s = 0; s < SLOTS; s++) {
        querySlots += queryAt[s];
        ownSlots += ownAt[s];
    }
    querySlots === settled;
    ownSlots === ownComp;

    // ---- the records
    signal fwdCode[MAX_STEPS];
    signal fwdOp[MAX_STEPS];
    signal fwdSystem[MAX_STEPS];
    for (var j = 0; j < MAX_STEPS; j++) {
        fwdCode[j] <== (before[j] + failsHere[j]) * stepCode[j];
        fwdOp[j] <== (before[j] + failsHere[j]) * stepOp[j];
        fwdSystem[j] <== (before[j] + failsHere[j]) * stepSystem[j];
    }

    component steps[USED_SLOTS];
    component isLocal[USED_SLOTS];
    component succeeded[MAX_STEPS];
    signal used[USED_SLOTS];
    signal operation[USED_SLOTS];
    signal system[USED_SLOTS];
    signal isCall[USED_SLOTS];
    signal callSeq[USED_SLOTS];
    signal failedCall[USED_SLOTS];
    signal refusedCall[USED_SLOTS];
    signal declaredCall[USED_SLOTS];
    signal settledCall[USED_SLOTS];
    signal signedCall[USED_SLOTS];
    signal queryEffect[USED_SLOTS];
    signal queryNone[USED_SLOTS];
    signal queryOutcome[USED_SLOTS];
    signal leaves[SLOTS];
    var signedBefore[USED_SLOTS];
    var calls = 0;
    var signed = 0;
    var recordCount = 0;
    for (var i = 0; i < SLOTS; i++) {
        if (i >= USED_SLOTS) {
            leaves[i] <== 0;
            for (var f = 0; f < FIELDS; f++) {
                request[i][f] === 0;
                response[i][f] === 0;
            }
        } else {
            var fwdOk = 0;
            var fwdFailed = 0;
            var code = queryCode[i] + ownCode[i];
            var op = queryOp[i] + ownOp[i];
            var sys = querySystem[i] + ownSystem[i];
            if (i < MAX_STEPS) {
                fwdOk = before[i];
                fwdFailed = failsHere[i];
                code += fwdCode[i];
                op += fwdOp[i];
                sys += fwdSystem[i];
            }
            var comp = ownAt[i];
            for (var j = 0; j < COMP_STEPS; j++) {
                comp += compAt[i][j];
                code += compCodeTerm[i][j];
                op += compOpTerm[i][j];
                sys += compSystemTerm[i][j];
            }
            used[i] <== fwdOk + fwdFailed + comp + queryAt[i];
            operation[i] <== op;
            system[i] <== sys;
            recordCount += used[i];

            isLocal[i] = IsZero();
            isLocal[i].in <== operation[i];
            isCall[i] <== 1 - isLocal[i].out;
            callSeq[i] <== isCall[i] * (calls + 1);
            calls += isCall[i];
            if (i < MAX_STEPS) {
                failedCall[i] <== isCall[i] * fwdFailed;
            } else {
                failedCall[i] <== 0;
            }
            refusedCall[i] <== failedCall[i] * mSel[0];
            declaredCall[i] <== failedCall[i] * mSel[1];
            settledCall[i] <== failedCall[i] * mSel[2];
            // every call but a settled failed call is signed (a status query is)
            signedCall[i] <== isCall[i] - declaredCall[i] - settledCall[i];
            signedBefore[i] = signed;
            signed += signedCall[i];
            queryEffect[i] <== queryAt[i] * mSel[2];
            queryNone[i] <== queryAt[i] * mSel[1];

            steps[i] = StepLeaf(FIELDS);
            steps[i].index <== i;
            steps[i].stepCode <== code;
            steps[i].phase <== PHASE_FORWARD * (fwdOk + fwdFailed) + PHASE_COMPENSATE * comp + PHASE_SETTLE * queryAt[i];
            steps[i].status <== STATUS_OK * (fwdOk + comp + queryAt[i]) + STATUS_FAILED * fwdFailed;
            steps[i].callSeq <== callSeq[i];
            steps[i].operation <== operation[i];
            // signed calls: ATTESTED (a refusal too); a failed call settled: DECLARED (no effect) or
            // SETTLED (took effect)
            steps[i].evidence <== EVIDENCE_ATTESTED * signedCall[i] + EVIDENCE_DECLARED * declaredCall[i] + EVIDENCE_SETTLED * settledCall[i];
            steps[i].request <== request[i];
            steps[i].response <== response[i];
            steps[i].salt <== salt[i];
            leaves[i] <== used[i] * steps[i].leaf;

            // succeeded: forward and compensating calls, a failed call that took effect, and the
            // status query that says so (TOOK_EFFECT = 1)
            (signedCall[i] - refusedCall[i] - queryNone[i] + settledCall[i]) * (response[i][0] - CALL_SUCCEEDED) === 0;
            if (i < MAX_STEPS) {
                succeeded[i] = IsEqual();
                succeeded[i].in[0] <== response[i][0];
                succeeded[i].in[1] <== CALL_SUCCEEDED;
                refusedCall[i] * succeeded[i].out === 0;
                for (var f = 0; f < FIELDS; f++) {
                    declaredCall[i] * response[i][f] === 0;
                }
            }
            // the status query names the call before it and answers [outcome, hash, 0, 0]
            if (i >= 1 && i <= MAX_STEPS) {
                queryAt[i] * (request[i][0] - callSeq[i - 1]) === 0;
                queryAt[i] * (request[i][1] - operation[i - 1]) === 0;
                queryAt[i] * (request[i][2] - steps[i - 1].requestHash) === 0;
                queryAt[i] * request[i][3] === 0;
                queryAt[i] * response[i][2] === 0;
                queryAt[i] * response[i][3] === 0;
                queryEffect[i] * (response[i][1] - steps[i - 1].responseHash) === 0;
                // NO_EFFECT (2) or REFUSED (3)
                queryOutcome[i] <== queryNone[i] * (response[i][0] - 2);
                queryOutcome[i] * (response[i][0] - 3) === 0;
            } else {
                queryOutcome[i] <== 0;
            }
            // no data outside the trace
            for (var f = 0; f < FIELDS; f++) {
                (1 - used[i]) * request[i][f] === 0;
                (1 - used[i]) * response[i][f] === 0;
            }
        }
    }

    // ---- the signed calls: attestation c belongs to the signed call record with c signed calls before it
    component callIs[USED_SLOTS][MAX_CALLS];
    signal callAt[USED_SLOTS][MAX_CALLS];
    signal seqTerm[USED_SLOTS][MAX_CALLS];
    signal operationTerm[USED_SLOTS][MAX_CALLS];
    signal systemTerm[USED_SLOTS][MAX_CALLS];
    signal requestTerm[USED_SLOTS][MAX_CALLS];
    signal responseTerm[USED_SLOTS][MAX_CALLS];
    for (var i = 0; i < USED_SLOTS; i++) {
        var slotsOfCall = 0;
        for (var c = 0; c < MAX_CALLS; c++) {
            if (c <= i) {
                callIs[i][c] = IsEqual();
                callIs[i][c].in[0] <== signedBefore[i];
                callIs[i][c].in[1] <== c;
                callAt[i][c] <== signedCall[i] * callIs[i][c].out;
                seqTerm[i][c] <== callAt[i][c] * callSeq[i];
                operationTerm[i][c] <== callAt[i][c] * operation[i];
                systemTerm[i][c] <== callAt[i][c] * system[i];
                requestTerm[i][c] <== callAt[i][c] * steps[i].requestHash;
                responseTerm[i][c] <== callAt[i][c] * steps[i].responseHash;
            } else {
                callAt[i][c] <== 0;
                seqTerm[i][c] <== 0;
                operationTerm[i][c] <== 0;
                systemTerm[i][c] <== 0;
                requestTerm[i][c] <== 0;
                responseTerm[i][c] <== 0;
            }
            slotsOfCall += callAt[i][c];
        }
        // every signed call has an attestation slot: at most MAX_CALLS of them
        slotsOfCall === signedCall[i];
    }

    component attestations[MAX_CALLS];
    for (var c = 0; c < MAX_CALLS; c++) {
        var enabled = 0;
        var callSeqOf = 0;
        var callOperation = 0;
        var callSystem = 0;
        var callRequestHash = 0;
        var callResponseHash = 0;
        for (var i = 0; i < USED_SLOTS; i++) {
            enabled += callAt[i][c];
            callSeqOf += seqTerm[i][c];
            callOperation += operationTerm[i][c];
            callSystem += systemTerm[i][c];
            callRequestHash += requestTerm[i][c];
            callResponseHash += responseTerm[i][c];
        }
        attestations[c] = ProviderAttestation(PROVIDER_DEPTH);
        attestations[c].enabled <== enabled;
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
    component commitment = TraceCommitment(TRACE_DEPTH);
    commitment.workflowId <== workflowId;
    commitment.outcome <== outcome;
    commitment.stepCount <== recordCount;
    commitment.leaves <== leaves;
    commitment.traceRoot === traceRoot;

    // ---- the run's id: bound to its submitter and to this definition (its hash, which the
    // registry supplies as the last public signal)
    component binding = RunBinding();
    binding.workflowId <== workflowId;
    binding.submitter <== submitter;
    binding.workflowTag <== definitionHash;
    binding.runNonce <== runNonce;

    // ---- the run's claim: its outcome and submitter in one public signal (RunClaim, lib/trace.circom)
    component claim = RunClaim();
    claim.submitter <== submitter;
    claim.outcome <== outcome;
    runClaim <== claim.runClaim;
}
