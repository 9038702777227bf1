// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Groth16Proof} from "./Groth16Proof.sol";

/// @title IWorkflowStateBatchVerifier
/// @notice The batch verifier of a state template's circuit (six public signals), generated at setup
///         from its verification key: N proofs at once (N + 3 pairings instead of 4N).
/// @dev Public signals of each proof, in order: runClaim, workflowId, traceRoot, providerSetRoot,
///      stateRootBefore, stateRootAfter.
interface IWorkflowStateBatchVerifier {
    /// @notice Checks every proof of a batch against the verification key at once.
    /// @param proofs The proofs, N ≥ 1.
    /// @param pubSignals Each proof's six public signals, in the order of `proofs`.
    /// @return True when every proof is valid (see IWorkflowBatchVerifier.verifyBatch).
    function verifyBatch(
        Groth16Proof[] calldata proofs,
        uint256[6][] calldata pubSignals
    ) external view returns (bool);
}
