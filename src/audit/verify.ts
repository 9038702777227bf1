import fs from "node:fs";
import * as snarkjs from "snarkjs";
import { callRecordOf, providerSetFromBundle, stepRecordOf, type RunBundle } from "../bundle";
import { definitionTemplateName, templateIdOf, verifyRegisteredProof, type RecordedRun } from "../chain";
import { toHex32 } from "../crypto";
import {
  circuitInstance,
  verificationKeyHash,
  genericTemplateParams,
  isGenericTemplate,
  PUBLIC_SIGNAL_NAMES,
  readSetupRecord,
  type CircuitInstance,
} from "../prover";
import {
  hashFields,
  Outcome,
  stepsTree,
  systemNameOf,
  traceRootOf,
  workflowDefinitionHash,
  type ProviderSet,
  type StepRecord,
} from "../trace";
import { attestationProblem } from "./evidence";
import { checkLabels } from "./labels";
import {
  notRecordedProblem,
  openRegistryView,
  otherChainProblem,
  recordedRunOf,
  type ChainTarget,
  type RegistryView,
} from "./onChain";

/** The groups of checks `verifyBundle` runs, in order. */
export const BUNDLE_CHECKS = [
  "proof",
  "publicSignals",
  "traceRoot",
  "providerSet",
  "calls",
  "labels",
  "chain",
] as const;
export type BundleCheck = (typeof BUNDLE_CHECKS)[number];
export type CheckStatus = "passed" | "failed" | "skipped";

/** One call as `verify` reports it: `attested` only when its signature verified now, under the registered key. */
export interface VerifiedCall {
  callSeq: number;
  step: string;
  system: string;
  operation: string;
  evidence: "attested" | "declared";
  signatureVerified: boolean;
}

export interface BundleVerification {
  /** Every check passed (the on-chain ones included when a network was given). */
  valid: boolean;
  /** The registry's entry for the run exists and matches the bundle. */
  onChain: boolean;
  /** Why the bundle is invalid or not on chain, then notes; empty when valid and on chain. */
  reasons: string[];
  workflowId: string;
  scenario: string;
  template: string;
  outcome: "COMMITTED" | "ROLLED_BACK";
  checks: Record<BundleCheck, CheckStatus>;
  calls: VerifiedCall[];
  /**
   * Against a network: whether the registry has an entry for the workflow id at all (false with
   * an otherwise sound bundle means the id is unknown there, e.g. the node was restarted).
   */
  recorded?: boolean;
  /** The on-chain record found. */
  entry?: {
    network: string;
    chainId: number;
    registry: string;
    txHash: string;
    blockNumber: number;
  };
}

/** The verification key of a circuit instance is missing or unreadable: the project is not set up. */
export class VerificationKeyError extends Error {
  override name = "VerificationKeyError";
  constructor(
    readonly file: string,
    options?: { cause?: unknown },
  ) {
    super(`cannot read the verification key ${file}: run \`npx wesflow setup\``, options);
  }
}

/** A uint160 public signal as a 0x-prefixed address. */
function addressOf(value: bigint): string {
  return "0x" + value.toString(16).padStart(40, "0");
}

const verificationKeys = new Map<string, object>();

function verificationKey(instance: CircuitInstance): object {
  const file = instance.paths.vkey;
  let key = verificationKeys.get(file);
  if (!key) {
    try {
      key = JSON.parse(fs.readFileSync(file, "utf8")) as object;
    } catch (cause) {
      throw new VerificationKeyError(file, { cause });
    }
    verificationKeys.set(file, key);
  }
  return key;
}

/** Collects the problems of each group of checks. */
class Findings {
  readonly problems = new Map<BundleCheck, string[]>(BUNDLE_CHECKS.map((c) => [c, []]));
  readonly skipped = new Set<BundleCheck>();
  readonly notes: string[] = [];

  fail(check: BundleCheck, problem: string): void {
    this.problems.get(check)!.push(problem);
  }

