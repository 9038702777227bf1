import type { RunBundle } from "../../bundle";
import { submitterOfSignals } from "../../chain";
import { toHex20, toHex32 } from "../../crypto";
import type { CircuitInstance } from "../../prover";
import { fixedWorkflowTag, workflowIdOf } from "../../trace";
import type { Findings } from "./findings";

/**
 * The run's id is Poseidon(submitter, workflowTag, runNonce) of the bundle's binding (the circuits'
 * RunBinding), the tag is the template's workflow (its fixed tag, or the definition's hash for a
 * generic template), and the bound submitter is the one the proof and the submission name. A run
 * whose id is not bound so could have been squatted, or carries signatures made for another run.
 */
export function checkBinding(args: {
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
  if (bundle.proof && bundle.proof.publicSignals.length > 0) {
    const proven = submitterOfSignals(bundle.proof.publicSignals);
    if (proven !== submitter) {
      findings.fail(
        "binding",
        `the run is bound to submitter ${binding.submitter}; the proof's run claim binds ${toHex20(proven)}`,
      );
    }
  }
  if (bundle.submission && BigInt(bundle.submission.submitter) !== submitter) {
    findings.fail(
      "binding",
      `the run is bound to submitter ${binding.submitter}; it was submitted by ${bundle.submission.submitter}`,
    );
  }
}
