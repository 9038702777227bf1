import type { AuditEntry } from "./trail";

/** The audit trail as a person reads it in a terminal. */
export function formatAuditTrail(entries: readonly AuditEntry[], network: string): string {
  if (entries.length === 0) return `No workflow runs recorded on ${network}.`;
  const lines: string[] = [
    `Audit trail on ${network}: ${entries.length} recorded run(s), read from WorkflowRecorded events`,
    "",
  ];
  for (const entry of entries) {
    lines.push(`● workflow ${entry.workflowId}`);
    lines.push(`    outcome      ${entry.outcome}`);
    lines.push(`    template     ${entry.template ?? "?"} (${entry.templateId})`);
    lines.push(`    trace root   ${entry.traceRoot}`);
    lines.push(`    provider set ${entry.providerSetRoot}`);
    lines.push(`    submitter    ${entry.submitter}`);
    lines.push(`    tx           ${entry.txHash} (block ${entry.blockNumber}, ${entry.gasUsed} gas)`);
    const trail = entry.trail;
    if (!trail) {
      lines.push("    trail        bundle not on this machine: steps and calls are known only to its holder");
    } else {
      lines.push(
        trail.matchesChain
          ? "    trail        bundle matches the on-chain trace root; attestations re-verified"
          : `    trail        BUNDLE DOES NOT MATCH THE CHAIN: ${trail.problems.join("; ")}`,
      );
      const callBySeq = new Map(trail.calls.map((c) => [c.callSeq, c]));
      for (const step of trail.steps) {
        const call = step.callSeq ? callBySeq.get(step.callSeq) : undefined;
        const callText = call ? `  → ${call.system} ${call.operation} [${call.evidence}]` : "  (local step)";
        lines.push(
          `      ${String(step.index + 1).padStart(2)}. ${step.name.padEnd(18)} ${step.phase} ${step.status}${callText}`,
        );
      }
    }
    lines.push("");
  }
  return lines.join("\n").trimEnd();
}
