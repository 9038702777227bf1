import { toField } from "../crypto";
import {
  backoffMs,
  compensationName,
  resolveRetryPolicy,
  settleName,
  type CompensationContext,
  type RetryPolicy,
  type StepDefinition,
  type StepOutcome,
  type WorkflowDefinition,
} from "../definition";
import {
  describeZodError,
  idempotencyKeyOf,
  InvalidRequestError,
  type AnyOperationSpec,
  type CallIdentity,
  type HostInterface,
  type OperationSpec,
  type StatusQueryResponse,
} from "../host";
import { toJournalJson } from "../journal/json";
import type { Journal, JournalCall, JournalStep } from "../journal";
import type { Logger } from "../project";
import {
  CALL_SUCCEEDED,
  hashFields,
  newRecordSalt,
  RECORD_FIELDS,
  SettleOutcome,
  type Attestation,
  type CallRecord,
  type EvidenceName,
  type OutcomeName,
  type PhaseName,
  type RunBinding,
  type SettleOutcomeName,
  type StepRecord,
  type SystemName,
  type Trace,
} from "../trace";
import {
  CallRefusedError,
  describeFailure,
  JournalWriteError,
  isRetryable,
  NeedsAttentionError,
  NondeterministicStepError,
  ResumeError,
  StepContractError,
} from "./errors";
import type { ExecutionFailure, ExecutorEvent } from "./types";

const ZERO_FIELDS: readonly bigint[] = Object.freeze(Array.from({ length: RECORD_FIELDS }, () => 0n));
const zeros = () => [...ZERO_FIELDS];

/** One trace record to execute: a forward step or the compensation of one. */
interface Plan {
  traceIndex: number;
  /** The forward step's position in the definition. */
  stepIndex: number;
  phase: PhaseName;
  name: string;
  code: number;
  /** 0 for a local record; fixed when the record starts, kept by every retry and resume. */
  callSeq: number;
  operation?: AnyOperationSpec;
  policy: RetryPolicy;
  /** Its row is already in the journal (interrupted or parked before). */
  resumed: boolean;
}

/**
 * A call's answer as the step got it: attested by the host interface (now or before a crash), or,
 * for a call without a usable answer of its own, the response its status query showed (TOOK_EFFECT:
 * no attestation of its own; the status answer's attestation covers its hash).
 */
interface CallAnswer {
  response: unknown;
  responseFields: bigint[];
  attestation?: Attestation;
}

/** What the run knows about one callSeq: the request journaled before sending, and the answer if any. */
interface CallLogEntry {
  callSeq: number;
  traceIndex: number;
  operationName: string;
  request: unknown;
  requestFields: bigint[];
  answer?: CallAnswer;
}

/** What one attempt of a record did with its call. */
interface AttemptCall {
  called: boolean;
  requestFields?: bigint[];
  answer?: CallAnswer;
}

type RecordResult =
  | { ok: true; record: StepRecord; result: unknown; settled?: { record: StepRecord; result: unknown } }
  | { ok: false; record: StepRecord; message: string; retryable: boolean };

export interface SagaOptions<Input> {
  definition: WorkflowDefinition<Input>;
  input: Input;
  workflowId: bigint;
  /** What the workflow id commits to (carried into the trace for the proof). */
  binding: RunBinding;
  runId: string;
  host: HostInterface;
  journal?: Journal;
  logger: Logger;
  /** Applied over every step's policy (e.g. shorter timeouts from the command line or tests). */
  retryOverride?: Partial<RetryPolicy>;
  onEvent?: (event: ExecutorEvent) => void;
}

/**
 * The atomic container of one run (a saga). Forward steps run in order; when one fails for good
 * (after the retries its policy allows), the compensations of the completed steps run in reverse
 * order. A failed step whose call got no usable answer (a timeout, an outage, a bad signature, an
 * unknown key: it may have taken effect) is settled first, by the system's signed status query
 * under the call's idempotency key (a SETTLE record): TOOK_EFFECT makes the step completed, so its
 * own compensation runs first (its record then holds the response the status query showed, evidence
 * SETTLED); NO_EFFECT (the key is then fenced) or REFUSED makes it a clean failure; an outcome still
 * unknown after the query's retries parks the run NEEDS_ATTENTION. (An effect shown never turns the
 * run into a commit: the run already failed there, and the templates prove one layout per failed
 * step and settlement, always a rollback.) Every transition is journaled before the run goes on, so
 * `restore()` + `drive()` in another process continues exactly where a crashed one stopped.
 */
