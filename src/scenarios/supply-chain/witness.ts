import type { WitnessBuilder } from "../../definition";
import { sagaWorkflowInput, stateUpdatesInput, WitnessInputError } from "../../prover";
import { systemCodeOf } from "../../systems";
import { fixedWorkflowTag } from "../../trace";

/** circuits.json's workflowTag of the supply chain's instance. */
export const SUPPLY_CHAIN_WORKFLOW_TAG = "wesflow/supply-chain";

/** The systems the supply chain's circuit takes one receipt each of, ascending codes: logistics, erp, sql. */
const RECEIPT_SYSTEMS = [systemCodeOf("logistics"), systemCodeOf("erp"), systemCodeOf("sql")].sort(
  (a, b) => a - b,
);

/**
 * The witness of SupplyChainSaga (circuits/supplyChain/supplyChain.circom): the saga's (six steps,
 * up to nine signed calls, one receipt per system) and the inventory's writes (one per material of the
 * plan, values packing stock and scrap: StateWrites with 2 limbs, inserts allowed).
 */
export const supplyChainWitness: WitnessBuilder = (request) => {
  if (request.template !== "SupplyChainSaga") {
    throw new WitnessInputError(`the supply chain proves with SupplyChainSaga only, not ${request.template}`);
  }
  if (!request.state) {
    throw new WitnessInputError(
      "SupplyChainSaga proves a move of supply/inventory: the run's move is needed",
    );
  }
  const [traceDepth, , stateDepth] = request.params;
  return {
    ...sagaWorkflowInput({
      shape: {
        template: request.template,
        steps: 6,
        maxCalls: 9,
        rollback: true,
        workflowTag: fixedWorkflowTag(SUPPLY_CHAIN_WORKFLOW_TAG),
        systemCodeOf,
        receiptSystems: RECEIPT_SYSTEMS,
      },
      trace: request.trace,
      providers: request.providers,
      submitter: request.submitter,
      traceDepth,
    }),
    ...stateUpdatesInput({
      move: request.state,
      depth: stateDepth,
      maxWrites: 3,
      allowInsert: true,
      limbs: 2,
      template: request.template,
    }),
  };
};
