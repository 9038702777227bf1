import path from "node:path";
import { checkLayoutFits, workflowLayoutOf, type RetryPolicy, type WorkflowDefinition } from "../definition";
import { executeWorkflow, type Execution, type ExecutorEvent } from "../executor";
import { bundleFromTrace, writeBundle, type BundleState, type RunBundle } from "../bundle";
import {
  definitionTemplateName,
  queryEntries,
  recordBatch,
  submitRun,
  submitRunWithState,
  waitForTransaction,
  writeDeployment,
  type BatchRun,
  type ConfirmedTransaction,
} from "../chain";
import { toHex32 } from "../crypto";
import { requestReceipts } from "../host";
import type { Journal } from "../journal";
import type { Logger } from "../project";
import {
  circuitInstance,
  genericTemplateParams,
  isInstanceBuilt,
  workflowTraceInput,
  type CircuitInstance,
  type RunProof,
  runSetup,
  Prover,
  silentProgress,
  type ProgressReporter,
} from "../prover";
import {
  checkRunBinding,
  computeTraceRoot,
  fixedWorkflowTag,
  workflowDefinitionHash,
  type EvidenceName,
  type SettleOutcomeName,
  type ProviderSet,
  type SystemName,
  type Trace,
  type WorkflowLayout,
} from "../trace";
import type { StateMove } from "../state";
import { addTemplate, ensureStateDomain, isDefinitionBound, registerDefinition } from "./deployment";
import { IN_PROCESS_NETWORK, type ChainContext } from "./network";
import { onceInFlight, queuesOf, type RunQueues } from "./queues";
import { recordWithState, recordWithStateInChain } from "./recordState";
import { runStateFor, type RunState } from "./runState";

/** What `wesflow run --json` prints: one run, proven and recorded. */
export interface RunSummary {
  workflowId: string;
  scenario: string;
  outcome: "COMMITTED" | "ROLLED_BACK";
  traceRoot: string;
  txHash: string;
  blockNumber: number;
  gasUsed: number;
  bundlePath: string;
  timings: { executeMs: number; proveMs: number; submitMs: number };
  /**
   * When the run was recorded in a batch transaction of several runs (`--batch`): how many, and the
   * transaction's gas divided by them (`gasUsed` is the whole transaction's).
   */
  batch?: { runs: number; gasPerRun: number };
  /**
   * State template runs: the state domain's root before and after the run (equal when the run moved
   * nothing: a rolled-back order; a rolled-back supply chain whose lot was scrapped does move).
   */
  state?: { domain: string; rootBefore: string; rootAfter: string };
  /**
   * Rolled-back runs only: the step that failed for good, and why; `settlement` when its call got no
   * usable answer: what its status query said (TOOK_EFFECT: the step was compensated too).
   */
  failure?: { step: string; evidence: EvidenceName; reason: string; settlement?: SettleOutcomeName };
}

/**
 * The run executed (and is in the journal and its bundle) but could not be proven or recorded. Its
 * outcome stands; `wesflow resume <runId>` proves and records it later.
 */
export class RunNotRecordedError extends Error {
  override name = "RunNotRecordedError";
  constructor(
    readonly runId: string,
    readonly outcome: "COMMITTED" | "ROLLED_BACK",
    readonly stage: "prove" | "submit",
    readonly bundlePath: string,
    cause: unknown,
  ) {
    super(
      `run ${runId} ${outcome} (bundle ${bundlePath}) but not ${stage === "prove" ? "proven" : "recorded"}: ${
        (cause as Error)?.message ?? cause
      }; \`wesflow resume ${runId}\` tries again`,
      { cause },
    );
  }
}

export interface RecordOptions {
  chain: ChainContext;
  providers: ProviderSet;
  runsDir: string;
  /** Reuse one Prover per process so the proving key is read once. */
  provers?: Map<string, Prover>;
  progress?: ProgressReporter;
  journal?: Journal;
  /** The prover and submission queues (default: the chain connection's, one proof at a time). */
  queues?: RunQueues;
  /**
   * Where the run's systems answer: a template that checks receipts (circuits.json `receipts`) asks
   * them for their receipts of the run before proving.
   */
  endpoints?: Partial<Record<SystemName, string>>;
}

