import type { BundleCall, BundleStep } from "../bundle";
import { compensationName, settleName, type StepDefinition, type WorkflowDefinition } from "../definition";
import {
  httpFieldsProblem,
  httpOperationFromDeclaration,
  idempotencyKeyOf,
  isHttpOperation,
  type AnyOperationSpec,
  type HttpOperationSpec,
} from "../host";
import { scenario as findScenario, SCENARIOS } from "../scenarios";
import { operationNameOf, operationSpecOf as catalogOperation } from "../systems";

/**
 * What a bundle shows people beside the committed fields: step names, operation names, systems,
 * idempotency keys, and each call's request and response as JSON. The proof commits to step codes,
 * operation codes and field elements only, so these are checked against the workflow's definition
 * (the name of each step code, the operation each step calls) and against the operation catalog:
 * each call's JSON must be exactly the JSON its step's committed fields encode (decoded with the
 * spec of the operation code the step record commits to, the one its system signs), key for key
 * and value for value, so that no key is added, left out or changed behind an encoding that would
 * not show it.
 */
export interface LabelCheck {
  problems: string[];
  /**
   * Set when the step names could not be checked (a workflow that is not built in: its definition's
   * names are not committed anywhere); its calls' names, keys and JSON were checked all the same.
   */
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
  const problems: string[] = [];
  const definition = builtInDefinition(args.scenario);
  let skipped: string | undefined;
  const operationOf = new Map<number, AnyOperationSpec | undefined>();
  if (!definition) {
    // Not built in: but a built-in template proves only its own workflow's runs.
    const owner = Object.values(SCENARIOS).find((s) => {
      const d = s.createDefinition();
      return args.template === d.template || args.template === d.rollbackTemplate;
    });
    if (owner)
      problems.push(`template ${args.template} proves ${owner.name} runs, not ${args.scenario} runs`);
    skipped =
      `step names not checked: ${args.scenario} is not a built-in workflow of this project ` +
      `(its calls' names, keys and JSON are checked against the operation catalog)`;
  } else {
    problems.push(...definitionProblems(definition, args, operationOf));
  }
  // The HTTP declarations first: the notary's status query settles (and decodes) their codes.
  for (const call of args.calls) httpSpecOf(call, []);
  for (const call of args.calls) {
    problems.push(...callProblems(call, args, definition ? operationOf : undefined));
  }
  return skipped ? { problems, skipped } : { problems };
}

function builtInDefinition(name: string): WorkflowDefinition<unknown> | undefined {
  try {
    return findScenario(name).createDefinition();
  } catch {
    return undefined;
  }
}

/** The template and the step names, by the built-in workflow's definition; fills `operationOf` (per step index). */
function definitionProblems(
  definition: WorkflowDefinition<unknown>,
  args: Parameters<typeof checkLabels>[0],
  operationOf: Map<number, AnyOperationSpec | undefined>,
): string[] {
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
  for (const step of args.steps) {
    const definedStep = definition.steps.find((s) => s.code === step.stepCode);
    if (!definedStep) {
      problems.push(
        `step ${step.index}: code ${step.stepCode} is not a step of the ${definition.name} workflow`,
      );
      continue;
    }
    const name =
      step.phase === "FORWARD"
        ? definedStep.name
        : step.phase === "COMPENSATE"
          ? compensationName(definedStep)
          : settleName(definedStep);
    if (step.stepName !== name) {
      problems.push(`step ${step.index} is named ${step.stepName}, its code ${step.stepCode} is ${name}`);
    }
    operationOf.set(step.index, operationSpecOf(definedStep, step.phase));
  }
  return problems;
}

/**
 * One call's labels: its operation's name and system, its idempotency key, what its step's definition
 * calls (built-in workflows: `operationOf`), and its JSON against its step's committed fields.
 */
