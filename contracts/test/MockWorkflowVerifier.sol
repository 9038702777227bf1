// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IWorkflowVerifier} from "../interfaces/IWorkflowVerifier.sol";

/// @title MockWorkflowVerifier
/// @notice A verifier whose answer is set by the test, for fast unit tests of the registry only.
contract MockWorkflowVerifier is IWorkflowVerifier {
    bool public result = true;

    /// @notice Sets the answer of every later verifyProof call.
    /// @param result_ The answer.
    function setResult(bool result_) external {
        result = result_;
    }

    /// @inheritdoc IWorkflowVerifier
    function verifyProof(
        uint256[2] calldata,
        uint256[2][2] calldata,
        uint256[2] calldata,
        uint256[5] calldata
    ) external view returns (bool) {
        return result;
    }
}
