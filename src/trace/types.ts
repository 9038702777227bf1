import type { PublicKey, Signature } from "../crypto";
import type { RunBinding } from "./binding";

/** Number of field elements that encode one step's request and one step's response. */
export const RECORD_FIELDS = 4;

/**
 * FORWARD: a step; COMPENSATE: the compensation of a step; SETTLE: the status query that settles
 * the outcome of a failed step's call that got no usable answer (its code is the failed step's).
 */
export const Phase = { FORWARD: 1, COMPENSATE: 2, SETTLE: 3 } as const;
export const StepStatus = { OK: 1, FAILED: 2 } as const;
/**
 * How well a step's external call is backed: see DESIGN.md, "Evidence levels". SETTLED: the call
 * got no usable answer of its own; the system's attested status query (the SETTLE record right
 * after it) says it took effect, with the response the record holds (bound by its hash).
 */
export const Evidence = { NONE: 0, DECLARED: 1, ATTESTED: 2, SETTLED: 3 } as const;
export const Outcome = { COMMITTED: 1, ROLLED_BACK: 2 } as const;
/** response[0] of an attested call: the system's own status code. 1 means the operation succeeded. */
export const CALL_SUCCEEDED = 1n;

/**
 * response[0] of a status query (a SETTLE record): what the system did under the queried call's
 * idempotency key. TOOK_EFFECT: performed and succeeded (response[1] = the hash of its response);
 * NO_EFFECT: never performed, and now never will be (the key is fenced); REFUSED: performed as a
 * business refusal (response[1] = the hash of that signed refusal): nothing to undo either.
 */
export const SettleOutcome = { TOOK_EFFECT: 1, NO_EFFECT: 2, REFUSED: 3 } as const;
export type SettleOutcomeName = keyof typeof SettleOutcome;

export type PhaseName = keyof typeof Phase;
export type StepStatusName = keyof typeof StepStatus;
export type EvidenceName = keyof typeof Evidence;
export type OutcomeName = keyof typeof Outcome;

/**
 * One entry of the trace: a step (forward or compensation) with the request and response it
 * handled, each encoded as RECORD_FIELDS field elements. A step that called an external system
 * has callSeq > 0 and an operation code; its evidence says whether the system signed it.
 */
export interface StepRecord {
  index: number;
  stepCode: number;
  stepName: string;
  phase: PhaseName;
  status: StepStatusName;
  callSeq: number;
  operation: number;
  request: bigint[];
  response: bigint[];
  evidence: EvidenceName;
  /**
   * A uniformly random field element hashed last into the record's leaf (newRecordSalt), so that a
   * disclosed Merkle path's sibling leaves cannot be brute-forced back to their (low-entropy)
   * records. Generated once per record and journaled with it.
   */
  salt: bigint;
}

/** A provider's signature over one call, as collected by the host interface. */
export interface Attestation {
  system: string;
  systemCode: number;
  publicKey: PublicKey;
  signature: Signature;
}

/**
 * The evidence of one external call: what was sent and received (as JSON, for people) and the
 * attestation when the system signed. `requestHash` and `responseHash` are Poseidon hashes of the
 * step record's request and response fields.
 */
export interface CallRecord {
  callSeq: number;
  stepIndex: number;
  system: string;
  operation: number;
  operationName: string;
  idempotencyKey: string;
  requestHash: bigint;
  responseHash: bigint;
  requestJson: unknown;
  responseJson: unknown;
  attestation?: Attestation;
}

/** A finished run: everything the prover needs and everything an auditor may later check. */
export interface Trace {
  /** workflowIdOf(binding): bound to the run's submitter and workflow. */
  workflowId: bigint;
  /** What the id commits to: the submitter, the workflow's tag, the run's private nonce. */
  binding: RunBinding;
  scenario: string;
  template: string;
  outcome: OutcomeName;
  steps: StepRecord[];
  calls: CallRecord[];
}
