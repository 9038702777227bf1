import { z } from "zod";
import { checkStateValue, MAX_STATE_FIELDS, packStateValue, StateError, unpackStateValue } from "../state";
import { isHttpOperation, NOTARY_SYSTEM, type AnyOperationSpec } from "../host";
import { OPERATION_CODES, SYSTEM_CODES } from "../systems";
import { PartialRetryPolicySchema } from "./retry";
import type { StepDefinition, WorkflowDefinition, WorkflowDefinitionInput } from "./types";

/**
 * The circuit instance that proves user-defined workflows without circom: up to 8 forward steps
 * and 4 signed external calls on any path (committed or rolled back), the definition bound by its hash.
 */
export const GENERIC_TEMPLATE = "WorkflowTrace_8_4";

/**
 * The naming rules of a workflow definition, as its errors state them (and the README, "Your own
 * workflow"): names are what the trace, the audit and `--fail` show.
 */
export const NAMING_RULES = {
  workflow:
    "workflow names are lower-case letters, digits and dashes, starting with a letter (e.g. refund-flow)",
  step: "step names are snake_case: a lower-case letter, then lower-case letters, digits or _ (e.g. charge_card)",
  compensation:
    "compensation names are snake_case: a lower-case letter, then lower-case letters, digits, _ or . (e.g. refund_card)",
  code: "step codes are positive integers, distinct within the workflow",
} as const;

export class WorkflowDefinitionError extends Error {
  override name = "WorkflowDefinitionError";
}

/** A registered system's operation (the catalog's), or an HTTP operation made through the notary (defineHttpOperation). */
const OperationShape = z
  .object({
    name: z.string(),
    system: z
      .string()
      .refine(
        (system) => system in SYSTEM_CODES,
        `not a registered system (${Object.keys(SYSTEM_CODES).join(", ")})`,
      ),
    code: z.number().int().positive(),
    requestSchema: z.object({ safeParse: z.function() }).passthrough(),
    responseSchema: z.object({ safeParse: z.function() }).passthrough(),
    encodeRequest: z.function(),
    encodeResponse: z.function(),
  })
  .passthrough()
  .superRefine((op, ctx) => {
    if (isHttpOperation(op as unknown as AnyOperationSpec)) {
      if (op.system !== NOTARY_SYSTEM)
        ctx.addIssue({
          code: z.ZodIssueCode.custom,
          message: "an HTTP operation is made through the notary",
        });
      if (op.code in OPERATION_CODE_NAMES)
        ctx.addIssue({
          code: z.ZodIssueCode.custom,
          message: `code ${op.code} is a registered system's operation`,
        });
      return;
    }
    if (!(op.name in OPERATION_CODES)) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ["name"],
        message:
          'not an operation of the registered systems (`wesflow operations` lists them; use the `operations` export of "wesflow"; a REST call of your own: defineHttpOperation)',
      });
    } else if (OPERATION_CODES[op.name] !== op.code) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ["code"],
        message: `operation code differs from the catalog's (${OPERATION_CODES[op.name]})`,
      });
    }
  });

const OPERATION_CODE_NAMES: Readonly<Record<number, string>> = Object.fromEntries(
  Object.entries(OPERATION_CODES).map(([name, code]) => [code, name]),
);

/**
 * A state effect: its domain, genesis and changes; `valueFields` 1 to 3 distinct names (not with
 * `valueName`); each genesis value one 64-bit value, or with valueFields one per field (or packed).
 */
const StateEffectShape = z
  .object({
    domain: z.string().min(1, "a state domain needs a name"),
    genesis: z.record(z.string(), z.union([z.bigint(), z.array(z.bigint())])),
    changes: z.function(),
    allowInsert: z.boolean().optional(),
    valueName: z.string().min(1).optional(),
    valueFields: z
      .array(
        z
          .string()
          .min(1, "a value field's name is non-empty")
          .refine((name) => name.trim() === name, "a value field's name has no surrounding spaces"),
      )
      .min(1, "valueFields names 1 to 3 fields")
      .max(MAX_STATE_FIELDS, `a state value packs at most ${MAX_STATE_FIELDS} fields of 64 bits`)
      .refine((names) => new Set(names).size === names.length, "valueFields names a field twice")
      .optional(),
  })
  .passthrough()
  .superRefine((effect, ctx) => {
    const { valueFields } = effect;
    if (valueFields !== undefined && effect.valueName !== undefined) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ["valueName"],
        message: "give either valueName (one field) or valueFields, not both",
      });
    }
    // Only names the shape above accepted: count them when they are sound.
    const count =
      valueFields === undefined
        ? 1
        : valueFields.length >= 1 && valueFields.length <= MAX_STATE_FIELDS
          ? valueFields.length
          : undefined;
    if (count === undefined) return;
    for (const [key, value] of Object.entries(effect.genesis)) {
      try {
        if (Array.isArray(value)) {
          if (value.length !== count) {
            throw new StateError(
              `gives ${value.length} fields; the domain's values have ${count}${valueFields ? ` (${valueFields.join(", ")})` : ""}`,
            );
          }
          packStateValue(value, valueFields ?? ["value"]);
        } else if (count === 1) checkStateValue(value, key);
        else unpackStateValue(value, count);
      } catch (error) {
        if (!(error instanceof StateError)) throw error;
        ctx.addIssue({ code: z.ZodIssueCode.custom, path: ["genesis", key], message: error.message });
      }
    }
  });

