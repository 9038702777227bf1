import { InvalidArgumentError } from "commander";
import type { Scenario } from "../scenarios";
import { FAULT_KINDS, OPERATION_CODES, operationSpecOf, type Fault, type FaultKind } from "../systems";
import type { SystemName } from "../trace";

export { FAULT_KINDS };

/**
 * Older names of systems that `--fail` still takes, with a deprecation note: `invoice:error` for the
 * invoicing system (whose operations are named invoice.issue, invoice.void, invoice.status).
 */
const SYSTEM_ALIASES: Record<string, SystemName> = { invoice: "invoicing" };

/** Where a deprecation note goes unless the caller says otherwise. */
const toStderr = (text: string) => {
  process.stderr.write(`• ${text}\n`);
};

/** How many calls an injected fault affects: every call of the command, so retries run out. */
const FAULT_TIMES = 1_000;

export type FaultRequest =
  | {
      system: SystemName;
      fault: Fault;
      /** As typed, for messages. */
      text: string;
    }
  | { actor: string; kind: string; times: number; text: string };

/** commander collector for a repeatable `--fail <target:kind>`: checks the syntax only. */
export function collectFaultSpec(value: string, previous: string[] = []): string[] {
  if (!/^[a-z][a-z.]*:[a-z-]+$/.test(value)) {
    throw new InvalidArgumentError(
      `expected <system|operation>:<kind>, e.g. payment:decline; got "${value}"`,
    );
  }
  return [...previous, value];
}

/** The named refusals of an operation (its spec's `refusals`), e.g. bank.statement's `mismatch`. */
function refusalsOf(operation: string): Readonly<Record<string, string>> {
  const code = OPERATION_CODES[operation];
  return (code === undefined ? undefined : operationSpecOf(code)?.refusals) ?? {};
}

/**
 * `payment:decline` → a decline fault on the payment system's forward operation (payment.charge);
 * `payment.refund:error` → an error fault on that very operation (to see a compensation fail);
 * `bank.statement:mismatch` → a decline with the refusal the operation names `mismatch`.
 */
export function parseFaultSpec(
  text: string,
  scenario: Scenario,
  /** Receives a deprecation note (an older system name); default: stderr. */
  note: (text: string) => void = toStderr,
): FaultRequest {
  const [target, kind] = text.split(":");
  const actorKinds = scenario.actorFaults?.[target];
  if (actorKinds) {
    if (!actorKinds.includes(kind)) {
      throw new InvalidArgumentError(
        `--fail ${text}: ${target} takes the fault kinds ${actorKinds.join(", ")}, not "${kind}"`,
      );
    }
    return { actor: target, kind, times: FAULT_TIMES, text };
  }
  const { system, operation } = faultTarget({ text, target, scenario, note });
  if (FAULT_KINDS.includes(kind as FaultKind)) {
    return { system, fault: { operation, kind: kind as FaultKind, times: FAULT_TIMES }, text };
  }
  const refusals = refusalsOf(operation);
  if (Object.hasOwn(refusals, kind)) {
    return { system, fault: { operation, kind: "decline", refusal: kind, times: FAULT_TIMES }, text };
  }
  const named = Object.keys(refusals);
  throw new InvalidArgumentError(
    `--fail ${text}: unknown kind "${kind}" (kinds: ${FAULT_KINDS.join(", ")}${
      named.length > 0 ? `; refusals of ${operation}: ${named.join(", ")}` : ""
    })`,
  );
}

function faultTarget(args: {
  text: string;
  target: string;
  scenario: Scenario;
  note: (text: string) => void;
}): { system: SystemName; operation: string } {
  const { text, target, scenario, note } = args;
  const systemName = SYSTEM_ALIASES[target] ?? target;
  if (SYSTEM_ALIASES[target] && systemName in scenario.forwardOperations) {
    note(
      `--fail ${text} is deprecated: the system is named ${systemName} (--fail ${systemName}:${text.split(":")[1]})`,
    );
  }
  let system: SystemName | undefined;
  let operation: string | undefined;
  if (systemName in scenario.forwardOperations) {
    system = systemName as SystemName;
    operation = scenario.forwardOperations[system];
  } else if (target in scenario.operationSystems) {
    system = scenario.operationSystems[target];
    operation = target;
  }
  if (!system || !operation) {
    const known = [
      ...Object.keys(scenario.forwardOperations),
      ...Object.keys(scenario.operationSystems),
      ...Object.keys(scenario.actorFaults ?? {}),
    ];
    throw new InvalidArgumentError(
      `--fail ${text}: the ${scenario.name} scenario has no system or operation "${target}" (known: ${known.join(", ")})`,
    );
  }
  return { system, operation };
}
