import { callRecordOf, type RunBundle } from "../../bundle";
import { operationSpecOf } from "../../systems";
import {
  hashFields,
  SettleOutcome,
  type ProviderSet,
  type SettleOutcomeName,
  type StepRecord,
} from "../../trace";
import { attestationProblem, attestedLevel, isAttestedLevel } from "../evidence";
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
      evidence: signatureVerified && step?.evidence === "ATTESTED" ? attestedLevel(call.system) : "declared",
      signatureVerified,
    });
  }
  for (const step of steps) {
    if (step.callSeq > 0 && !seen.has(step.callSeq)) {
      fail(`step ${step.index} (${step.stepName}) records call ${step.callSeq}, the bundle has no such call`);
    }
  }
  checkSettlements({ steps, verified, fail });
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

/**
 * A failed call either carries a signed refusal or is settled by the status query right after it:
 * the SETTLE record names it (callSeq, operation, request hash) and says TOOK_EFFECT with its
 * response's hash (the failed record then holds that response, evidence SETTLED) or NO_EFFECT /
 * REFUSED (the failed record holds no response, evidence DECLARED). A settled call is reported
 * `settled` only when all of that holds and the status query's own signature verified.
 */
function checkSettlements(args: {
  steps: readonly StepRecord[];
  verified: VerifiedCall[];
  fail: (problem: string) => void;
}): void {
  const { steps, verified, fail } = args;
  const byCall = new Map(verified.map((v) => [v.callSeq, v]));
  const queried = new Set<number>();
  for (const failed of steps) {
    if (failed.evidence === "SETTLED" && (failed.status !== "FAILED" || failed.callSeq === 0)) {
      fail(
        `step ${failed.index} (${failed.stepName}) claims SETTLED evidence; only a failed call is settled`,
      );
    }
    if (failed.phase !== "FORWARD" || failed.status !== "FAILED" || failed.callSeq === 0) continue;
    const label = `step ${failed.index} (${failed.stepName}), call ${failed.callSeq}`;
    const query = steps.find((s) => s.index === failed.index + 1 && s.phase === "SETTLE");
    if (failed.evidence === "ATTESTED") {
      if (query) fail(`${label}: a signed refusal needs no settling, yet a status query follows it`);
      continue;
    }
    if (!query) {
      fail(
        `${label} got no usable answer and no status query settles it: nothing shows whether it took effect (no template proves such a run)`,
      );
      continue;
    }
    queried.add(query.index);
    const qLabel = `status query ${query.index} (${query.stepName}), call ${query.callSeq}`;
    const problems: string[] = [];
    if (query.stepCode !== failed.stepCode)
      problems.push(`it has code ${query.stepCode}, not ${failed.stepCode}`);
    const requestHash = hashFields(failed.request);
    const [qCallSeq, qOperation, qRequestHash, qPad] = query.request;
    if (
      qCallSeq !== BigInt(failed.callSeq) ||
      qOperation !== BigInt(failed.operation) ||
      qRequestHash !== requestHash ||
      qPad !== 0n
    ) {
      problems.push(
        `it queries call ${qCallSeq}, operation ${qOperation}, not call ${failed.callSeq}'s own (operation ${failed.operation}, its request hash)`,
      );
    }
    const outcome = outcomeName(query.response[0]);
    if (!outcome)
      problems.push(
        `it answers outcome ${query.response[0]}, none of ${Object.keys(SettleOutcome).join(", ")}`,
      );
    if (query.response[2] !== 0n || query.response[3] !== 0n)
      problems.push("its response fields 2 and 3 are not 0");
    if (failed.evidence === "SETTLED") {
      if (outcome !== "TOOK_EFFECT")
        problems.push(
          `the failed record claims the call took effect, the query says ${outcome ?? "nothing"}`,
        );
      if (query.response[1] !== hashFields(failed.response)) {
        problems.push("the response hash it signed is not the hash of the failed record's response");
      }
      if (failed.response[0] !== 1n) problems.push("the failed record's response does not say succeeded");
    } else if (failed.evidence === "DECLARED") {
      if (outcome === "TOOK_EFFECT")
        problems.push("it says the call took effect, the failed record claims it did not");
      if (failed.response.some((f) => f !== 0n))
        problems.push("the failed record holds a response the call never got");
    } else {
      problems.push(`the failed record's evidence is ${failed.evidence}`);
    }
    problems.forEach((problem) => fail(`${qLabel}: ${problem}`));
    const queryCall = byCall.get(query.callSeq);
    const failedCall = byCall.get(failed.callSeq);
    if (queryCall && outcome) {
      queryCall.settles = {
        callSeq: failed.callSeq,
        operation: failedCall?.operation ?? `#${failed.operation}`,
        outcome,
      };
    }
    if (failedCall) {
      failedCall.settledBy = query.callSeq;
      // as good as the status query's own signature, never better
      failedCall.evidence =
        problems.length === 0 && failed.evidence === "SETTLED" && isAttestedLevel(queryCall?.evidence)
          ? queryCall!.evidence === "attested-by-notary"
            ? "settled-by-notary"
            : "settled"
          : "declared";
    }
  }
  for (const step of steps) {
    if (step.phase === "SETTLE" && !queried.has(step.index)) {
      fail(`status query ${step.index} (${step.stepName}) follows no failed call without a usable answer`);
    }
  }
}

function outcomeName(code: bigint): SettleOutcomeName | undefined {
  return (Object.keys(SettleOutcome) as SettleOutcomeName[]).find((n) => BigInt(SettleOutcome[n]) === code);
}