  /** Runs a computation; a throw (a value outside the field, a tree too small) is a problem of `check`. */
  attempt<T>(check: BundleCheck, what: string, compute: () => T): T | undefined {
    try {
      return compute();
    } catch (error) {
      this.fail(check, `${what}: ${(error as Error).message}`);
      return undefined;
    }
  }

  status(check: BundleCheck): CheckStatus {
    if (this.problems.get(check)!.length > 0) return "failed";
    return this.skipped.has(check) ? "skipped" : "passed";
  }
}

/**
 * Checks a run bundle against itself and, given a network, against the registry, without calling
 * any external system:
 * - proof: the Groth16 proof verifies with the template instance's verification key
 *   (build/circuits/<instance>/groth16_vkey.json), and the templateId is the template's;
 * - publicSignals: they are (workflowId, outcome code, recomputed trace root, recomputed provider
 *   set root, submitter of the submission);
 * - traceRoot: Poseidon(workflowId, outcome, stepCount, stepsRoot) recomputed from the step
 *   records equals the bundle's traceRoot;
 * - providerSet: the provider keys hash to the stated root;
 * - labels: step names, operation names, systems, idempotency keys and the calls' JSON agree with
 *   the committed codes and fields (by the workflow's definition, for built-in workflows);
 * - calls: each call matches its step record (callSeq, operation, request and response hashes
 *   recomputed from the fields) and its attestation verifies under the key the provider set
 *   registers for its system. A call without a valid attestation is `declared`, never `attested`,
 *   and a step that claims ATTESTED evidence without one is a problem;
 * - chain (with a network): the bundle was recorded by that network's registry, whose
 *   WorkflowRecorded event for the workflow id carries the same traceRoot, outcome, templateId,
 *   providerSetRoot, submitter and transaction.
 *
 * A network that cannot be reached or has no deployment file throws; anything wrong with the
 * bundle's content is reported in `reasons`.
 */
export async function verifyBundle(args: { bundle: RunBundle } & ChainTarget): Promise<BundleVerification> {
  const { bundle } = args;
  const findings = new Findings();
  const workflowId = BigInt(bundle.workflowId);
  const steps = bundle.steps.map(stepRecordOf);
  const providers = findings.attempt("providerSet", "the provider set", () => providerSetFromBundle(bundle));

  // The template instance: its verification key and its depths.
  let instance: CircuitInstance | undefined;
  try {
    instance = circuitInstance(bundle.template);
  } catch {
    findings.fail("proof", `template ${bundle.template} is not a circuit instance of this project`);
  }
  const definitionHash = checkDefinition({ bundle, instance, findings });
  const templateName =
    definitionHash === undefined ? bundle.template : definitionTemplateName(bundle.template, definitionHash);
  if (bundle.templateId !== templateIdOf(templateName)) {
    findings.fail("proof", `templateId ${bundle.templateId} is not the id of template ${templateName}`);
  }

  // Commitments recomputed from the records.
  const traceRoot = recomputeTraceRoot({ bundle, steps, workflowId, instance, findings });
  const providerSetRoot = checkProviderSet({ bundle, providers, instance, findings });

  // The proof and what it states.
  const localProof = await checkProof({ bundle, instance, findings });
  checkPublicSignals({ bundle, workflowId, traceRoot, providerSetRoot, definitionHash, findings });

  // Each call and its evidence.
  const calls = await checkCalls({ bundle, steps, workflowId, providers, findings });

  // What people read: names, keys and JSON.
  const labels = checkLabels({
    scenario: bundle.scenario,
    template: bundle.template,
    outcome: bundle.outcome,
    workflowId,
    steps: bundle.steps,
    calls: bundle.calls,
  });
  labels.problems.forEach((problem) => findings.fail("labels", problem));
  if (labels.skipped) {
    findings.skipped.add("labels");
    findings.notes.push(labels.skipped);
  }

  // The registry's entry.
  const { verifierAccepts, ...chain } = await checkChain({
    bundle,
    workflowId,
    traceRoot,
    target: args,
    findings,
  });

  // The local verification key decides, unless the verifier the registry uses says otherwise.
  if (localProof?.verified === false) {
    if (verifierAccepts === true) {
      findings.notes.push(
        `${localProof.problem}; the verifier registered on ${chain.entry?.network ?? "the network"} accepts it`,
      );
    } else {
      findings.fail("proof", localProof.problem);
    }
  }
  if (verifierAccepts === false) {
    findings.fail(
      "proof",
      `the verifier registered for ${bundle.template} on ${args.registry?.network ?? args.network} rejects the proof`,
    );
  }

  const failures = BUNDLE_CHECKS.flatMap((check) => findings.problems.get(check)!);
  return {
    valid: failures.length === 0,
    onChain: findings.status("chain") === "passed",
    reasons: [...failures, ...findings.notes],
    workflowId: bundle.workflowId,
    scenario: bundle.scenario,
    template: bundle.template,
    outcome: bundle.outcome,
    checks: Object.fromEntries(BUNDLE_CHECKS.map((c) => [c, findings.status(c)])) as Record<
      BundleCheck,
      CheckStatus
    >,
    calls,
    ...chain,
  };
}

