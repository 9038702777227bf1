import { z } from "zod";
import type { WorkflowDefinition } from "./types";

export class WorkflowDefinitionError extends Error {
  override name = "WorkflowDefinitionError";
}

const DefinitionShape = z.object({
  name: z.string().regex(/^[a-z][a-z0-9-]*$/, "workflow name must be lower-case letters, digits and dashes"),
  template: z.string().min(1),
  description: z.string(),
  steps: z
    .array(
      z.object({
        name: z.string().regex(/^[a-z][a-z0-9_]*$/, "step names are snake_case"),
        code: z.number().int().positive(),
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
  const seen = new Set<string>();
  const codes = new Set<number>();
  for (const step of definition.steps) {
    if (seen.has(step.name)) throw new WorkflowDefinitionError(`step name "${step.name}" is used twice`);
    if (codes.has(step.code)) throw new WorkflowDefinitionError(`step code ${step.code} is used twice`);
    seen.add(step.name);
    codes.add(step.code);
  }
  return definition;
}
