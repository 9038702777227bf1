import type { RetryPolicy, WorkflowDefinition } from "../definition";
import { HostInterface } from "../host";
import { ownerAlive, type Journal, type JournalRun, type RunStatus } from "../journal";
import { createLogger, type Logger } from "../project";
import { toHex32 } from "../crypto";
import {
  newRunNonce,
  workflowIdOf,
  type ProviderSet,
  type RunBinding,
  type SystemName,
  type Trace,
} from "../trace";
import { ResumeError, WorkflowInputError } from "./errors";
import { Saga } from "./saga";
import type { ExecutionFailure, ExecutorEvent } from "./types";

export interface ExecuteOptions<Input> {
  definition: WorkflowDefinition<Input>;
  input: unknown;
  endpoints: Partial<Record<SystemName, string>>;
  providers: ProviderSet;
  /**
   * Who will record the run and which workflow it is (the template's tag, or the definition's hash
   * for user workflows): the run's id is Poseidon(submitter, workflowTag, runNonce), so that no
   * other address can prove anything for it. `runNonce` defaults to 31 random bytes (tests may fix
   * it to know the id in advance).
   */
  binding: Omit<RunBinding, "runNonce"> & { runNonce?: bigint };
  /** Overrides the per-call timeout of every step's retry policy. */
  callTimeoutMs?: number;
  /** Overrides fields of every step's retry policy (e.g. short backoffs in tests). */
  retry?: Partial<RetryPolicy>;
  /** The durable journal; without one the run cannot be resumed after a crash. */
  journal?: Journal;
  logger?: Logger;
  /** Called after each journaled transition. */
  onEvent?: (event: ExecutorEvent) => void;
}

export interface Execution {
  trace: Trace;
  /** Results of the forward steps that completed, by step name. */
  results: Record<string, unknown>;
  /** Milliseconds this process spent executing (a resumed run: only the resumed part). */
  executeMs: number;
  /** toHex32(workflowId): the run's id in the journal. */
  runId: string;
  /** Set when the run rolled back: the step that failed for good. */
  failure?: ExecutionFailure;
}

export type ResumeOptions<Input> = Omit<ExecuteOptions<Input>, "input" | "binding" | "journal"> & {
  journal: Journal;
  runId: string;
};

let defaultLogger: Logger | undefined;

function parseInput<Input>(definition: WorkflowDefinition<Input>, input: unknown): Input {
  const parsed = definition.inputSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new WorkflowInputError(
      `invalid ${definition.name} input: ${issue.path.join(".") || "input"}: ${issue.message}`,
    );
  }
  return parsed.data;
}

function sagaFor<Input>(
  options: Omit<ExecuteOptions<Input>, "input" | "binding">,
  run: { input: Input; workflowId: bigint; binding: RunBinding; runId: string },
): Saga<Input> {
  defaultLogger ??= createLogger();
  const logger = (options.logger ?? defaultLogger).child({
    component: "executor",
    workflow: options.definition.name,
    runId: run.runId,
  });
  return new Saga({
    definition: options.definition,
    input: run.input,
    workflowId: run.workflowId,
    binding: run.binding,
    runId: run.runId,
    host: new HostInterface({
      workflowId: run.workflowId,
      endpoints: options.endpoints,
      providers: options.providers,
      logger: options.logger,
    }),
    journal: options.journal,
    logger,
    retryOverride: {
      ...options.retry,
      ...(options.callTimeoutMs !== undefined ? { callTimeoutMs: options.callTimeoutMs } : {}),
    },
    onEvent: options.onEvent,
  });
}

/**
 * Runs a workflow as one atomic unit (a saga): the forward steps in order; when a step fails for
 * good (after its retries), the compensations of every completed step in reverse order. Every
 * external call goes through the host interface, which checks the provider's attestation before
 * the step sees the response; with a journal, each transition and each call's request (before it
 * is sent) and answer are journaled, so `resumeWorkflow` can finish the run after a crash.
 *
 * Resolves with the trace, COMMITTED or ROLLED_BACK. Rejects with WorkflowInputError before
 * anything runs (an invalid input, or one the definition's `admit` refuses), and with NeedsAttentionError when a compensation still fails after its retries
 * (the run is parked in the journal; `resumeWorkflow` retries the compensation).
 */
