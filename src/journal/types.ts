import type { Attestation, OutcomeName, PhaseName, RunBinding, StepRecord } from "../trace";

/**
 * Where a run is:
 * - RUNNING: forward steps are executing (or were, when the process died);
 * - COMPENSATING: a step failed for good; the compensations are executing (or were);
 * - COMMITTED / ROLLED_BACK: executed; the trace is final;
 * - NEEDS_ATTENTION: a compensation still failed after its retries, or the outcome of the failed
 *   step's call is still unknown after its status query's retries; `wesflow resume` retries it;
 * - PROVEN: the trace is proven; RECORDED: the proof is recorded on a chain.
 */
export const RUN_STATUSES = [
  "RUNNING",
  "COMPENSATING",
  "COMMITTED",
  "ROLLED_BACK",
  "NEEDS_ATTENTION",
  "PROVEN",
  "RECORDED",
] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

/** Statuses of a run whose execution has not finished. */
export const UNFINISHED_STATUSES: readonly RunStatus[] = ["RUNNING", "COMPENSATING", "NEEDS_ATTENTION"];

/** A trace record's state: STARTED (executing or interrupted), OK, FAILED, or PARKED (a compensation that needs attention). */
export type JournalStepStatus = "STARTED" | "OK" | "FAILED" | "PARKED";
/**
 * A call's state: PENDING = journaled (and maybe sent) without an answer yet; ANSWERED = attested
 * answer kept; FAILED = the last attempt got no acceptable answer; SETTLED = it got none, and the
 * system's status query (another call) showed it took effect with the response kept here (no
 * attestation of its own).
 */
export type JournalCallStatus = "PENDING" | "ANSWERED" | "FAILED" | "SETTLED";

export interface JournalRun {
  /** toHex32(workflowId). */
  runId: string;
  workflowId: bigint;
  /** What the id commits to; absent for runs journaled before run ids were bound (schema < 3). */
  binding?: RunBinding;
  scenario: string;
  template: string;
  /** The validated input, as the run used it. */
  input: unknown;
  status: RunStatus;
  outcome?: OutcomeName;
  /** Why the run needs attention. */
  reason?: string;
  /** The last error after execution (e.g. proving or submission failed). */
  lastError?: string;
  /** `host:pid` of the process executing the run, while it does. */
  owner?: string;
  /** Trace records journaled so far. */
  stepCount: number;
  /** The forward step that failed for good (rolled-back runs). */
  failedStep?: string;
  bundlePath?: string;
  network?: string;
  txHash?: string;
  createdAt: string;
  updatedAt: string;
}

export interface JournalStep {
  /** Position in the trace. */
  traceIndex: number;
  /** Position of the (forward) step in the definition. */
  stepIndex: number;
  phase: PhaseName;
  stepName: string;
  stepCode: number;
  /** Fixed when the record starts: 0 for a local record. */
  callSeq: number;
  operation: number;
  status: JournalStepStatus;
  attempts: number;
  /** The finished trace record (status OK or FAILED). */
  record?: StepRecord;
  /** What the step's code returned (forward steps that succeeded). */
  result?: unknown;
  error?: string;
  startedAt: string;
  finishedAt?: string;
}

export interface JournalCall {
  callSeq: number;
  traceIndex: number;
  system: string;
  operation: number;
  operationName: string;
  idempotencyKey: string;
  request: unknown;
  requestFields: bigint[];
  status: JournalCallStatus;
  /** Times it was sent (journaled before each send). */
  attempts: number;
  response?: unknown;
  responseFields?: bigint[];
  attestation?: Attestation;
  error?: string;
  sentAt: string;
  answeredAt?: string;
}

/** One transition, in the order they happened (`seq` is global to the journal). */
export interface JournalEvent {
  seq: number;
  runId: string;
  at: string;
  kind: string;
  traceIndex?: number;
  callSeq?: number;
  detail?: unknown;
}

export interface JournalRunState {
  run: JournalRun;
  steps: JournalStep[];
  calls: JournalCall[];
}
