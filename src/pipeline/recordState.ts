/**
 * The state side of recording a run (a state template's: its proof moves a state domain, and it is
 * submitted with `submitWithState` or, with its neighbours in a chain, `submitBatchWithState`).
 * Two paths, both applying a run's transition to the journal's state only once the registry took it:
 *  - one run at a time (`recordWithState`): under the domain's lock the run is prepared against the
 *    applied root, proven, submitted and applied;
 *  - in a chain (`recordWithStateInChain`, a session with batch settings): under the lock only
 *    prepared, on top of the transitions of the runs ahead of it that are being proven or submitted
 *    (`StateChain`); proven outside it; handed to the batch queue in chain order, so that a batch
 *    is a stretch of the chain; applied in order once its batch transaction is confirmed.
 */
import type { BundleState } from "../bundle";
import {
  readStateRoot,
  recordBatch,
  RegistrySubmitError,
  TransactionNotMinedError,
  TransactionTimeoutError,
  type BatchRun,
  type ConfirmedTransaction,
} from "../chain";
import type { ProgressReporter, RunProof } from "../prover";
import type { StateMove, StateReconcileResult, StateStore, StateTransition } from "../state";
import type { Trace } from "../trace";
import type { ChainContext } from "./network";
import type { BatchItemOutcome, RunQueues } from "./queues";
import { recordedRunsOf, stateMoveOf, type RunState } from "./runState";

/** What both state paths are given by recordExecution. */
export interface StateRunArgs {
  runState: RunState;
  runId: string;
  trace: Trace;
  chain: ChainContext;
  prove: (state: StateMove) => Promise<RunProof>;
  alreadyRecorded: () => Promise<ConfirmedTransaction | undefined>;
  setBundleState: (state: BundleState) => void;
  progress: ProgressReporter;
}

/**
 * Under the domain's lock, before a run is prepared: a run whose transition is applied already (a
 * crash after its transaction; the session's reconcile applied it) is proven again from that
 * transition and not submitted; a transition of this run left PENDING by an earlier attempt (a crash
 * before its transaction, which the session's reconcile kept as resubmittable) is discarded, to be
 * replaced by a fresh one.
 */
async function recordedBefore(
  args: StateRunArgs,
): Promise<{ proof: RunProof; tx: ConfirmedTransaction } | undefined> {
  const { runState, runId, chain } = args;
  const { store, effect } = runState;
  const domain = effect.domain;
  const applied = store.appliedTransition(domain, runId);
  if (applied) {
    const recorded = await args.alreadyRecorded();
    if (!recorded) {
      throw new Error(
        `run ${runId}'s transition of "${domain}" is applied in the journal but the registry on ${chain.network} has no entry for the run`,
      );
    }
    const { move, bundle } = stateMoveOf(applied);
    args.setBundleState(bundle);
    return { proof: await args.prove(move), tx: recorded };
  }
  for (const stale of store.pendingTransitions(domain)) {
    if (stale.runId === runId) store.discardTransition(stale.id);
  }
  return undefined;
}

/**
 * Settles the journal's state of the domain with the registry (its root, and which of the pending
 * transitions' runs it recorded: `reconcile`); undefined when the registry's root cannot be read.
 */
async function reconcileWithRegistry(
  chain: ChainContext,
  store: StateStore,
  transition: StateTransition,
): Promise<StateReconcileResult | undefined> {
  const chainRoot = await readStateRoot({ registry: chain.registry, domainId: transition.domainId }).catch(
    () => undefined,
  );
  if (chainRoot === undefined) return undefined;
  const { domain } = transition;
  return store.reconcile(
    domain,
    chainRoot,
    await recordedRunsOf(chain.registry, store.pendingTransitions(domain)),
  );
}

/**
 * The state path of recordExecution, under the domain's lock: prepares the run's changes against
 * the domain's current root, proves the transition, submits it with `submitWithState` and applies
 * it to the journal's state once the registry took it (with the chain connection's confirmations).
 * A proof that fails leaves the state as it was (the transition is discarded). A submission that
 * fails is settled against the registry's root (`reconcile`: applied if the transaction landed after
 * all, discarded if not); when the registry refused a stale root because the domain moved (another
 * process), the run is rebased once: prepared, proven and submitted again against the new root. A
 * submission whose transaction may still be mined (its wait timed out, or it had no receipt) keeps
 * its transition PENDING: a later reconcile (the next session's, or a stale root's) applies it if the
 * transaction lands, discards it if not. A run the registry already holds (a crash after the
 * transaction; the session's reconcile applied its transition) is proven again from its applied
 * transition and not submitted. Exported for tests.
 */
