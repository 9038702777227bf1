// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IWorkflowVerifier} from "../interfaces/IWorkflowVerifier.sol";

/// @title MockWorkflowVerifier
/// @notice A verifier whose answer is set by the test, for fast unit tests of the registry only.
contract MockWorkflowVerifier is IWorkflowVerifier {
    bool public result = true;
    /// @notice When non-zero, proofs whose A.x is this value are refused (a batch's bad run, for tests).
    /// @dev In the slot of `result`: a submission reads one slot of the mock, as before.
    uint248 public rejectedAx;

    /// @notice Makes later verifyProof calls refuse proofs whose A.x is `ax` (0: none).
    /// @param ax The A.x to refuse.
    function setRejectedAx(uint248 ax) external {
        rejectedAx = ax;
    }

    /// @notice Sets the answer of every later verifyProof call.
    /// @param result_ The answer.
    function setResult(bool result_) external {
        result = result_;
    }

    /// @inheritdoc IWorkflowVerifier
    function verifyProof(
        uint256[2] calldata _pA,
        uint256[2][2] calldata,
        uint256[2] calldata,
        uint256[4] calldata
    ) external view returns (bool) {
        if (rejectedAx != 0 && _pA[0] == rejectedAx) return false;
        return result;
    }
}
