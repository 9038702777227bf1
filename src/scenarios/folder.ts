import fs from "node:fs";
import path from "node:path";
import { registerCircuitInstances } from "../prover";
import type { Scenario } from "./types";

export class ScenarioFolderError extends Error {
  override name = "ScenarioFolderError";
}

/** Whether a path names a scenario folder: a directory with an index module (index.ts or index.js). */
export function isScenarioFolder(arg: string): boolean {
  const absolute = path.resolve(arg);
  return (
    fs.existsSync(absolute) &&
    fs.statSync(absolute).isDirectory() &&
    ["index.ts", "index.js"].some((f) => fs.existsSync(path.join(absolute, f)))
  );
}

const SCENARIO_KEYS = ["name", "description", "createDefinition", "demoInput", "startSystems"] as const;

/**
 * A scenario kept in a folder of its own, laid out as a built-in one (src/scenarios/<name>/ with
 * its circuits): `index.ts` exports the scenario module (`export const scenario: Scenario`, or the
 * default export) and `circuits.json`, when there is one, declares the folder's circuit instances,
 * their `file`s relative to the folder (they must lie inside the project: circom2 compiles files
 * under it). The instances are registered with the prover's (setup builds them on first use); the
 * module's code runs in this process (trusted code, like a workflow file).
 */
export function loadScenarioFolder(dir: string): Scenario {
  const absolute = path.resolve(dir);
  if (!isScenarioFolder(absolute)) {
    throw new ScenarioFolderError(`${dir} is not a scenario folder (a directory with index.ts)`);
  }
  let loaded: { scenario?: unknown; default?: unknown };
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    loaded = require(absolute) as typeof loaded;
  } catch (cause) {
    throw new ScenarioFolderError(
      `cannot load scenario folder ${dir}: ${(cause as Error).message.split("\n")[0]}`,
      { cause },
    );
  }
  const scenario = (loaded.scenario ?? loaded.default) as Partial<Scenario> | undefined;
  const missing = SCENARIO_KEYS.filter((key) => scenario?.[key] === undefined);
  if (!scenario || missing.length > 0) {
    throw new ScenarioFolderError(
      `${dir}/index exports no scenario module (\`export const scenario: Scenario\`)${
        scenario ? `: it lacks ${missing.join(", ")}` : ""
      }`,
    );
  }
  if (!/^[a-z][a-z0-9-]*$/.test(scenario.name!)) {
    throw new ScenarioFolderError(
      `${dir}: scenario name ${JSON.stringify(scenario.name)} is not lowercase letters, digits and dashes`,
    );
  }
  const circuits = path.join(absolute, "circuits.json");
  if (fs.existsSync(circuits)) {
    try {
      registerCircuitInstances(circuits);
    } catch (cause) {
      throw new ScenarioFolderError((cause as Error).message, { cause });
    }
  }
  return scenario as Scenario;
}