export class Saga<Input> {
  private readonly records: StepRecord[] = [];
  /** The definition position of each record's forward step (parallel to `records`). */
  private readonly recordSteps: number[] = [];
  private readonly results: Record<string, unknown> = {};
  private readonly callLog = new Map<number, CallLogEntry>();
  private nextCallSeq = 1;
  private failure?: ExecutionFailure;
  /** What the status query said of the failed step's call (once its SETTLE record is done). */
  private settlement?: SettleOutcomeName;
  /** A record the journal shows as started (interrupted by a crash) or parked: it goes first. */
  private pending?: JournalStep;
  private readonly steps: StepDefinition<Input>[];

  constructor(private readonly options: SagaOptions<Input>) {
    this.steps = options.definition.steps;
  }

  /** Rebuilds the run's state from its journal rows (for a resume). */
  restore(rows: readonly JournalStep[], calls: readonly JournalCall[]): void {
    const { definition } = this.options;
    for (const [position, row] of rows.entries()) {
      if (row.traceIndex !== position) {
        throw new ResumeError(`the journal's records of ${this.options.runId} have a gap at ${position}`);
      }
      const step = this.steps[row.stepIndex];
      const expectedName = !step
        ? undefined
        : row.phase === "FORWARD"
          ? step.name
          : row.phase === "COMPENSATE"
            ? compensationName(step)
            : settleName(step);
      if (!step || step.code !== row.stepCode || expectedName !== row.stepName) {
        throw new ResumeError(
          `record ${row.traceIndex} (${row.stepName}) of run ${this.options.runId} does not match the ${definition.name} workflow as defined now`,
        );
      }
      this.nextCallSeq = Math.max(this.nextCallSeq, row.callSeq + 1);
      if (row.status === "STARTED" || row.status === "PARKED") {
        if (position !== rows.length - 1) {
          throw new ResumeError(
            `record ${row.traceIndex} of ${this.options.runId} is unfinished but not the last`,
          );
        }
        this.pending = row;
        continue;
      }
      if (!row.record)
        throw new ResumeError(
          `record ${row.traceIndex} of ${this.options.runId} is finished without its fields`,
        );
      this.records.push(row.record);
      this.recordSteps.push(row.stepIndex);
      if (row.phase === "FORWARD" && row.status === "OK") this.results[step.name] = row.result;
      if (row.phase === "FORWARD" && row.status === "FAILED") {
        // A failed step whose call took effect (settled) has the result its code made of the answer.
        if (row.record.evidence === "SETTLED") this.results[step.name] = row.result;
        this.failure = {
          stepName: row.stepName,
          stepIndex: row.stepIndex,
          traceIndex: row.traceIndex,
          evidence: row.record.evidence,
          message: row.error ?? "failed",
          retryable: false,
        };
      }
      if (row.phase === "SETTLE" && row.status === "OK" && this.failure) {
        this.settlement = settleOutcomeOf(row.record);
        this.failure.settlement = this.settlement;
      }
    }
    for (const call of calls) {
      this.callLog.set(call.callSeq, {
        callSeq: call.callSeq,
        traceIndex: call.traceIndex,
        operationName: call.operationName,
        request: call.request,
        requestFields: call.requestFields,
        answer:
          call.status === "ANSWERED" && call.responseFields && call.attestation
            ? { response: call.response, responseFields: call.responseFields, attestation: call.attestation }
            : call.status === "SETTLED" && call.responseFields
              ? { response: call.response, responseFields: call.responseFields }
              : undefined,
      });
    }
  }

  /** The next trace record's index (for progress reports). */
  get position(): number {
    return this.records.length;
  }

  /** Runs the remaining records. Resolves with the final trace; rejects with NeedsAttentionError when a compensation is parked. */
  async drive(): Promise<{ trace: Trace; results: Record<string, unknown>; failure?: ExecutionFailure }> {
    for (let plan = this.nextPlan(); plan; plan = this.nextPlan()) {
      const outcome =
        plan.phase === "SETTLE" ? await this.executeSettle(plan) : await this.executeRecord(plan);
      this.records.push(outcome.record);
      this.recordSteps.push(plan.stepIndex);
      if (plan.phase === "FORWARD" && outcome.ok) this.results[plan.name] = outcome.result;
      if (plan.phase === "SETTLE" && outcome.ok && this.failure) {
        this.settlement = settleOutcomeOf(outcome.record);
        this.failure.settlement = this.settlement;
        if (outcome.settled) {
          this.records[this.failure.traceIndex] = outcome.settled.record;
          this.failure.evidence = outcome.settled.record.evidence;
          this.results[this.steps[plan.stepIndex].name] = outcome.settled.result;
        }
      }
      if (plan.phase === "FORWARD" && !outcome.ok) {
        this.failure = {
          stepName: plan.name,
          stepIndex: plan.stepIndex,
          traceIndex: plan.traceIndex,
          evidence: outcome.record.evidence,
          message: outcome.message,
          retryable: outcome.retryable,
        };
        this.options.logger.info(
          { step: plan.name, error: outcome.message },
          "step failed for good: compensating the completed steps",
        );
      }
    }
    const outcome: OutcomeName = this.failure ? "ROLLED_BACK" : "COMMITTED";
    this.journaled((j) => j.finishRun({ runId: this.options.runId, outcome }));
    this.emit({ type: "run-finished", outcome });
    return { trace: this.trace(outcome), results: { ...this.results }, failure: this.failure };
  }

