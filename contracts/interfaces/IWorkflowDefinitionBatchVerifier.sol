// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Groth16Proof} from "./Groth16Proof.sol";

/// @title IWorkflowDefinitionBatchVerifier
/// @notice The batch verifier of the generic circuit of user-defined workflows (five public signals),
///         generated at setup from its verification key: N proofs of one definition at once.
/// @dev Each proof's first four signals are its own (as for IWorkflowVerifier); the fifth, the definition's
///      hash, is the same for every proof of a batch (the registry supplies it from the template), so it is
///      passed once and its multi-scalar multiplication term costs one ecMul per batch.
interface IWorkflowDefinitionBatchVerifier {
    /// @notice Checks every proof of a batch, each with `definitionHash` as its fifth public signal.
    /// @param proofs The proofs, N ≥ 1.
    /// @param pubSignals Each proof's first four public signals, in the order of `proofs`.
    /// @param definitionHash The fifth public signal of every proof.
    /// @return True when every proof is valid (see IWorkflowBatchVerifier.verifyBatch).
    function verifyBatch(
        Groth16Proof[] calldata proofs,
        uint256[4][] calldata pubSignals,
        uint256 definitionHash
    ) external view returns (bool);
}
