import path from "node:path";
import { checkLayoutFits, workflowLayoutOf, type RetryPolicy, type WorkflowDefinition } from "../definition";
import { executeWorkflow, type Execution, type ExecutorEvent } from "../executor";
import { bundleFromTrace, writeBundle, type RunBundle } from "../bundle";
import { definitionTemplateName, queryEntries, submitRun, writeDeployment } from "../chain";
import { toHex32 } from "../crypto";
import type { Journal } from "../journal";
import type { Logger } from "../project";
import {
  circuitInstance,
  genericTemplateParams,
  isInstanceBuilt,
  workflowTraceInput,
  type CircuitInstance,
  runSetup,
  sagaWorkflowInput,
  Prover,
  silentProgress,
  type ProgressReporter,
} from "../prover";
import {
  computeTraceRoot,
  workflowDefinitionHash,
  type EvidenceName,
  type ProviderSet,
  type SystemName,
  type Trace,
  type WorkflowLayout,
} from "../trace";
import { addTemplate, isDefinitionBound, registerDefinition } from "./deployment";
import { IN_PROCESS_NETWORK, type ChainContext } from "./network";
import { onceInFlight, queuesOf, type RunQueues } from "./queues";

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
  /** Rolled-back runs only: the step that failed for good, and why. */
  failure?: { step: string; evidence: EvidenceName; reason: string };
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
}

export interface RunWorkflowOptions<Input> extends RecordOptions {
  definition: WorkflowDefinition<Input>;
  input: unknown;
  endpoints: Partial<Record<SystemName, string>>;
  workflowId?: bigint;
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
    // A workflow the generic template could not prove on some path is refused before any call.
    if (isDefinitionBound(instance)) definitionBinding(instance, definition);
  }
  progress.start(`${definition.name}: executing ${definition.steps.length} steps`);
  const execution = await executeWorkflow({
    definition,
    input: options.input,
    endpoints: options.endpoints,
    providers,
    workflowId: options.workflowId,
    retry: options.retry,
    journal: options.journal,
    logger,
    onEvent: options.onEvent,
  });
  return recordExecution({ ...options, execution, definition });
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

function circuitInputOf(args: {
  instance: CircuitInstance;
  binding: DefinitionBinding | undefined;
  trace: Trace;
  providers: ProviderSet;
  submitter: bigint;
  traceDepth: number;
}) {
  const { instance, binding, trace, providers, submitter, traceDepth } = args;
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
  return sagaWorkflowInput({ template: instance.template, trace, providers, submitter, traceDepth });
}

/**
 * Proves an executed run and records it on the chain (the second half of `runWorkflow`, also used
 * by a resume). Journal: PROVEN, then RECORDED. A run the registry already holds (a crash after the
 * transaction) is not submitted again.
 */
export async function recordExecution<Input>(
  options: RecordOptions & { execution: Execution; definition: WorkflowDefinition<Input> },
): Promise<RunSummary> {
  const { execution, chain, providers, runsDir, journal, definition } = options;
  const definitionName = definition.name;
  const { trace } = execution;
  const progress = options.progress ?? silentProgress;
  const templateInstance = circuitInstance(trace.template);
  const binding = isDefinitionBound(templateInstance)
    ? definitionBinding(templateInstance, definition)
    : undefined;
  await prepareTemplate({ name: trace.template, chain, progress, definitionHash: binding?.hash });
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
  const failed = execution.failure
    ? `, ${trace.outcome}: ${execution.failure.stepName} failed, ${trace.steps.filter((s) => s.phase === "COMPENSATE").length} compensations`
    : "";
  progress.done(`workflow ${bundle.workflowId.slice(0, 18)}…, ${attested} attested calls${failed}`);

  const queues = options.queues ?? queuesOf(chain);
  const { active, waiting } = queues.provingLoad();
  if (active >= queues.provingConcurrency) {
    progress.note(`${definitionName}: waiting for the prover (${active} proving, ${waiting} ahead)`);
  }
  const provers = options.provers ?? new Map<string, Prover>();
  const submitter = BigInt(chain.submitter);
  let proof;
  try {
    proof = await queues.prove(async () => {
      progress.start(`${definitionName}: proving with Groth16 (${instance.name})`, "~2-4 s");
      let prover = provers.get(instance.name);
      if (!prover) {
        prover = new Prover(instance);
        provers.set(instance.name, prover);
      }
      const proven = await prover.prove(
        circuitInputOf({ instance, binding, trace, providers, submitter, traceDepth }),
      );
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

  let started = performance.now();
  let tx;
  try {
    tx = await queues.submit(async () => {
      progress.start(`${definitionName}: submitting to the registry on ${chain.network}`);
      started = performance.now();
      const [already] = await queryEntries({ registry: chain.registry, workflowId: trace.workflowId });
      if (already && already.traceRoot === traceRoot) {
        const receipt = await chain.signer.provider!.getTransactionReceipt(already.txHash);
        return {
          txHash: already.txHash,
          blockNumber: already.blockNumber,
          gasUsed: Number(receipt?.gasUsed ?? 0),
        };
      }
      return submitRun({
        registry: chain.registry,
        templateId: template.templateId,
        proof: proof.proof,
        publicSignals: proof.publicSignals,
      });
    });
  } catch (cause) {
    journal?.updateRun({ runId, lastError: `submit: ${(cause as Error).message}` });
    throw new RunNotRecordedError(runId, trace.outcome, "submit", bundlePath, cause);
  }
  const submitMs = Math.round(performance.now() - started);
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
  progress.done(`block ${tx.blockNumber}, ${tx.gasUsed} gas`);

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
    ...(execution.failure
      ? {
          failure: {
            step: execution.failure.stepName,
            evidence: execution.failure.evidence,
            reason: execution.failure.message,
          },
        }
      : {}),
  };
}
