import type { SettleOutcomeName } from "../../trace";
import type { BundleCheck, CheckStatus } from "./checks";

/**
 * One call as `verify` reports it: `attested` only when its signature verified now, under the
 * registered key; `settled` for a failed call without a usable answer of its own whose response the
 * status query that follows it shows, when that query's signature verified now and it names this
 * call, says TOOK_EFFECT and signs this response's hash (the response is then as good as the
 * query's attestation, never the call's own); `declared` otherwise.
 */
export interface VerifiedCall {
  callSeq: number;
  step: string;
  system: string;
  operation: string;
  /**
   * The call as people read it, when its operation's spec describes its calls (`describe`): from
   * the request its step record commits to, e.g. `lab.inspection_result(lot=LT000001)`.
   */
  label?: string;
  /**
   * attested: signed by the call's system; attested-by-notary: signed by the notary that forwarded it
   * to an upstream that signs nothing; settled / settled-by-notary: a failed call whose status query
   * (the system's, or the notary's) verified and shows its response; declared otherwise.
   */
  evidence: "attested" | "attested-by-notary" | "settled" | "settled-by-notary" | "declared";
  signatureVerified: boolean;
  /** A settled call: the callSeq of the status query that settled it. */
  settledBy?: number;
  /** A status query: the call it settles and what it says of it. */
  settles?: { callSeq: number; operation: string; outcome: SettleOutcomeName };
}

/**
 * One trace record as `verify` reports it: as the bundle states it (its name is checked only by the
 * `labels` check, and only for a built-in workflow).
 */
export interface VerifiedStep {
  index: number;
  name: string;
  phase: "FORWARD" | "COMPENSATE" | "SETTLE";
  status: "OK" | "FAILED";
  callSeq: number;
  /** For a compensation: the forward step it undoes (the name of the forward record of its step code). */
  compensates?: string;
  /** For a status query: the forward step whose call it settles. */
  settles?: string;
}

/**
 * The state transition a run of a state template states (its bundle's `state`), as `verify` read
 * it: whether it holds is the `state` check (and, on chain, the `chain` check).
 */
export interface VerifiedState {
  /** The state domain's name, e.g. "order/stock", and its on-chain id (bytes32 hex). */
  domain: string;
  domainId: string;
  /** What a value of the domain is ("stock"), from the run's scenario; "value" when it says nothing. */
  valueName: string;
  /**
   * A domain of named fields (the scenario's `valueFields`, e.g. ["stock", "scrap"]): their names,
   * field 0 lowest in the packed value. Absent: a value is one unnamed field.
   */
  valueFields?: string[];
  /**
   * The run's writes, in order: each key's (packed) value before and after (none: the state as it
   * was) and, in a domain of named fields, each field before and after by name, decimal.
   */
  writes: {
    key: string;
    valueBefore: string;
    valueAfter: string;
    fieldsBefore?: Record<string, string>;
    fieldsAfter?: Record<string, string>;
  }[];
  /** The domain's roots before and after the run, 0x-hex. */
  rootBefore: string;
  rootAfter: string;
  /** rootAfter = rootBefore: the run left the state as it was (a rolled-back run). */
  unchanged: boolean;
  /** Against a network: the registry's WorkflowRecordedWithState event of the run, when there is one. */
  advance?: { blockNumber: number; txHash: string };
}

export interface BundleVerification {
  /** Every check passed (the on-chain ones included when a network was given). */
  valid: boolean;
  /** The registry's entry for the run exists and matches the bundle. */
  onChain: boolean;
  /** Why the bundle is invalid or not on chain, then notes; empty when valid and on chain. */
  reasons: string[];
  /** The first part of `reasons`: every failed check's problems (empty when valid). */
  failures: string[];
  /** The rest of `reasons`: what was not checked, and why. */
  notes: string[];
  workflowId: string;
  scenario: string;
  template: string;
  outcome: "COMMITTED" | "ROLLED_BACK";
  checks: Record<BundleCheck, CheckStatus>;
  steps: VerifiedStep[];
  calls: VerifiedCall[];
  /** A run of a state template: the transition its bundle states (checked unless `checks.state` failed). */
  state?: VerifiedState;
  /**
   * Against a network: whether the registry has an entry for the workflow id at all (false with
   * an otherwise sound bundle means the id is unknown there, e.g. the node was restarted).
   */
  recorded?: boolean;
  /** The on-chain record found. */
  entry?: {
    network: string;
    chainId: number;
    registry: string;
    txHash: string;
    blockNumber: number;
  };
}
