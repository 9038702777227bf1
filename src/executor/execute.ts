import { randomBytes } from "node:crypto";
import type { WorkflowDefinition } from "../definition";
import { HostInterface, type OperationSpec } from "../host";
import type { Logger } from "../project";
import {
  CALL_SUCCEEDED,
  RECORD_FIELDS,
  type ProviderSet,
  type StepRecord,
  type SystemName,
  type Trace,
} from "../trace";
import { StepFailedError, WorkflowInputError } from "./errors";

export interface ExecuteOptions<Input> {
  definition: WorkflowDefinition<Input>;
  input: unknown;
  endpoints: Partial<Record<SystemName, string>>;
  providers: ProviderSet;
  /** Defaults to 248 random bits (below the field modulus, unique with overwhelming probability). */
  workflowId?: bigint;
  callTimeoutMs?: number;
  logger?: Logger;
}

export interface Execution {
  trace: Trace;
  results: Record<string, unknown>;
  executeMs: number;
}

/** A fresh workflow id: 31 random bytes, so always a field element. */
export function newWorkflowId(): bigint {
  return BigInt("0x" + randomBytes(31).toString("hex"));
}

/**
 * Runs a workflow's steps in order. Every external call goes through the host interface, which
 * checks the provider's attestation before the step sees the response. A step that throws, or
 * whose call came back with a non-success status, fails the run (StepFailedError).
 */
export async function executeWorkflow<Input>(options: ExecuteOptions<Input>): Promise<Execution> {
  const { definition, logger } = options;
  const parsedInput = definition.inputSchema.safeParse(options.input);
  if (!parsedInput.success) {
    const issue = parsedInput.error.issues[0];
    throw new WorkflowInputError(
      `invalid ${definition.name} input: ${issue.path.join(".") || "input"}: ${issue.message}`,
    );
  }
  const input = parsedInput.data;
  const workflowId = options.workflowId ?? newWorkflowId();
  const host = new HostInterface({
    workflowId,
    endpoints: options.endpoints,
    providers: options.providers,
    timeoutMs: options.callTimeoutMs,
    logger,
  });
  const started = performance.now();
  const results: Record<string, unknown> = {};
  const steps: StepRecord[] = [];

  for (const [index, step] of definition.steps.entries()) {
    const stepCalls: {
      operation: OperationSpec<unknown, unknown>;
      requestFields: bigint[];
      responseFields: bigint[];
      callSeq: number;
      succeeded: boolean;
    }[] = [];
    const fail = (message: string, cause?: unknown) =>
      new StepFailedError(definition.name, step.name, index, message, { cause });
    let outcome;
    try {
      outcome = await step.run({
        workflowId,
        input,
        results,
        call: async <Req, Res>(operation: OperationSpec<Req, Res>, request: Req): Promise<Res> => {
          if (stepCalls.length > 0) throw fail("a step makes at most one external call");
          const made = await host.call({ operation, request, stepIndex: index });
          stepCalls.push({
            operation: operation as OperationSpec<unknown, unknown>,
            requestFields: made.requestFields,
            responseFields: made.responseFields,
            callSeq: made.record.callSeq,
            succeeded: made.responseFields[0] === CALL_SUCCEEDED,
          });
          return made.response;
        },
      });
    } catch (cause) {
      if (cause instanceof StepFailedError) throw cause;
      throw fail((cause as Error).message, cause);
    }
    const call = stepCalls[0];
    if (call && !call.succeeded) throw fail(`${call.operation.name} answered with a non-success status`);
    const request = call?.requestFields ?? outcome.request;
    const response = call?.responseFields ?? outcome.response;
    if (!request || !response || request.length !== RECORD_FIELDS || response.length !== RECORD_FIELDS) {
      throw fail(`a local step must return request and response of ${RECORD_FIELDS} fields each`);
    }
    results[step.name] = outcome.result;
    steps.push({
      index,
      stepCode: step.code,
      stepName: step.name,
      phase: "FORWARD",
      status: "OK",
      callSeq: call?.callSeq ?? 0,
      operation: call?.operation.code ?? 0,
      request,
      response,
      evidence: call ? "ATTESTED" : "NONE",
    });
    logger?.debug({ step: step.name, index }, "step succeeded");
  }

  return {
    trace: {
      workflowId,
      scenario: definition.name,
      template: definition.template,
      outcome: "COMMITTED",
      steps,
      calls: [...host.calls],
    },
    results,
    executeMs: Math.round(performance.now() - started),
  };
}
