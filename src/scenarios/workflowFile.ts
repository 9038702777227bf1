import fs from "node:fs";
import path from "node:path";
import { isDefinedWorkflow, type WorkflowDefinition } from "../definition";
import type { SystemName } from "../trace";
import type { Scenario } from "./types";

export class WorkflowFileError extends Error {
  override name = "WorkflowFileError";
}

/** Whether a `wesflow run` argument names a workflow file rather than a built-in scenario. */
export function isWorkflowFileArg(arg: string): boolean {
  return arg.includes("/") || arg.includes(path.sep) || /\.(ts|js|cjs)$/.test(arg);
}

/**
 * A user's workflow file as a scenario: the file default-exports `defineWorkflow({...})` and may
 * export `exampleInput` (a value, or a function of the run's number) used when no --input is given.
 * Its calls go to the registered external systems (src/systems/), which run as for the built-in
 * scenarios; the file's code runs in this process (it is trusted code).
 */
export function loadWorkflowFile(
  file: string,
  systemsOf: Pick<Scenario, "startSystems" | "loadProviderSet" | "operationSystems">,
  /** What a relative `file` is relative to (default: the current directory); messages name `file` as given. */
  baseDir = process.cwd(),
): Scenario {
  const absolute = path.resolve(baseDir, file);
  if (!fs.existsSync(absolute)) throw new WorkflowFileError(`workflow file ${file} does not exist`);
  let loaded: { default?: unknown; workflow?: unknown; exampleInput?: unknown };
  try {
    if (/\.[cm]?ts$/.test(absolute)) registerTypeScriptLoader();
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    loaded = require(absolute) as typeof loaded;
  } catch (cause) {
    throw new WorkflowFileError(
      `cannot load workflow file ${file}: ${(cause as Error).message.split("\n")[0]}`,
      { cause },
    );
  }
  const definition = loaded.default ?? loaded.workflow;
  if (!isDefinedWorkflow(definition)) {
    throw new WorkflowFileError(
      `${file} does not default-export a workflow made with defineWorkflow({...}) from "wesflow"`,
    );
  }
  const example = loaded.exampleInput;
  const forwardOperations: Partial<Record<SystemName, string>> = {};
  for (const step of definition.steps) {
    if (step.operation) forwardOperations[step.operation.system as SystemName] ??= step.operation.name;
  }
  return {
    name: definition.name,
    description: `${definition.description} (${path.relative(process.cwd(), absolute) || absolute})`,
    // One definition per process: a workflow file keeps its business state in its own module.
    createDefinition: () => definition as WorkflowDefinition<unknown>,
    demoInput: (n) => {
      if (example === undefined) {
        throw new WorkflowFileError(
          `${file} exports no exampleInput: give the run's input with --input FILE`,
        );
      }
      return typeof example === "function" ? (example as (n: number) => unknown)(n) : example;
    },
    forwardOperations,
    operationSystems: systemsOf.operationSystems,
    startSystems: systemsOf.startSystems,
    loadProviderSet: systemsOf.loadProviderSet,
  };
}

/**
 * A user's .ts workflow file loads through ts-node's require hook: in the checkout bin/wesflow.js
 * has registered it (for wesflow's own sources); the installed package runs compiled JavaScript and
 * registers it here, for the user's files only, transpile-only (no type-check at run time: `tsc
 * --noEmit` in the user's project does that) and as CommonJS whatever the user's tsconfig says.
 */
function registerTypeScriptLoader(): void {
  if (require.extensions[".ts"]) return;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const tsNode = require("ts-node") as typeof import("ts-node");
    tsNode.register({
      transpileOnly: true,
      skipProject: true,
      compilerOptions: {
        module: "commonjs",
        moduleResolution: "node",
        target: "es2022",
        esModuleInterop: true,
      },
    });
  } catch (cause) {
    throw new WorkflowFileError(
      `cannot load TypeScript workflow files: ts-node (a dependency of wesflow) does not load: ${(cause as Error).message.split("\n")[0]}`,
      { cause },
    );
  }
}
