import type { WorkflowDefinition } from "../../definition";
import { simulatedSystems } from "../simulated";
import type { Scenario } from "../types";
import { DEMO_STOCK, Inventory, storedStock } from "./inventory";
import { ORDER_SYSTEMS } from "./systems";
import { demoOrderInput, orderWorkflow } from "./workflow";

/** The e-commerce order: the scenario module the registry (src/scenarios/index.ts) lists. */
export const orderScenario: Scenario = {
  name: "order",
  description: "E-commerce order: create → reserve inventory → payment → logistics → invoice → accounting",
  createDefinition: (context) =>
    orderWorkflow(
      new Inventory(context?.state ? storedStock(context.state) : DEMO_STOCK),
    ) as WorkflowDefinition<unknown>,
  demoInput: demoOrderInput,
  ...simulatedSystems(ORDER_SYSTEMS),
  demo: {
    runNoun: "e-commerce order",
    rollback: {
      system: "payment",
      fault: { operation: "payment.charge", kind: "decline", times: 1 },
      description: "an order whose payment the payment system declines",
    },
  },
};