function recomputeTraceRoot(args: {
  bundle: RunBundle;
  steps: StepRecord[];
  workflowId: bigint;
  instance: CircuitInstance | undefined;
  findings: Findings;
}): bigint | undefined {
  const { bundle, steps, workflowId, instance, findings } = args;
  if (instance && bundle.traceDepth !== instance.params[0]) {
    findings.fail(
      "traceRoot",
      `traceDepth is ${bundle.traceDepth}, template ${instance.name} commits to depth ${instance.params[0]}`,
    );
  }
  const traceRoot = findings.attempt("traceRoot", "the trace root cannot be recomputed", () =>
    traceRootOf({
      workflowId,
      outcome: Outcome[bundle.outcome],
      stepCount: steps.length,
      stepsRoot: stepsTree(steps, bundle.traceDepth).root,
    }),
  );
  if (traceRoot !== undefined && traceRoot !== BigInt(bundle.traceRoot)) {
    findings.fail(
      "traceRoot",
      `the steps hash to trace root ${toHex32(traceRoot)}, the bundle states ${bundle.traceRoot}`,
    );
  }
  return traceRoot;
}

function checkProviderSet(args: {
  bundle: RunBundle;
  providers: ProviderSet | undefined;
  instance: CircuitInstance | undefined;
  findings: Findings;
}): bigint | undefined {
  const { bundle, providers, instance, findings } = args;
  if (!providers) return undefined;
  if (instance && providers.depth !== instance.params[1]) {
    findings.fail(
      "providerSet",
      `the provider set has depth ${providers.depth}, template ${instance.name} takes depth ${instance.params[1]}`,
    );
  }
  for (const provider of providers.providers) {
    let name: string | undefined;
    try {
      name = systemNameOf(provider.systemCode);
    } catch {
      name = undefined;
    }
    if (name !== provider.system) {
      findings.fail(
        "providerSet",
        `the key of system code ${provider.systemCode} is labelled ${provider.system}`,
      );
    }
  }
  if (providers.root !== BigInt(bundle.providerSet.root)) {
    findings.fail(
      "providerSet",
      `the provider keys hash to root ${providers.root}, the bundle states ${bundle.providerSet.root}`,
    );
  }
  return providers.root;
}