  /** The trace of a finished run (used when a finished run is resumed: nothing left to do). */
  finishedTrace(outcome: OutcomeName): {
    trace: Trace;
    results: Record<string, unknown>;
    failure?: ExecutionFailure;
  } {
    if (this.pending || this.nextPlan() !== undefined) {
      throw new ResumeError(
        `run ${this.options.runId} is marked ${outcome} but its records are not complete`,
      );
    }
    return { trace: this.trace(outcome), results: { ...this.results }, failure: this.failure };
  }

  // ------------------------------------------------------------------ planning

  private nextPlan(): Plan | undefined {
    if (this.pending) {
      const row = this.pending;
      this.pending = undefined;
      return this.plan({ stepIndex: row.stepIndex, phase: row.phase, callSeq: row.callSeq, resumed: true });
    }
    if (!this.failure) {
      const stepIndex = this.recordSteps.length;
      return stepIndex < this.steps.length ? this.plan({ stepIndex, phase: "FORWARD" }) : undefined;
    }
    // A failed call without a usable answer (it may have taken effect): settle it first.
    const failed = this.records[this.failure.traceIndex];
    if (failed.callSeq > 0 && failed.evidence !== "ATTESTED" && this.settlement === undefined) {
      return this.plan({ stepIndex: this.failure.stepIndex, phase: "SETTLE" });
    }
    // Compensate below the last compensated step (or below the failed one: from it, when its call
    // took effect after all), in reverse order.
    let below = this.failure.stepIndex + (this.settlement === "TOOK_EFFECT" ? 1 : 0);
    this.records.forEach((record, i) => {
      if (record.phase === "COMPENSATE") below = Math.min(below, this.recordSteps[i]);
    });
    for (let j = below - 1; j >= 0; j--) {
      if (this.steps[j].compensation) return this.plan({ stepIndex: j, phase: "COMPENSATE" });
    }
    return undefined;
  }

  private plan(args: { stepIndex: number; phase: PhaseName; callSeq?: number; resumed?: boolean }): Plan {
    const { definition, retryOverride } = this.options;
    const step = this.steps[args.stepIndex];
    const compensation = args.phase === "COMPENSATE" ? step.compensation : undefined;
    const operation =
      args.phase === "FORWARD"
        ? step.operation
        : args.phase === "COMPENSATE"
          ? compensation?.operation
          : step.operation?.settle?.statusQuery;
    let callSeq = args.callSeq ?? 0;
    // A SETTLE record always takes a callSeq: without a status query it parks before any call.
    if (args.callSeq === undefined && (operation || args.phase === "SETTLE")) callSeq = this.nextCallSeq++;
    return {
      traceIndex: this.records.length,
      stepIndex: args.stepIndex,
      phase: args.phase,
      name:
        args.phase === "FORWARD"
          ? step.name
          : args.phase === "COMPENSATE"
            ? compensationName(step)
            : settleName(step),
      code: step.code,
      callSeq,
      operation,
      policy: resolveRetryPolicy(definition.retry, step.retry, compensation?.retry, retryOverride),
      resumed: args.resumed ?? false,
    };
  }

  // ------------------------------------------------------------------ one record

