import type { WorkflowDefinition, WorkflowStateEffect } from "../definition";
import type { BundleState } from "../bundle";
import type { Journal } from "../journal";
import type { StateLeafTransition } from "../state";
import { STATE_DEPTH, StateStore, stateDomainId, type StateTransition } from "../state";
import type { Trace } from "../trace";

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

/** Creates the effect's domain in the store from its genesis if the store does not hold it yet. */
export function ensureDomain(store: StateStore, effect: WorkflowStateEffect): void {
  if (!store.hasDomain(effect.domain)) store.createDomain(effect.domain, { ...effect.genesis });
}

/**
 * The stock leaf a state template's witness opens, from the run's transition: a committed run's one
 * write (key, slot, values and path under rootBefore); a rolled-back run (no writes) opens its key's
 * current leaf, unchanged (the circuit does not look at the path then; a key the domain does not
 * hold is opened as the empty slot 0 with value 0).
 */
export function stateLeafOf(args: { runState: RunState; transition: StateTransition; trace: Trace }): {
  leaf: StateLeafTransition;
  bundle: BundleState;
} {
  const { runState, transition, trace } = args;
  const key = runState.effect.key(trace);
  let leaf: StateLeafTransition & { keyName: string };
  if (transition.writes.length > 0) {
    if (transition.writes.length !== 1) {
      throw new Error(
        `the run's transition of "${transition.domain}" has ${transition.writes.length} writes; the template proves one`,
      );
    }
    const [write] = transition.writes;
    if (write.key !== key)
      throw new Error(`the run's transition writes "${write.key}", not the run's key "${key}"`);
    if (write.inserted) {
      throw new Error(
        `"${key}" is not in state domain "${transition.domain}": the template updates held keys only`,
      );
    }
    leaf = {
      keyName: key,
      rootBefore: transition.rootBefore,
      key: write.keyField,
      slot: write.slot,
      valueBefore: write.valueBefore,
      valueAfter: write.valueAfter,
      pathElements: write.pathElements,
      pathIndices: write.pathIndices,
    };
  } else {
    if (transition.rootAfter !== transition.rootBefore) {
      throw new Error(`a transition without writes must leave the root as it was`);
    }
    const inclusion = runState.store.inclusion(transition.domain, key);
    if (inclusion && inclusion.root !== transition.rootBefore) {
      throw new Error(`the state of "${transition.domain}" moved since the transition was prepared`);
    }
    leaf = {
      keyName: key,
      rootBefore: transition.rootBefore,
      key: inclusion?.keyField ?? 0n,
      slot: inclusion?.slot ?? 0,
      valueBefore: inclusion?.value ?? 0n,
      valueAfter: inclusion?.value ?? 0n,
      pathElements: inclusion?.pathElements ?? new Array<bigint>(STATE_DEPTH).fill(0n),
      pathIndices: inclusion?.pathIndices ?? new Array<number>(STATE_DEPTH).fill(0),
    };
  }
  const dec = (x: bigint | number) => x.toString();
  return {
    leaf,
    bundle: {
      domain: transition.domain,
      domainId: stateDomainId(transition.domain),
      rootBefore: dec(transition.rootBefore),
      rootAfter: dec(transition.rootAfter),
      key: leaf.keyName,
      keyField: dec(leaf.key),
      slot: leaf.slot,
      valueBefore: dec(leaf.valueBefore),
      valueAfter: dec(leaf.valueAfter),
      pathElements: leaf.pathElements.map(dec),
      pathIndices: leaf.pathIndices.map(Number),
    },
  };
}
