import type { WorkflowDefinition } from "../definition";
import type { Logger } from "../project";
import type { Fault, LedgerEntry } from "../systems";
import type { ProviderSet, SystemName } from "../trace";
import type { StateStore } from "../state";
import { DEMO_STOCK, Inventory, storedStock } from "./order/inventory";
import { ORDER_FORWARD_OPERATIONS, ORDER_OPERATIONS } from "./order/operations";
import { loadOrderProviderSet, startOrderSystems } from "./order/systems";
import { demoOrderInput, orderWorkflow } from "./order/workflow";
import { isWorkflowFileArg, loadWorkflowFile } from "./workflowFile";

export { isWorkflowFileArg, loadWorkflowFile, WorkflowFileError } from "./workflowFile";

/** The external systems a scenario talks to, running as simulated HTTP servers on loopback. */
export interface RunningSystems {
  endpoints: Partial<Record<SystemName, string>>;
  providers: ProviderSet;
  /** Tells one system to fail (see Fault); throws for a system the scenario does not run. */
  injectFault(system: SystemName, fault: Fault): void;
  /** The effects a system performed. */
  ledger(system: SystemName): LedgerEntry[];
  stop(): Promise<void>;
}

export interface Scenario {
  name: string;
  description: string;
  /**
   * A fresh definition for one process. With `state` (the journal's state store), the steps read
   * the committed business state (the order's stock) from it; without, a fixed demo table.
   */
  createDefinition(context?: { state?: StateStore }): WorkflowDefinition<unknown>;
  /** The demo's n-th input. */
  demoInput(n: number): unknown;
  /** The operation of each system that the scenario's forward steps call (what `--fail system:kind` targets). */
  forwardOperations: Partial<Record<SystemName, string>>;
  /** Every operation the scenario's systems serve, and which system serves it. */
  operationSystems: Record<string, SystemName>;
  startSystems(args: {
    dataDir: string;
    providerSetDepth: number;
    logger?: Logger;
    /** Where the systems keep their effects across restarts; default: in memory. */
    storeDir?: string;
    timeoutHoldMs?: number;
  }): Promise<RunningSystems>;
  /** The provider set of the scenario's systems, from their keys alone (for deployment). */
  loadProviderSet(args: { dataDir: string; providerSetDepth: number; logger?: Logger }): Promise<ProviderSet>;
}

export class UnknownScenarioError extends Error {
  override name = "UnknownScenarioError";
}

export const SCENARIOS: Record<string, Scenario> = {
  order: {
    name: "order",
    description: "E-commerce order: create → reserve inventory → payment → logistics → invoice → accounting",
    createDefinition: (context) =>
      orderWorkflow(
        new Inventory(context?.state ? storedStock(context.state) : DEMO_STOCK),
      ) as WorkflowDefinition<unknown>,
    demoInput: demoOrderInput,
    forwardOperations: ORDER_FORWARD_OPERATIONS,
    operationSystems: Object.fromEntries(
      Object.values(ORDER_OPERATIONS).flatMap((specs) => specs.map((spec) => [spec.name, spec.system])),
    ),
    startSystems: async (args) => {
      const running = await startOrderSystems(args);
      const system = (name: SystemName) => {
        const found = (running.systems as Partial<Record<SystemName, (typeof running.systems)["payment"]>>)[
          name
        ];
        if (!found) throw new UnknownScenarioError(`the order scenario runs no ${name} system`);
        return found;
      };
      return {
        endpoints: running.endpoints,
        providers: running.providers,
        injectFault: (name, fault) => system(name).injectFault(fault),
        ledger: (name) => system(name).ledger(),
        stop: () => running.stop(),
      };
    },
    loadProviderSet: (args) => loadOrderProviderSet(args),
  },
};

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
 * against the same registered external systems as the built-in order scenario.
 */
export function resolveScenario(nameOrFile: string): Scenario {
  return isWorkflowFileArg(nameOrFile) ? loadWorkflowFile(nameOrFile, SCENARIOS.order) : scenario(nameOrFile);
}