  private async executeRecord(plan: Plan): Promise<RecordResult> {
    const { runId, logger } = this.options;
    const step = this.steps[plan.stepIndex];
    if (plan.resumed) this.journaled((j) => j.stepResumed({ runId, traceIndex: plan.traceIndex }));
    else {
      this.journaled((j) =>
        j.stepStarted({
          runId,
          traceIndex: plan.traceIndex,
          stepIndex: plan.stepIndex,
          phase: plan.phase,
          stepName: plan.name,
          stepCode: plan.code,
          callSeq: plan.callSeq,
          operation: plan.operation?.code ?? 0,
        }),
      );
    }
    this.emit({
      type: "step-started",
      traceIndex: plan.traceIndex,
      stepName: plan.name,
      phase: plan.phase,
      resumed: plan.resumed,
    });
    const log = logger.child({ step: plan.name, phase: plan.phase, traceIndex: plan.traceIndex });

    for (let attempt = 1; ; attempt++) {
      const call: AttemptCall = { called: false };
      let outcome: StepOutcome | undefined;
      let error: unknown;
      try {
        const ctx = this.context(plan, attempt, call);
        outcome = plan.phase === "FORWARD" ? await step.run(ctx) : await step.compensation!.run(ctx);
      } catch (caught) {
        if (caught instanceof JournalWriteError) throw caught;
        error = caught;
      }
      // A signed refusal is the system's final word, whatever the step's code made of it.
      if (call.answer && call.answer.responseFields[0] !== CALL_SUCCEEDED) {
        error = new CallRefusedError(plan.operation!.name, plan.callSeq, call.answer.responseFields[0], {
          spec: plan.operation!,
          responseFields: call.answer.responseFields,
        });
      } else if (error === undefined) {
        try {
          return this.succeed(plan, call, outcome!, attempt);
        } catch (caught) {
          if (caught instanceof JournalWriteError) throw caught;
          error = caught;
        }
      }
      const retryable = isRetryable(error);
      const message = describeFailure(error);
      if (!retryable || attempt >= plan.policy.maxAttempts) {
        log.debug({ attempt, error: message, retryable }, "record failed for good");
        return this.fail(plan, call, message, retryable, attempt, error);
      }
      await this.retryAfter({ plan, attempt, message, retryable, log, what: "attempt failed, retrying" });
    }
  }

  private succeed(plan: Plan, call: AttemptCall, outcome: StepOutcome, attempts: number): RecordResult {
    let request: bigint[];
    let response: bigint[];
    if (plan.operation) {
      if (!call.answer || !call.requestFields) {
        throw new StepContractError(
          `${plan.name} declares ${plan.operation.name} but returned without calling it`,
        );
      }
      request = call.requestFields;
      response = call.answer.responseFields;
    } else {
      request = checkedFields(plan.name, "request", outcome?.request);
      response = checkedFields(plan.name, "response", outcome?.response);
    }
    const result = plan.phase === "FORWARD" ? outcome?.result : undefined;
    try {
      toJournalJson(result);
    } catch (cause) {
      throw new StepContractError(
        `${plan.name} returned a result that cannot be journaled as JSON: ${(cause as Error).message}`,
      );
    }
    const record: StepRecord = {
      index: plan.traceIndex,
      stepCode: plan.code,
      stepName: plan.name,
      phase: plan.phase,
      status: "OK",
      callSeq: plan.callSeq,
      operation: plan.operation?.code ?? 0,
      request,
      response,
      evidence: plan.operation ? "ATTESTED" : "NONE",
      salt: newRecordSalt(),
    };
    this.journaled((j) => j.stepFinished({ runId: this.options.runId, record, attempts, result }));
    this.emit({
      type: "step-finished",
      traceIndex: plan.traceIndex,
      stepName: plan.name,
      phase: plan.phase,
      status: "OK",
    });
    return { ok: true, record, result };
  }

  private fail(
    plan: Plan,
    call: AttemptCall,
    message: string,
    retryable: boolean,
    attempts: number,
    cause: unknown,
  ): RecordResult {
    const { runId } = this.options;
    if (plan.phase !== "FORWARD") this.park(plan, message, cause);
    let request = zeros();
    let response = zeros();
    let evidence: EvidenceName = "NONE";
    if (plan.operation) {
      // The failed step's call keeps its callSeq even if it was never sent. Evidence: ATTESTED only
      // for a signed answer (a refusal); otherwise DECLARED, with the response fields all 0.
      request = call.requestFields ?? this.callLog.get(plan.callSeq)?.requestFields ?? zeros();
      if (call.answer) {
        response = call.answer.responseFields;
        evidence = "ATTESTED";
      } else {
        evidence = "DECLARED";
      }
    }
    const record: StepRecord = {
      index: plan.traceIndex,
      stepCode: plan.code,
      stepName: plan.name,
      phase: "FORWARD",
      status: "FAILED",
      callSeq: plan.callSeq,
      operation: plan.operation?.code ?? 0,
      request,
      response,
      evidence,
      salt: newRecordSalt(),
    };
    this.journaled((j) => j.stepFinished({ runId, record, attempts, error: message }));
    this.emit({
      type: "step-finished",
      traceIndex: plan.traceIndex,
      stepName: plan.name,
      phase: plan.phase,
      status: "FAILED",
    });
    return { ok: false, record, message, retryable };
  }

