// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IWorkflowStateVerifier} from "../interfaces/IWorkflowStateVerifier.sol";

/// @title MockWorkflowStateVerifier
/// @notice A seven-input verifier whose answer is set by the test, for unit tests of the registry only.
contract MockWorkflowStateVerifier is IWorkflowStateVerifier {
    bool public result = true;

    /// @notice Sets the answer of every later verifyProof call.
    /// @param result_ The answer.
    function setResult(bool result_) external {
        result = result_;
    }

    /// @inheritdoc IWorkflowStateVerifier
    function verifyProof(
        uint256[2] calldata,
        uint256[2][2] calldata,
        uint256[2] calldata,
        uint256[7] calldata
    ) external view returns (bool) {
        return result;
    }
}
