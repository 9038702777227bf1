import fs from "node:fs";
import path from "node:path";
import { unregisterCircuitInstances } from "../prover";
import { SYSTEMS } from "../systems";
import { orderScenario } from "./order";
import { supplyChainScenario } from "./supply-chain";
import { clearingScenario } from "./clearing";
import { isScenarioFolder, loadScenarioFolder } from "./folder";
import { isWorkflowFileArg, loadWorkflowFile } from "./workflowFile";
import type { Scenario } from "./types";

export type { RunningSystems, Scenario, ScenarioDemo } from "./types";
export { simulatedSystems } from "./simulated";
import { simulatedSystems } from "./simulated";

export { isWorkflowFileArg, loadWorkflowFile, WorkflowFileError } from "./workflowFile";
export { isScenarioFolder, loadScenarioFolder, ScenarioFolderError } from "./folder";

export { UnknownScenarioError } from "./types";
import { UnknownScenarioError } from "./types";

/**
 * The registered scenarios: the built-in ones, one module per folder (src/scenarios/<name>/; a new
 * one is one line here), then those registered from folders of their own (registerScenarioFolder).
 */
export const SCENARIOS: Record<string, Scenario> = {
  order: orderScenario,
  "supply-chain": supplyChainScenario,
  clearing: clearingScenario,
};
const BUILT_IN = new Set(Object.keys(SCENARIOS));

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
 * Adds a scenario kept in a folder of its own (see `loadScenarioFolder`: its module and its circuit
 * instances) to the registry, where every stage finds it by name as it finds a built-in one (runs,
 * `verify` recomputing its state changes, the audit). Registering the same folder again returns the
 * registered module; another module under a registered name is refused.
 */
export function registerScenarioFolder(dir: string): Scenario {
  const loaded = loadScenarioFolder(dir);
  const held = SCENARIOS[loaded.name];
  if (held && held !== loaded) {
    throw new UnknownScenarioError(
      `a scenario named "${loaded.name}" is already registered (${dir} is another)`,
    );
  }
  SCENARIOS[loaded.name] = loaded;
  return loaded;
}

/** Removes a folder's scenario and its circuit instances from the registries (a test's cleanup). */
export function unregisterScenarioFolder(dir: string): void {
  const loaded = loadScenarioFolder(dir);
  if (SCENARIOS[loaded.name] === loaded && !BUILT_IN.has(loaded.name)) delete SCENARIOS[loaded.name];
  const circuits = path.join(path.resolve(dir), "circuits.json");
  if (fs.existsSync(circuits)) unregisterCircuitInstances(circuits);
}

/**
 * A registered scenario by name, a scenario folder by path (registered on the way), or a user's
 * workflow file by path (`./my.workflow.ts`), which runs against every registered external system
 * (src/systems/).
 */
export function resolveScenario(nameOrFile: string, baseDir = process.cwd()): Scenario {
  if (!isWorkflowFileArg(nameOrFile)) return scenario(nameOrFile);
  const absolute = path.resolve(baseDir, nameOrFile);
  if (isScenarioFolder(absolute)) return registerScenarioFolder(absolute);
  return loadWorkflowFile(nameOrFile, simulatedSystems(SYSTEMS.map((s) => s.name)), baseDir);
}