/** Verifies the proof with this project's verification key; undefined when there is nothing to verify. */
async function checkProof(args: {
  bundle: RunBundle;
  instance: CircuitInstance | undefined;
  findings: Findings;
}): Promise<{ verified: boolean; problem: string } | undefined> {
  const { bundle, instance, findings } = args;
  if (!bundle.proof) {
    findings.fail("proof", "the bundle has no proof (the run was not proven: wesflow resume proves it)");
    return undefined;
  }
  if (bundle.proof.instance !== bundle.template) {
    findings.fail(
      "proof",
      `the proof is of instance ${bundle.proof.instance}, the bundle's template is ${bundle.template}`,
    );
  }
  if (!instance) return undefined;
  const key = verificationKey(instance);
  let verified = false;
  try {
    verified = await snarkjs.groth16.verify(key, bundle.proof.publicSignals, bundle.proof.proof);
  } catch {
    verified = false; // points that do not parse are not a proof
  }
  let problem = `the Groth16 proof does not verify with the verification key of ${instance.name}`;
  const localHash = verificationKeyHash(key);
  const setupAt = readSetupRecord(instance)?.createdAt;
  if (!verified && bundle.proof.vkeyHash && bundle.proof.vkeyHash !== localHash) {
    problem += ` (the proof was made for verification key sha256 ${bundle.proof.vkeyHash.slice(0, 16)}…, this build's key is ${localHash.slice(0, 16)}…: another setup's keys)`;
  } else if (!verified && !bundle.proof.vkeyHash && setupAt && setupAt > bundle.createdAt) {
    problem += ` (the key was made by a setup at ${setupAt}, after this run: a proof made with another setup's keys fails here)`;
  }
  return { verified, problem };
}

/**
 * A run of a generic template names the workflow definition its proof is bound to: the definition's
 * hash is recomputed from its layout. Returns the hash (undefined for a template of its own circuit).
 */
function checkDefinition(args: {
  bundle: RunBundle;
  instance: CircuitInstance | undefined;
  findings: Findings;
}): bigint | undefined {
  const { bundle, instance, findings } = args;
  const generic = instance ? isGenericTemplate(instance.template) : bundle.definition !== undefined;
  if (!bundle.definition) {
    if (generic)
      findings.fail(
        "proof",
        `template ${bundle.template} is generic: the bundle lacks the workflow definition`,
      );
    return undefined;
  }
  if (!generic) {
    findings.fail(
      "proof",
      `template ${bundle.template} is not generic, yet the bundle names a workflow definition`,
    );
    return undefined;
  }
  const stated = BigInt(bundle.definition.hash);
  if (instance) {
    const { maxSteps } = genericTemplateParams(instance.template, instance.params);
    const recomputed = findings.attempt("proof", "the workflow definition", () =>
      workflowDefinitionHash(bundle.definition!.layout, maxSteps),
    );
    if (recomputed !== undefined && recomputed !== stated) {
      findings.fail("proof", `the definition's hash is ${stated}, its layout hashes to ${recomputed}`);
    }
  }
  if (bundle.definition.name !== bundle.scenario) {
    findings.fail(
      "labels",
      `the definition is named ${bundle.definition.name}, the run's workflow ${bundle.scenario}`,
    );
  }
  return stated;
}

function checkPublicSignals(args: {
  bundle: RunBundle;
  workflowId: bigint;
  traceRoot: bigint | undefined;
  providerSetRoot: bigint | undefined;
  definitionHash: bigint | undefined;
  findings: Findings;
}): void {
  const { bundle, workflowId, traceRoot, providerSetRoot, definitionHash, findings } = args;
  if (!bundle.proof) {
    findings.skipped.add("publicSignals");
    return;
  }
  const submitter = bundle.submission ? BigInt(bundle.submission.submitter) : undefined;
  if (submitter === undefined) {
    findings.notes.push("the bundle has no submission: the proof's submitter signal is not compared");
  }
  const expected: Record<(typeof PUBLIC_SIGNAL_NAMES)[number], bigint | undefined> = {
    workflowId,
    outcome: BigInt(Outcome[bundle.outcome]),
    traceRoot,
    providerSetRoot,
    submitter,
  };
  const signals = bundle.proof.publicSignals;
  const count = PUBLIC_SIGNAL_NAMES.length + (definitionHash === undefined ? 0 : 1);
  if (signals.length !== count) {
    findings.fail(
      "publicSignals",
      `the proof has ${signals.length} public signals, template ${bundle.template} has ${count}`,
    );
  } else if (definitionHash !== undefined && BigInt(signals[count - 1]) !== definitionHash) {
    findings.fail(
      "publicSignals",
      `public signal definitionHash is ${signals[count - 1]}, the bundle's definition hashes to ${definitionHash}`,
    );
  }
  PUBLIC_SIGNAL_NAMES.forEach((name, i) => {
    const stated = BigInt(bundle.proof!.publicSignals[i]);
    const wanted = expected[name];
    if (wanted !== undefined && stated !== wanted) {
      findings.fail(
        "publicSignals",
        `public signal ${name} is ${stated}, the bundle's ${name === "submitter" ? "submission gives" : "records give"} ${wanted}`,
      );
    }
  });
}