export async function executeWorkflow<Input>(options: ExecuteOptions<Input>): Promise<Execution> {
  const { definition, journal } = options;
  const input = parseInput(definition, options.input);
  const refusal = definition.admit?.(input);
  if (refusal !== undefined) throw new WorkflowInputError(`${definition.name} run refused: ${refusal}`);
  const binding: RunBinding = { ...options.binding, runNonce: options.binding.runNonce ?? newRunNonce() };
  const workflowId = workflowIdOf(binding);
  const runId = toHex32(workflowId);
  const saga = sagaFor(options, { input, workflowId, binding, runId });
  const started = performance.now();
  journal?.createRun({
    workflowId,
    binding,
    scenario: definition.name,
    template: definition.template,
    input,
  });
  options.onEvent?.({ type: "run-started", runId });
  try {
    const done = await saga.drive();
    return { ...done, runId, executeMs: Math.round(performance.now() - started) };
  } finally {
    releaseQuietly(journal, runId);
  }
}

/**
 * Gives up this process's ownership of a run (a no-op once the run finished or parked). A journal
 * that cannot be written here already stopped the run: its error is the one to report, not this.
 */
function releaseQuietly(journal: Journal | undefined, runId: string): void {
  try {
    journal?.releaseRun(runId);
  } catch {
    // the owner stays recorded; `ownerAlive` frees the run once this process is gone
  }
}

/** Statuses after which a run's execution is over (its trace is final). */
const EXECUTED: readonly RunStatus[] = ["COMMITTED", "ROLLED_BACK", "PROVEN", "RECORDED"];

/**
 * Finishes a run from the journal: completed records are not run again; a record that was
 * interrupted (or a parked compensation) is attempted again, and a call journaled without an answer
 * is re-sent under its callSeq and idempotency key, so the system performs its effect at most once
 * and answers with the original signed response. A run whose execution is over is rebuilt from the
 * journal without running anything.
 *
 * Rejects with ResumeError when the run is unknown, owned by a live process, or no longer matches
 * the definition, and with NeedsAttentionError when a compensation is parked (again).
 */
export async function resumeWorkflow<Input>(options: ResumeOptions<Input>): Promise<Execution> {
  const { definition, journal } = options;
  const state = journal.loadRun(options.runId);
  const { run } = state;
  if (run.scenario !== definition.name) {
    throw new ResumeError(`run ${run.runId} is a ${run.scenario} run, not ${definition.name}`);
  }
  const input = parseInput(definition, run.input);
  if (!run.binding) {
    throw new ResumeError(
      `run ${run.runId} was started by an earlier wesflow whose run ids were not bound to a submitter: ` +
        `this version's templates cannot prove it (its outcome stands in the journal)`,
    );
  }
  const saga = sagaFor(options, {
    input,
    workflowId: run.workflowId,
    binding: run.binding,
    runId: run.runId,
  });
  saga.restore(state.steps, state.calls);
  const started = performance.now();
  if (EXECUTED.includes(run.status)) {
    const done = saga.finishedTrace(
      run.outcome ?? (run.status === "ROLLED_BACK" ? "ROLLED_BACK" : "COMMITTED"),
    );
    return { ...done, runId: run.runId, executeMs: 0 };
  }
  if (!journal.claimRun(run.runId)) {
    throw new ResumeError(`run ${run.runId} is being executed by process ${run.owner}`);
  }
  options.onEvent?.({ type: "run-resumed", runId: run.runId, traceIndex: saga.position });
  try {
    const done = await saga.drive();
    return { ...done, runId: run.runId, executeMs: Math.round(performance.now() - started) };
  } finally {
    releaseQuietly(journal, run.runId);
  }
}

export interface ResumedRun {
  run: JournalRun;
  execution?: Execution;
  error?: unknown;
}

/** Runs of a workflow whose execution was interrupted (its process died), and parked ones if asked. */
export function interruptedRuns(args: {
  journal: Journal;
  scenario: string;
  includeParked?: boolean;
}): JournalRun[] {
  const statuses: RunStatus[] = ["RUNNING", "COMPENSATING"];
  if (args.includeParked) statuses.push("NEEDS_ATTENTION");
  return args.journal
    .listRuns({ statuses, scenario: args.scenario })
    .filter((run) => !ownerAlive(run.owner))
    .reverse(); // oldest first
}

/**
 * Resumes, one after the other, every run of this workflow whose process died mid-run (and the
 * parked ones with `includeParked`). A run that fails again is reported, not thrown.
 */
export async function resumeInterruptedRuns<Input>(
  options: Omit<ResumeOptions<Input>, "runId"> & { includeParked?: boolean },
): Promise<ResumedRun[]> {
  const resumed: ResumedRun[] = [];
  for (const run of interruptedRuns({
    journal: options.journal,
    scenario: options.definition.name,
    includeParked: options.includeParked,
  })) {
    try {
      resumed.push({ run, execution: await resumeWorkflow({ ...options, runId: run.runId }) });
    } catch (error) {
      resumed.push({ run, error });
    }
  }
  return resumed;
}