export async function recordWithState(
  args: StateRunArgs & { submit: (proof: RunProof) => Promise<ConfirmedTransaction> },
): Promise<{ proof: RunProof; tx: ConfirmedTransaction }> {
  const { runState, runId, trace, chain } = args;
  const { store, effect } = runState;
  const domain = effect.domain;
  const { active, waiting } = store.lockLoad(domain);
  if (active > 0) {
    args.progress.note(
      `${trace.scenario}: waiting for the ${domain} state (${active + waiting} runs ahead record their transitions first)`,
    );
  }
  return store.exclusive(domain, async () => {
    const done = await recordedBefore(args);
    if (done) return done;
    for (let attempt = 1; ; attempt += 1) {
      const transition = store.prepareTransition(domain, runId, effect.changes(trace), {
        allowNewKeys: effect.allowInsert === true,
      });
      const { move, bundle } = stateMoveOf(transition);
      args.setBundleState(bundle);
      let proof: RunProof;
      try {
        proof = await args.prove(move);
      } catch (error) {
        store.discardTransition(transition.id);
        throw error;
      }
      try {
        const tx = await args.submit(proof);
        store.applyTransition(transition.id);
        return { proof, tx };
      } catch (error) {
        // Not known to have failed: settling it now would discard a transition that may yet land.
        if (mayStillBeMined(error)) throw error;
        const settled = await reconcileWithRegistry(chain, store, transition);
        if (settled === undefined) throw error;
        if (settled.applied.some((t) => t.id === transition.id)) {
          const recorded = await args.alreadyRecorded();
          if (recorded) return { proof, tx: recorded };
        }
        if (store.getTransition(transition.id)?.status === "PENDING") store.discardTransition(transition.id);
        if (attempt === 1 && isStaleRoot(error) && settled.inSync) {
          args.progress.note(`${domain}: the registry's root moved; proving the run again against it`);
          continue;
        }
        throw error;
      }
    }
  });
}

/** One run's transition in its domain's chain (see StateChain). */
export interface ChainLink {
  readonly transition: StateTransition;
  /** Set when a link before it failed: its transition was discarded, the run is prepared again. */
  broken: boolean;
  /** Resolves once every link before it was handed to the batch queue or left the chain. */
  readonly turn: Promise<void>;
  /** This link was handed to the batch queue (or left the chain): the next one may go. Idempotent. */
  handOff(): void;
}

/**
 * The runs of one state domain that are prepared but not yet recorded, in the order they were
 * prepared: each transition on top of the ones before it. A link leaves the chain at its head when
 * its batch transaction is confirmed (its transition applied), or breaks: then it and every link
 * after it leave the chain, their transitions are discarded, and the runs after it are prepared again
 * on top of what is left.
 */
export class StateChain {
  private links: ChainLink[] = [];
  private last: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: StateStore,
    readonly domain: string,
  ) {}

  /** The chain's transitions, oldest first: what the next run is prepared on top of. */
  tip(): number[] {
    return this.links.map((link) => link.transition.id);
  }

  get length(): number {
    return this.links.length;
  }

  append(transition: StateTransition): ChainLink {
    let release!: () => void;
    const handedOff = new Promise<void>((resolve) => (release = resolve));
    const link: ChainLink = { transition, broken: false, turn: this.last, handOff: () => release() };
    this.last = handedOff;
    this.links.push(link);
    return link;
  }

  /** The link's run was recorded: its transition is applied (it must be the chain's head). */
  recorded(link: ChainLink): void {
    if (this.links[0] !== link) {
      throw new Error(
        `state chain of "${this.domain}": transition #${link.transition.id} recorded out of order`,
      );
    }
    this.store.applyTransition(link.transition.id);
    this.links.shift();
  }

  /**
   * The link failed: it and the links after it leave the chain; the transitions of those after it are
   * discarded, and so is its own unless `keepOwn` (a transaction whose fate is unknown: a later
   * reconcile settles it).
   */
  break(link: ChainLink, keepOwn = false): void {
    const at = this.links.indexOf(link);
    link.handOff();
    if (at < 0) return;
    const gone = this.links.splice(at);
    for (const [i, l] of gone.entries()) {
      if (i > 0) l.broken = true;
      if ((i > 0 || !keepOwn) && this.store.getTransition(l.transition.id)?.status === "PENDING") {
        this.store.discardTransition(l.transition.id);
      }
    }
  }
}

