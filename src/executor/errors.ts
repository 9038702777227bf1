import { HostCallError, type AnyOperationSpec } from "../host";

export class WorkflowInputError extends Error {
  override name = "WorkflowInputError";
}

/** A step failed; the run did not commit. */
export class StepFailedError extends Error {
  override name = "StepFailedError";
  constructor(
    readonly workflow: string,
    readonly stepName: string,
    readonly stepIndex: number,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${workflow}: step ${stepIndex} (${stepName}) failed: ${message}`, options);
  }
}

/**
 * A step's code broke its definition: it called an operation it does not declare, called twice,
 * declared a call and never made it, or returned fields of the wrong shape. Final: a retry would
 * do the same.
 */
export class StepContractError extends Error {
  override name = "StepContractError";
  readonly retryable = false;
}

/**
 * The system answered the call with a signed refusal (status ≠ 1, e.g. DECLINED): final. The message
 * names the system, the status by its name in the operation's answer and, when the operation's spec
 * says why a system gives that status (`refusalReasons`), the reason.
 */
export class CallRefusedError extends Error {
  override name = "CallRefusedError";
  readonly retryable = false;
  /** The status's name in the operation's answer (e.g. "DECLINED"), when the answer decodes. */
  readonly statusName?: string;
  readonly reason?: string;
  constructor(
    readonly operation: string,
    readonly callSeq: number,
    readonly status: bigint,
    /** The operation and the signed answer's fields, to name the status and its reason. */
    answer?: { spec: AnyOperationSpec; responseFields: readonly bigint[] },
  ) {
    const spec = answer?.spec;
    const statusName = answer ? statusNameOf(answer.spec, answer.responseFields) : undefined;
    const reason = statusName ? spec?.refusalReasons?.[statusName] : undefined;
    super(
      `${operation} (call ${callSeq}) was refused by the ${spec?.system ?? "external"} system: status ${
        statusName ? `${statusName} (${status})` : status
      }${reason ? `: ${reason}` : ""}`,
    );
    this.statusName = statusName;
    this.reason = reason;
  }
}

/** The name of an answer's status: the `status` the operation's decoder gives for its fields. */
function statusNameOf(spec: AnyOperationSpec, responseFields: readonly bigint[]): string | undefined {
  try {
    const decoded = spec.decodeResponse(responseFields) as { status?: unknown };
    return typeof decoded?.status === "string" ? decoded.status : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A step's code, run again after a crash or a retry, asked for another request than the one
 * journaled under its callSeq. Steps must be deterministic given the input and earlier results.
 */
export class NondeterministicStepError extends Error {
  override name = "NondeterministicStepError";
  readonly retryable = false;
}

/**
 * The run cannot go on by itself: a compensation still failed after its retries, or the outcome of a
 * failed step's call is still unknown after its status query's retries (or cannot be queried). The
 * run is parked as NEEDS_ATTENTION in the journal, with the reason, and is never recorded as if
 * nothing happened; `wesflow resume <runId>` attempts the record again.
 */
export class NeedsAttentionError extends Error {
  override name = "NeedsAttentionError";
  constructor(
    readonly runId: string,
    readonly stepName: string,
    readonly traceIndex: number,
    readonly reason: string,
    options?: { cause?: unknown; settling?: boolean },
  ) {
    super(
      `run ${runId} needs attention: ${options?.settling ? "settling" : "compensation"} ${stepName} failed: ${reason}; fix the cause, then run \`wesflow resume ${runId}\``,
      options,
    );
  }
}

/** The journal could not be written: the run stopped there (like a crash) and can be resumed. */
export class JournalWriteError extends Error {
  override name = "JournalWriteError";
}

/** A run cannot be resumed: unknown, owned by a live process, or not matching the workflow definition. */
export class ResumeError extends Error {
  override name = "ResumeError";
}

/**
 * Whether trying again may help: host errors say it themselves (timeouts and 5xx yes; refusals,
 * rejected requests and bad attestations no); any other error only when it carries
 * `retryable: true` (e.g. `StepError.retryable(...)`).
 */
export function isRetryable(error: unknown): boolean {
  if (error instanceof HostCallError) return error.retryable;
  return typeof error === "object" && error !== null && (error as { retryable?: unknown }).retryable === true;
}

/** One line for the journal and the logs. */
export function describeFailure(error: unknown): string {
  if (error instanceof Error)
    return error.name && error.name !== "Error" ? `${error.name}: ${error.message}` : error.message;
  return String(error);
}