  /** A failed attempt that will be retried: journaled, announced, logged, then the backoff waited out. */
  private async retryAfter(args: {
    plan: Plan;
    attempt: number;
    message: string;
    retryable: boolean;
    log: Logger;
    what: string;
  }): Promise<void> {
    const { plan, attempt, message, retryable, log } = args;
    const wait = backoffMs(plan.policy, attempt);
    this.journaled((j) =>
      j.stepAttemptFailed({
        runId: this.options.runId,
        traceIndex: plan.traceIndex,
        attempt,
        error: message,
        retryable,
        backoffMs: wait,
      }),
    );
    this.emit({
      type: "step-retrying",
      traceIndex: plan.traceIndex,
      stepName: plan.name,
      attempt,
      backoffMs: wait,
      error: message,
    });
    log.info({ attempt, backoffMs: wait, error: message }, args.what);
    await sleep(wait);
  }

  private park(plan: Plan, message: string, cause: unknown): never {
    const { runId } = this.options;
    this.journaled((j) => j.parkRun({ runId, traceIndex: plan.traceIndex, reason: message }));
    this.emit({ type: "run-parked", traceIndex: plan.traceIndex, stepName: plan.name, reason: message });
    throw new NeedsAttentionError(runId, plan.name, plan.traceIndex, message, {
      cause,
      settling: plan.phase === "SETTLE",
    });
  }

  // ------------------------------------------------------------------ settling an uncertain call

  /**
   * The SETTLE record of the failed step: its system's status query under the failed call's
   * idempotency key, retried like any call of the step. Journaled as one record; when the answer is
   * TOOK_EFFECT, the failed record is amended in the same transaction (the response the query
   * showed, evidence SETTLED) with the result the step's code makes of that response, so its
   * compensation sees it as it would a completed step's. An outcome still unknown after the
   * retries (or a step whose operation has no status query) parks the run.
   */
  private async executeSettle(plan: Plan): Promise<RecordResult> {
    const { runId, logger } = this.options;
    const failure = this.failure!;
    const failed = this.records[failure.traceIndex];
    const step = this.steps[plan.stepIndex];
    const of = step.operation!;
    if (plan.resumed) this.journaled((j) => j.stepResumed({ runId, traceIndex: plan.traceIndex }));
    else {
      this.journaled((j) =>
        j.stepStarted({
          runId,
          traceIndex: plan.traceIndex,
          stepIndex: plan.stepIndex,
          phase: "SETTLE",
          stepName: plan.name,
          stepCode: plan.code,
          callSeq: plan.callSeq,
          operation: plan.operation?.code ?? 0,
        }),
      );
    }
    this.emit({
      type: "step-started",
      traceIndex: plan.traceIndex,
      stepName: plan.name,
      phase: "SETTLE",
      resumed: plan.resumed,
    });
    const unknown = `the outcome of ${of.name} (call ${failed.callSeq}) is unknown`;
    if (!plan.operation) {
      this.park(plan, `${unknown}: ${of.name} declares no status query to settle it`, undefined);
    }
    const log = logger.child({ step: plan.name, phase: plan.phase, traceIndex: plan.traceIndex });
    for (let attempt = 1; ; attempt++) {
      let settled: { answer: CallAnswer; original?: CallAnswer };
      try {
        settled = await this.settleCall(plan, failed);
      } catch (error) {
        if (error instanceof JournalWriteError) throw error;
        const retryable = isRetryable(error);
        const message = describeFailure(error);
        if (!retryable || attempt >= plan.policy.maxAttempts) {
          log.debug({ attempt, error: message, retryable }, "the status query failed for good");
          this.park(plan, `${unknown}: ${message}`, error);
        }
        await this.retryAfter({
          plan,
          attempt,
          message,
          retryable,
          log,
          what: "status query failed, retrying",
        });
        continue;
      }
      const record: StepRecord = {
        index: plan.traceIndex,
        stepCode: plan.code,
        stepName: plan.name,
        phase: "SETTLE",
        status: "OK",
        callSeq: plan.callSeq,
        operation: plan.operation!.code,
        request: this.callLog.get(plan.callSeq)!.requestFields,
        response: settled.answer.responseFields,
        evidence: "ATTESTED",
        salt: newRecordSalt(),
      };
      const outcome = settleOutcomeOf(record);
      let amended: { record: StepRecord; result: unknown } | undefined;
      if (outcome === "TOOK_EFFECT") {
        amended = {
          record: { ...failed, response: settled.original!.responseFields, evidence: "SETTLED" },
          result: await this.settledResult(plan.stepIndex, failed.callSeq),
        };
      }
      this.journaled((j) =>
        j.settleFinished({
          runId,
          record,
          attempts: attempt,
          ...(amended ? { settled: amended } : {}),
        }),
      );
      this.emit({
        type: "step-finished",
        traceIndex: plan.traceIndex,
        stepName: plan.name,
        phase: "SETTLE",
        status: "OK",
      });
      log.info({ outcome, callSeq: failed.callSeq }, "the failed call's outcome is settled");
      return { ok: true, record, result: undefined, ...(amended ? { settled: amended } : {}) };
    }
  }