export interface RunWorkflowOptions<Input> extends RecordOptions {
  definition: WorkflowDefinition<Input>;
  input: unknown;
  endpoints: Partial<Record<SystemName, string>>;
  /** Fixes the run's nonce (tests that must know the id in advance); default random. */
  runNonce?: bigint;
  retry?: Partial<RetryPolicy>;
  logger?: Logger;
  onEvent?: (event: ExecutorEvent) => void;
}

/**
 * One run end to end: execute the steps as a saga (attested calls, journaled), write the bundle,
 * prove the trace (committed or rolled back), submit the proof to the registry, and complete the
 * bundle with the transaction. The bundle is on disk from the moment the run executed, so a failed
 * proof or submission loses nothing. A parked run (NeedsAttentionError) is neither proven nor
 * recorded.
 */
export async function runWorkflow<Input>(options: RunWorkflowOptions<Input>): Promise<RunSummary> {
  const { definition, providers, logger } = options;
  const progress = options.progress ?? silentProgress;
  // Before anything runs: the templates that may prove this run fit the provider set. They are
  // built and registered when first needed (prepareTemplate).
  for (const name of new Set([definition.template, definition.rollbackTemplate ?? definition.template])) {
    const { instance } = checkProviderDepth(name, providers);
    // A workflow the generic template could not prove on some path is refused before any call,
    // and so is one whose own template has no witness builder.
    if (isDefinitionBound(instance)) definitionBinding(instance, definition);
    else witnessBuilderOf(definition, instance);
    // A run whose proof moves a state domain needs the journal that keeps the state.
    if (instance.stateDomain !== undefined) {
      runStateFor({
        definition: definition as WorkflowDefinition<unknown>,
        domain: instance.stateDomain,
        templateName: instance.name,
        journal: options.journal,
      });
    }
  }
  const workflowTag = workflowTagOf(definition);
  progress.start(`${definition.name}: executing ${definition.steps.length} steps`);
  const execution = await executeWorkflow({
    definition,
    input: options.input,
    endpoints: options.endpoints,
    providers,
    binding: { submitter: options.chain.submitter, workflowTag, runNonce: options.runNonce },
    retry: options.retry,
    journal: options.journal,
    logger,
    onEvent: options.onEvent,
  });
  return recordExecution({ ...options, execution, definition });
}

/**
 * The tag that names a definition's workflow in its run ids (workflowId = Poseidon(submitter, tag,
 * nonce)): the definition's hash for a definition-bound (generic) template, else the template's fixed
 * `workflowTag` (circuits.json). The templates of committed and rolled-back runs must agree: a run's
 * id is made before anyone knows which of them will prove it.
 */
export function workflowTagOf<Input>(definition: WorkflowDefinition<Input>): bigint {
  const tags = new Set<bigint>();
  for (const name of new Set([definition.template, definition.rollbackTemplate ?? definition.template])) {
    const instance = circuitInstance(name);
    if (isDefinitionBound(instance)) tags.add(definitionBinding(instance, definition).hash);
    else if (instance.workflowTag !== undefined) tags.add(fixedWorkflowTag(instance.workflowTag));
    else {
      throw new Error(
        `circuit instance ${name} names no workflowTag in circuits.json and binds no definition hash: its runs' ids cannot be bound`,
      );
    }
  }
  if (tags.size !== 1) {
    throw new Error(
      `${definition.name}: its templates ${definition.template} and ${definition.rollbackTemplate} name different workflows; run ids need one`,
    );
  }
  return [...tags][0];
}

/**
 * Makes a circuit instance ready to prove and record with: built by setup if it is not (the first
 * rolled-back run of a fresh clone builds the saga circuit, with progress), and registered on the
 * in-process chain if this process's registry lacks it. On other networks the deployment must
 * already have it (scripts/deploy.ts after setup).
 */
export function prepareTemplate(args: {
  name: string;
  chain: ChainContext;
  progress?: ProgressReporter;
  /** For a generic instance: the workflow definition's hash, which its template binds. */
  definitionHash?: bigint;
  /** For a state instance: the run's state (its domain is registered from the journal's root if new). */
  runState?: RunState;
}): Promise<void> {
  // Concurrent runs needing the same template share one build and one registration.
  let inFlight = preparing.get(args.chain);
  if (!inFlight) preparing.set(args.chain, (inFlight = new Map()));
  const key =
    args.definitionHash === undefined ? args.name : definitionTemplateName(args.name, args.definitionHash);
  return onceInFlight(inFlight, key, () => prepareTemplateOnce(args));
}

