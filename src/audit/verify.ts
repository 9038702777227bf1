import fs from "node:fs";
import * as snarkjs from "snarkjs";
import {
  callRecordOf,
  providerSetFromBundle,
  stepRecordOf,
  type BundleState,
  type RunBundle,
} from "../bundle";
import {
  definitionTemplateName,
  queryStateAdvances,
  templateIdOf,
  verifyRegisteredProof,
  type RecordedRun,
  type StateAdvance,
} from "../chain";
import { decodeString, poseidon, rootFromPath, toHex32 } from "../crypto";
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
  fixedWorkflowTag,
  hashFields,
  Outcome,
  stepsTree,
  systemNameOf,
  traceRootOf,
  workflowDefinitionHash,
  workflowIdOf,
  type ProviderSet,
  type StepRecord,
} from "../trace";
import { MAX_STATE_VALUE, STATE_DEPTH, stateDomainId, stateKeyField, stateSlotOf } from "../state";
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
  "binding",
  "traceRoot",
  "providerSet",
  "calls",
  "labels",
  "state",
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

/**
 * The state transition a run of a state template states (its bundle's `state`), as `verify` read
 * it: whether it holds is the `state` check (and, on chain, the `chain` check).
 */
export interface VerifiedState {
  /** The state domain's name, e.g. "order/stock", and its on-chain id (bytes32 hex). */
  domain: string;
  domainId: string;
  /** The key of the leaf the run's proof opens (the order's SKU) and its value before and after. */
  key: string;
  valueBefore: string;
  valueAfter: string;
  /** The domain's roots before and after the run, 0x-hex. */
  rootBefore: string;
  rootAfter: string;
  /** rootAfter = rootBefore: the run left the state as it was (a rolled-back run). */
  unchanged: boolean;
  /** Against a network: the registry's StateRootAdvanced event of the run, when there is one. */
  advance?: { blockNumber: number; txHash: string };
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
  /** A run of a state template: the transition its bundle states (checked unless `checks.state` failed). */
  state?: VerifiedState;
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
 *   set root, submitter of the submission), then the definition hash for a generic template, or the
 *   state's rootBefore and rootAfter for a state template (seven signals);
 * - traceRoot: Poseidon(workflowId, outcome, stepCount, stepsRoot) recomputed from the step
 *   records equals the bundle's traceRoot;
 * - providerSet: the provider keys hash to the stated root;
 * - labels: step names, operation names, systems, idempotency keys and the calls' JSON agree with
 *   the committed codes and fields (by the workflow's definition, for built-in workflows);
 * - calls: each call matches its step record (callSeq, operation, request and response hashes
 *   recomputed from the fields) and its attestation verifies under the key the provider set
 *   registers for its system. A call without a valid attestation is `declared`, never `attested`,
 *   and a step that claims ATTESTED evidence without one is a problem;
 * - state: a run of a template that moves a state domain (circuits.json `stateDomain`) carries the
 *   transition (`state`), and a run of any other template none. The domain is the template's and its
 *   id keccak256 of its name; the leaf Poseidon(keyField, valueBefore) and its path (whose indices are
 *   the bits of the slot) lead to rootBefore. COMMITTED: keyField is the key's encoding and
 *   create_order's request[2] (the SKU), valueAfter = valueBefore − its request[3] (the quantity)
 *   ≥ 0, and the same path with Poseidon(keyField, valueAfter) leads to rootAfter. ROLLED_BACK:
 *   rootAfter = rootBefore and valueAfter = valueBefore (a key the domain does not hold is stated
 *   as the empty opening: keyField, slot, values and path all 0);
 * - chain (with a network): the bundle was recorded by that network's registry, whose
 *   WorkflowRecorded event for the workflow id carries the same traceRoot, outcome, templateId,
 *   providerSetRoot, submitter and transaction; for a state run, its StateRootAdvanced event (in the
 *   same transaction) carries the same domain id, rootBefore and rootAfter.
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

  // The run's id: bound to its submitter and to the template's workflow.
  checkBinding({ bundle, workflowId, instance, definitionHash, findings });

  // Commitments recomputed from the records.
  const traceRoot = recomputeTraceRoot({ bundle, steps, workflowId, instance, findings });
  const providerSetRoot = checkProviderSet({ bundle, providers, instance, findings });

  // The state transition the run states (for a state template).
  const state = checkState({ bundle, instance, steps, findings });

  // The proof and what it states.
  const localProof = await checkProof({ bundle, instance, findings });
  checkPublicSignals({
    bundle,
    workflowId,
    traceRoot,
    providerSetRoot,
    definitionHash,
    stateful: instance ? instance.stateDomain !== undefined : bundle.state !== undefined,
    stateRoots: state?.roots,
    signalCount: instance?.pubs.length,
    findings,
  });

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
  const { verifierAccepts, advance, ...chain } = await checkChain({
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
    ...(state ? { state: { ...state.summary, ...(advance ? { advance } : {}) } } : {}),
    ...chain,
  };
}

/**
 * The run's id is Poseidon(submitter, workflowTag, runNonce) of the bundle's binding (the circuits'
 * RunBinding), the tag is the template's workflow (its fixed tag, or the definition's hash for a
 * generic template), and the bound submitter is the one the proof and the submission name. A run
 * whose id is not bound so could have been squatted, or carries signatures made for another run.
 */
function checkBinding(args: {
  bundle: RunBundle;
  workflowId: bigint;
  instance: CircuitInstance | undefined;
  definitionHash: bigint | undefined;
  findings: Findings;
}): void {
  const { bundle, workflowId, instance, definitionHash, findings } = args;
  const binding = findings.attempt("binding", "the run's binding", () => ({
    submitter: bundle.binding.submitter,
    workflowTag: BigInt(bundle.binding.workflowTag),
    runNonce: BigInt(bundle.binding.runNonce),
  }));
  if (!binding) return;
  if (workflowIdOf(binding) !== workflowId) {
    findings.fail(
      "binding",
      `workflowId ${bundle.workflowId} is not Poseidon(submitter, workflowTag, runNonce) of the bundle's binding`,
    );
  }
  const expectedTag =
    instance === undefined
      ? undefined
      : instance.workflowTag !== undefined
        ? fixedWorkflowTag(instance.workflowTag)
        : definitionHash;
  if (expectedTag !== undefined && binding.workflowTag !== expectedTag) {
    findings.fail(
      "binding",
      `the run is bound to workflow ${toHex32(binding.workflowTag)}, not to template ${bundle.template}'s ${toHex32(expectedTag)}`,
    );
  }
  const submitter = BigInt(binding.submitter);
  if (
    bundle.proof &&
    bundle.proof.publicSignals.length > 4 &&
    BigInt(bundle.proof.publicSignals[4]) !== submitter
  ) {
    findings.fail(
      "binding",
      `the run is bound to submitter ${binding.submitter}; the proof's submitter signal is ${toHex32(BigInt(bundle.proof.publicSignals[4]))}`,
    );
  }
  if (bundle.submission && BigInt(bundle.submission.submitter) !== submitter) {
    findings.fail(
      "binding",
      `the run is bound to submitter ${binding.submitter}; it was submitted by ${bundle.submission.submitter}`,
    );
  }
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
  /** The template moves a state domain: its proofs have stateRootBefore and stateRootAfter last. */
  stateful: boolean;
  /** The roots the bundle's state gives, when it has a readable one. */
  stateRoots: { rootBefore: bigint; rootAfter: bigint } | undefined;
  /** The template's number of public signals, when it is an instance of this project. */
  signalCount: number | undefined;
  findings: Findings;
}): void {
  const { bundle, workflowId, traceRoot, providerSetRoot, definitionHash, stateful, stateRoots, findings } =
    args;
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
  const count =
    args.signalCount ??
    PUBLIC_SIGNAL_NAMES.length +
      (definitionHash === undefined ? 0 : 1) +
      (stateful ? STATE_SIGNALS.length : 0);
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
  } else if (stateful && stateRoots) {
    STATE_SIGNALS.forEach(([name, field], i) => {
      const at = PUBLIC_SIGNAL_NAMES.length + i;
      if (BigInt(signals[at]) !== stateRoots[field]) {
        findings.fail(
          "publicSignals",
          `public signal ${name} is ${signals[at]}, the bundle's state gives ${field} ${stateRoots[field]}`,
        );
      }
    });
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

/** A state template's last two public signals and the bundle state's fields they are. */
const STATE_SIGNALS = [
  ["stateRootBefore", "rootBefore"],
  ["stateRootAfter", "rootAfter"],
] as const;

/** A decimal value of the bundle as a bigint, or undefined (and a problem of `check`) when it is none. */
function numberOf(findings: Findings, check: BundleCheck, what: string, text: string): bigint | undefined {
  return findings.attempt(check, what, () => {
    if (typeof text !== "string" || !/^\d+$/.test(text)) {
      throw new TypeError(`${JSON.stringify(text)} is not a number`);
    }
    return BigInt(text);
  });
}

/**
 * The state check (see `verifyBundle`): the transition the bundle states is the one its template
 * and trace allow, and its leaf opens both roots. Returns what the bundle states (for the report)
 * and its roots when they are readable (for the public signals); undefined without a state.
 */
function checkState(args: {
  bundle: RunBundle;
  instance: CircuitInstance | undefined;
  steps: StepRecord[];
  findings: Findings;
}): { summary: VerifiedState; roots?: { rootBefore: bigint; rootAfter: bigint } } | undefined {
  const { bundle, instance, steps, findings } = args;
  const fail = (problem: string) => findings.fail("state", problem);
  const state = bundle.state;
  const domain = instance?.stateDomain;
  if (!state) {
    if (domain !== undefined) {
      fail(
        `template ${bundle.template} proves a transition of state domain "${domain}": the bundle has no state`,
      );
    } else {
      findings.skipped.add("state"); // a template that moves no state: nothing to check
    }
    return undefined;
  }
  const roots = stateRootsOf(state, findings);
  const summary: VerifiedState = {
    domain: state.domain,
    domainId: state.domainId,
    key: state.key,
    valueBefore: state.valueBefore,
    valueAfter: state.valueAfter,
    rootBefore: roots ? toHex32(roots.rootBefore) : state.rootBefore,
    rootAfter: roots ? toHex32(roots.rootAfter) : state.rootAfter,
    unchanged: state.rootAfter === state.rootBefore,
  };
  if (instance && domain === undefined) {
    fail(
      `template ${bundle.template} moves no state, yet the bundle states a transition of state domain "${state.domain}"`,
    );
    return { summary, roots };
  }
  if (domain !== undefined && state.domain !== domain) {
    fail(`the bundle's state is of domain "${state.domain}", template ${bundle.template} moves "${domain}"`);
  }
  const domainId = findings.attempt("state", "the state's domain id", () => stateDomainId(state.domain));
  if (domainId !== undefined && state.domainId.toLowerCase() !== domainId.toLowerCase()) {
    fail(`the state's domainId is ${state.domainId}, the id of domain "${state.domain}" is ${domainId}`);
  }
  checkStateLeaf({ bundle, state, roots, depth: instance?.params[2] ?? STATE_DEPTH, steps, findings });
  return { summary, roots };
}

function stateRootsOf(
  state: BundleState,
  findings: Findings,
): { rootBefore: bigint; rootAfter: bigint } | undefined {
  const rootBefore = numberOf(findings, "state", "the state's rootBefore", state.rootBefore);
  const rootAfter = numberOf(findings, "state", "the state's rootAfter", state.rootAfter);
  return rootBefore === undefined || rootAfter === undefined ? undefined : { rootBefore, rootAfter };
}

/** The leaf the bundle's state opens: its key, values, slot and path against the roots and the trace. */
function checkStateLeaf(args: {
  bundle: RunBundle;
  state: BundleState;
  roots: { rootBefore: bigint; rootAfter: bigint } | undefined;
  depth: number;
  steps: StepRecord[];
  findings: Findings;
}): void {
  const { bundle, state, roots, depth, steps, findings } = args;
  const fail = (problem: string) => findings.fail("state", problem);
  const keyField = numberOf(findings, "state", "the state's keyField", state.keyField);
  const valueBefore = numberOf(findings, "state", "the state's valueBefore", state.valueBefore);
  const valueAfter = numberOf(findings, "state", "the state's valueAfter", state.valueAfter);
  for (const [what, value] of [
    ["valueBefore", valueBefore],
    ["valueAfter", valueAfter],
  ] as const) {
    if (value !== undefined && (value < 0n || value > MAX_STATE_VALUE)) {
      fail(`the state's ${what} ${value} is not an unsigned 64-bit integer`);
    }
  }
  const pathElements = state.pathElements.map((element, level) =>
    numberOf(findings, "state", `the state's path element ${level}`, element),
  );
  const pathIndices = state.pathIndices;
  let pathSound = pathElements.every((e) => e !== undefined);
  if (pathElements.length !== depth || pathIndices.length !== depth) {
    fail(
      `the state's path has ${pathElements.length} elements and ${pathIndices.length} indices, the state tree has depth ${depth}`,
    );
    pathSound = false;
  }
  const slot = state.slot;
  if (!Number.isInteger(slot) || slot < 0 || slot >= 2 ** depth) {
    fail(`the state's slot ${slot} is not a slot of a depth-${depth} state tree`);
    pathSound = false;
  } else {
    const bits = Array.from({ length: depth }, (_, level) => Math.floor(slot / 2 ** level) % 2);
    if (pathIndices.length === depth && bits.some((bit, level) => pathIndices[level] !== bit)) {
      fail(
        `the state's path indices ${pathIndices.join("")} (bottom-up) are not the bits of slot ${slot} (${bits.join("")})`,
      );
    }
  }

  // The run's key and quantity as create_order (the trace's first record) carries them.
  const create = steps.find((s) => s.index === 0) ?? steps[0];
  const sku = create?.request[2];
  const quantity = create?.request[3];
  const skuName =
    sku === undefined ? undefined : findings.attempt("state", "the order's SKU", () => decodeString(sku));
  if (skuName !== undefined && state.key !== skuName) {
    fail(`the state's key is "${state.key}", the run's create_order record names "${skuName}"`);
  }
  const committed = bundle.outcome === "COMMITTED";
  const unopened = !committed && keyField === 0n;
  if (!unopened && keyField !== undefined) {
    const expectedKey = findings.attempt("state", `the state's key "${state.key}"`, () =>
      stateKeyField(state.key),
    );
    if (expectedKey !== undefined && keyField !== expectedKey) {
      fail(`the state's keyField is ${keyField}, key "${state.key}" encodes to ${expectedKey}`);
    }
    if (sku !== undefined && keyField !== sku) {
      fail(
        `the state's keyField is ${keyField}, the run's create_order record carries SKU ${sku} (request[2])`,
      );
    }
    const ownSlot = findings.attempt("state", "the key's slot", () => stateSlotOf(keyField, depth));
    if (ownSlot !== undefined && slot !== ownSlot) {
      fail(
        `the state opens slot ${slot}, but key "${state.key}" lives at slot ${ownSlot} (fixed by the key)`,
      );
    }
  }

  const path = { pathElements: pathElements as bigint[], pathIndices };
  const open = (value: bigint) =>
    findings.attempt("state", "the state's leaf", () => rootFromPath(poseidon([keyField!, value]), path));
  const leafLabel = `the state's leaf of "${state.key}"`;
  if (committed) {
    if (valueBefore !== undefined && valueAfter !== undefined && quantity !== undefined) {
      if (valueBefore < quantity) {
        fail(
          `the state's valueBefore is ${valueBefore}: taking the run's quantity ${quantity} would make it negative`,
        );
      } else if (valueAfter !== valueBefore - quantity) {
        fail(
          `the state's valueAfter is ${valueAfter}, valueBefore ${valueBefore} less the run's quantity ${quantity} is ${valueBefore - quantity}`,
        );
      }
    }
  } else {
    if (roots && roots.rootAfter !== roots.rootBefore) {
      fail(
        `a rolled-back run leaves the state as it was, yet the state's rootAfter ${toHex32(roots.rootAfter)} is not its rootBefore ${toHex32(roots.rootBefore)}`,
      );
    }
    if (valueBefore !== undefined && valueAfter !== undefined && valueAfter !== valueBefore) {
      fail(
        `a rolled-back run leaves the state as it was, yet the state's value goes from ${valueBefore} to ${valueAfter}`,
      );
    }
  }
  if (unopened) {
    // A key the domain does not hold: the empty opening (nothing to recompute: the proof does not open it).
    if (
      valueBefore !== 0n ||
      slot !== 0 ||
      pathElements.some((e) => e !== 0n) ||
      pathIndices.some((i) => i !== 0)
    ) {
      fail(
        `the state's keyField is 0 (a key the domain does not hold), yet its value, slot or path is not 0`,
      );
    }
    return;
  }
  if (!pathSound || keyField === undefined || !roots) return;
  if (valueBefore !== undefined) {
    const before = open(valueBefore);
    if (before !== undefined && before !== roots.rootBefore) {
      fail(
        `${leafLabel} with valueBefore ${valueBefore} and its path lead to root ${toHex32(before)}, not the state's rootBefore ${toHex32(roots.rootBefore)}`,
      );
    }
  }
  if (committed && valueAfter !== undefined) {
    const after = open(valueAfter);
    if (after !== undefined && after !== roots.rootAfter) {
      fail(
        `${leafLabel} with valueAfter ${valueAfter} and the same path lead to root ${toHex32(after)}, not the state's rootAfter ${toHex32(roots.rootAfter)}`,
      );
    }
  }
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
}): Promise<
  Pick<BundleVerification, "recorded" | "entry"> & {
    verifierAccepts?: boolean;
    advance?: VerifiedState["advance"];
  }