  /**
   * The status query's call (journaled before it is sent, like every call) and, for TOOK_EFFECT, the
   * response it showed, journaled with the answer in one transaction as the failed call's settled
   * answer. After a crash the journaled answer is used again: nothing is sent twice.
   */
  private async settleCall(
    plan: Plan,
    failed: StepRecord,
  ): Promise<{ answer: CallAnswer; original?: CallAnswer }> {
    const { runId, workflowId, host } = this.options;
    const status = plan.operation!;
    const of = this.steps[plan.stepIndex].operation!;
    const request = {
      callSeq: failed.callSeq,
      operation: of.name,
      requestHash: hashFields(failed.request).toString(),
    };
    const requestFields = status.encodeRequest(request);
    let entry = this.callLog.get(plan.callSeq);
    if (entry) {
      if (
        entry.operationName !== status.name ||
        hashFields(entry.requestFields) !== hashFields(requestFields)
      ) {
        throw new NondeterministicStepError(
          `call ${plan.callSeq} is journaled as another request than the status query of call ${failed.callSeq}`,
        );
      }
      if (entry.answer) {
        const original = this.callLog.get(failed.callSeq)?.answer;
        const took = entry.answer.responseFields[0] === BigInt(SettleOutcome.TOOK_EFFECT);
        if (took && !original) {
          throw new ResumeError(
            `call ${failed.callSeq} is settled as TOOK_EFFECT without its response in the journal`,
          );
        }
        return { answer: entry.answer, ...(took ? { original } : {}) };
      }
    } else {
      entry = {
        callSeq: plan.callSeq,
        traceIndex: plan.traceIndex,
        operationName: status.name,
        request,
        requestFields,
      };
      this.callLog.set(plan.callSeq, entry);
    }
    const idempotencyKey = idempotencyKeyOf(workflowId, plan.callSeq);
    this.journaled((j) =>
      j.callSending({
        runId,
        callSeq: plan.callSeq,
        traceIndex: plan.traceIndex,
        system: status.system,
        operation: status.code,
        operationName: status.name,
        idempotencyKey,
        request,
        requestFields,
      }),
    );
    this.emit({
      type: "call-sending",
      traceIndex: plan.traceIndex,
      callSeq: plan.callSeq,
      operation: status.name,
      idempotencyKey,
    });
    let result;
    try {
      result = await host.settle({
        status: of.settle!.statusQuery,
        of,
        queried: { callSeq: failed.callSeq, requestFields: failed.request },
        stepIndex: plan.traceIndex,
        callSeq: plan.callSeq,
        timeoutMs: plan.policy.callTimeoutMs,
      });
    } catch (error) {
      const message = describeFailure(error);
      this.journaled((j) =>
        j.callFailed({ runId, callSeq: plan.callSeq, error: message, retryable: isRetryable(error) }),
      );
      this.emit({
        type: "call-failed",
        traceIndex: plan.traceIndex,
        callSeq: plan.callSeq,
        error: message,
        retryable: isRetryable(error),
      });
      throw error;
    }
    const answer: CallAnswer = {
      response: result.query.response,
      responseFields: result.query.responseFields,
      attestation: result.query.record.attestation!,
    };
    const response = result.query.response as StatusQueryResponse;
    const original: CallAnswer | undefined =
      response.outcome === "TOOK_EFFECT" && result.original
        ? { response: result.original.response, responseFields: result.original.responseFields }
        : undefined;
    this.journaled((j) =>
      j.callSettled({
        runId,
        callSeq: plan.callSeq,
        response: answer.response,
        responseFields: answer.responseFields,
        attestation: answer.attestation!,
        ...(original ? { settles: { callSeq: failed.callSeq, ...original } } : {}),
      }),
    );
    entry.answer = answer;
    const failedEntry = this.callLog.get(failed.callSeq);
    if (original && failedEntry) failedEntry.answer = original;
    // one event per journaled transition: the status answer (and the response it showed) kept
    this.emit({
      type: "call-settled",
      traceIndex: plan.traceIndex,
      callSeq: failed.callSeq,
      outcome: response.outcome,
    });
    return { answer, ...(original ? { original } : {}) };
  }

