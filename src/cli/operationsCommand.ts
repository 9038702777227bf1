import type { Command } from "commander";
import { UsageError } from "./errors";
import { describeSystems, type MessageDescription, type SystemDescription } from "../systems";

/**
 * `wesflow operations [--json]`: every registered system's operations, with their request and
 * response fields, where each goes among the record's field elements, the compensating operation,
 * the status query that settles a call and the fault kinds, all read from the system modules
 * (src/systems/<name>/, src/systems/describe.ts).
 */
export function registerOperationsCommand(program: Command): void {
  program
    .command("operations")
    .description(
      "every external system's operations: request and response fields and their field elements, compensations, status queries, refusals, fault kinds",
    )
    .option("--system <name>", "only this system")
    .option("--json", "print a JSON array")
    .action((opts: { system?: string; json?: boolean }) => {
      const all = describeSystems();
      const systems = opts.system ? all.filter((s) => s.system === opts.system) : all;
      if (systems.length === 0) {
        throw new UsageError(`no system "${opts.system}" (systems: ${all.map((s) => s.system).join(", ")})`);
      }
      process.stdout.write(
        (opts.json ? JSON.stringify(systems) : formatOperations(systems).join("\n")) + "\n",
      );
    });
}

export function formatOperations(systems: readonly SystemDescription[]): string[] {
  const lines: string[] = [
    'A workflow step calls one of these through ctx.call (import { operations } from "wesflow" has the',
    "payment, logistics and invoicing ones). A request and a response are each recorded as 4 field",
    "elements; response element 0 is the system's status (1 = succeeded, anything else a signed refusal).",
    "",
  ];
  for (const system of systems) {
    lines.push(`${system.system} (system ${system.code})`);
    lines.push(
      `  --fail ${system.system}:<kind> fails ${system.forward}; --fail <operation>:<kind> one operation; kinds: ${system.faultKinds.join(", ")}`,
    );
    for (const op of system.operations) {
      const links = [
        op.forward ? "the system's forward call" : undefined,
        op.compensates ? `compensates ${op.compensates}` : undefined,
        op.compensatedBy.length > 0 ? `compensated by ${op.compensatedBy.join(", ")}` : undefined,
        op.role === "status query" ? "settles a call of this system that got no usable answer" : undefined,
        op.settledBy ? `settled by ${op.settledBy}` : undefined,
      ].filter(Boolean);
      lines.push("");
      lines.push(
        `  ${op.name} (code ${op.code}, ${op.role})${links.length > 0 ? ": " + links.join("; ") : ""}`,
      );
      lines.push(...messageLines("request ", op.request), ...messageLines("response", op.response));
      for (const [status, reason] of Object.entries(op.refusalReasons)) {
        lines.push(`    refused ${status}: ${reason}`);
      }
      for (const [name, what] of Object.entries(op.refusals)) {
        lines.push(`    --fail ${op.name}:${name}: ${what}`);
      }
    }
    lines.push("");
  }
  return lines;
}

function messageLines(label: string, message: MessageDescription): string[] {
  const width = Math.max(0, ...message.fields.map((f) => f.name.length));
  const lines = message.fields.map((field, i) => {
    const where =
      field.elements.length > 0 ? `element ${field.elements.join(", ")}` : "element not found by probing";
    const codes = field.codes
      ? ` (${Object.entries(field.codes)
          .map(([name, code]) => `${name} = ${code}`)
          .join(", ")})`
      : "";
    return `    ${i === 0 ? label : " ".repeat(label.length)}  ${field.name.padEnd(width)}  ${field.type}${codes}${field.optional ? ", optional" : ""}; ${where}`;
  });
  lines.push(`    ${" ".repeat(label.length)}  elements: [${message.elements.join(", ")}]`);
  return lines;
}
