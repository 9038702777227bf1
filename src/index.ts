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
export { RECORD_FIELDS } from "./trace";
export type { OperationSpec } from "./host";

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