  /**
   * What the failed step's code makes of the response its status query showed (it is run again; its
   * call returns that response): the `forward` result its compensation gets. A step that throws on
   * it leaves no result (its compensation then sees none).
   */
  private async settledResult(stepIndex: number, callSeq: number): Promise<unknown> {
    const step = this.steps[stepIndex];
    const plan = this.plan({ stepIndex, phase: "FORWARD", callSeq, resumed: true });
    try {
      const outcome = await step.run(this.context(plan, 1, { called: false }));
      toJournalJson(outcome?.result);
      return outcome?.result;
    } catch (error) {
      if (error instanceof JournalWriteError) throw error;
      this.options.logger.warn(
        { err: error, step: step.name },
        "the step's code failed on the settled response: its compensation gets no result",
      );
      return undefined;
    }
  }

  // ------------------------------------------------------------------ the step's context and its call

  private context(plan: Plan, attempt: number, call: AttemptCall): CompensationContext<Input> {
    const { workflowId, input } = this.options;
    const step = this.steps[plan.stepIndex];
    return {
      workflowId,
      input,
      results: { ...this.results },
      attempt,
      forward: plan.phase === "COMPENSATE" ? this.results[step.name] : undefined,
      call: <Req, Res>(operation: OperationSpec<Req, Res>, request: Req) =>
        this.call(plan, call, operation as OperationSpec<unknown, unknown>, request) as Promise<Res>,
    };
  }

  private async call(
    plan: Plan,
    call: AttemptCall,
    operation: OperationSpec<unknown, unknown>,
    request: unknown,
  ): Promise<unknown> {
    const { runId, workflowId, host } = this.options;
    const declared = plan.operation;
    if (!declared) {
      throw new StepContractError(`${plan.name} declares no operation, so it cannot call ${operation.name}`);
    }
    if (operation.name !== declared.name || operation.code !== declared.code) {
      throw new StepContractError(
        `${plan.name} declares ${declared.name}, so it cannot call ${operation.name}`,
      );
    }
    if (call.called) throw new StepContractError(`${plan.name} makes at most one external call`);
    call.called = true;
    const identity: CallIdentity = {
      system: operation.system,
      operation: operation.name,
      callSeq: plan.callSeq,
    };

    // 1. Typed and encodable, or nothing is journaled or sent.
    const parsed = operation.requestSchema.safeParse(request);
    if (!parsed.success) {
      throw new InvalidRequestError(describeZodError(parsed.error, "request"), identity, {
        cause: parsed.error,
      });
    }
    let requestFields: bigint[];
    try {
      requestFields = operation.encodeRequest(parsed.data);
    } catch (cause) {
      throw new InvalidRequestError(`cannot encode the request: ${(cause as Error).message}`, identity, {
        cause,
      });
    }
    call.requestFields = requestFields;

    // 2. Journaled before (an earlier attempt, or a process that crashed)?
    let entry = this.callLog.get(plan.callSeq);
    if (entry) {
      if (
        entry.operationName !== operation.name ||
        hashFields(entry.requestFields) !== hashFields(requestFields)
      ) {
        throw new NondeterministicStepError(
          `${plan.name} asks for another ${operation.name} request than the one journaled as call ${plan.callSeq}: steps must be deterministic`,
        );
      }
      if (entry.answer) {
        const response = operation.responseSchema.parse(entry.answer.response);
        call.answer = entry.answer;
        return response;
      }
    } else {
      entry = {
        callSeq: plan.callSeq,
        traceIndex: plan.traceIndex,
        operationName: operation.name,
        request: parsed.data,
        requestFields,
      };
      this.callLog.set(plan.callSeq, entry);
    }

    // 3. Journal, then send (same callSeq, so same idempotency key, on every attempt and resume).
    const idempotencyKey = idempotencyKeyOf(workflowId, plan.callSeq);
    this.journaled((j) =>
      j.callSending({
        runId,
        callSeq: plan.callSeq,
        traceIndex: plan.traceIndex,
        system: operation.system,
        operation: operation.code,
        operationName: operation.name,
        idempotencyKey,
        request: parsed.data,
        requestFields,
      }),
    );
    this.emit({
      type: "call-sending",
      traceIndex: plan.traceIndex,
      callSeq: plan.callSeq,
      operation: operation.name,
      idempotencyKey,
    });
    let result;
    try {
      result = await host.call({
        operation,
        request: parsed.data,
        stepIndex: plan.traceIndex,
        callSeq: plan.callSeq,
        timeoutMs: plan.policy.callTimeoutMs,
      });
    } catch (error) {
      const message = describeFailure(error);
      this.journaled((j) =>
        j.callFailed({ runId, callSeq: plan.callSeq, error: message, retryable: isRetryable(error) }),
      );
      this.emit({
        type: "call-failed",
        traceIndex: plan.traceIndex,
        callSeq: plan.callSeq,
        error: message,
        retryable: isRetryable(error),
      });
      throw error;
    }
    const attestation = result.record.attestation!;
    const answer: CallAnswer = {
      response: result.response,
      responseFields: result.responseFields,
      attestation,
    };
    this.journaled((j) => j.callAnswered({ runId, callSeq: plan.callSeq, ...answer, attestation }));
    entry.answer = answer;
    call.answer = answer;
    this.emit({
      type: "call-answered",
      traceIndex: plan.traceIndex,
      callSeq: plan.callSeq,
      status: answer.responseFields[0],
    });
    return result.response;
  }

