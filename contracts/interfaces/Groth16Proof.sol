// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @notice A Groth16 proof in the verifiers' calldata order: A and C in G1, B in G2 with each coordinate
///         pair in the pairing precompile's order (c1, c0), as `snarkjs zkey export soliditycalldata`
///         writes it. Eight words, laid out in calldata exactly as uint256[8].
struct Groth16Proof {
    uint256[2] a;
    uint256[2][2] b;
    uint256[2] c;
}