async function checkCalls(args: {
  bundle: RunBundle;
  steps: StepRecord[];
  workflowId: bigint;
  providers: ProviderSet | undefined;
  findings: Findings;
}): Promise<VerifiedCall[]> {
  const { bundle, steps, workflowId, providers, findings } = args;
  const fail = (problem: string) => findings.fail("calls", problem);
  const verified: VerifiedCall[] = [];
  const seen = new Set<number>();
  for (const raw of bundle.calls) {
    const call = callRecordOf(raw);
    const label = `call ${call.callSeq} (${call.operationName})`;
    if (seen.has(call.callSeq)) fail(`${label} appears twice`);
    seen.add(call.callSeq);
    const step = steps.find((s) => s.index === call.stepIndex);
    let signatureVerified = false;
    if (!step) {
      fail(`${label} belongs to step ${call.stepIndex}, which the trace does not have`);
    } else {
      if (step.callSeq !== call.callSeq)
        fail(`${label}: its step ${step.stepName} records call ${step.callSeq}`);
      if (step.operation !== call.operation) {
        fail(`${label}: operation ${call.operation}, its step ${step.stepName} records ${step.operation}`);
      }
      const requestHash = findings.attempt("calls", `${label}: request fields`, () =>
        hashFields(step.request),
      );
      const responseHash = findings.attempt("calls", `${label}: response fields`, () =>
        hashFields(step.response),
      );
      if (requestHash !== undefined && requestHash !== call.requestHash) {
        fail(`${label}: requestHash is not the hash of its step's request fields`);
      }
      if (responseHash !== undefined && responseHash !== call.responseHash) {
        fail(`${label}: responseHash is not the hash of its step's response fields`);
      }
      if (call.attestation && requestHash !== undefined && responseHash !== undefined) {
        const problem = await attestationProblem({
          workflowId,
          call,
          attestation: call.attestation,
          requestHash,
          responseHash,
          registered: providers?.keyOf(call.system),
        });
        signatureVerified = problem === undefined;
        if (problem) fail(`${label}: ${problem}`);
      }
      if (step.evidence === "ATTESTED" && !call.attestation) {
        fail(`${label}: step ${step.stepName} claims attested evidence, the call carries no attestation`);
      }
      if (step.evidence === "NONE") fail(`${label}: step ${step.stepName} records no external call`);
    }
    verified.push({
      callSeq: call.callSeq,
      step: step?.stepName ?? `#${call.stepIndex}`,
      system: call.system,
      operation: call.operationName,
      // Attested means what the proof states too: the record's evidence level is committed in its leaf.
      evidence: signatureVerified && step?.evidence === "ATTESTED" ? "attested" : "declared",
      signatureVerified,
    });
  }
  for (const step of steps) {
    if (step.callSeq > 0 && !seen.has(step.callSeq)) {
      fail(`step ${step.index} (${step.stepName}) records call ${step.callSeq}, the bundle has no such call`);
    }
  }
  return verified;
}

