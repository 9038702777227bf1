import type { DisclosureVerification, StepDisclosure } from "./disclose";
import { BUNDLE_CHECKS, type BundleCheck, type BundleVerification } from "./verify";

const CHECK_TITLES: Record<BundleCheck, string> = {
  proof: "Groth16 proof",
  publicSignals: "public signals",
  traceRoot: "trace root",
  providerSet: "provider set",
  calls: "calls",
  labels: "names and JSON",
  chain: "on-chain entry",
};

function verdict(result: { valid: boolean; onChain: boolean }, where: string | undefined): string {
  if (!result.valid) return "INVALID";
  return result.onChain
    ? `VALID, and recorded on ${where ?? "the chain"} as stated`
    : "VALID (not checked on chain)";
}

/** `wesflow verify` as a person reads it. */
export function formatBundleVerification(result: BundleVerification, source: string): string {
  const attested = result.calls.filter((c) => c.evidence === "attested").length;
  const lines = [
    `bundle ${source}`,
    `workflow ${result.workflowId} (${result.scenario}, ${result.template}): ${result.outcome}`,
    "",
  ];
  for (const check of BUNDLE_CHECKS) {
    const status = result.checks[check];
    const mark = status === "passed" ? "✓" : status === "failed" ? "✗" : "–";
    const extra =
      check === "calls" ? `  (${attested} attested, ${result.calls.length - attested} declared)` : "";
    lines.push(`  ${mark} ${CHECK_TITLES[check].padEnd(16)} ${status}${extra}`);
  }
  if (result.entry) {
    lines.push(
      `    recorded on ${result.entry.network} (chain ${result.entry.chainId}) in block ${result.entry.blockNumber}, tx ${result.entry.txHash}`,
    );
  }
  if (result.calls.length > 0) {
    lines.push("", "calls (evidence is what was verified now, never more):");
    for (const call of result.calls) {
      lines.push(
        `  ${String(call.callSeq).padStart(2)}. ${call.step.padEnd(18)} → ${call.system} ${call.operation} [${call.evidence}]`,
      );
    }
  }
  if (result.reasons.length > 0) {
    lines.push("", "reasons:", ...result.reasons.map((r) => `  - ${r}`));
  }
  lines.push("", verdict(result, result.entry?.network));
  return lines.join("\n");
}

/** `wesflow verify-disclosure` as a person reads it. */
export function formatDisclosureVerification(
  result: DisclosureVerification,
  disclosure: StepDisclosure,
  network: string | undefined,
): string {
  const { step } = result;
  const lines = [
    `step ${step.index} (${step.name}, ${step.phase} ${step.status}) of workflow ${result.workflowId}`,
    `  ${disclosure.outcome}, ${disclosure.stepCount} steps, trace root ${disclosure.traceRoot}`,
  ];
  if (result.call) {
    lines.push(
      `  call ${result.call.callSeq}: ${result.call.system} ${result.call.operation} [${result.call.evidence}]`,
    );
  }
  if (result.reasons.length > 0) {
    lines.push("", "reasons:", ...result.reasons.map((r) => `  - ${r}`));
  }
  lines.push("", verdict(result, network));
  return lines.join("\n");
}
