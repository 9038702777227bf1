import path from "node:path";
import type { RetryPolicy, WorkflowDefinition } from "../definition";
import { interruptedRuns, resumeWorkflow, type ExecutorEvent } from "../executor";
import { defaultJournalFile, Journal, ownerAlive, type JournalRun, type RunStatus } from "../journal";
import type { Logger } from "../project";
import { circuitInstance, releaseProverResources, type Prover, type ProgressReporter } from "../prover";
import { resolveScenario, type RunningSystems, type Scenario } from "../scenarios";
import type { Fault } from "../systems";
import { workflowIdOf, type SystemName } from "../trace";
import { toHex32 } from "../crypto";
import { readStateRoot } from "../chain";
import { stateDomainId, type StateStore } from "../state";
import { IN_PROCESS_NETWORK, NetworkError, openChain, type ChainContext } from "./network";
import { ensureDomain, recordedRunsOf, stateStoreOf } from "./runState";
import { createRunQueues, DEFAULT_BATCH_WINDOW_MS, type RunQueues } from "./queues";
import { recordExecution, runWorkflow, workflowTagOf, type RunSummary } from "./runWorkflow";

/** What happened to one run that a resume picked up. */
export interface ResumeOutcome {
  runId: string;
  /** The status in the journal before the resume. */
  statusBefore: RunStatus;
  summary?: RunSummary;
  error?: unknown;
  /** Nothing to do, and why (e.g. already recorded). */
  note?: string;
}

/** Statuses a resume (without a run id) picks up: not executed to the end, or executed but not recorded. */
const RESUMABLE: readonly RunStatus[] = [
  "RUNNING",
  "COMPENSATING",
  "NEEDS_ATTENTION",
  "COMMITTED",
  "ROLLED_BACK",
  "PROVEN",
];

/**
 * One process's work on one scenario and network: the simulated systems (keeping their effects in
 * `<dataDir>/systems/`), the journal, the chain connection and the provers, opened once and reused
 * by every run; `close()` releases them.
 */
export class ScenarioSession {
  private readonly provers = new Map<string, Prover>();

  private constructor(
    readonly scenario: Scenario,
    /** The scenario's definition for this session (its steps read the journal's committed state). */
    readonly definition: WorkflowDefinition<unknown>,
    readonly systems: RunningSystems,
    readonly chain: ChainContext,
    readonly journal: Journal,
    readonly runsDir: string,
    private readonly settings: { logger?: Logger; retry?: Partial<RetryPolicy> },
    /** The session's prover and submission queues: its runs may be started concurrently. */
    readonly queues: RunQueues,
  ) {}

