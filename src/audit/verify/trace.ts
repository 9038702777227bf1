import type { RunBundle } from "../../bundle";
import { toHex32 } from "../../crypto";
import type { CircuitInstance } from "../../prover";
import { Outcome, stepsTree, traceRootOf, type ProviderSet, type StepRecord } from "../../trace";
import { systemNameOf } from "../../systems";
import type { Findings } from "./findings";

export function recomputeTraceRoot(args: {
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

export function checkProviderSet(args: {
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
