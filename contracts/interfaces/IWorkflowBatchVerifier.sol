// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Groth16Proof} from "./Groth16Proof.sol";

/// @title IWorkflowBatchVerifier
/// @notice The batch verifier of a template of its own circuit (four public signals), generated at setup
///         from the circuit's verification key beside snarkjs's single verifier: it checks N proofs of that
///         key with one random linear combination (N + 3 pairings instead of 4N).
/// @dev Public signals of each proof, in order: runClaim, workflowId, traceRoot, providerSetRoot.
interface IWorkflowBatchVerifier {
    /// @notice Checks every proof of a batch against the verification key at once.
    /// @param proofs The proofs, N ≥ 1.
    /// @param pubSignals Each proof's four public signals, in the order of `proofs`.
    /// @return True when every proof is valid for its signals (up to a 2^-250 chance that a batch holding
    ///         an invalid proof passes); false for an empty batch, lengths that differ, a signal not below
    ///         the scalar field, a coordinate not below the base field or a point not on its curve.
    function verifyBatch(
        Groth16Proof[] calldata proofs,
        uint256[4][] calldata pubSignals
    ) external view returns (bool);
}