function callProblems(
  call: BundleCall,
  args: Parameters<typeof checkLabels>[0],
  operationOf: Map<number, AnyOperationSpec | undefined> | undefined,
): string[] {
  const problems: string[] = [];
  const label = `call ${call.callSeq}`;
  const http = httpSpecOf(call, problems);
  let catalogName: string | undefined = http?.name;
  if (!http) {
    try {
      catalogName = operationNameOf(call.operation);
    } catch {
      problems.push(`${label}: operation code ${call.operation} is not in the catalog`);
    }
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
  const named = http ?? catalogOperation(call.operation);
  if (named && call.system !== named.system) {
    problems.push(`${label} names system ${call.system}, ${named.name} is performed by ${named.system}`);
  }
  const step = args.steps.find((s) => s.index === call.stepIndex);
  if (!step) return problems; // the call-to-step checks of verify report it
  const defined = operationOf?.get(step.index);
  if (defined && call.operation !== defined.code) {
    problems.push(`${label}: step ${step.stepName} calls ${defined.name}, not operation ${call.operation}`);
  }
  // The fields are decoded by the operation the step record commits to (a call record naming
  // another one is a problem of verify's call checks, not a reason to read the fields otherwise).
  const signed = step.operation === http?.code ? http : catalogOperation(step.operation);
  if (signed && isHttpOperation(signed)) {
    const where = `step ${step.index} (${step.stepName}), call ${call.callSeq} (${call.operationName})`;
    const shown = step.evidence === "ATTESTED" || step.evidence === "SETTLED";
    for (const what of ["request", "response"] as const) {
      const json = what === "request" ? call.request : call.response;
      const fields = (what === "request" ? step.request : step.response).map((f) => BigInt(f));
      if (json === null || json === undefined) {
        if (shown) problems.push(`${where} ${what}: the JSON is missing`);
        continue;
      }
      const problem = httpFieldsProblem(signed, what, json, fields);
      if (problem) problems.push(`${where} ${what}: ${problem}`);
    }
  } else if (signed) {
    // The JSON of an attested call is what was signed, of a settled one what its status query
    // signed the hash of: the bundle must show it.
    const shown = step.evidence === "ATTESTED" || step.evidence === "SETTLED";
    const where = `step ${step.index} (${step.stepName}), call ${call.callSeq} (${call.operationName})`;
    problems.push(...jsonProblems(where, signed, "request", call.request, step.request, shown));
    problems.push(...jsonProblems(where, signed, "response", call.response, step.response, shown));
  }
  return problems;
}

/**
 * The HTTP operation of a call made through the notary, rebuilt from the declaration the bundle keeps
 * with it (its code must be the call's); undefined for a call of a registered system's operation.
 */
function httpSpecOf(call: BundleCall, problems: string[]): HttpOperationSpec<unknown, unknown> | undefined {
  if (call.http === undefined) return undefined;
  try {
    const spec = httpOperationFromDeclaration(call.http);
    if (spec.code !== call.operation) {
      problems.push(
        `call ${call.callSeq}: its HTTP declaration has code ${spec.code}, the call ${call.operation}`,
      );
      return undefined;
    }
    return spec;
  } catch (error) {
    problems.push(`call ${call.callSeq}: ${(error as Error).message}`);
    return undefined;
  }
}

function operationSpecOf(
  step: StepDefinition<unknown>,
  phase: BundleStep["phase"],
): AnyOperationSpec | undefined {
  if (phase === "FORWARD") return step.operation;
  return phase === "COMPENSATE" ? step.compensation?.operation : step.operation?.settle?.statusQuery;
}

/**
 * The JSON shown must be exactly the JSON the committed fields encode: the fields are decoded with
 * the operation's spec (which refuses fields that no value encodes to) and compared key by key. No
 * JSON is no claim, unless `required` (an attested call: its answer was recorded and signed).
 */
function jsonProblems(
  where: string,
  spec: AnyOperationSpec,
  what: "request" | "response",
  json: unknown,
  fields: readonly string[],
  required: boolean,
): string[] {
  const label = `${where} ${what}`;
  let expected: unknown;
  try {
    const elements = fields.map((f) => BigInt(f));
    expected = what === "request" ? spec.decodeRequest(elements) : spec.decodeResponse(elements);
  } catch (error) {
    if (json === null || json === undefined) return [];
    return [`${label}: the JSON shows what its committed fields do not: ${(error as Error).message}`];
  }
  if (json === null || json === undefined) {
    return required
      ? [`${label}: the JSON is missing; its committed fields encode ${JSON.stringify(expected)}`]
      : [];
  }
  return jsonDifferences(json, expected, "").map((difference) => `${label}: ${difference}`);
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** How the JSON shown differs from the JSON the fields encode, one line per key (`path` prefixes nested keys). */
function jsonDifferences(shown: unknown, expected: unknown, path: string): string[] {
  const encode = (value: unknown) => JSON.stringify(value) ?? String(value);
  if (isRecord(expected)) {
    if (!isRecord(shown)) {
      return [
        `${path ? `key ${path} is` : "the JSON is"} ${encode(shown)}, the committed fields encode an object`,
      ];
    }
    const differences: string[] = [];
    for (const key of Object.keys(shown)) {
      if (!(key in expected)) {
        differences.push(
          `key ${path}${key} (${encode(shown[key])}) is not one the committed fields encode: they encode ${encode(expected)}`,
        );
      }
    }
    for (const key of Object.keys(expected)) {
      if (!(key in shown)) {
        differences.push(
          `key ${path}${key} is missing: the committed fields encode ${encode(expected[key])}`,
        );
      } else {
        differences.push(...jsonDifferences(shown[key], expected[key], `${path}${key}.`));
      }
    }
    return differences;
  }
  // Values compare as JSON text: what a reader of the bundle sees.
  if (encode(shown) === encode(expected)) return [];
  const what = path ? `key ${path.slice(0, -1)} is` : "the JSON is";
  return [`${what} ${encode(shown)}, the committed fields encode ${encode(expected)}`];
}
