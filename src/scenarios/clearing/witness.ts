import type { WitnessBuilder, WitnessRequest } from "../../definition";
import {
  sagaWorkflowInput,
  stateUpdatesInput,
  WitnessInputError,
  type CircuitInput,
  type SagaTemplateShape,
} from "../../prover";
import { stateKeyField, type StateMove } from "../../state";
import { systemCodeOf } from "../../systems";
import { fixedWorkflowTag } from "../../trace";

/** The clearing templates' workflow tag: circuits/clearing/clearing.circom's `clearingWorkflowTag()`. */
export const CLEARING_WORKFLOW_TAG = fixedWorkflowTag("wesflow/clearing");

/** Forward steps of the clearing template, and its state writes (one per institution slot). */
const STEPS = 8;
const WRITES = 4;
/** The settle records' slots (settle_1 … settle_4): [code, net, balance before, balance after]. */
const SETTLE_SLOT = 4;

/** The clearing's templates (circuits/clearing/clearing.circom), by template name. */
export const CLEARING_SHAPES: Readonly<Record<string, SagaTemplateShape>> = {
  ClearingWorkflow: {
    template: "ClearingWorkflow",
    steps: STEPS,
    maxCalls: 3,
    rollback: false,
    workflowTag: CLEARING_WORKFLOW_TAG,
    systemCodeOf,
  },
  ClearingSaga: {
    template: "ClearingSaga",
    steps: STEPS,
    maxCalls: 4,
    rollback: true,
    workflowTag: CLEARING_WORKFLOW_TAG,
    systemCodeOf,
  },
};

/**
 * The state move a committed clearing proves must be the one its settle records show: write j is
 * institution j's, from the balance the batch settled from at the bank to the statement's. They
 * differ only when the recorded state did not move as the bank's books did: a batch the bank
 * settled before this one is not recorded yet (prove it first: `wesflow resume`).
 */
function checkMoveMatchesSettlement(request: WitnessRequest, move: StateMove): void {
  const settles = request.trace.steps.slice(SETTLE_SLOT, SETTLE_SLOT + WRITES);
  const used = settles.filter((record) => record.request[0] !== 0n);
  if (move.writes.length !== used.length) {
    throw new WitnessInputError(
      `the run writes ${move.writes.length} balances of "${move.domain}"; its batch settled ${used.length} institutions`,
    );
  }
  move.writes.forEach((write, j) => {
    const [code, , before, after] = used[j].request;
    if (stateKeyField(write.key) !== code) {
      throw new WitnessInputError(`write ${j} of "${move.domain}" is ${write.key}'s, not institution ${j}'s`);
    }
    if (write.valueBefore !== before || write.valueAfter !== after) {
      throw new WitnessInputError(
        `${write.key}'s recorded balance moves ${write.valueBefore} → ${write.valueAfter}, the bank settled it ${before} → ${after}: ` +
          `the recorded state has not moved as the bank's books did (a batch settled before this one is not recorded yet: record it first, \`wesflow resume\`)`,
      );
    }
  });
}

/**
 * The clearing's witness builder (the definition's `witness`): SagaWorkflow's input (sagaWorkflowInput)
 * and, for ClearingWorkflow, the balances' four writes (stateUpdatesInput); ClearingSaga takes the
 * roots only (a rolled-back batch leaves them as they were).
 */
export const clearingWitness: WitnessBuilder = (request: WitnessRequest): CircuitInput => {
  const shape = CLEARING_SHAPES[request.template];
  if (!shape)
    throw new WitnessInputError(`no clearing witness builder for circuit template ${request.template}`);
  const [traceDepth, , stateDepth] = request.params;
  if (!request.state) {
    throw new WitnessInputError(`${request.template} proves a state transition: the run's move is needed`);
  }
  const saga = sagaWorkflowInput({
    shape,
    trace: request.trace,
    providers: request.providers,
    submitter: request.submitter,
    traceDepth,
  });
  const move = request.state;
  if (!shape.rollback) {
    checkMoveMatchesSettlement(request, move);
    return {
      ...saga,
      ...stateUpdatesInput({
        move,
        depth: stateDepth,
        maxWrites: WRITES,
        allowInsert: false,
        template: shape.template,
      }),
    };
  }
  if (request.trace.outcome !== "ROLLED_BACK") {
    throw new WitnessInputError(
      `${shape.template} proves rolled-back batches; this one is ${request.trace.outcome}`,
    );
  }
  if (move.writes.length > 0 || move.rootAfter !== move.rootBefore) {
    throw new WitnessInputError(
      `${shape.template} proves rolled-back batches: the balances stay as they were`,
    );
  }
  return { ...saga, stateRootBefore: move.rootBefore, stateRootAfter: move.rootAfter };
};
