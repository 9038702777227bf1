import { toField } from "../crypto";
import {
  backoffMs,
  compensationName,
  resolveRetryPolicy,
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
} from "../host";
import { toJournalJson } from "../journal/json";
import type { Journal, JournalCall, JournalStep } from "../journal";
import type { Logger } from "../project";
import {
  CALL_SUCCEEDED,
  hashFields,
  newRecordSalt,
  RECORD_FIELDS,
  type Attestation,
  type CallRecord,
  type EvidenceName,
  type OutcomeName,
  type PhaseName,
  type RunBinding,
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

/** A call's answer as the step got it: attested by the host interface (now or before a crash). */
interface CallAnswer {
  response: unknown;
  responseFields: bigint[];
  attestation: Attestation;
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
  | { ok: true; record: StepRecord; result: unknown }
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
 * order. Every transition is journaled before the run goes on, so `restore()` + `drive()` in
 * another process continues exactly where a crashed one stopped.
 */
export class Saga<Input> {
  private readonly records: StepRecord[] = [];
  /** The definition position of each record's forward step (parallel to `records`). */
  private readonly recordSteps: number[] = [];
  private readonly results: Record<string, unknown> = {};
  private readonly callLog = new Map<number, CallLogEntry>();
  private nextCallSeq = 1;
  private failure?: ExecutionFailure;
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
      const expectedName = row.phase === "FORWARD" ? step?.name : step && compensationName(step);
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
        this.failure = {
          stepName: row.stepName,
          stepIndex: row.stepIndex,
          traceIndex: row.traceIndex,
          evidence: row.record.evidence,
          message: row.error ?? "failed",
          retryable: false,
        };
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
      const outcome = await this.executeRecord(plan);
      this.records.push(outcome.record);
      this.recordSteps.push(plan.stepIndex);
      if (plan.phase === "FORWARD" && outcome.ok) this.results[plan.name] = outcome.result;
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
    // Compensate below the last compensated step (or below the failed one), in reverse order.
    let below = this.failure.stepIndex;
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
    const operation = args.phase === "FORWARD" ? step.operation : compensation?.operation;
    let callSeq = args.callSeq ?? 0;
    if (args.callSeq === undefined && operation) callSeq = this.nextCallSeq++;
    return {
      traceIndex: this.records.length,
      stepIndex: args.stepIndex,
      phase: args.phase,
      name: args.phase === "FORWARD" ? step.name : compensationName(step),
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
        error = new CallRefusedError(plan.operation!.name, plan.callSeq, call.answer.responseFields[0]);
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
      const wait = backoffMs(plan.policy, attempt);
      this.journaled((j) =>
        j.stepAttemptFailed({
          runId,
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
      log.info({ attempt, backoffMs: wait, error: message }, "attempt failed, retrying");
      await sleep(wait);
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
    if (plan.phase === "COMPENSATE") {
      this.journaled((j) => j.parkRun({ runId, traceIndex: plan.traceIndex, reason: message }));
      this.emit({ type: "run-parked", traceIndex: plan.traceIndex, stepName: plan.name, reason: message });
      throw new NeedsAttentionError(runId, plan.name, plan.traceIndex, message, { cause });
    }
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
    const answer: CallAnswer = {
      response: result.response,
      responseFields: result.responseFields,
      attestation: result.record.attestation!,
    };
    this.journaled((j) => j.callAnswered({ runId, callSeq: plan.callSeq, ...answer }));
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
      const operation = record.phase === "FORWARD" ? step.operation! : step.compensation!.operation!;
      const entry = this.callLog.get(record.callSeq);
      const attested = record.evidence === "ATTESTED" && entry?.answer;
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
        responseJson: attested ? entry.answer!.response : null,
        attestation: attested ? entry.answer!.attestation : undefined,
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

function sleep(ms: number): Promise<void> {
  return ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve();
}