const preparing = new WeakMap<ChainContext, Map<string, Promise<void>>>();

async function prepareTemplateOnce(args: {
  name: string;
  chain: ChainContext;
  progress?: ProgressReporter;
  definitionHash?: bigint;
  runState?: RunState;
}): Promise<void> {
  const { name, chain, definitionHash } = args;
  const instance = circuitInstance(name);
  if (!isInstanceBuilt(instance)) {
    await runSetup({ ifStale: true, only: [name], progress: args.progress });
  }
  if (isDefinitionBound(instance)) {
    if (definitionHash === undefined)
      throw new Error(`${name} proves user-defined workflows: a definition is needed`);
    const key = definitionTemplateName(name, definitionHash);
    if (chain.deployment.templates[key]) return;
    // Any network: registering needs the registrar role, which the deployer's account has.
    chain.deployment.templates[key] = await registerDefinition({
      registry: chain.registry,
      signer: chain.signer,
      deployment: chain.deployment,
      instance,
      definitionHash,
    });
    if (chain.deploymentPath) await writeDeployment(chain.deploymentPath, chain.deployment);
    return;
  }
  if (chain.deployment.templates[name]) return;
  if (chain.network !== IN_PROCESS_NETWORK) {
    throw new Error(
      `template ${name} is not registered on ${chain.network}: run setup, then npx hardhat run scripts/deploy.ts --network ${chain.network}`,
    );
  }
  if (instance.stateDomain !== undefined) {
    if (!args.runState) throw new Error(`${name} proves a state transition: the run's state is needed`);
    // The in-process chain is new in this process: its domain starts from the journal's state.
    await ensureStateDomain({
      registry: chain.registry,
      deployment: chain.deployment,
      domain: instance.stateDomain,
      root: args.runState.store.root(instance.stateDomain),
    });
  }
  chain.deployment.templates[name] = await addTemplate({
    registry: chain.registry,
    signer: chain.signer,
    instance,
  });
}

function checkProviderDepth(templateName: string, providers: ProviderSet) {
  const instance = circuitInstance(templateName);
  const [traceDepth, providerDepth] = instance.params;
  if (providerDepth !== providers.depth) {
    throw new Error(
      `${instance.name} expects a provider set of depth ${providerDepth}, got ${providers.depth}`,
    );
  }
  return { instance, traceDepth };
}

function checkTemplate(
  templateName: string,
  chain: ChainContext,
  providers: ProviderSet,
  binding: DefinitionBinding | undefined,
) {
  const { instance, traceDepth } = checkProviderDepth(templateName, providers);
  const key = binding ? definitionTemplateName(instance.name, binding.hash) : instance.name;
  const template = chain.deployment.templates[key];
  if (!template) throw new Error(`template ${key} is not registered in the deployment on ${chain.network}`);
  return { instance, traceDepth, template };
}

/** What binds a run of a user-defined workflow to its generic template: the layout and its hash. */
interface DefinitionBinding {
  name: string;
  layout: WorkflowLayout;
  hash: bigint;
  maxSteps: number;
  maxCalls: number;
}

function definitionBinding<Input>(
  instance: CircuitInstance,
  definition: WorkflowDefinition<Input>,
): DefinitionBinding {
  const { traceDepth, maxSteps, maxCalls } = genericTemplateParams(instance.template, instance.params);
  const layout = workflowLayoutOf(definition);
  checkLayoutFits(definition.name, layout, instance.name, {
    steps: maxSteps,
    calls: maxCalls,
    records: 1 << traceDepth,
  });
  return {
    name: definition.name,
    layout,
    hash: workflowDefinitionHash(layout, maxSteps),
    maxSteps,
    maxCalls,
  };
}

/**
 * The circuit input of a run: a generic instance's from the definition's layout (the prover's
 * builder), any other instance's from the definition's own witness builder (a built-in scenario's).
 */
