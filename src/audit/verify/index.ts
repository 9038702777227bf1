import {
  BUNDLE_FORMAT,
  providerSetFromBundle,
  RunBundleSchema,
  stepRecordOf,
  undefinedKeys,
  type RunBundle,
} from "../../bundle";
import { definitionTemplateName, templateIdOf } from "../../chain";
import { circuitInstance, publicSignalNamesOf, type CircuitInstance } from "../../prover";
import { checkLabels } from "../labels";
import type { ChainTarget } from "../onChain";
import { checkBinding } from "./binding";
import { checkCalls } from "./calls";
import { checkReceipts } from "./receipts";
import { checkChain } from "./chain";
import { BUNDLE_CHECKS, type BundleCheck, type CheckStatus } from "./checks";
import { Findings } from "./findings";
import { checkDefinition, checkProof } from "./proof";
import { checkPublicSignals } from "./signals";
import { checkState } from "./state";
import { checkProviderSet, recomputeTraceRoot } from "./trace";
import type { BundleVerification, VerifiedStep } from "./types";

export { BUNDLE_CHECKS, type BundleCheck, type CheckStatus } from "./checks";
export { VerificationKeyError } from "./proof";
export type { BundleVerification, VerifiedCall, VerifiedState, VerifiedStep } from "./types";

/**
 * Checks a run bundle against itself and, given a network, against the registry, without calling
 * any external system:
 * - proof: the Groth16 proof verifies with the template instance's verification key
 *   (build/circuits/<instance>/groth16_vkey.json), and the templateId is the template's;
 * - publicSignals: they are (the run claim of the submission's submitter and the outcome code,
 *   workflowId, recomputed trace root, recomputed provider set root), then the definition hash for a
 *   generic template, or the state's rootBefore and rootAfter for a state template (six signals);
 * - traceRoot: Poseidon(workflowId, outcome, stepCount, stepsRoot) recomputed from the step
 *   records equals the bundle's traceRoot;
 * - providerSet: the provider keys hash to the stated root;
 * - labels: what a reader sees beside the committed fields. Step names agree with the step codes
 *   (by the workflow's definition, for built-in workflows; a workflow that is not built in leaves
 *   them unchecked, and the check `skipped` unless something else in it fails); operation names,
 *   systems and idempotency keys agree with the operation codes and the run; each call's request and
 *   response JSON is exactly the JSON its step's fields encode (decoded by the operation's spec,
 *   compared key by key: a key added, left out or changed is a problem naming the step, the call and
 *   the key; an attested call must show both); and the bundle has no key its format does not define;
 * - calls: each call matches its step record (callSeq, operation, request and response hashes
 *   recomputed from the fields) and its attestation verifies under the key the provider set
 *   registers for its system. A call without a valid attestation is `declared`, never `attested`,
 *   and a step that claims ATTESTED evidence without one is a problem;
 * - state: a run of a template that moves a state domain (circuits.json `stateDomain`) carries the
 *   transition (`state`), and a run of any other template none. The domain is the template's and its
 *   id keccak256 of its name. The run's scenario recomputes its changes from the trace
 *   (`changes(trace)` of its module): COMMITTED, one write per change in order, same key, valueAfter
 *   the change applied to valueBefore (≥ 0, 64-bit); ROLLED_BACK, none. Write w opens its key's leaf
 *   Poseidon(keyField, valueBefore) (the empty leaf when it adds the key, where the domain allows it)
 *   at the key's own slot, its path (indices = the slot's bits) leading to the root writes 0..w-1
 *   left, from rootBefore; the last one's leaf after leads to rootAfter (no writes: rootAfter =
 *   rootBefore);
 * - chain (with a network): the bundle was recorded by that network's registry, whose
 *   WorkflowRecorded event for the workflow id (for a state run its WorkflowRecordedWithState event)
 *   carries the same traceRoot, outcome, templateId, providerSetRoot, submitter and transaction, and
 *   for a state run the same rootBefore and rootAfter, its template the same domain id.
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
  const state = checkState({ bundle, instance, findings });

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
    signalCount: instance ? publicSignalNamesOf(instance).length : undefined,
    findings,
  });

  // Each call and its evidence.
  const calls = await checkCalls({ bundle, steps, workflowId, providers, findings });
  await checkReceipts({ bundle, workflowId, instance, providers, findings });

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
  documentProblems(bundle).forEach((problem) => findings.fail("labels", problem));
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
    failures,
    notes: [...findings.notes],
    workflowId: bundle.workflowId,
    scenario: bundle.scenario,
    template: bundle.template,
    outcome: bundle.outcome,
    checks: Object.fromEntries(BUNDLE_CHECKS.map((c) => [c, findings.status(c)])) as Record<
      BundleCheck,
      CheckStatus
    >,
    steps: stepsOf(bundle),
    calls,
    ...(state ? { state: { ...state.summary, ...(advance ? { advance } : {}) } } : {}),
    ...chain,
  };
}

/** A bundle object that is not a well-formed bundle, or has keys its format does not define (which a file reader refuses). */
function documentProblems(bundle: RunBundle): string[] {
  const parsed = RunBundleSchema.safeParse(bundle);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return [
      `the bundle is not a well-formed ${BUNDLE_FORMAT} at ${issue.path.join(".") || "top level"}: ${issue.message}`,
    ];
  }
  return undefinedKeys(bundle, parsed.data).map(
    (key) => `the bundle has key ${key}, which ${BUNDLE_FORMAT} does not define`,
  );
}

/**
 * The bundle's trace records as the report shows them; a compensation names the forward step it
 * undoes, a status query the one whose call it settles.
 */
function stepsOf(bundle: RunBundle): VerifiedStep[] {
  const forwardName = new Map(
    bundle.steps.filter((s) => s.phase === "FORWARD").map((s) => [s.stepCode, s.stepName]),
  );
  return bundle.steps.map((s) => ({
    index: s.index,
    name: s.stepName,
    phase: s.phase,
    status: s.status,
    callSeq: s.callSeq,
    ...(s.phase === "COMPENSATE" ? { compensates: forwardName.get(s.stepCode) } : {}),
    ...(s.phase === "SETTLE" ? { settles: forwardName.get(s.stepCode) } : {}),
  }));
}
