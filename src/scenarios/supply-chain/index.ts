import type { WorkflowDefinition } from "../../definition";
import { simulatedSystems } from "../simulated";
import type { Scenario } from "../types";
import { DEMO_MATERIALS, MaterialPlanner, storedMaterials } from "./inventory";
import { startSupplyChainSystems, SUPPLY_CHAIN_ACTORS, SUPPLY_CHAIN_SYSTEMS } from "./systems";
import { demoSupplyOrderInput, supplyChainWorkflow } from "./workflow";

export * from "./inventory";
export * from "./systems";
export * from "./witness";
export * from "./workflow";

/** The supply chain: the scenario module the registry (src/scenarios/index.ts) lists. */
export const supplyChainScenario: Scenario = {
  name: "supply-chain",
  description:
    "Supply chain: confirm order → production plan (ERP) → material purchase (ERP) → production (ERP) → quality inspection (SQL) → shipping",
  createDefinition: (context) =>
    supplyChainWorkflow(
      new MaterialPlanner(context?.state ? storedMaterials(context.state) : DEMO_MATERIALS),
    ) as WorkflowDefinition<unknown>,
  demoInput: demoSupplyOrderInput,
  ...simulatedSystems(SUPPLY_CHAIN_SYSTEMS),
  startSystems: startSupplyChainSystems,
  actorFaults: SUPPLY_CHAIN_ACTORS,
  demo: {
    runNoun: "supply-chain order",
    rollback: {
      actor: "lab",
      kind: "fail-inspection",
      description: "a production lot that fails its quality inspection (scrapped, materials written off)",
    },
  },
};