> {
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
  const [advance] = await queryStateAdvances({
    registry: view.registry,
    workflowId,
    deploymentBlock: view.deployment.deploymentBlock,
  });
  compareWithStateAdvance({ bundle, run, advance, fail });
  return {
    recorded: true,
    verifierAccepts,
    ...(advance ? { advance: { blockNumber: advance.blockNumber, txHash: advance.txHash } } : {}),
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

/** A state run's StateRootAdvanced event: the same domain and roots as the bundle's state, in the run's transaction. */
function compareWithStateAdvance(args: {
  bundle: RunBundle;
  run: RecordedRun;
  advance: StateAdvance | undefined;
  fail: (problem: string) => void;
}): void {
  const { bundle, run, advance, fail } = args;
  const state = bundle.state;
  if (!advance) {
    if (state) {
      fail(
        `the registry has no StateRootAdvanced event for workflow ${toHex32(run.workflowId)}: the chain did not move state domain "${state.domain}" as the bundle's state says`,
      );
    }
    return;
  }
  if (!state) {
    fail(
      `the chain moved state domain ${advance.domainId} from root ${toHex32(advance.rootBefore)} to ${toHex32(advance.rootAfter)} for this run, the bundle states no state`,
    );
    return;
  }
  const differs = (what: string, chain: string, own: string) =>
    fail(`the chain's StateRootAdvanced event recorded ${what} ${chain}, the bundle's state has ${own}`);
  if (advance.domainId.toLowerCase() !== state.domainId.toLowerCase()) {
    differs("state domain", advance.domainId, `${state.domainId} ("${state.domain}")`);
  }
  const own = (decimal: string) => (/^\d+$/.test(decimal) ? toHex32(BigInt(decimal)) : decimal);
  if (own(state.rootBefore) !== toHex32(advance.rootBefore)) {
    differs("state root before", toHex32(advance.rootBefore), own(state.rootBefore));
  }
  if (own(state.rootAfter) !== toHex32(advance.rootAfter)) {
    differs("state root after", toHex32(advance.rootAfter), own(state.rootAfter));
  }
  if (advance.txHash !== run.txHash) {
    fail(
      `the run's StateRootAdvanced event is in transaction ${advance.txHash}, its WorkflowRecorded event in ${run.txHash}`,
    );
  }
}
