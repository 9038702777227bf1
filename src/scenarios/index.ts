import type { WorkflowDefinition } from "../definition";
import type { Logger } from "../project";
import type { ProviderSet, SystemName } from "../trace";
import { DEMO_STOCK, Inventory } from "./order/inventory";
import { loadOrderProviderSet, startOrderSystems } from "./order/systems";
import { demoOrderInput, orderWorkflow } from "./order/workflow";

/** The external systems a scenario talks to, running as simulated HTTP servers on loopback. */
export interface RunningSystems {
  endpoints: Partial<Record<SystemName, string>>;
  providers: ProviderSet;
  stop(): Promise<void>;
}

export interface Scenario {
  name: string;
  description: string;
  /** A fresh definition (with its own business state, e.g. stock) for one process. */
  createDefinition(): WorkflowDefinition<unknown>;
  /** The demo's n-th input. */
  demoInput(n: number): unknown;
  startSystems(args: { dataDir: string; providerSetDepth: number; logger?: Logger }): Promise<RunningSystems>;
  /** The provider set of the scenario's systems, from their keys alone (for deployment). */
  loadProviderSet(args: { dataDir: string; providerSetDepth: number; logger?: Logger }): Promise<ProviderSet>;
}

export const SCENARIOS: Record<string, Scenario> = {
  order: {
    name: "order",
    description: "E-commerce order: create → reserve inventory → payment → logistics → invoice → accounting",
    createDefinition: () => orderWorkflow(new Inventory(DEMO_STOCK)) as WorkflowDefinition<unknown>,
    demoInput: demoOrderInput,
    startSystems: (args) => startOrderSystems(args),
    loadProviderSet: (args) => loadOrderProviderSet(args),
  },
};

export class UnknownScenarioError extends Error {
  override name = "UnknownScenarioError";
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
