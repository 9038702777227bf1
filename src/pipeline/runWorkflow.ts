import path from "node:path";
import type { WorkflowDefinition } from "../definition";
import { executeWorkflow } from "../executor";
import { bundleFromTrace, writeBundle, type RunBundle } from "../bundle";
import { submitRun } from "../chain";
import { toHex32 } from "../crypto";
import type { Logger } from "../project";
import {
  circuitInstance,
  orderWorkflowInput,
  Prover,
  silentProgress,
  type ProgressReporter,
} from "../prover";
import { computeTraceRoot, type ProviderSet, type SystemName } from "../trace";
import type { ChainContext } from "./network";

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
}

export interface RunWorkflowOptions<Input> {
  definition: WorkflowDefinition<Input>;
  input: unknown;
  chain: ChainContext;
  endpoints: Partial<Record<SystemName, string>>;
  providers: ProviderSet;
  runsDir: string;
  /** Reuse one Prover per process so the proving key is read once. */
  provers?: Map<string, Prover>;
  progress?: ProgressReporter;
  logger?: Logger;
}

/**
 * One run end to end: execute the steps (attested calls), write the bundle, prove the trace,
 * submit the proof to the registry, and complete the bundle with the transaction. The bundle is
 * on disk from the moment the run executed, so a failed proof or submission loses nothing.
 */
export async function runWorkflow<Input>(options: RunWorkflowOptions<Input>): Promise<RunSummary> {
  const { definition, chain, providers, runsDir, logger } = options;
  const progress = options.progress ?? silentProgress;
  const instance = circuitInstance(definition.template);
  const [traceDepth, providerDepth] = instance.params;
  if (providerDepth !== providers.depth) {
    throw new Error(
      `${instance.name} expects a provider set of depth ${providerDepth}, got ${providers.depth}`,
    );
  }
  const template = chain.deployment.templates[instance.name];
  if (!template)
    throw new Error(`template ${instance.name} is not registered in the deployment on ${chain.network}`);

  progress.start(`${definition.name}: executing ${definition.steps.length} steps`);
  const execution = await executeWorkflow({
    definition,
    input: options.input,
    endpoints: options.endpoints,
    providers,
    logger,
  });
  const { trace } = execution;
  const traceRoot = computeTraceRoot(trace, traceDepth);
  let bundle: RunBundle = bundleFromTrace({
    trace,
    templateId: template.templateId,
    traceRoot,
    traceDepth,
    providers,
    executeMs: execution.executeMs,
  });
  const bundleFile = writeBundle(runsDir, bundle);
  progress.done(`workflow ${bundle.workflowId.slice(0, 18)}…, ${trace.calls.length} attested calls`);

  progress.start(`${definition.name}: proving with Groth16 (${instance.name})`, "~2-4 s");
  const provers = options.provers ?? new Map<string, Prover>();
  let prover = provers.get(instance.name);
  if (!prover) {
    prover = new Prover(instance);
    provers.set(instance.name, prover);
  }
  const submitter = BigInt(chain.submitter);
  const proof = await prover.prove(orderWorkflowInput({ trace, providers, submitter, traceDepth }));
  if (!(await prover.verify(proof)))
    throw new Error("the generated proof does not verify with the verification key");
  bundle = { ...bundle, proof: { ...proof, proof: { ...proof.proof, protocol: "groth16" } } };
  writeBundle(runsDir, bundle);
  progress.done(`${proof.proveMs} ms`);

  progress.start(`${definition.name}: submitting to the registry on ${chain.network}`);
  const started = performance.now();
  const tx = await submitRun({
    registry: chain.registry,
    templateId: template.templateId,
    proof: proof.proof,
    publicSignals: proof.publicSignals,
  });
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
  progress.done(`block ${tx.blockNumber}, ${tx.gasUsed} gas`);

  return {
    workflowId: toHex32(trace.workflowId),
    scenario: definition.name,
    outcome: trace.outcome,
    traceRoot: toHex32(traceRoot),
    txHash: tx.txHash,
    blockNumber: tx.blockNumber,
    gasUsed: tx.gasUsed,
    bundlePath: path.relative(process.cwd(), bundleFile) || bundleFile,
    timings: { executeMs: execution.executeMs, proveMs: proof.proveMs, submitMs },
  };
}