  static async open(args: {
    /** A built-in scenario's name, a workflow file's path, or a loaded scenario. */
    scenario: string | Scenario;
    network: string;
    dataDir: string;
    logger?: Logger;
    /** Default `<dataDir>/journal.sqlite` (or WESFLOW_JOURNAL). */
    journalFile?: string;
    /** Overrides fields of every step's retry policy (e.g. a short call timeout). */
    retry?: Partial<RetryPolicy>;
    /** Proofs generated at once by concurrent runs (default 1); the other runs wait in order. */
    provingConcurrency?: number;
    /** Where a reconciliation of the journal's state with the registry is reported. */
    progress?: ProgressReporter;
    /**
     * Confirmations a run's transaction must have before the run counts as recorded and its state
     * transition is applied to the journal (default 1: its block).
     */
    confirmations?: number;
    /** How long a run's transaction is waited for, in milliseconds (default 120 000). */
    txTimeoutMs?: number;
    /**
     * Submit proven runs of one template in batch transactions of up to this many (2 to 32; default:
     * one transaction per run). A state template's runs are prepared as a chain, each on top of the
     * ones before it, and a batch is a stretch of that chain (src/pipeline/recordState.ts).
     */
    batchSize?: number;
    /** How long a proven run waits for others to join its batch, at most (default 30 000 ms). */
    batchWindowMs?: number;
  }): Promise<ScenarioSession> {
    const queues = createRunQueues({
      provingConcurrency: args.provingConcurrency,
      ...(args.batchSize === undefined || args.batchSize < 2
        ? {}
        : { batch: { size: args.batchSize, windowMs: args.batchWindowMs ?? DEFAULT_BATCH_WINDOW_MS } }),
    });
    const scenario = typeof args.scenario === "string" ? resolveScenario(args.scenario) : args.scenario;
    const journal = Journal.open(args.journalFile ?? defaultJournalFile(args.dataDir));
    let systems: RunningSystems | undefined;
    try {
      const state = stateStoreOf(journal);
      const definition = scenario.createDefinition({ state });
      const [, providerSetDepth] = circuitInstance(definition.template).params;
      const effect = definition.state;
      if (effect) ensureDomain(state, effect);
      systems = await scenario.startSystems({
        dataDir: args.dataDir,
        providerSetDepth,
        logger: args.logger,
        storeDir: path.join(args.dataDir, "systems"),
      });
      const chain = await openChain({
        network: args.network,
        dataDir: args.dataDir,
        providers: systems.providers,
        stateRoots: effect ? { [effect.domain]: state.root(effect.domain) } : {},
        confirmations: args.confirmations,
        txTimeoutMs: args.txTimeoutMs,
      });
      if (effect)
        await reconcileState({ chain, store: state, domain: effect.domain, progress: args.progress });
      return new ScenarioSession(
        scenario,
        definition,
        systems,
        chain,
        journal,
        path.join(args.dataDir, "runs"),
        {
          logger: args.logger,
          retry: args.retry,
        },
        queues,
      );
    } catch (error) {
      await systems?.stop();
      journal.close();
      throw error;
    }
  }

  /** Tells one of the scenario's systems to fail (for demos of a rollback: `wesflow run --fail`). */
  injectFault(system: SystemName, fault: Fault): void {
    this.systems.injectFault(system, fault);
  }

  /** Tells one of the scenario's simulated actors (Scenario.actorFaults: the lab) to fail `times` times. */
  injectActorFault(actor: string, kind: string, times?: number): void {
    const kinds = this.scenario.actorFaults?.[actor];
    if (!kinds || !this.systems.injectActorFault) {
      throw new Error(`the ${this.scenario.name} scenario has no simulated actor "${actor}"`);
    }
    if (!kinds.includes(kind)) {
      throw new Error(`${actor} takes the fault kinds ${kinds.join(", ")}, not "${kind}"`);
    }
    this.systems.injectActorFault(actor, kind, times);
  }

  run(
    input: unknown,
    progress?: ProgressReporter,
    /** `runNonce` fixes the run's nonce, so its id (workflowIdFor) is known in advance (tests). */
    options: { runNonce?: bigint; onEvent?: (event: ExecutorEvent) => void } = {},
  ): Promise<RunSummary> {
    return runWorkflow({
      definition: this.definition,
      input,
      chain: this.chain,
      endpoints: this.systems.endpoints,
      providers: this.systems.providers,
      runsDir: this.runsDir,
      provers: this.provers,
      queues: this.queues,
      progress,
      logger: this.settings.logger,
      retry: this.settings.retry,
      journal: this.journal,
      runNonce: options.runNonce,
      onEvent: options.onEvent,
    });
  }

  /** The id a run of this session with `runNonce` gets: Poseidon(submitter, workflow tag, nonce). */
  workflowIdFor(runNonce: bigint): bigint {
    return workflowIdOf({
      submitter: this.chain.submitter,
      workflowTag: workflowTagOf(this.definition),
      runNonce,
    });
  }

  /** Runs of this scenario whose process died mid-execution (what `run` finishes first). */
  interruptedRuns(): JournalRun[] {
    return interruptedRuns({ journal: this.journal, scenario: this.scenario.name });
  }

