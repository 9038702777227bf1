import type { AnyOperationSpec } from "../host";
import { SYSTEMS } from "../systems";
import { orderScenario } from "./order";
import { isWorkflowFileArg, loadWorkflowFile } from "./workflowFile";
import type { Scenario } from "./types";

export type { RunningSystems, Scenario, ScenarioDemo } from "./types";
export { simulatedSystems } from "./simulated";
import { simulatedSystems } from "./simulated";

export { isWorkflowFileArg, loadWorkflowFile, WorkflowFileError } from "./workflowFile";

export { UnknownScenarioError } from "./types";
import { UnknownScenarioError } from "./types";

/** The built-in scenarios, one module per folder (src/scenarios/<name>/); a new one is one line here. */
export const SCENARIOS: Record<string, Scenario> = {
  order: orderScenario,
};

/**
 * The operations of the registered external systems, whichever workflow calls them: a
 * user-defined workflow calls these very specs. Each system signs the fields its spec encodes, so
 * the spec of a call's operation code says what JSON those fields are.
 */
export function catalogOperation(code: number): AnyOperationSpec | undefined {
  return SYSTEMS.flatMap((s) => s.operations).find((spec) => spec.code === code);
}

export function scenario(name: string): Scenario {
  const found = SCENARIOS[name];
  if (!found) {
    throw new UnknownScenarioError(
      `unknown scenario "${name}"; built in: ${Object.keys(SCENARIOS).join(", ")}`,
    );
  }
  return found;
}

/**
 * A built-in scenario by name, or a user's workflow file by path (`./my.workflow.ts`), which runs
 * against every registered external system (src/systems/).
 */
export function resolveScenario(nameOrFile: string): Scenario {
  return isWorkflowFileArg(nameOrFile)
    ? loadWorkflowFile(nameOrFile, simulatedSystems(SYSTEMS.map((s) => s.name)))
    : scenario(nameOrFile);
}