function circuitInputOf<Input>(args: {
  instance: CircuitInstance;
  binding: DefinitionBinding | undefined;
  definition: WorkflowDefinition<Input>;
  trace: Trace;
  providers: ProviderSet;
  submitter: bigint;
  traceDepth: number;
  /** A state template's run: the domain's move it proves. */
  state?: StateMove;
}) {
  const { instance, binding, definition, trace, providers, submitter, traceDepth, state } = args;
  if (binding) {
    return workflowTraceInput({
      trace,
      layout: binding.layout,
      providers,
      submitter,
      traceDepth,
      maxSteps: binding.maxSteps,
      maxCalls: binding.maxCalls,
    });
  }
  return witnessBuilderOf(
    definition,
    instance,
  )({
    template: instance.template,
    params: instance.params,
    trace,
    providers,
    submitter,
    ...(state ? { state } : {}),
  });
}

/** The definition's witness builder for one of its own (non-generic) instances. */
function witnessBuilderOf<Input>(definition: WorkflowDefinition<Input>, instance: CircuitInstance) {
  if (!definition.witness) {
    throw new Error(
      `${definition.name}: its template ${instance.name} is not a generic instance, and the definition has no witness builder for it`,
    );
  }
  return definition.witness;
}

/**
 * Proves an executed run and records it on the chain (the second half of `runWorkflow`, also used
 * by a resume). Journal: PROVEN, then RECORDED. A run the registry already holds (a crash after the
 * transaction) is not submitted again. A run of a state template (the order: its stock) proves the
 * transition of its state domain and is submitted with `submitWithState`: under the domain's lock
 * (src/state: one transition of a domain at a time, prepared against the current root when the
 * run is proven), applied to the journal's state once the registry accepted it.
 */