const chains = new WeakMap<StateStore, Map<string, StateChain>>();

/** The chain of a store's domain (one per journal and domain, shared by the runs of a process). */
export function stateChainOf(store: StateStore, domain: string): StateChain {
  let byDomain = chains.get(store);
  if (!byDomain) chains.set(store, (byDomain = new Map()));
  let chain = byDomain.get(domain);
  if (!chain) byDomain.set(domain, (chain = new StateChain(store, domain)));
  return chain;
}

/** A run of a chain waiting in the batch queue. */
interface ChainItem {
  templateId: string;
  run: BatchRun;
  link: ChainLink;
}

/** A chain's run that must be prepared again: a run before it in the chain failed. */
export class StateChainBrokenError extends Error {
  constructor(domain: string) {
    super(`a run before this one in the "${domain}" chain was not recorded: prepared again`);
    this.name = "StateChainBrokenError";
  }
}

/** How many times a chain's run is prepared again (its chain broke, or the registry's root moved). */
const CHAIN_ATTEMPTS = 3;

/**
 * The state path of recordExecution with batch settings (`--batch N`): the run is prepared under the
 * domain's lock on top of the chain's pending transitions, proven outside it (so the proofs of a
 * chain follow each other in the prover queue instead of waiting for each other's transactions),
 * and handed to the batch queue once every run before it in the chain was, so that a batch is a
 * stretch of the chain and its roots follow each other (a batch holds the runs of one template: a
 * stretch of runs of two templates of one domain goes as consecutive transactions). Applied in
 * chain order once its transaction is confirmed. A run refused in a batch fails (its error); the
 * runs after it in the chain are prepared, proven and submitted again on top of what was recorded; a
 * registry whose root moved (another process) is reconciled and the run prepared again. After a
 * crash the session's reconcile applies what the registry recorded of a chain (`recordedRunsOf`).
 */
export async function recordWithStateInChain(
  args: StateRunArgs & { queues: RunQueues; templateId: string },
): Promise<{ proof: RunProof; tx: ConfirmedTransaction; runs: number; submitMs: number }> {
  const { runState, runId, trace, chain, queues } = args;
  const { store, effect } = runState;
  const domain = effect.domain;
  const stateChain = stateChainOf(store, domain);
  for (let attempt = 1; ; attempt += 1) {
    const prepared = await store.exclusive(domain, async () => {
      const done = attempt === 1 ? await recordedBefore(args) : undefined;
      if (done) return { done };
      const onTopOf = stateChain.tip();
      const transition = store.prepareTransition(domain, runId, effect.changes(trace), {
        allowNewKeys: effect.allowInsert === true,
        onTopOf,
      });
      return { link: stateChain.append(transition), ahead: onTopOf.length };
    });
    if (prepared.done) return { ...prepared.done, runs: 1, submitMs: 0 };
    const link = prepared.link!;
    const ahead = prepared.ahead!;
    const { move, bundle } = stateMoveOf(link.transition);
    args.setBundleState(bundle);
    let proof: RunProof;
    try {
      proof = await args.prove(move);
    } catch (error) {
      await link.turn;
      stateChain.break(link);
      throw error;
    }
    const provingAgain = () =>
      args.progress.note(`${domain}: a run ahead of this one was not recorded; proving the run again`);
    await link.turn;
    if (link.broken) {
      link.handOff();
      if (attempt >= CHAIN_ATTEMPTS) throw new StateChainBrokenError(domain);
      provingAgain();
      continue;
    }
    if (ahead > 0) {
      args.progress.note(
        `${trace.scenario}: proven on top of ${ahead} ${ahead === 1 ? "run" : "runs"} of the ${domain} chain; waiting to be submitted in a batch (up to ${queues.batch!.size} runs)`,
      );
    }
    const item: ChainItem = {
      templateId: args.templateId,
      run: { proof: proof.proof, publicSignals: proof.publicSignals },
      link,
    };
    const handedOffAt = performance.now();
    const submitted = queues.submitBatched(`state:${domain}`, item, (items: ChainItem[]) =>
      sendChainStretch(chain, stateChain, items),
    );
    link.handOff();
    try {
      const { tx, runs } = await submitted;
      return { proof, tx, runs, submitMs: Math.round(performance.now() - handedOffAt) };
    } catch (error) {
      if (error instanceof StateChainBrokenError && attempt < CHAIN_ATTEMPTS) {
        provingAgain();
        continue;
      }
      if (isStaleRoot(error) && attempt < CHAIN_ATTEMPTS && stateChain.length === 0) {
        // The registry's root moved underneath (another process): settle the journal with it first.
        const settled = await reconcileWithRegistry(chain, store, link.transition);
        if (settled?.inSync) {
          args.progress.note(`${domain}: the registry's root moved; proving the run again against it`);
          continue;
        }
      }
      throw error;
    }
  }
}

