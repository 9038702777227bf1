import type { AuditCall, AuditStep, AuditEntry, AuditState, Trail } from "./trail";
import type { VerifiedState } from "./verify";

/** A recorded run's state root move: `order/stock root 0x… → 0x…`, or `… unchanged` when it did not move. */
export function formatStateMove(state: AuditState): string {
  const domain = state.domain ?? `domain ${state.domainId}`;
  return state.rootAfter === state.rootBefore
    ? `${domain} root ${state.rootBefore} unchanged`
    : `${domain} root ${state.rootBefore} → ${state.rootAfter}`;
}

/**
 * A state run's writes, one line each with the change: `stock of SKU-1 500 → 497 (-3)`, `balance
 * of NORDBANK 40000000 → 39880000 (-120000)`; what a value is is the run's scenario's word.
 */
export function formatStateWrites(state: VerifiedState | undefined): string[] {
  return (state?.writes ?? []).map((w) => {
    const change = BigInt(w.valueAfter) - BigInt(w.valueBefore);
    return `${state!.valueName} of ${w.key || "(no key)"} ${w.valueBefore} → ${w.valueAfter} (${change < 0n ? "" : "+"}${change})`;
  });
}

/**
 * One line per trace record: position, name, phase, status, and its call with the evidence level
 * (attested only when the signature verified; settled when a failed call's response is shown by the
 * verified status query after it; declared otherwise, e.g. a timeout). A failed step is marked ✗, a
 * compensation ↺ with the step it undoes, a status query ? with what it says of the call it settles.
 */
export function formatTrailSteps(trail: {
  steps: readonly AuditStep[];
  calls: readonly AuditCall[];
}): string[] {
  const callBySeq = new Map(trail.calls.map((c) => [c.callSeq, c]));
  return trail.steps.map((step) => {
    const call = step.callSeq ? callBySeq.get(step.callSeq) : undefined;
    const evidence =
      call?.evidence === "settled" || call?.evidence === "settled-by-notary"
        ? `${call.evidence}: its status query, call ${call.settledBy}, is ${call.evidence === "settled" ? "attested" : "attested by the notary"}`
        : call?.evidence;
    const callText = call ? `→ ${call.system} ${call.label ?? call.operation} [${evidence}]` : "(local step)";
    const mark =
      step.status === "FAILED"
        ? "✗"
        : step.phase === "COMPENSATE"
          ? "↺"
          : step.phase === "SETTLE"
            ? "?"
            : " ";
    const undoes = step.compensates ? `  undoes ${step.compensates}` : "";
    const settles = call?.settles
      ? `  settles ${step.settles ?? "the failed step"}'s ${call.settles.operation} (call ${call.settles.callSeq}): ${call.settles.outcome}`
      : "";
    return `${String(step.index + 1).padStart(2)}. ${mark} ${step.name.padEnd(18)} ${step.phase.padEnd(10)} ${step.status.padEnd(6)} ${callText}${undoes}${settles}`;
  });
}

/**
 * What verify says of a trail, then its steps, for the terminal: a trail that failed verify's checks
 * says so with verify's findings, and its steps and names are headed as the bundle's claims, not
 * verified; a verified trail whose step names could not be checked says that too.
 */
export function formatTrail(trail: Trail, against: string): { verdict: string[]; steps: string[] } {
  const steps = formatTrailSteps(trail);
  if (!trail.verified) {
    return {
      verdict: [
        `BUNDLE FAILS VERIFICATION (wesflow verify finds it invalid${against ? ` against ${against}` : ""}):`,
        ...trail.problems.map((p) => `  - ${p}`),
        "steps, names and calls as the bundle states them, NOT verified:",
      ],
      steps,
    };
  }
  const verdict = [
    `bundle verified${against ? ` against ${against}` : ""}: every check of wesflow verify passed (attestations re-verified)`,
  ];
  verdict.push(...trail.notes.map((note) => `  note: ${note}`));
  if (!trail.namesVerified) verdict.push("step names as the bundle states them (not verified):");
  return { verdict, steps };
}

/** The audit trail as a person reads it in a terminal. */
export function formatAuditTrail(entries: readonly AuditEntry[], network: string): string {
  if (entries.length === 0) return `No workflow runs recorded on ${network}.`;
  const lines: string[] = [
    `Audit trail on ${network}: ${entries.length} recorded run(s), read from the registry's WorkflowRecorded and WorkflowRecordedWithState events`,
    "",
  ];
  for (const entry of entries) {
    lines.push(`● workflow ${entry.workflowId}`);
    lines.push(`    outcome      ${entry.outcome}`);
    lines.push(`    template     ${entry.template ?? "?"} (${entry.templateId})`);
    lines.push(`    trace root   ${entry.traceRoot}`);
    lines.push(`    provider set ${entry.providerSetRoot}`);
    lines.push(`    submitter    ${entry.submitter}`);
    if (entry.state) lines.push(`    state        ${formatStateMove(entry.state)}`);
    // each key's move, once verify recomputed it from the scenario's own changes of the run
    if (entry.trail?.verified) {
      for (const line of formatStateWrites(entry.trail.state)) lines.push(`                 ${line}`);
    }
    lines.push(`    tx           ${entry.txHash} (block ${entry.blockNumber}, ${entry.gasUsed} gas)`);
    const trail = entry.trail;
    if (entry.bundleProblem) {
      lines.push(`    trail        bundle unreadable: ${entry.bundleProblem}`);
    } else if (!trail) {
      lines.push("    trail        bundle not on this machine: steps and calls are known only to its holder");
    } else {
      const { verdict, steps } = formatTrail(trail, "the registry");
      lines.push(`    trail        ${verdict[0]}`);
      for (const line of verdict.slice(1)) lines.push(`                 ${line}`);
      for (const line of steps) lines.push(`      ${line}`);
    }
    lines.push("");
  }
  return lines.join("\n").trimEnd();
}
