import type { DisclosureVerification, StepDisclosure } from "./disclose";
import { BUNDLE_CHECKS, type BundleCheck, type BundleVerification, type VerifiedState } from "./verify";

const CHECK_TITLES: Record<BundleCheck, string> = {
  proof: "Groth16 proof",
  publicSignals: "public signals",
  binding: "run binding (id, submitter, workflow)",
  traceRoot: "trace root",
  providerSet: "provider set",
  calls: "calls",
  labels: "names and JSON",
  state: "state transition",
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
  const notarised = result.calls.filter((c) => c.evidence === "attested-by-notary").length;
  const settled = result.calls.filter(
    (c) => c.evidence === "settled" || c.evidence === "settled-by-notary",
  ).length;
  const declared = result.calls.length - attested - notarised - settled;
  const lines = [
    `bundle ${source}`,
    `workflow ${result.workflowId} (${result.scenario}, ${result.template}): ${result.outcome}`,
    "",
  ];
  for (const check of BUNDLE_CHECKS) {
    const status = result.checks[check];
    const mark = status === "passed" ? "✓" : status === "failed" ? "✗" : "–";
    const extra =
      check === "calls"
        ? `  (${attested} attested, ${notarised ? `${notarised} attested by the notary, ` : ""}${settled ? `${settled} settled, ` : ""}${declared} declared)`
        : "";
    lines.push(`  ${mark} ${CHECK_TITLES[check].padEnd(16)} ${status}${extra}`);
  }
  if (result.entry) {
    lines.push(
      `    recorded on ${result.entry.network} (chain ${result.entry.chainId}) in block ${result.entry.blockNumber}, tx ${result.entry.txHash}`,
    );
  }
  if (result.state) {
    const unverified = result.checks.state === "failed" ? " (as the bundle states it: not verified)" : "";
    lines.push("", `state     ${formatStateTransition(result.state, result.outcome)}${unverified}`);
    if (result.state.advance) {
      lines.push(
        `          advanced on chain in block ${result.state.advance.blockNumber}, tx ${result.state.advance.txHash}`,
      );
    }
  }
  if (result.calls.length > 0) {
    lines.push("", "calls (evidence is what was verified now, never more):");
    for (const call of result.calls) {
      const settledBy = call.settledBy ? ` (settled by call ${call.settledBy})` : "";
      const settles = call.settles
        ? `: ${call.settles.operation} (call ${call.settles.callSeq}) ${call.settles.outcome}`
        : "";
      lines.push(
        `  ${String(call.callSeq).padStart(2)}. ${call.step.padEnd(18)} → ${call.system} ${call.operation} [${call.evidence}]${settledBy}${settles}`,
      );
    }
  }
  if (result.reasons.length > 0) {
    lines.push("", "reasons:", ...result.reasons.map((r) => `  - ${r}`));
  }
  lines.push("", verdict(result, result.entry?.network));
  return lines.join("\n");
}

/** A 32-byte hex value shortened for a line of text: 0x1234abcd…9f8e. */
export function shortHex(hex: string): string {
  return /^0x[0-9a-fA-F]{64}$/.test(hex) ? `${hex.slice(0, 10)}…${hex.slice(-4)}` : hex;
}

/**
 * A state run's move on one line: `order/stock: stock of SKU-COFFEE-1KG 500 → 497, root 0x… → 0x…`
 * (several writes joined by "; "), or, when the run left the state as it was, `order/stock:
 * unchanged (rolled back), root 0x…`. What a value is ("stock") is the run's scenario's word. In a
 * domain of named fields a write shows the fields it changed by name, `STEEL stock 500 → 476, scrap
 * 0 → 24` (all of them when it changed none).
 */
export function formatStateTransition(state: VerifiedState, outcome?: BundleVerification["outcome"]): string {
  if (state.writes.length === 0 && state.unchanged) {
    const why = outcome === "COMMITTED" ? "" : " (rolled back)";
    return `${state.domain}: unchanged${why}, root ${shortHex(state.rootBefore)}`;
  }
  const writes = state.writes.map((w) => formatStateWrite(state, w)).join("; ");
  return `${state.domain}: ${writes}, root ${shortHex(state.rootBefore)} → ${shortHex(state.rootAfter)}`;
}

/** One write of a state run's move, by its fields' names when the domain has named fields. */
function formatStateWrite(state: VerifiedState, write: VerifiedState["writes"][number]): string {
  const key = write.key || "(no key)";
  const { fieldsBefore, fieldsAfter } = write;
  if (state.valueFields === undefined || fieldsBefore === undefined || fieldsAfter === undefined) {
    return `${state.valueName} of ${key} ${write.valueBefore} → ${write.valueAfter}`;
  }
  const changed = state.valueFields.filter((name) => fieldsBefore[name] !== fieldsAfter[name]);
  const shown = changed.length > 0 ? changed : state.valueFields;
  return `${key} ${shown.map((name) => `${name} ${fieldsBefore[name]} → ${fieldsAfter[name]}`).join(", ")}`;
}

/**
 * `wesflow verify --json`'s object: `valid`, `onChain` and `reasons` first (the documented shape),
 * then the details, the state transition of a state run included.
 */
export function bundleVerificationJson(result: BundleVerification): Record<string, unknown> {
  return {
    valid: result.valid,
    onChain: result.onChain,
    reasons: result.reasons,
    workflowId: result.workflowId,
    outcome: result.outcome,
    checks: result.checks,
    calls: result.calls,
    ...(result.state ? { state: result.state } : {}),
  };
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
