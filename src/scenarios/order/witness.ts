import { poseidon, rootFromPath } from "../../crypto";
import type { WitnessBuilder, WitnessRequest } from "../../definition";
import {
  sagaWorkflowInput,
  WitnessInputError,
  type CircuitInput,
  type SagaTemplateShape,
} from "../../prover";
import { STATE_DEPTH, stateSlotOf, type StateMove } from "../../state";
import { systemCodeOf } from "../../systems";
import { fixedWorkflowTag, type ProviderSet, type Trace } from "../../trace";

/** The order templates' workflow tag: circuits/order/order.circom's `orderWorkflowTag()`. */
export const ORDER_WORKFLOW_TAG = fixedWorkflowTag("wesflow/order");

const orderShape = (template: string, maxCalls: number, rollback: boolean): SagaTemplateShape => ({
  template,
  steps: 6,
  maxCalls,
  rollback,
  workflowTag: ORDER_WORKFLOW_TAG,
  systemCodeOf,
});

/** The order's SagaWorkflow templates (circuits/order/order.circom), by template name. */
export const ORDER_SAGA_SHAPES: Readonly<Record<string, SagaTemplateShape>> = {
  OrderWorkflow: orderShape("OrderWorkflow", 3, false),
  OrderSaga: orderShape("OrderSaga", 6, true),
};

/**
 * The order-with-state templates (circuits/order/orderState.circom) and the SagaWorkflow shape each
 * shares with an order template of circuits/order/order.circom (same steps, calls, rollback).
 */
export const ORDER_STATE_TEMPLATES: Readonly<Record<string, "OrderWorkflow" | "OrderSaga">> = {
  OrderStateWorkflow: "OrderWorkflow",
  OrderStateSaga: "OrderSaga",
};

/** The input of an order template without state (OrderWorkflow, OrderSaga). */
export function orderTemplateInput(args: {
  template: string;
  trace: Trace;
  providers: ProviderSet;
  submitter: bigint;
  traceDepth: number;
}): CircuitInput {
  const shape = ORDER_SAGA_SHAPES[args.template];
  if (!shape) throw new WitnessInputError(`no order witness builder for circuit template ${args.template}`);
  return sagaWorkflowInput({ ...args, shape });
}

/**
 * The order's witness builder (the definition's `witness`): the input of whichever order template
 * proves the run, from its trace and, for the state templates, the stock leaf the proof opens.
 */
export const orderWitness: WitnessBuilder = (request: WitnessRequest) => {
  const [traceDepth, , stateDepth] = request.params;
  const common = {
    template: request.template,
    trace: request.trace,
    providers: request.providers,
    submitter: request.submitter,
    traceDepth,
  };
  if (ORDER_STATE_TEMPLATES[request.template]) {
    if (!request.state) {
      throw new WitnessInputError(
        `${request.template} proves a state transition: the run's state leaf is needed`,
      );
    }
    return orderStateInput({ ...common, stateDepth, state: orderStockLeaf(request.state, stateDepth) });
  }
  return orderTemplateInput(common);
};

/** Largest value a state leaf holds: values are unsigned 64-bit integers. */
const MAX_UINT64 = (1n << 64n) - 1n;

/**
 * The one stock leaf the order's state templates open (circuits/order/orderState.circom's
 * StateLeafUpdate), as the witness builder takes it.
 */
export interface StateLeafTransition {
  /** The state root the proof starts from (public stateRootBefore). */
  rootBefore: bigint;
  /** The leaf's key as a field element (stateKeyField of its name). */
  key: bigint;
  /** The leaf's index in the tree: the key's own slot, stateSlotOf(key, depth). */
  slot: number;
  /** The value in the leaf under rootBefore. */
  valueBefore: bigint;
  /** The value after the run (equal to valueBefore when the run leaves the state as it was). */
  valueAfter: bigint;
  /** Siblings bottom-up (the tree's depth = their number). */
  pathElements: readonly bigint[];
  /** Per level, 1 when the node is a right child: the bits of `slot`, lowest first. */
  pathIndices: readonly (number | bigint)[];
}

/**
 * The stock leaf of the run's state move: a committed order's one write (it updates a held SKU:
 * the order's templates insert nothing); a run that leaves the stock as it was (no writes) opens
 * nothing: the circuit does not look at the leaf then, so it is the empty opening (slot 0, value 0).
 */
export function orderStockLeaf(move: StateMove, depth = STATE_DEPTH): StateLeafTransition {
  if (move.writes.length === 0) {
    if (move.rootAfter !== move.rootBefore) {
      throw new WitnessInputError(`a state move without writes must leave the root as it was`);
    }
    return {
      rootBefore: move.rootBefore,
      key: 0n,
      slot: 0,
      valueBefore: 0n,
      valueAfter: 0n,
      pathElements: new Array<bigint>(depth).fill(0n),
      pathIndices: new Array<number>(depth).fill(0),
    };
  }
  if (move.writes.length !== 1) {
    throw new WitnessInputError(
      `the run's move of "${move.domain}" has ${move.writes.length} writes; the order's templates prove one`,
    );
  }
  const [write] = move.writes;
  if (write.inserted) {
    throw new WitnessInputError(
      `"${write.key}" is not in state domain "${move.domain}": the order's templates update held keys only`,
    );
  }
  return {
    rootBefore: move.rootBefore,
    key: write.keyField,
    slot: write.slot,
    valueBefore: write.valueBefore,
    valueAfter: write.valueAfter,
    pathElements: write.pathElements,
    pathIndices: write.pathIndices,
  };
}

