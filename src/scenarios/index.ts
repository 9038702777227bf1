import type { WorkflowDefinition } from "../definition";
import type { AnyOperationSpec } from "../host";
import type { SystemName } from "../trace";
import { DEMO_STOCK, Inventory, storedStock } from "./order/inventory";
import { ORDER_FORWARD_OPERATIONS, ORDER_OPERATIONS } from "./order/operations";
import { loadOrderProviderSet, startOrderSystems } from "./order/systems";
import { demoOrderInput, orderWorkflow } from "./order/workflow";
import { isWorkflowFileArg, loadWorkflowFile } from "./workflowFile";
import type { Scenario } from "./types";

export type { RunningSystems, Scenario, ScenarioDemo } from "./types";

export { isWorkflowFileArg, loadWorkflowFile, WorkflowFileError } from "./workflowFile";

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
    demo: {
      runNoun: "e-commerce order",
      rollback: {
        system: "payment",
        fault: { operation: "payment.charge", kind: "decline", times: 1 },
        description: "an order whose payment the payment system declines",
      },
    },
  },
};

/**
 * The operations of the registered external systems (payment, logistics, invoicing), whichever
 * workflow calls them: a user-defined workflow calls these very specs. Each system signs the fields
 * its spec encodes, so the spec of a call's operation code says what JSON those fields are.
 */
const CATALOG_OPERATIONS: readonly AnyOperationSpec[] = Object.values(ORDER_OPERATIONS).flat();

/** The spec of a catalog operation by its code (OPERATION_CODES), or undefined for a code no system serves. */
export function catalogOperation(code: number): AnyOperationSpec | undefined {
  return CATALOG_OPERATIONS.find((spec) => spec.code === code);
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
 * against the same registered external systems as the built-in order scenario.
 */
export function resolveScenario(nameOrFile: string): Scenario {
  return isWorkflowFileArg(nameOrFile) ? loadWorkflowFile(nameOrFile, SCENARIOS.order) : scenario(nameOrFile);
}
