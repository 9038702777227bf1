import type { WorkflowDefinition, WorkflowStateEffect } from "../definition";
import type { BundleState } from "../bundle";
import type { Journal } from "../journal";
import {
  sameValueFields,
  StateDomainExistsError,
  StateStore,
  stateDomainId,
  type StateMove,
  type StateTransition,
} from "../state";

/**
 * The state side of a run proven by a state template (circuits.json `stateDomain`): the journal's
 * state store and the workflow's effect on the domain.
 */
export interface RunState {
  store: StateStore;
  effect: WorkflowStateEffect;
}

const stores = new WeakMap<Journal, StateStore>();

/** The state store kept in a journal's database (one per journal, so its per-domain locks are shared). */
export function stateStoreOf(journal: Journal): StateStore {
  let store = stores.get(journal);
  if (!store) stores.set(journal, (store = StateStore.open(journal)));
  return store;
}

/**
 * The run state of a workflow whose template moves `domain`: the journal's store, holding the
 * domain (created from the definition's genesis the first time). Refused when the definition says
 * nothing of that domain, or when there is no journal to keep the state in.
 */
export function runStateFor(args: {
  definition: WorkflowDefinition<unknown>;
  domain: string;
  templateName: string;
  journal: Journal | undefined;
}): RunState {
  const { definition, domain, templateName, journal } = args;
  const effect = definition.state;
  if (!effect || effect.domain !== domain) {
    throw new Error(
      `${templateName} proves a transition of state domain "${domain}", but workflow ${definition.name} declares ${
        effect ? `domain "${effect.domain}"` : "no state effect"
      }`,
    );
  }
  if (!journal) {
    throw new Error(
      `${templateName} proves a state transition: the run needs a journal (its state is kept there)`,
    );
  }
  const store = stateStoreOf(journal);
  ensureDomain(store, effect);
  return { store, effect };
}

/**
 * Creates the effect's domain in the store from its genesis if the store does not hold it yet (with
 * the effect's valueFields, so that its genesis root is that of the packed values). A domain the
 * store holds with other value fields than the effect's is refused (its values would be misread).
 */
export function ensureDomain(store: StateStore, effect: WorkflowStateEffect): void {
  if (!store.hasDomain(effect.domain)) {
    store.createDomain(
      effect.domain,
      { ...effect.genesis },
      effect.valueFields === undefined ? {} : { valueFields: effect.valueFields },
    );
    return;
  }
  const held = store.domain(effect.domain).valueFields;
  if (!sameValueFields(held, effect.valueFields)) {
    const describe = (fields: readonly string[] | undefined) =>
      fields === undefined ? "one unnamed value field" : `the value fields ${fields.join(", ")}`;
    throw new StateDomainExistsError(
      `the journal's state domain "${effect.domain}" has ${describe(held)}, the workflow's effect declares ${describe(effect.valueFields)}`,
    );
  }
}

/**
 * The domain's move a state template's witness and the run's bundle show, from the run's prepared (or
 * applied) transition: its writes in order, each with its path in the tree as the writes before it
 * left it (a run that changes nothing, e.g. a rolled-back order: no writes, the root unchanged).
 */
export function stateMoveOf(transition: StateTransition): { move: StateMove; bundle: BundleState } {
  if (transition.writes.length === 0 && transition.rootAfter !== transition.rootBefore) {
    throw new Error(`a transition without writes must leave the root as it was`);
  }
  const move: StateMove = {
    domain: transition.domain,
    rootBefore: transition.rootBefore,
    rootAfter: transition.rootAfter,
    writes: transition.writes,
  };
  const dec = (x: bigint | number) => x.toString();
  return {
    move,
    bundle: {
      domain: transition.domain,
      domainId: stateDomainId(transition.domain),
      rootBefore: dec(transition.rootBefore),
      rootAfter: dec(transition.rootAfter),
      writes: transition.writes.map((write) => ({
        key: write.key,
        keyField: dec(write.keyField),
        slot: write.slot,
        inserted: write.inserted,
        valueBefore: dec(write.valueBefore),
        valueAfter: dec(write.valueAfter),
        pathElements: write.pathElements.map(dec),
        pathIndices: write.pathIndices.map(Number),
      })),
    },
  };
}

/**
 * Which of these transitions' runs the registry holds an entry for (one view call each): what
 * `reconcile` applies of a chain of runs submitted together.
 */
export async function recordedRunsOf(
  registry: { isRecorded(workflowId: bigint): Promise<boolean> },
  transitions: readonly StateTransition[],
): Promise<(runId: string) => boolean> {
  const runIds = [...new Set(transitions.map((t) => t.runId))];
  const held = await Promise.all(runIds.map((runId) => registry.isRecorded(BigInt(runId))));
  const recorded = new Set(runIds.filter((_, i) => held[i]));
  return (runId) => recorded.has(runId);
}
