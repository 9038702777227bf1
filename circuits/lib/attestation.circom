pragma circom 2.1.9;

include "circomlib/circuits/poseidon.circom";
include "circomlib/circuits/eddsaposeidon.circom";
include "circomlib/circuits/babyjub.circom";
include "./merkle.circom";

// ProviderAttestation(PROVIDER_DEPTH)
// Proves, when enabled = 1, that an external system signed one call:
//   message = Poseidon(workflowId, callSeq, operation, requestHash, responseHash)
//   EdDSA-Poseidon signature (R8, S) on message verifies under key (Ax, Ay)   [circomlib]
//   Poseidon(systemCode, Ax, Ay) is a leaf of the provider-set tree with root providerSetRoot
// Always: (Ax, Ay) and R8 are points of BabyJubJub [BabyCheck]; a disabled attestation (a call with
// no signed answer, or no call) takes the identity point (0, 1) for both and S = 0.
// The caller fixes systemCode to the system the template expects for the call, so one system
// cannot sign for another, and drives enabled from the trace layout (never a free witness bit).
// enabled is constrained to a bit here (the caller's expression should already make it one); S <
// subgroup order is checked by circomlib's verifier; pathIndices are constrained to bits by
// MerkleInclusionRoot.
template ProviderAttestation(PROVIDER_DEPTH) {
    signal input enabled;
    signal input workflowId;
    signal input callSeq;
    signal input operation;
    signal input requestHash;
    signal input responseHash;
    signal input systemCode;
    signal input providerSetRoot;
    signal input publicKey[2];
    signal input signatureR8[2];
    signal input signatureS;
    signal input pathElements[PROVIDER_DEPTH];
    signal input pathIndices[PROVIDER_DEPTH];

    component message = Poseidon(5);
    message.inputs[0] <== workflowId;
    message.inputs[1] <== callSeq;
    message.inputs[2] <== operation;
    message.inputs[3] <== requestHash;
    message.inputs[4] <== responseHash;

    component signature = ProviderSignature(PROVIDER_DEPTH);
    signature.enabled <== enabled;
    signature.message <== message.out;
    signature.systemCode <== systemCode;
    signature.providerSetRoot <== providerSetRoot;
    signature.publicKey <== publicKey;
    signature.signatureR8 <== signatureR8;
    signature.signatureS <== signatureS;
    signature.pathElements <== pathElements;
    signature.pathIndices <== pathIndices;
}

// ProviderSignature(PROVIDER_DEPTH)
// Proves, when enabled = 1, that the system whose key (Ax, Ay) is in the provider set under
// systemCode (leaf Poseidon(systemCode, Ax, Ay) under providerSetRoot) signed `message` (EdDSA-
// Poseidon, circomlib). The caller computes the message (a call's, ProviderAttestation; a run's
// receipt, lib/saga.circom); the same conventions as ProviderAttestation for disabled slots, curve
// checks and bits.
template ProviderSignature(PROVIDER_DEPTH) {
    signal input enabled;
    signal input message;
    signal input systemCode;
    signal input providerSetRoot;
    signal input publicKey[2];
    signal input signatureR8[2];
    signal input signatureS;
    signal input pathElements[PROVIDER_DEPTH];
    signal input pathIndices[PROVIDER_DEPTH];

    enabled * (1 - enabled) === 0;

    component keyOnCurve = BabyCheck();
    keyOnCurve.x <== publicKey[0];
    keyOnCurve.y <== publicKey[1];
    component r8OnCurve = BabyCheck();
    r8OnCurve.x <== signatureR8[0];
    r8OnCurve.y <== signatureR8[1];

    component verifier = EdDSAPoseidonVerifier();
    verifier.enabled <== enabled;
    verifier.Ax <== publicKey[0];
    verifier.Ay <== publicKey[1];
    verifier.S <== signatureS;
    verifier.R8x <== signatureR8[0];
    verifier.R8y <== signatureR8[1];
    verifier.M <== message;

    component leaf = Poseidon(3);
    leaf.inputs[0] <== systemCode;
    leaf.inputs[1] <== publicKey[0];
    leaf.inputs[2] <== publicKey[1];

    component inclusion = MerkleInclusionRoot(PROVIDER_DEPTH);
    inclusion.leaf <== leaf.out;
    for (var i = 0; i < PROVIDER_DEPTH; i++) {
        inclusion.pathElements[i] <== pathElements[i];
        inclusion.pathIndices[i] <== pathIndices[i];
    }
    enabled * (inclusion.root - providerSetRoot) === 0;
}
