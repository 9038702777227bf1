// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Groth16Proof} from "../interfaces/Groth16Proof.sol";
import {IWorkflowBatchVerifier} from "../interfaces/IWorkflowBatchVerifier.sol";
import {IWorkflowDefinitionBatchVerifier} from "../interfaces/IWorkflowDefinitionBatchVerifier.sol";
import {IWorkflowStateBatchVerifier} from "../interfaces/IWorkflowStateBatchVerifier.sol";

/// @title MockWorkflowBatchVerifier
/// @notice A batch verifier of every kind whose answer is set by the test, for unit tests of the registry
///         only. In echo mode the definition kind reverts with the definition hash it was given.
contract MockWorkflowBatchVerifier is
    IWorkflowBatchVerifier,
    IWorkflowDefinitionBatchVerifier,
    IWorkflowStateBatchVerifier
{
    /// @notice Raised by the definition kind's verifyBatch in echo mode: the batch size and shared hash.
    error MockBatchVerifier__Received(uint256 count, uint256 definitionHash);

    bool public result = true;
    bool public echo;

    /// @notice Sets the answer of every later verifyBatch call.
    /// @param result_ The answer.
    function setResult(bool result_) external {
        result = result_;
    }

    /// @notice Makes the definition kind's verifyBatch revert with what it receives (or answer again).
    /// @param echo_ Whether to revert with MockBatchVerifier__Received.
    function setEcho(bool echo_) external {
        echo = echo_;
    }

    /// @inheritdoc IWorkflowBatchVerifier
    function verifyBatch(Groth16Proof[] calldata, uint256[4][] calldata) external view returns (bool) {
        return result;
    }

    /// @inheritdoc IWorkflowDefinitionBatchVerifier
    function verifyBatch(
        Groth16Proof[] calldata proofs,
        uint256[4][] calldata,
        uint256 definitionHash
    ) external view returns (bool) {
        if (echo) revert MockBatchVerifier__Received(proofs.length, definitionHash);
        return result;
    }

    /// @inheritdoc IWorkflowStateBatchVerifier
    function verifyBatch(Groth16Proof[] calldata, uint256[6][] calldata) external view returns (bool) {
        return result;
    }
}
