import { callRecordOf, type RunBundle } from "../../bundle";
import { operationSpecOf } from "../../systems";
import { hashFields, type ProviderSet, type StepRecord } from "../../trace";
import { attestationProblem } from "../evidence";
import type { Findings } from "./findings";
import type { VerifiedCall } from "./types";

export async function checkCalls(args: {
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
    const described = step && callLabel(step);
    verified.push({
      callSeq: call.callSeq,
      step: step?.stepName ?? `#${call.stepIndex}`,
      system: call.system,
      operation: call.operationName,
      ...(described !== undefined && { label: described }),
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

/**
 * How people read a record's call: its operation's `describe` of the request the record commits to
 * (decoded from the committed fields, so it shows nothing the proof does not), e.g.
 * `lab.inspection_result(lot=LT000001)`; undefined when the operation describes none, or the fields
 * are the encoding of no request.
 */
export function callLabel(step: Pick<StepRecord, "operation" | "request">): string | undefined {
  const spec = operationSpecOf(step.operation);
  if (!spec?.describe) return undefined;
  try {
    return spec.describe(spec.decodeRequest(step.request));
  } catch {
    return undefined;
  }
}
