pragma circom 2.1.9;

include "circomlib/circuits/comparators.circom";
include "circomlib/circuits/poseidon.circom";
include "./trace.circom";
include "./attestation.circom";

// WorkflowDefinitionHash(MAX_STEPS)
// The hash that identifies a workflow definition of stepCount forward steps, given as MAX_STEPS rows
// (rows at and after stepCount are all zero):
//   rowHash[j] = Poseidon(stepCode[j], stepOp[j], stepSystem[j], hasComp[j], compOp[j], compSystem[j])
//   hash = Poseidon(stepCount, rowHash[0], ..., rowHash[MAX_STEPS - 1])
// Same encoding as src/trace/layout.ts (`workflowDefinitionHash`); a test checks they agree.
// Only hashes: WorkflowTrace constrains the rows to be well formed.
template WorkflowDefinitionHash(MAX_STEPS) {
    assert(MAX_STEPS >= 1 && MAX_STEPS <= 15); // Poseidon takes at most 16 inputs
    signal input stepCount;
    signal input stepCode[MAX_STEPS];
    signal input stepOp[MAX_STEPS];
    signal input stepSystem[MAX_STEPS];
    signal input hasComp[MAX_STEPS];
    signal input compOp[MAX_STEPS];
    signal input compSystem[MAX_STEPS];
    signal output hash;

    component rowHash[MAX_STEPS];
    component definition = Poseidon(1 + MAX_STEPS);
    definition.inputs[0] <== stepCount;
    for (var j = 0; j < MAX_STEPS; j++) {
        rowHash[j] = Poseidon(6);
        rowHash[j].inputs[0] <== stepCode[j];
        rowHash[j].inputs[1] <== stepOp[j];
        rowHash[j].inputs[2] <== stepSystem[j];
        rowHash[j].inputs[3] <== hasComp[j];
        rowHash[j].inputs[4] <== compOp[j];
        rowHash[j].inputs[5] <== compSystem[j];
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
// stepSystem (the operation and system the step calls, both 0 for a local step); hasComp (0 or 1);
// compOp and compSystem (the compensation's call, both 0 for a local compensation, and both 0 when
// hasComp = 0). Rows j >= n are all zero. definitionHash = WorkflowDefinitionHash(rows).
//
// Proves there is a trace committed by traceRoot (TraceCommitment over 2^TRACE_DEPTH slots) whose
// records are exactly, for the private failedStep k (0..n):
//   k = n (outcome = COMMITTED = 1):  F0..F(n-1), all FORWARD/OK;
//   k < n (outcome = ROLLED_BACK = 2):  F0..F(k-1) FORWARD/OK, then Fk FORWARD/FAILED, then the
//     compensations of steps k-1..0 that have one, in that order, COMPENSATE/OK, each with the code
//     of the step it compensates and the compensation's operation;
// record i in slot i (its index field), slots after the last record 0, stepCount of the commitment =
// the number of records, calls (records with operation != 0) numbered 1, 2, ... in trace order
// (callSeq 0 for local records), at most MAX_CALLS calls, and:
//   - every call of an OK record is attested: a key of the definition's system for that call
//     (stepSystem forward, compSystem compensating) is in the provider set providerSetRoot and
//     signed (workflowId, callSeq, operation, requestHash, responseHash) over the recorded fields,
//     and response[0] = 1 (succeeded);
//   - the failed step's call (if it has one) is either attested with response[0] != 1 (evidence
//     ATTESTED, failedCallAttested = 1) or declared (no signature: evidence DECLARED, response all 0);
//   - each record's evidence field says which (NONE for local records).
// The run's id is bound (RunBinding, lib/trace.circom): workflowId = Poseidon(submitter,
// definitionHash, runNonce), runNonce private. Public, in this order: workflowId, outcome,
// traceRoot, providerSetRoot, submitter, definitionHash.
//
// How: the layout is computed from (n, k, hasComp) with one-hot selectors of n and k and equality
// tests only (no range comparator is needed): forward record i is step i; the compensation of step
// j (j < k, hasComp[j] = 1) is in slot k + P(k) - P(j), where P(t) = the number of steps before t
// with a compensation; call slot c (callSeq c + 1) is the call record with c calls before it. No
// auxiliary witness: every record field is a function of the definition and k. The request and
// response fields of slots after the last record must be 0 (nothing rides along outside the trace),
// and failedCallAttested must be 0 unless a call failed.
// Assumptions: request/response values are field elements; business meaning is checked elsewhere.
template WorkflowTrace(TRACE_DEPTH, PROVIDER_DEPTH, MAX_STEPS, MAX_CALLS) {
    assert(MAX_STEPS >= 1 && MAX_STEPS <= 15);
    assert(MAX_CALLS >= 1);
    var FIELDS = 4;
    var SLOTS = 1 << TRACE_DEPTH;
    // the longest trace: steps 0..MAX_STEPS-2 done, step MAX_STEPS-1 failed, MAX_STEPS-1 compensations
    var USED_SLOTS = 2 * MAX_STEPS - 1;
    assert(USED_SLOTS <= SLOTS);
    var COMP_STEPS = MAX_STEPS - 1; // the last step is never compensated (nothing fails after it)

    var PHASE_FORWARD = 1;
    var PHASE_COMPENSATE = 2;
    var STATUS_OK = 1;
    var STATUS_FAILED = 2;
    var EVIDENCE_DECLARED = 1;
    var EVIDENCE_ATTESTED = 2;
    var CALL_SUCCEEDED = 1;

    // public (this order)
    signal input workflowId;
    signal input outcome;
    signal input traceRoot;
    signal input providerSetRoot;
    signal input submitter;
    signal input definitionHash;

    // private: workflowId = Poseidon(submitter, definitionHash, runNonce)
    signal input runNonce;

    // the definition
    signal input stepCount;
    signal input stepCode[MAX_STEPS];
    signal input stepOp[MAX_STEPS];
    signal input stepSystem[MAX_STEPS];
    signal input hasComp[MAX_STEPS];
    signal input compOp[MAX_STEPS];
    signal input compSystem[MAX_STEPS];

    // the run
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
    failedCallAttested * (1 - failedCallAttested) === 0;

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

    // ---- where the compensations go: step j's compensation in slot k + P(k) - P(j)
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
    // compensation of step j in slot s: s >= k + 1 >= j + 2 and s <= 2k <= USED_SLOTS - 1
    component compSlotIs[SLOTS][COMP_STEPS];
    signal compAt[SLOTS][COMP_STEPS];
    signal compCodeTerm[SLOTS][COMP_STEPS];
    signal compOpTerm[SLOTS][COMP_STEPS];
    signal compSystemTerm[SLOTS][COMP_STEPS];
    for (var s = 0; s < SLOTS; s++) {
        for (var j = 0; j < COMP_STEPS; j++) {
            if (s >= j + 2 && s < USED_SLOTS) {
                compSlotIs[s][j] = IsZero();
                compSlotIs[s][j].in <== s - failedStep - prefixAtK + prefix[j];
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
        }
    }

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
    signal attestedFailure[USED_SLOTS];
    signal leaves[SLOTS];
    var callsBefore[USED_SLOTS];
    var calls = 0;
    var recordCount = 0;
    var failedCalls = 0;
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
            var code = 0;
            var op = 0;
            var sys = 0;
            if (i < MAX_STEPS) {
                fwdOk = before[i];
                fwdFailed = failsHere[i];
                code = fwdCode[i];
                op = fwdOp[i];
                sys = fwdSystem[i];
            }
            var comp = 0;
            for (var j = 0; j < COMP_STEPS; j++) {
                comp += compAt[i][j];
                code += compCodeTerm[i][j];
                op += compOpTerm[i][j];
                sys += compSystemTerm[i][j];
            }
            used[i] <== fwdOk + fwdFailed + comp;
            operation[i] <== op;
            system[i] <== sys;
            recordCount += used[i];

            isLocal[i] = IsZero();
            isLocal[i].in <== operation[i];
            isCall[i] <== 1 - isLocal[i].out;
            callsBefore[i] = calls;
            callSeq[i] <== isCall[i] * (calls + 1);
            calls += isCall[i];
            if (i < MAX_STEPS) {
                failedCall[i] <== isCall[i] * fwdFailed;
            } else {
                failedCall[i] <== 0;
            }
            failedCalls += failedCall[i];
            attestedFailure[i] <== failedCallAttested * failedCall[i];
            var mustSucceed = isCall[i] - failedCall[i];

            steps[i] = StepLeaf(FIELDS);
            steps[i].index <== i;
            steps[i].stepCode <== code;
            steps[i].phase <== PHASE_FORWARD * (fwdOk + fwdFailed) + PHASE_COMPENSATE * comp;
            steps[i].status <== STATUS_OK * (fwdOk + comp) + STATUS_FAILED * fwdFailed;
            steps[i].callSeq <== callSeq[i];
            steps[i].operation <== operation[i];
            // OK call: ATTESTED; failed call: DECLARED, or ATTESTED when the system signed its refusal
            steps[i].evidence <== EVIDENCE_ATTESTED * mustSucceed + EVIDENCE_DECLARED * failedCall[i] + attestedFailure[i];
            steps[i].request <== request[i];
            steps[i].response <== response[i];
            steps[i].salt <== salt[i];
            leaves[i] <== used[i] * steps[i].leaf;

            mustSucceed * (response[i][0] - CALL_SUCCEEDED) === 0;
            if (i < MAX_STEPS) {
                succeeded[i] = IsEqual();
                succeeded[i].in[0] <== response[i][0];
                succeeded[i].in[1] <== CALL_SUCCEEDED;
                attestedFailure[i] * succeeded[i].out === 0;
                for (var f = 0; f < FIELDS; f++) {
                    (failedCall[i] - attestedFailure[i]) * response[i][f] === 0;
                }
            }
            // no data outside the trace
            for (var f = 0; f < FIELDS; f++) {
                (1 - used[i]) * request[i][f] === 0;
                (1 - used[i]) * response[i][f] === 0;
            }
        }
    }
    // failedCallAttested says something only about a failed call
    failedCallAttested * (1 - failedCalls) === 0;

    // ---- the calls: attestation c belongs to the call record with c calls before it (callSeq c + 1)
    component callIs[USED_SLOTS][MAX_CALLS];
    signal callAt[USED_SLOTS][MAX_CALLS];
    signal enabledTerm[USED_SLOTS][MAX_CALLS];
    signal operationTerm[USED_SLOTS][MAX_CALLS];
    signal systemTerm[USED_SLOTS][MAX_CALLS];
    signal requestTerm[USED_SLOTS][MAX_CALLS];
    signal responseTerm[USED_SLOTS][MAX_CALLS];
    for (var i = 0; i < USED_SLOTS; i++) {
        var slotsOfCall = 0;
        for (var c = 0; c < MAX_CALLS; c++) {
            if (c <= i) {
                callIs[i][c] = IsEqual();
                callIs[i][c].in[0] <== callsBefore[i];
                callIs[i][c].in[1] <== c;
                callAt[i][c] <== isCall[i] * callIs[i][c].out;
                // attested: an OK record's call, or the failed call when the refusal was signed
                enabledTerm[i][c] <== callAt[i][c] * (isCall[i] - failedCall[i] + attestedFailure[i]);
                operationTerm[i][c] <== callAt[i][c] * operation[i];
                systemTerm[i][c] <== callAt[i][c] * system[i];
                requestTerm[i][c] <== callAt[i][c] * steps[i].requestHash;
                responseTerm[i][c] <== callAt[i][c] * steps[i].responseHash;
            } else {
                callAt[i][c] <== 0;
                enabledTerm[i][c] <== 0;
                operationTerm[i][c] <== 0;
                systemTerm[i][c] <== 0;
                requestTerm[i][c] <== 0;
                responseTerm[i][c] <== 0;
            }
            slotsOfCall += callAt[i][c];
        }
        // every call has an attestation slot: at most MAX_CALLS calls
        slotsOfCall === isCall[i];
    }

    component attestations[MAX_CALLS];
    for (var c = 0; c < MAX_CALLS; c++) {
        var enabled = 0;
        var callOperation = 0;
        var callSystem = 0;
        var callRequestHash = 0;
        var callResponseHash = 0;
        for (var i = 0; i < USED_SLOTS; i++) {
            enabled += enabledTerm[i][c];
            callOperation += operationTerm[i][c];
            callSystem += systemTerm[i][c];
            callRequestHash += requestTerm[i][c];
            callResponseHash += responseTerm[i][c];
        }
        attestations[c] = ProviderAttestation(PROVIDER_DEPTH);
        attestations[c].enabled <== enabled;
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
}
