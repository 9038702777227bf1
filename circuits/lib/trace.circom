pragma circom 2.1.9;

include "circomlib/circuits/bitify.circom";
include "circomlib/circuits/poseidon.circom";
include "./merkle.circom";

// StepLeaf(FIELDS)
// Hashes one step record of the trace:
//   requestHash  = Poseidon(request[0..FIELDS))
//   responseHash = Poseidon(response[0..FIELDS))
//   leaf = Poseidon(index, stepCode, phase, status, callSeq, operation, requestHash, responseHash, evidence, salt)
// salt is a private, uniformly random field element per record: a disclosed Merkle path reveals the
// sibling leaves, and without it a low-entropy record (codes, an amount in a range) could be
// recovered from its leaf by brute force.
// Same encoding as src/trace/commitment.ts (`stepLeafInputs`); a test checks they agree.
template StepLeaf(FIELDS) {
    assert(FIELDS > 0 && FIELDS <= 16);
    signal input index;
    signal input stepCode;
    signal input phase;
    signal input status;
    signal input callSeq;
    signal input operation;
    signal input evidence;
    signal input salt;
    signal input request[FIELDS];
    signal input response[FIELDS];
    signal output requestHash;
    signal output responseHash;
    signal output leaf;

    component requestHasher = Poseidon(FIELDS);
    component responseHasher = Poseidon(FIELDS);
    for (var i = 0; i < FIELDS; i++) {
        requestHasher.inputs[i] <== request[i];
        responseHasher.inputs[i] <== response[i];
    }
    requestHash <== requestHasher.out;
    responseHash <== responseHasher.out;

    component leafHasher = Poseidon(10);
    leafHasher.inputs[0] <== index;
    leafHasher.inputs[1] <== stepCode;
    leafHasher.inputs[2] <== phase;
    leafHasher.inputs[3] <== status;
    leafHasher.inputs[4] <== callSeq;
    leafHasher.inputs[5] <== operation;
    leafHasher.inputs[6] <== requestHash;
    leafHasher.inputs[7] <== responseHash;
    leafHasher.inputs[8] <== evidence;
    leafHasher.inputs[9] <== salt;
    leaf <== leafHasher.out;
}

// TraceCommitment(DEPTH)
// traceRoot = Poseidon(workflowId, outcome, stepCount, MerkleTreeRoot(DEPTH)(leaves)).
// Unused leaf slots must be 0 (the caller sets them).
template TraceCommitment(DEPTH) {
    signal input workflowId;
    signal input outcome;
    signal input stepCount;
    signal input leaves[1 << DEPTH];
    signal output traceRoot;

    component steps = MerkleTreeRoot(DEPTH);
    for (var i = 0; i < (1 << DEPTH); i++) {
        steps.leaves[i] <== leaves[i];
    }
    component root = Poseidon(4);
    root.inputs[0] <== workflowId;
    root.inputs[1] <== outcome;
    root.inputs[2] <== stepCount;
    root.inputs[3] <== steps.root;
    traceRoot <== root.out;
}

// RunBinding()
// workflowId = Poseidon(submitter, workflowTag, runNonce): a run's id is a commitment to the address
// that may record it, to the workflow it belongs to, and to a private random nonce (journaled with
// the run). The id is the registry's nullifier and what every provider signs, so
//   - no other address can prove anything for the id: a proof for submitter S' needs
//     Poseidon(S', tag, nonce') = workflowId, a collision (this closes squatting a run's id with a
//     fabricated rollback that needs no signature);
//   - a run's signatures are useless to any other submitter and under any other workflow (a tag is
//     the definition's hash for user-defined workflows, a constant per built-in scenario).
// workflowTag is supplied by the template (a constant, or the registry's definitionHash), never
// by the prover.
template RunBinding() {
    signal input workflowId;
    signal input submitter;
    signal input workflowTag;
    signal input runNonce;

    component id = Poseidon(3);
    id.inputs[0] <== submitter;
    id.inputs[1] <== workflowTag;
    id.inputs[2] <== runNonce;
    id.out === workflowId;
}

// RunClaim()
// runClaim = submitter + outcome * 2^160: the run's outcome and the address that may record it in one
// public signal (one public input fewer: ~6.5k gas per verification). The registry reads
// submitter = runClaim mod 2^160 and outcome = runClaim >> 160, and requires outcome 1 or 2 and
// submitter = msg.sender. The split is unique only because both parts are range-checked here:
// submitter below 2^160 (else S + 2^160 with outcome 1 would read as S with outcome 2) and outcome
// 1 or 2; runClaim < 2^162 is then far below the field's modulus, so no wrap-around either.
template RunClaim() {
    signal input submitter;
    signal input outcome;
    signal output runClaim;

    component submitterBits = Num2Bits(160);
    submitterBits.in <== submitter;
    (outcome - 1) * (outcome - 2) === 0;
    runClaim <== submitter + outcome * (1 << 160);
}
