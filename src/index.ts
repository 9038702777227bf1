/**
 * wesflow's public API for workflow authors: `import { defineWorkflow, operations } from "wesflow"`.
 * A workflow file default-exports `defineWorkflow({...})` and may export `exampleInput`; run it
 * with `wesflow run ./path/to/file.workflow.ts`.
 */
export {
  defineWorkflow,
  GENERIC_TEMPLATE,
  StepError,
  DEFAULT_RETRY_POLICY,
  type CompensationContext,
  type CompensationDefinition,
  type RetryPolicy,
  type StepContext,
  type StepDefinition,
  type StepOutcome,
  type WorkflowDefinition,
  type WorkflowDefinitionInput,
} from "./definition";
export { encodeString } from "./crypto";
/** wesflow's own zod (3.x, also its peer dependency): `import { z } from "wesflow"` needs no zod of yours. */
export { z } from "zod";

// For scenario authors (a scenario folder: src/scenarios/<name>/ or one of your own, see
// registerScenarioFolder): the module's type, its simulated systems, the witness helpers of the
// shared circuit templates (circuits/lib/saga.circom, circuits/lib/stateUpdates.circom).
export type { RunningSystems, Scenario } from "./scenarios";
export { registerScenarioFolder, simulatedSystems } from "./scenarios";
export type { WitnessBuilder, WitnessRequest, WorkflowStateEffect } from "./definition";
export { sagaWorkflowInput, stateUpdatesInput, WitnessInputError, type SagaTemplateShape } from "./prover";
// A state domain whose values hold several named 64-bit fields (WorkflowStateEffect.valueFields).
export {
  MAX_STATE_FIELDS,
  packStateValue,
  unpackStateValue,
  type StateChange,
  type StateGenesisValue,
} from "./state";
export { fixedWorkflowTag } from "./trace";
export { systemCodeOf } from "./systems";
export { RECORD_FIELDS } from "./trace";
export type { OperationSpec } from "./host";
// A REST API of your own that signs nothing, called through the signing notary (`wesflow notary`).
export { defineHttpOperation, type HttpAnswer, type HttpOperationSpec } from "./host";

import {
  invoiceIssue,
  invoiceVoid,
  logisticsCancel,
  logisticsShip,
  paymentCharge,
  paymentRefund,
} from "./systems";

/**
 * The operations of the registered external systems (payment, logistics, invoicing): what a step
 * may call through `ctx.call`. Each answer is signed by its system and checked by the host.
 */
export const operations = {
  paymentCharge,
  paymentRefund,
  logisticsShip,
  logisticsCancel,
  invoiceIssue,
  invoiceVoid,
} as const;
export type * from "./systems/payment/operations";
export type * from "./systems/logistics/operations";
export type * from "./systems/invoicing/operations";
