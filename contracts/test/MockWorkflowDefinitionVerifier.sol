// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IWorkflowDefinitionVerifier} from "../interfaces/IWorkflowDefinitionVerifier.sol";

/// @title MockWorkflowDefinitionVerifier
/// @notice A five-signal verifier whose answer is set by the test, for fast unit tests of the registry only.
/// @dev verifyProof is a view (the registry calls it with STATICCALL), so it cannot record what it received.
///      Instead a test can require a definition hash (any other fifth signal is refused, as the real
///      verifier would) or switch on `echo`, which reverts with the five signals received; the registry
///      bubbles that revert up, so the test reads them from it.
contract MockWorkflowDefinitionVerifier is IWorkflowDefinitionVerifier {
    /// @notice Raised by verifyProof in echo mode, carrying the public signals it was given.
    error MockDefinitionVerifier__Received(uint256[5] pubSignals);

    bool public result = true;
    bool public echo;
    /// @notice When non-zero, proofs whose A.x is this value are refused (a batch's bad run, for tests).
    /// @dev In the slot of `result` and `echo`: a submission reads one slot of the mock for them, as before.
    uint240 public rejectedAx;
    /// @notice When non-zero, the only fifth signal verifyProof accepts.
    uint256 public requiredDefinitionHash;

    /// @notice Makes later verifyProof calls refuse proofs whose A.x is `ax` (0: none).
    /// @param ax The A.x to refuse.
    function setRejectedAx(uint240 ax) external {
        rejectedAx = ax;
    }

    /// @notice Sets the answer of every later verifyProof call (subject to the required definition hash).
    /// @param result_ The answer.
    function setResult(bool result_) external {
        result = result_;
    }

    /// @notice Makes later verifyProof calls revert with the signals they receive (or answer again).
    /// @param echo_ Whether to revert with MockDefinitionVerifier__Received.
    function setEcho(bool echo_) external {
        echo = echo_;
    }

    /// @notice Makes later verifyProof calls refuse any fifth signal but `definitionHash`; 0 accepts any.
    /// @param definitionHash The definition hash to require.
    function setRequiredDefinitionHash(uint256 definitionHash) external {
        requiredDefinitionHash = definitionHash;
    }

    /// @inheritdoc IWorkflowDefinitionVerifier
    function verifyProof(
        uint256[2] calldata _pA,
        uint256[2][2] calldata,
        uint256[2] calldata,
        uint256[5] calldata _pubSignals
    ) external view returns (bool) {
        if (rejectedAx != 0 && _pA[0] == rejectedAx) return false;
        if (echo) revert MockDefinitionVerifier__Received(_pubSignals);
        if (requiredDefinitionHash != 0 && _pubSignals[4] != requiredDefinitionHash) return false;
        return result;
    }
}