  /**
   * Finishes runs from the journal: executes what is left (an interrupted record, a parked
   * compensation; journaled calls without an answer are re-sent with their idempotency keys), then
   * proves and records the run. Without `runId`: every run of this scenario that is not recorded
   * and not owned by a live process (or, with `onlyInterrupted`, only those whose process died
   * mid-execution). A run that fails again is reported in its outcome, not thrown.
   */
  async resume(
    args: { runId?: string; onlyInterrupted?: boolean; progress?: ProgressReporter } = {},
  ): Promise<ResumeOutcome[]> {
    let runs: JournalRun[];
    if (args.runId) {
      runs = [this.journal.getRun(this.journal.resolveRunId(args.runId))!];
    } else if (args.onlyInterrupted) {
      runs = this.interruptedRuns();
    } else {
      runs = this.journal
        .listRuns({ scenario: this.scenario.name, statuses: RESUMABLE })
        .filter((run) => !ownerAlive(run.owner))
        .reverse();
    }
    const outcomes: ResumeOutcome[] = [];
    for (const run of runs) {
      const outcome: ResumeOutcome = { runId: run.runId, statusBefore: run.status };
      try {
        if (run.scenario !== this.scenario.name) {
          throw new Error(`run ${run.runId} is a ${run.scenario} run; resume it with that scenario`);
        }
        if (run.status === "RECORDED") {
          outcome.note = `already recorded on ${run.network ?? "?"} in tx ${run.txHash ?? "?"}`;
          outcomes.push(outcome);
          continue;
        }
        args.progress?.start(`${run.scenario}: resuming run ${run.runId.slice(0, 18)}… (${run.status})`);
        const execution = await resumeWorkflow({
          definition: this.definition,
          journal: this.journal,
          runId: run.runId,
          endpoints: this.systems.endpoints,
          providers: this.systems.providers,
          retry: this.settings.retry,
          logger: this.settings.logger,
        });
        outcome.summary = await recordExecution({
          execution,
          definition: this.definition,
          chain: this.chain,
          providers: this.systems.providers,
          runsDir: this.runsDir,
          provers: this.provers,
          queues: this.queues,
          progress: args.progress,
          journal: this.journal,
          endpoints: this.systems.endpoints,
        });
      } catch (error) {
        outcome.error = error;
      }
      outcomes.push(outcome);
    }
    return outcomes;
  }

  async close(): Promise<void> {
    await this.systems.stop();
    this.journal.close();
    await releaseProverResources();
  }
}

/**
 * Brings the journal's state of a domain in line with the registry's root for it, when a session
 * opens on a network that persists: a transition that was submitted but not applied before a crash
 * is applied if the registry took it, discarded if it cannot be taken any more (src/state
 * `reconcile`). Refused when the two cannot be brought together (the registry's domain was moved
 * by runs this journal does not hold, or the deployment has no such domain).
 */
export async function reconcileState(args: {
  chain: ChainContext;
  store: StateStore;
  domain: string;
  progress?: ProgressReporter;
}): Promise<void> {
  const { chain, store, domain } = args;
  if (chain.network === IN_PROCESS_NETWORK) return;
  const chainRoot = await readStateRoot({ registry: chain.registry, domainId: stateDomainId(domain) });
  if (chainRoot === undefined) {
    throw new NetworkError(
      `the registry on ${chain.network} has no state domain "${domain}": redeploy (npx hardhat run scripts/deploy.ts --network ${chain.network})`,
    );
  }
  const pending = store.pendingTransitions(domain);
  if (chainRoot === store.root(domain) && pending.length === 0) return;
  const result = store.reconcile(domain, chainRoot, await recordedRunsOf(chain.registry, pending));
  if (result.applied.length + result.discarded.length > 0) {
    args.progress?.note(
      `${domain}: reconciled with the registry (${result.applied.length} transitions applied, ${result.discarded.length} discarded)`,
    );
  }
  if (!result.inSync) {
    throw new NetworkError(
      `the registry's root of state domain "${domain}" on ${chain.network} (${toHex32(chainRoot)}) is not the journal's (${toHex32(result.root)}): ` +
        `runs this journal does not hold moved it; use the data directory whose journal recorded them, or redeploy`,
    );
  }
}