/**
 * Sends a stretch of a chain (in chain order): each maximal run of one template's items as one
 * batch (recordBatch: a refused run is reported, the others recorded), applying each recorded run's
 * transition in order. A refused run breaks the chain there: the runs after it get
 * StateChainBrokenError (prepared again by their own path).
 */
async function sendChainStretch(
  chain: ChainContext,
  stateChain: StateChain,
  items: ChainItem[],
): Promise<BatchItemOutcome<{ tx: ConfirmedTransaction; runs: number }>[]> {
  const outcomes: BatchItemOutcome<{ tx: ConfirmedTransaction; runs: number }>[] = [];
  let start = 0;
  while (start < items.length) {
    let end = start + 1;
    while (end < items.length && items[end].templateId === items[start].templateId) end += 1;
    const group = items.slice(start, end);
    // Which items go (taken now: a refused run below breaks the links after it while we go through).
    const sent = group.map((item) => !item.link.broken);
    const live = group.filter((_, i) => sent[i]);
    const results = live.length
      ? await recordBatch({
          registry: chain.registry,
          templateId: group[0].templateId,
          runs: live.map((item) => item.run),
          confirmations: chain.confirmations,
          timeoutMs: chain.txTimeoutMs,
        })
      : [];
    const perTransaction = new Map<string, number>();
    for (const { tx } of results)
      if (tx) perTransaction.set(tx.txHash, (perTransaction.get(tx.txHash) ?? 0) + 1);
    let next = 0;
    for (const [i, item] of group.entries()) {
      const result = sent[i] ? results[next++] : undefined;
      if (result?.tx) {
        stateChain.recorded(item.link);
        outcomes.push({ value: { tx: result.tx, runs: perTransaction.get(result.tx.txHash)! } });
      } else if (item.link.broken) {
        // Not sent, or refused because a run before it in the batch was (its root chain broke).
        outcomes.push({ error: new StateChainBrokenError(stateChain.domain) });
      } else {
        const error = result?.error ?? new Error("the batch gave no outcome for this run");
        stateChain.break(item.link, mayStillBeMined(error));
        outcomes.push({ error });
      }
    }
    start = end;
  }
  return outcomes;
}

/** A submission whose transaction was sent but whose fate is unknown (RunNotRecordedError's cause). */
export function mayStillBeMined(error: unknown): boolean {
  const unknownFate = (e: unknown) =>
    e instanceof TransactionTimeoutError || e instanceof TransactionNotMinedError;
  return unknownFate(error) || unknownFate((error as { cause?: unknown })?.cause);
}

/** The registry refused a run for a stale state root (thrown directly, or as RunNotRecordedError's cause). */
export function isStaleRoot(error: unknown): boolean {
  const stale = (e: unknown) =>
    e instanceof RegistrySubmitError && e.errorName === "Registry__StaleStateRoot";
  return stale(error) || stale((error as { cause?: unknown })?.cause);
}