/** The order's quantity and SKU field as create_order (record 0) carries them. */
function orderOf(trace: Trace): { sku: bigint; quantity: bigint } {
  const create = trace.steps[0];
  if (!create) throw new WitnessInputError("the trace has no create_order record");
  return { sku: create.request[2], quantity: create.request[3] };
}

function checkUint64(value: bigint, what: string): void {
  if (value < 0n || value > MAX_UINT64) {
    throw new WitnessInputError(`${what} ${value} is not an unsigned 64-bit integer`);
  }
}

/**
 * The input of OrderStateWorkflow / OrderStateSaga (circuits/order/orderState.circom): sagaWorkflowInput's
 * (the order template's trace, attestations and failedStep) plus the state transition: public
 * stateRootBefore and stateRootAfter, and the stock leaf's values and path. A COMMITTED run moves
 * the SKU's stock from valueBefore to valueBefore − quantity (quantity = create_order's), and
 * stateRootAfter is the root with the new leaf; a ROLLED_BACK run leaves the state as it was
 * (stateRootAfter = rootBefore; the path is not looked at). The leaf's values are the recorded
 * state's, which need not equal the reserve record's stockBefore/stockAfter (the executor's view):
 * the circuit applies the recorded quantity. Inconsistent transitions are refused here with a
 * WitnessInputError rather than left to fail in the witness.
 */
export function orderStateInput(args: {
  template: string;
  trace: Trace;
  providers: ProviderSet;
  submitter: bigint;
  traceDepth: number;
  /** The circuit's STATE_DEPTH, when known: the path must have as many levels. */
  stateDepth?: number;
  state: StateLeafTransition;
}): CircuitInput {
  const { trace, state } = args;
  const sagaTemplate = ORDER_STATE_TEMPLATES[args.template];
  if (!sagaTemplate)
    throw new WitnessInputError(`no order-state witness builder for template ${args.template}`);
  const saga = sagaWorkflowInput({
    shape: ORDER_SAGA_SHAPES[sagaTemplate],
    trace,
    providers: args.providers,
    submitter: args.submitter,
    traceDepth: args.traceDepth,
  });

  const depth = state.pathElements.length;
  if (args.stateDepth !== undefined && depth !== args.stateDepth) {
    throw new WitnessInputError(
      `the state path has ${depth} levels; ${args.template} takes ${args.stateDepth}`,
    );
  }
  if (depth === 0 || state.pathIndices.length !== depth) {
    throw new WitnessInputError(
      `a state path has one sibling and one index per level: got ${depth} and ${state.pathIndices.length}`,
    );
  }
  if (!Number.isInteger(state.slot) || state.slot < 0 || state.slot >= 2 ** depth) {
    throw new WitnessInputError(`state slot ${state.slot} is outside a depth-${depth} tree`);
  }
  const pathIndices = state.pathIndices.map(Number);
  pathIndices.forEach((bit: number, level: number) => {
    if (bit !== Math.floor(state.slot / 2 ** level) % 2) {
      throw new WitnessInputError(`state path index ${level} is not bit ${level} of slot ${state.slot}`);
    }
  });
  checkUint64(state.valueBefore, "the stock before");
  checkUint64(state.valueAfter, "the stock after");

  let rootAfter: bigint;
  if (trace.outcome === "COMMITTED") {
    const order = orderOf(trace);
    if (state.key !== order.sku) {
      throw new WitnessInputError(`the state key ${state.key} is not the order's SKU field ${order.sku}`);
    }
    if (state.slot !== stateSlotOf(state.key, depth)) {
      throw new WitnessInputError(
        `the state key ${state.key} lives at slot ${stateSlotOf(state.key, depth)}, not ${state.slot}: a key's slot is fixed by the key`,
      );
    }
    if (state.valueAfter !== state.valueBefore - order.quantity) {
      throw new WitnessInputError(
        `the stock after (${state.valueAfter}) is not the stock before (${state.valueBefore}) − the quantity (${order.quantity})`,
      );
    }
    const path = { pathElements: [...state.pathElements], pathIndices };
    if (rootFromPath(poseidon([state.key, state.valueBefore]), path) !== state.rootBefore) {
      throw new WitnessInputError(
        `the leaf (key ${state.key}, value ${state.valueBefore}) at slot ${state.slot} is not in the state with root ${state.rootBefore}`,
      );
    }
    rootAfter = rootFromPath(poseidon([state.key, state.valueAfter]), path);
  } else {
    if (state.valueAfter !== state.valueBefore) {
      throw new WitnessInputError(
        `a ${trace.outcome} run leaves the state as it was: stock after ${state.valueAfter} ≠ before ${state.valueBefore}`,
      );
    }
    rootAfter = state.rootBefore;
  }

  return {
    ...saga,
    stateRootBefore: state.rootBefore,
    stateRootAfter: rootAfter,
    stateValueBefore: state.valueBefore,
    stateValueAfter: state.valueAfter,
    statePathElements: [...state.pathElements],
  };
}
