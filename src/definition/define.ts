import { z } from "zod";
import { OPERATION_CODES, SYSTEM_CODES } from "../trace";
import { PartialRetryPolicySchema } from "./retry";
import type { StepDefinition, WorkflowDefinition } from "./types";

export class WorkflowDefinitionError extends Error {
  override name = "WorkflowDefinitionError";
}

const OperationShape = z
  .object({
    name: z.string().refine((name) => name in OPERATION_CODES, "operation is not in the catalog"),
    system: z.string().refine((system) => system in SYSTEM_CODES, "unknown system"),
    code: z.number().int().positive(),
    requestSchema: z.object({ safeParse: z.function() }).passthrough(),
    responseSchema: z.object({ safeParse: z.function() }).passthrough(),
    encodeRequest: z.function(),
    encodeResponse: z.function(),
  })
  .passthrough()
  .refine((op) => OPERATION_CODES[op.name as keyof typeof OPERATION_CODES] === op.code, {
    message: "operation code differs from the catalog's",
  });

const DefinitionShape = z.object({
  name: z.string().regex(/^[a-z][a-z0-9-]*$/, "workflow name must be lower-case letters, digits and dashes"),
  template: z.string().min(1),
  rollbackTemplate: z.string().min(1).optional(),
  description: z.string(),
  retry: PartialRetryPolicySchema.optional(),
  steps: z
    .array(
      z.object({
        name: z.string().regex(/^[a-z][a-z0-9_]*$/, "step names are snake_case"),
        code: z.number().int().positive(),
        operation: OperationShape.optional(),
        retry: PartialRetryPolicySchema.optional(),
        compensation: z
          .object({
            name: z
              .string()
              .regex(/^[a-z][a-z0-9_.]*$/, "compensation names are snake_case")
              .optional(),
            operation: OperationShape.optional(),
            retry: PartialRetryPolicySchema.optional(),
            run: z.function(),
          })
          .optional(),
        run: z.function(),
      }),
    )
    .min(1, "a workflow has at least one step"),
});

/** Checks a workflow definition once, at the boundary, and returns it. */
export function defineWorkflow<Input>(definition: WorkflowDefinition<Input>): WorkflowDefinition<Input> {
  const parsed = DefinitionShape.safeParse(definition);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new WorkflowDefinitionError(
      `invalid workflow definition: ${issue.path.join(".")}: ${issue.message}`,
    );
  }
  const names = new Set<string>();
  const codes = new Set<number>();
  for (const step of definition.steps) {
    if (names.has(step.name)) throw new WorkflowDefinitionError(`step name "${step.name}" is used twice`);
    if (codes.has(step.code)) throw new WorkflowDefinitionError(`step code ${step.code} is used twice`);
    names.add(step.name);
    codes.add(step.code);
  }
  for (const step of definition.steps) {
    if (!step.compensation) continue;
    const name = compensationName(step);
    if (names.has(name)) throw new WorkflowDefinitionError(`compensation name "${name}" is used twice`);
    names.add(name);
  }
  return definition;
}

/** The name a compensation has in the trace and the audit trail. */
export function compensationName<Input>(step: StepDefinition<Input>): string {
  return step.compensation?.name ?? `${step.name}.compensate`;
}
