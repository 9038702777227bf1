import type { BundleCall, BundleStep } from "../bundle";
import { compensationName, type StepDefinition, type WorkflowDefinition } from "../definition";
import { idempotencyKeyOf, type AnyOperationSpec } from "../host";
import { scenario as findScenario, SCENARIOS } from "../scenarios";
import { operationNameOf } from "../trace";

/**
 * What a bundle shows people beside the committed fields: step names, operation names, systems,
 * idempotency keys, and each call's request and response as JSON. The proof commits to step codes,
 * operation codes and field elements only, so these are checked against the workflow's definition:
 * the name of each step code, the operation each step calls, and the JSON re-encoded with the
 * operation's encoder must give the recorded fields.
 */
export interface LabelCheck {
  problems: string[];
  /** Set when the labels could not be checked (a workflow that is not built in). */
  skipped?: string;
}

/** Checks the labels of some records (all of a bundle's, or one disclosed step and its call). */
export function checkLabels(args: {
  scenario: string;
  template?: string;
  outcome?: "COMMITTED" | "ROLLED_BACK";
  workflowId: bigint;
  steps: readonly BundleStep[];
  calls: readonly BundleCall[];
}): LabelCheck {
  let definition: WorkflowDefinition<unknown>;
  try {
    definition = findScenario(args.scenario).createDefinition();
  } catch {
    // Not built in: but a built-in template proves only its own workflow's runs.
    const owner = Object.values(SCENARIOS).find((s) => {
      const d = s.createDefinition();
      return args.template === d.template || args.template === d.rollbackTemplate;
    });
    if (owner)
      return { problems: [`template ${args.template} proves ${owner.name} runs, not ${args.scenario} runs`] };
    return {
      problems: [],
      skipped: `names and JSON not checked: ${args.scenario} is not a built-in workflow of this project`,
    };
  }
  const problems: string[] = [];
  if (args.template !== undefined && args.outcome !== undefined) {
    const expected =
      args.outcome === "ROLLED_BACK"
        ? (definition.rollbackTemplate ?? definition.template)
        : definition.template;
    if (args.template !== expected) {
      problems.push(
        `a ${args.outcome} ${definition.name} run is proven with ${expected}, not ${args.template}`,
      );
    }
  }
  const operationOf = new Map<number, AnyOperationSpec | undefined>();
  for (const step of args.steps) {
    const definedStep = definition.steps.find((s) => s.code === step.stepCode);
    if (!definedStep) {
      problems.push(
        `step ${step.index}: code ${step.stepCode} is not a step of the ${definition.name} workflow`,
      );
      continue;
    }
    const name = step.phase === "FORWARD" ? definedStep.name : compensationName(definedStep);
    if (step.stepName !== name) {
      problems.push(`step ${step.index} is named ${step.stepName}, its code ${step.stepCode} is ${name}`);
    }
    operationOf.set(step.index, operationSpecOf(definedStep, step.phase));
  }
  for (const call of args.calls) {
    const label = `call ${call.callSeq}`;
    let catalogName: string | undefined;
    try {
      catalogName = operationNameOf(call.operation);
    } catch {
      problems.push(`${label}: operation code ${call.operation} is not in the catalog`);
    }
    if (catalogName !== undefined && catalogName !== call.operationName) {
      problems.push(
        `${label} is named ${call.operationName}, its operation code ${call.operation} is ${catalogName}`,
      );
    }
    if (call.idempotencyKey !== idempotencyKeyOf(args.workflowId, call.callSeq)) {
      problems.push(
        `${label}: idempotency key ${call.idempotencyKey} is not the run's key for call ${call.callSeq}`,
      );
    }
    const step = args.steps.find((s) => s.index === call.stepIndex);
    const spec = step && operationOf.get(step.index);
    if (!step || !spec) continue; // the call-to-step checks of verify report these
    if (call.system !== spec.system) {
      problems.push(`${label} names system ${call.system}, ${spec.name} is performed by ${spec.system}`);
    }
    if (call.operation !== spec.code) {
      problems.push(`${label}: step ${step.stepName} calls ${spec.name}, not operation ${call.operation}`);
    }
    problems.push(...jsonProblems(`${label} request`, spec, "request", call.request, step.request));
    problems.push(...jsonProblems(`${label} response`, spec, "response", call.response, step.response));
  }
  return { problems };
}

function operationSpecOf(
  step: StepDefinition<unknown>,
  phase: BundleStep["phase"],
): AnyOperationSpec | undefined {
  return phase === "FORWARD" ? step.operation : step.compensation?.operation;
}

/** The JSON shown must encode to the fields the proof commits to (no JSON: nothing to compare). */
function jsonProblems(
  label: string,
  spec: AnyOperationSpec,
  what: "request" | "response",
  json: unknown,
  fields: readonly string[],
): string[] {
  if (json === null || json === undefined) return [];
  const schema = what === "request" ? spec.requestSchema : spec.responseSchema;
  const parsed = schema.safeParse(json);
  if (!parsed.success) return [`${label}: the JSON is not a ${spec.name} ${what}`];
  let encoded: bigint[];
  try {
    encoded = what === "request" ? spec.encodeRequest(parsed.data) : spec.encodeResponse(parsed.data);
  } catch (error) {
    return [`${label}: the JSON cannot be encoded: ${(error as Error).message}`];
  }
  const same = encoded.length === fields.length && encoded.every((value, i) => value === BigInt(fields[i]));
  return same ? [] : [`${label}: the JSON does not encode to the recorded ${what} fields`];
}