async function checkChain(args: {
  bundle: RunBundle;
  workflowId: bigint;
  traceRoot: bigint | undefined;
  target: ChainTarget;
  findings: Findings;
}): Promise<Pick<BundleVerification, "recorded" | "entry"> & { verifierAccepts?: boolean }> {
  const { bundle, workflowId, findings } = args;
  const fail = (problem: string) => findings.fail("chain", problem);
  const opened = await openRegistryView(args.target);
  if (!opened.view) {
    findings.skipped.add("chain");
    findings.notes.push(opened.skipped);
    return {};
  }
  const view = opened.view;
  if (bundle.submission) {
    const elsewhere = otherChainProblem("the bundle", bundle.submission, view);
    if (elsewhere) {
      fail(elsewhere);
      return {};
    }
  }
  const verifierAccepts = await registeredVerifierAccepts(view, bundle);
  const run = await recordedRunOf(view, workflowId);
  if (!run) {
    fail(notRecordedProblem(view, workflowId));
    return { recorded: false, verifierAccepts };
  }
  compareWithEntry({ bundle, run, traceRoot: args.traceRoot, fail });
  return {
    recorded: true,
    verifierAccepts,
    entry: {
      network: view.network,
      chainId: view.chainId,
      registry: view.deployment.registry,
      txHash: run.txHash,
      blockNumber: run.blockNumber,
    },
  };
}

/**
 * Asks the verifier the registry has registered for the bundle's template (a view call, no
 * transaction): the key the run was accepted with. Undefined when there is no proof or the
 * template is not registered there.
 */
async function registeredVerifierAccepts(
  view: RegistryView,
  bundle: RunBundle,
): Promise<boolean | undefined> {
  if (!bundle.proof) return undefined;
  try {
    await view.registry.getTemplate(bundle.templateId);
  } catch {
    return undefined; // Registry__UnknownTemplate: the entry check says so
  }
  try {
    // A definition-bound template's verifier gets the definition hash the registry holds, not the bundle's.
    return await verifyRegisteredProof({
      registry: view.registry,
      templateId: bundle.templateId,
      proof: bundle.proof.proof,
      publicSignals: bundle.proof.publicSignals,
    });
  } catch {
    return false; // points or signals the verifier cannot even take
  }
}

function compareWithEntry(args: {
  bundle: RunBundle;
  run: RecordedRun;
  traceRoot: bigint | undefined;
  fail: (problem: string) => void;
}): void {
  const { bundle, run, fail } = args;
  const differs = (what: string, chain: string, own: string) =>
    fail(`the chain recorded ${what} ${chain}, the bundle has ${own}`);
  if (run.traceRoot !== BigInt(bundle.traceRoot)) {
    differs("trace root", toHex32(run.traceRoot), bundle.traceRoot);
  } else if (args.traceRoot !== undefined && run.traceRoot !== args.traceRoot) {
    fail(
      `the chain recorded trace root ${toHex32(run.traceRoot)}, the bundle's steps hash to ${toHex32(args.traceRoot)}`,
    );
  }
  if (run.outcome !== bundle.outcome) differs("outcome", run.outcome, bundle.outcome);
  if (run.templateId.toLowerCase() !== bundle.templateId)
    differs("template", run.templateId, bundle.templateId);
  if (run.providerSetRoot !== BigInt(bundle.providerSet.root)) {
    differs("provider set", String(run.providerSetRoot), bundle.providerSet.root);
  }
  if (bundle.proof && BigInt(run.submitter) !== BigInt(bundle.proof.publicSignals[4])) {
    differs("submitter", run.submitter, addressOf(BigInt(bundle.proof.publicSignals[4])));
  }
  const submission = bundle.submission;
  if (submission) {
    if (run.submitter.toLowerCase() !== submission.submitter.toLowerCase()) {
      differs("submitter", run.submitter, submission.submitter);
    }
    if (run.txHash !== submission.txHash) differs("the run in transaction", run.txHash, submission.txHash);
    if (run.blockNumber !== submission.blockNumber) {
      differs("the run in block", String(run.blockNumber), String(submission.blockNumber));
    }
  }
}
