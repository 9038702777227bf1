import type { WorkflowDefinition } from "../../definition";
import { simulatedSystems } from "../simulated";
import type { Scenario } from "../types";
import { memoryBalances, SettlementDesk, storedBalances } from "./desk";
import { CLEARING_GENESIS, clearingWorkflow, demoClearingInput } from "./workflow";

export * from "./desk";
export * from "./workflow";
export * from "./witness";

/** The systems a clearing calls (src/systems/<name>/): the trade venue and the settlement bank. */
export const CLEARING_SYSTEMS = ["venue", "bank"] as const;

/** Cross-institution clearing: the scenario module the registry (src/scenarios/index.ts) lists. */
export const clearingScenario: Scenario = {
  name: "clearing",
  description:
    "Cross-institution clearing: confirm trades (venue) → compute clearing (netting) → transfer funds (bank) → reconcile (bank) → settle",
  createDefinition: (context) =>
    clearingWorkflow(
      new SettlementDesk(context?.state ? storedBalances(context.state) : memoryBalances(CLEARING_GENESIS)),
    ) as WorkflowDefinition<unknown>,
  demoInput: demoClearingInput,
  ...simulatedSystems(CLEARING_SYSTEMS),
  demo: {
    runNoun: "clearing batch",
    runs: 1,
    rollback: {
      system: "bank",
      fault: { operation: "bank.statement", kind: "decline", refusal: "mismatch", times: 1 },
      description:
        "a batch whose bank statement does not match the expected balances (the transfer is reversed)",
    },
  },
};