  // ------------------------------------------------------------------ the trace

  private trace(outcome: OutcomeName): Trace {
    const { definition, workflowId } = this.options;
    const calls: CallRecord[] = [];
    this.records.forEach((record, i) => {
      if (record.callSeq === 0) return;
      const step = this.steps[this.recordSteps[i]];
      const operation =
        record.phase === "FORWARD"
          ? step.operation!
          : record.phase === "COMPENSATE"
            ? step.compensation!.operation!
            : step.operation!.settle!.statusQuery;
      const entry = this.callLog.get(record.callSeq);
      // The response shows when the record holds it: signed (ATTESTED), or shown by the status query
      // that follows (SETTLED, no attestation of its own).
      const answer =
        record.evidence === "ATTESTED" || record.evidence === "SETTLED" ? entry?.answer : undefined;
      calls.push({
        callSeq: record.callSeq,
        stepIndex: record.index,
        system: operation.system as SystemName,
        operation: operation.code,
        operationName: operation.name,
        idempotencyKey: idempotencyKeyOf(workflowId, record.callSeq),
        requestHash: hashFields(record.request),
        responseHash: hashFields(record.response),
        requestJson: entry?.request ?? null,
        responseJson: answer ? answer.response : null,
        attestation: record.evidence === "ATTESTED" ? answer?.attestation : undefined,
      });
    });
    calls.sort((a, b) => a.callSeq - b.callSeq);
    return {
      workflowId,
      binding: this.options.binding,
      scenario: definition.name,
      template:
        outcome === "ROLLED_BACK"
          ? (definition.rollbackTemplate ?? definition.template)
          : definition.template,
      outcome,
      steps: this.records.map((record) => ({
        ...record,
        request: [...record.request],
        response: [...record.response],
      })),
      calls,
    };
  }

  /**
   * Writes to the journal. A write that fails stops the run where it is, as a crash would (the
   * journal no longer knows what happens next): JournalWriteError, never taken for a step failure.
   */
  private journaled(write: (journal: Journal) => void): void {
    const { journal } = this.options;
    if (!journal) return;
    try {
      write(journal);
    } catch (cause) {
      throw new JournalWriteError(
        `cannot write to the journal ${journal.file}: ${(cause as Error).message}; the run stops here and can be resumed`,
        { cause },
      );
    }
  }

  private emit(event: DistributiveOmit<ExecutorEvent, "runId">): void {
    try {
      this.options.onEvent?.({ ...event, runId: this.options.runId } as ExecutorEvent);
    } catch (error) {
      this.options.logger.warn({ err: error, event: event.type }, "the onEvent hook threw; ignored");
    }
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

function checkedFields(stepName: string, what: string, fields: readonly bigint[] | undefined): bigint[] {
  if (!fields || fields.length !== RECORD_FIELDS) {
    throw new StepContractError(
      `${stepName} is local and must return ${what} of ${RECORD_FIELDS} field elements`,
    );
  }
  try {
    return fields.map((value, i) => toField(value, `${stepName} ${what} field ${i}`));
  } catch (cause) {
    throw new StepContractError((cause as Error).message, { cause });
  }
}

/** What a SETTLE record's status answer says (its response field 0). */
function settleOutcomeOf(record: StepRecord): SettleOutcomeName {
  const code = record.response[0];
  const name = (Object.keys(SettleOutcome) as SettleOutcomeName[]).find(
    (n) => BigInt(SettleOutcome[n]) === code,
  );
  if (!name) throw new ResumeError(`record ${record.index} (${record.stepName}) holds no status answer`);
  return name;
}

function sleep(ms: number): Promise<void> {
  return ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve();
}