const DefinitionShape = z.object({
  name: z.string().regex(/^[a-z][a-z0-9-]*$/, NAMING_RULES.workflow),
  template: z.string().min(1).optional(),
  rollbackTemplate: z.string().min(1).optional(),
  description: z.string(),
  retry: PartialRetryPolicySchema.optional(),
  steps: z
    .array(
      z.object({
        name: z.string().regex(/^[a-z][a-z0-9_]*$/, NAMING_RULES.step),
        code: z
          .number({ invalid_type_error: NAMING_RULES.code })
          .int(NAMING_RULES.code)
          .positive(NAMING_RULES.code),
        operation: OperationShape.optional(),
        retry: PartialRetryPolicySchema.optional(),
        compensation: z
          .object({
            name: z
              .string()
              .regex(/^[a-z][a-z0-9_.]*$/, NAMING_RULES.compensation)
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
  witness: z.function().optional(),
  state: StateEffectShape.optional(),
  admit: z.function().optional(),
});

/** ` (step "charge")` for an issue inside steps[i] whose name is readable. */
function stepOf(definition: unknown, issuePath: readonly (string | number)[]): string {
  if (issuePath[0] !== "steps" || typeof issuePath[1] !== "number" || issuePath.length < 3) return "";
  if (issuePath.length === 3 && issuePath[2] === "name") return ""; // the name itself is the issue
  const step = (definition as { steps?: { name?: unknown }[] }).steps?.[issuePath[1]];
  return typeof step?.name === "string" ? ` (step "${step.name}")` : "";
}

/** `: got "Refund"` for an issue about a plain value. */
function gotOf(definition: unknown, issuePath: readonly (string | number)[]): string {
  let value: unknown = definition;
  for (const key of issuePath) {
    if (value === null || typeof value !== "object") return "";
    value = (value as Record<string | number, unknown>)[key];
  }
  if (typeof value === "string") return `: got ${JSON.stringify(value)}`;
  if (typeof value === "number" || typeof value === "bigint" || typeof value === "boolean")
    return `: got ${String(value)}`;
  return "";
}

/** Definitions that defineWorkflow validated. */
const defined = new WeakSet<object>();

/**
 * Checks a workflow definition once, at the boundary, and returns it (with the generic template
 * when it names none).
 */
export function defineWorkflow<Input>(input: WorkflowDefinitionInput<Input>): WorkflowDefinition<Input> {
  const definition: WorkflowDefinition<Input> = { ...input, template: input.template ?? GENERIC_TEMPLATE };
  const parsed = DefinitionShape.safeParse(definition);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new WorkflowDefinitionError(
      `invalid workflow definition at ${issue.path.join(".")}${stepOf(definition, issue.path)}: ${issue.message}${gotOf(definition, issue.path)}`,
    );
  }
  const names = new Set<string>();
  const codes = new Set<number>();
  for (const step of definition.steps) {
    if (names.has(step.name))
      throw new WorkflowDefinitionError(`step name "${step.name}" is used twice (every name is distinct)`);
    if (codes.has(step.code))
      throw new WorkflowDefinitionError(`step code ${step.code} is used twice (${NAMING_RULES.code})`);
    names.add(step.name);
    codes.add(step.code);
  }
  for (const step of definition.steps) {
    if (!step.compensation) continue;
    const name = compensationName(step);
    if (names.has(name)) throw new WorkflowDefinitionError(`compensation name "${name}" is used twice`);
    names.add(name);
  }
  for (const step of definition.steps) {
    if (!step.operation) continue;
    const name = settleName(step);
    if (names.has(name))
      throw new WorkflowDefinitionError(`"${name}" names the status query of ${step.name}`);
  }
  defined.add(definition);
  return definition;
}

/** Whether a value is a definition returned by defineWorkflow (so it was validated). */
export function isDefinedWorkflow(value: unknown): value is WorkflowDefinition<unknown> {
  return typeof value === "object" && value !== null && defined.has(value);
}

/** The name a compensation has in the trace and the audit trail. */
export function compensationName<Input>(step: StepDefinition<Input>): string {
  return step.compensation?.name ?? `${step.name}.compensate`;
}

/**
 * The name of the SETTLE record (the status query that settles the step's call when it got no
 * usable answer) in the trace and the audit trail.
 */
export function settleName(step: { name: string }): string {
  return `${step.name}.settle`;
}
