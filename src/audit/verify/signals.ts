import type { RunBundle } from "../../bundle";
import { OUTCOME_CODES, encodeRunClaim } from "../../chain";
import { PUBLIC_SIGNAL_NAMES } from "../../prover";
import type { Findings } from "./findings";

export function checkPublicSignals(args: {
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
    findings.notes.push(
      "the bundle has no submission: the proof's run claim (submitter, outcome) is not compared",
    );
  }
  const expected: Record<(typeof PUBLIC_SIGNAL_NAMES)[number], bigint | undefined> = {
    // submitter + outcome * 2^160: the bundle's submission and its recorded outcome
    runClaim: submitter === undefined ? undefined : encodeRunClaim(submitter, OUTCOME_CODES[bundle.outcome]),
    workflowId,
    traceRoot,
    providerSetRoot,
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
        `public signal ${name} is ${stated}, the bundle's ${name === "runClaim" ? "submission and outcome give" : "records give"} ${wanted}`,
      );
    }
  });
}

/** A state template's last two public signals and the bundle state's fields they are. */
const STATE_SIGNALS = [
  ["stateRootBefore", "rootBefore"],
  ["stateRootAfter", "rootAfter"],
] as const;
