import type { Groth16Proof, PublicSignals } from "snarkjs";

/** Public signals in circuit order: workflowId, outcome, traceRoot, providerSetRoot, submitter. */
export const PUBLIC_SIGNAL_NAMES = [
  "workflowId",
  "outcome",
  "traceRoot",
  "providerSetRoot",
  "submitter",
] as const;

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