export async function recordExecution<Input>(
  options: RecordOptions & { execution: Execution; definition: WorkflowDefinition<Input> },
): Promise<RunSummary> {
  const { execution, chain, providers, runsDir, journal, definition } = options;
  const definitionName = definition.name;
  let { trace } = execution;
  const progress = options.progress ?? silentProgress;
  const templateInstance = circuitInstance(trace.template);
  const binding = isDefinitionBound(templateInstance)
    ? definitionBinding(templateInstance, definition)
    : undefined;
  const runState =
    templateInstance.stateDomain === undefined
      ? undefined
      : runStateFor({
          definition: definition as WorkflowDefinition<unknown>,
          domain: templateInstance.stateDomain,
          templateName: templateInstance.name,
          journal,
        });
  await prepareTemplate({ name: trace.template, chain, progress, definitionHash: binding?.hash, runState });
  const { instance, traceDepth, template } = checkTemplate(trace.template, chain, providers, binding);
  const runId = execution.runId;

  const traceRoot = computeTraceRoot(trace, traceDepth);
  let bundle: RunBundle = bundleFromTrace({
    trace,
    templateId: template.templateId,
    traceRoot,
    traceDepth,
    providers,
    executeMs: execution.executeMs,
    definition: binding && { name: binding.name, hash: binding.hash, layout: binding.layout },
  });
  const bundleFile = writeBundle(runsDir, bundle);
  const bundlePath = path.relative(process.cwd(), bundleFile) || bundleFile;
  journal?.updateRun({ runId, bundlePath: bundleFile });
  const attested = trace.calls.filter((c) => c.attestation).length;
  const settled = execution.failure?.settlement ? ` (settled: ${execution.failure.settlement})` : "";
  const failed = execution.failure
    ? `, ${trace.outcome}: ${execution.failure.stepName} failed${settled}, ${trace.steps.filter((s) => s.phase === "COMPENSATE").length} compensations`
    : "";
  progress.done(`workflow ${bundle.workflowId.slice(0, 18)}…, ${attested} attested calls${failed}`);

  const queues = options.queues ?? queuesOf(chain);
  const provers = options.provers ?? new Map<string, Prover>();
  const submitter = BigInt(chain.submitter);
  // A run started for another account or another workflow cannot be proven here: say so now.
  checkRunBinding({
    workflowId: trace.workflowId,
    binding: trace.binding,
    submitter: chain.submitter,
    workflowTag: workflowTagOf(definition),
    what: `run ${runId}`,
  });
  if (instance.receipts && !trace.receipts) {
    // The template checks one receipt per system: ask them now (a pure read of what they signed; a
    // resume asks again and gets the same ones).
    try {
      progress.start(`${definitionName}: asking the systems for their receipts of the run`);
      trace = {
        ...trace,
        receipts: await requestReceipts({ trace, endpoints: options.endpoints ?? {}, providers }),
      };
    } catch (cause) {
      journal?.updateRun({ runId, lastError: `receipts: ${(cause as Error).message}` });
      throw new RunNotRecordedError(runId, trace.outcome, "prove", bundlePath, cause);
    }
    bundle = bundleFromTrace({
      trace,
      templateId: template.templateId,
      traceRoot,
      traceDepth,
      providers,
      executeMs: execution.executeMs,
      definition: binding && { name: binding.name, hash: binding.hash, layout: binding.layout },
    });
    writeBundle(runsDir, bundle);
    progress.done(`${trace.receipts!.length} receipts`);
  }

  /** Proves the run (in the prover queue) and writes the proof into the bundle; journal: PROVEN. */
  const prove = async (state?: StateMove): Promise<RunProof> => {
    const { active, waiting } = queues.provingLoad();
    if (active >= queues.provingConcurrency) {
      progress.note(`${definitionName}: waiting for the prover (${active} proving, ${waiting} ahead)`);
    }
    let proof: RunProof;
    try {
      let prover = provers.get(instance.name);
      if (!prover) {
        prover = new Prover(instance);
        provers.set(instance.name, prover);
      }
      // The witness is computed before the run waits for the prover: on this thread, while the proof
      // ahead of it is made by snarkjs's worker threads, so the prover goes on to this run at once.
      const { witness, witnessMs } = await prover.witness(
        circuitInputOf({ instance, binding, definition, trace, providers, submitter, traceDepth, state }),
      );
      proof = await queues.prove(async () => {
        progress.start(`${definitionName}: proving with Groth16 (${instance.name})`, "~2-4 s");
        const proven = await prover.proveWitness(witness, witnessMs);
        if (!(await prover.verify(proven)))
          throw new Error("the generated proof does not verify with the verification key");
        return proven;
      });
    } catch (cause) {
      journal?.updateRun({ runId, lastError: `prove: ${(cause as Error).message}` });
      throw new RunNotRecordedError(runId, trace.outcome, "prove", bundlePath, cause);
    }
    bundle = { ...bundle, proof: { ...proof, proof: { ...proof.proof, protocol: "groth16" } } };
    writeBundle(runsDir, bundle);
    journal?.updateRun({ runId, status: "PROVEN", lastError: null });
    progress.done(`${proof.proveMs} ms`);
    return proof;
  };

  /**
   * The registry's entry for this run, when it holds one with this trace root (a crash after the tx),
   * once its transaction has the chain connection's confirmations.
   */
  const alreadyRecorded = async (): Promise<ConfirmedTransaction | undefined> => {
    const [already] = await queryEntries({
      registry: chain.registry,
      workflowId: trace.workflowId,
      deploymentBlock: chain.deployment.deploymentBlock,
    });
    if (!already || already.traceRoot !== traceRoot) return undefined;
    const confirmed = await waitForTransaction({
      provider: chain.signer.provider!,
      txHash: already.txHash,
      operation: `submit(${trace.workflowId})`,
      confirmations: chain.confirmations,
      timeoutMs: chain.txTimeoutMs,
    });
    return {
      txHash: already.txHash,
      blockNumber: already.blockNumber,
      gasUsed: confirmed?.gasUsed ?? 0,
    };
  };

  /** Submits (in the submission queue) unless already recorded. */
  const submit = async (proof: RunProof): Promise<ConfirmedTransaction> =>
    queues.submit(async () => {
      progress.start(`${definitionName}: submitting to the registry on ${chain.network}`);
      const recorded = await alreadyRecorded();
      if (recorded) return recorded;
      const args = {
        registry: chain.registry,
        templateId: template.templateId,
        proof: proof.proof,
        publicSignals: proof.publicSignals,
        // The run counts as recorded (and its state transition is applied) only once its receipt
        // has the chain connection's confirmations.
        confirmations: chain.confirmations,
        timeoutMs: chain.txTimeoutMs,
      };
      return runState ? submitRunWithState(args) : submitRun(args);
    });

  /**
   * Submits with the other runs of this template that wait (the session's batch settings): one
   * transaction for all of them (recordBatch, which reports a refused run and records the others).
   */
  let batchRuns = 1;
  const submitInBatch = async (proof: RunProof): Promise<ConfirmedTransaction> => {
    const recorded = await alreadyRecorded();
    if (recorded) return recorded;
    progress.start(
      `${definitionName}: waiting to be submitted in a batch (up to ${queues.batch!.size} runs)`,
    );
    const run: BatchRun = { proof: proof.proof, publicSignals: proof.publicSignals };
    const { tx, runs } = await queues.submitBatched(template.templateId, run, async (batch: BatchRun[]) => {
      const outcomes = await recordBatch({
        registry: chain.registry,
        templateId: template.templateId,
        runs: batch,
        confirmations: chain.confirmations,
        timeoutMs: chain.txTimeoutMs,
      });
      const perTransaction = new Map<string, number>();
      for (const { tx } of outcomes)
        if (tx) perTransaction.set(tx.txHash, (perTransaction.get(tx.txHash) ?? 0) + 1);
      return outcomes.map((outcome) =>
        outcome.tx
          ? { value: { tx: outcome.tx, runs: perTransaction.get(outcome.tx.txHash)! } }
          : { error: outcome.error },
      );
    });
    batchRuns = runs;
    return tx;
  };

  let proof: RunProof;
  let tx: ConfirmedTransaction;
  let submitMs = 0;
  const submitted = async <T>(work: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    try {
      return await work();
    } catch (cause) {
      // A run of a chain whose proof failed on the way: already reported as such.
      if (cause instanceof RunNotRecordedError) throw cause;
      journal?.updateRun({ runId, lastError: `submit: ${(cause as Error).message}` });
      throw new RunNotRecordedError(runId, trace.outcome, "submit", bundlePath, cause);
    } finally {
      submitMs = Math.round(performance.now() - started);
    }
  };
  if (runState) {
    const stateArgs = {
      runState,
      runId,
      trace,
      chain,
      prove,
      alreadyRecorded,
      setBundleState: (state: BundleState) => {
        bundle = { ...bundle, state };
        writeBundle(runsDir, bundle);
      },
      progress,
    };
    if (queues.batch) {
      let runs: number;
      ({ proof, tx, runs, submitMs } = await submitted(() =>
        recordWithStateInChain({ ...stateArgs, queues, templateId: template.templateId }),
      ));
      batchRuns = runs;
    } else {
      ({ proof, tx } = await recordWithState({ ...stateArgs, submit: (p) => submitted(() => submit(p)) }));
    }
  } else {
    proof = await prove();
    tx = await submitted(() => (queues.batch ? submitInBatch(proof) : submit(proof)));
  }

  bundle = {
    ...bundle,
    submission: {
      network: chain.network,
      chainId: chain.chainId,
      registry: chain.deployment.registry,
      submitter: chain.submitter,
      txHash: tx.txHash,
      blockNumber: tx.blockNumber,
      gasUsed: tx.gasUsed,
      submitMs,
    },
  };
  writeBundle(runsDir, bundle);
  journal?.updateRun({
    runId,
    status: "RECORDED",
    network: chain.network,
    txHash: tx.txHash,
    lastError: null,
  });
  progress.done(
    `block ${tx.blockNumber}, ${tx.gasUsed} gas` +
      (batchRuns > 1
        ? ` (a batch of ${batchRuns} runs: ${Math.round(tx.gasUsed / batchRuns)} gas per run)`
        : ""),
  );

  return {
    workflowId: toHex32(trace.workflowId),
    scenario: trace.scenario,
    outcome: trace.outcome,
    traceRoot: toHex32(traceRoot),
    txHash: tx.txHash,
    blockNumber: tx.blockNumber,
    gasUsed: tx.gasUsed,
    bundlePath,
    timings: { executeMs: execution.executeMs, proveMs: proof.proveMs, submitMs },
    ...(batchRuns > 1 ? { batch: { runs: batchRuns, gasPerRun: Math.round(tx.gasUsed / batchRuns) } } : {}),
    ...(bundle.state
      ? {
          state: {
            domain: bundle.state.domain,
            rootBefore: toHex32(BigInt(bundle.state.rootBefore)),
            rootAfter: toHex32(BigInt(bundle.state.rootAfter)),
          },
        }
      : {}),
    ...(execution.failure
      ? {
          failure: {
            step: execution.failure.stepName,
            evidence: execution.failure.evidence,
            reason: execution.failure.message,
            ...(execution.failure.settlement ? { settlement: execution.failure.settlement } : {}),
          },
        }
      : {}),
  };
}
