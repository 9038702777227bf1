import type { EvidenceName, OutcomeName, PhaseName, SettleOutcomeName } from "../trace";

/** Why a rolled-back run did not commit: its forward step that failed for good. */
export interface ExecutionFailure {
  stepName: string;
  /** Position of the step in the definition. */
  stepIndex: number;
  /** Position of its (FAILED) record in the trace. */
  traceIndex: number;
  /**
   * ATTESTED: the system signed a refusal; DECLARED: no valid signed answer (its status query then
   * settled it: NO_EFFECT or REFUSED); SETTLED: no valid answer, and the status query showed it took
   * effect (the step was compensated too); NONE: a local step.
   */
  evidence: EvidenceName;
  /** What the status query said of the failed call (a call without a usable answer of its own). */
  settlement?: SettleOutcomeName;
  message: string;
  /** The last error was retryable (the retries ran out), rather than final. */
  retryable: boolean;
}

/**
 * What the executor reports as a run progresses, each time AFTER the transition is journaled (so a
 * process that dies right after an event loses nothing the event reported).
 */
export type ExecutorEvent =
  | { type: "run-started"; runId: string }
  | { type: "run-resumed"; runId: string; traceIndex: number }
  | {
      type: "step-started";
      runId: string;
      traceIndex: number;
      stepName: string;
      phase: PhaseName;
      /** The record was started before (a crash, or a parked compensation) and is attempted again. */
      resumed: boolean;
    }
  | {
      type: "step-retrying";
      runId: string;
      traceIndex: number;
      stepName: string;
      attempt: number;
      backoffMs: number;
      error: string;
    }
  | {
      type: "call-sending";
      runId: string;
      traceIndex: number;
      callSeq: number;
      operation: string;
      idempotencyKey: string;
    }
  | { type: "call-answered"; runId: string; traceIndex: number; callSeq: number; status: bigint }
  | {
      type: "call-failed";
      runId: string;
      traceIndex: number;
      callSeq: number;
      error: string;
      retryable: boolean;
    }
  | {
      type: "step-finished";
      runId: string;
      traceIndex: number;
      stepName: string;
      phase: PhaseName;
      status: "OK" | "FAILED";
    }
  | {
      /**
       * The status query's attested answer is journaled (instead of call-answered): what the failed
       * call `callSeq` did (TOOK_EFFECT: its step is compensated too).
       */
      type: "call-settled";
      runId: string;
      traceIndex: number;
      callSeq: number;
      outcome: SettleOutcomeName;
    }
  | { type: "run-parked"; runId: string; traceIndex: number; stepName: string; reason: string }
  | { type: "run-finished"; runId: string; outcome: OutcomeName };
