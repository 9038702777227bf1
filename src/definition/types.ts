import type { z } from "zod";
import type { OperationSpec } from "../host";

/** What a step's code sees: the run's id and input, earlier steps' results, and the host interface. */
export interface StepContext<Input> {
  workflowId: bigint;
  input: Input;
  /** Results of the steps that already ran, by step name. */
  results: Readonly<Record<string, unknown>>;
  /** Calls an external system through the host interface (journaled, attested, recorded). */
  call<Req, Res>(operation: OperationSpec<Req, Res>, request: Req): Promise<Res>;
}

/**
 * What a step returns. A local step gives the request and response fields (RECORD_FIELDS field
 * elements each) that the trace commits to; a step that made an external call takes the call's.
 */
export interface StepOutcome {
  result: unknown;
  request?: bigint[];
  response?: bigint[];
}

export interface StepDefinition<Input> {
  /** snake_case name shown in the audit trail. */
  name: string;
  /** The step's code in the trace; the template's circuit checks the order of codes. */
  code: number;
  run(ctx: StepContext<Input>): Promise<StepOutcome>;
}

export interface WorkflowDefinition<Input> {
  /** The scenario name used on the command line (`wesflow run order`). */
  name: string;
  /** The circuit instance (circuits.json) that proves runs of this workflow. */
  template: string;
  description: string;
  inputSchema: z.ZodType<Input>;
  steps: StepDefinition<Input>[];
}
