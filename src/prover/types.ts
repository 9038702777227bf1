import type { Groth16Proof, PublicSignals } from "snarkjs";

/**
 * Public signals in circuit order: runClaim (the circuit's output, submitter + outcome * 2^160),
 * workflowId, traceRoot, providerSetRoot; a state instance's then stateRootBefore, stateRootAfter, a
 * definition instance's definitionHash.
 */
export const PUBLIC_SIGNAL_NAMES = ["runClaim", "workflowId", "traceRoot", "providerSetRoot"] as const;

export interface RunProof {
  instance: string;
  proof: Groth16Proof;
  publicSignals: PublicSignals;
  /** The witness and the proof, in milliseconds. */
  proveMs: number;
  /** Of proveMs, the witness's computation (absent in bundles of older versions). */
  witnessMs?: number;
  /** sha256 (hex) of the verification key the proof verifies with: which setup's keys made it. */
  vkeyHash: string;
}

/** A circuit input as snarkjs and circomkit take it: signal name → value, array or nested array. */
export type CircuitInput = Record<string, bigint | bigint[] | bigint[][]>;
