import { InvalidArgumentError } from "commander";
import type { Scenario } from "../scenarios";
import { FAULT_KINDS, type Fault, type FaultKind } from "../systems";
import type { SystemName } from "../trace";

export { FAULT_KINDS };

/** Short names people type for systems (`invoice:error` for the invoicing system). */
const SYSTEM_ALIASES: Record<string, SystemName> = { invoice: "invoicing" };

/** How many calls an injected fault affects: every call of the command, so retries run out. */
const FAULT_TIMES = 1_000;

export interface FaultRequest {
  system: SystemName;
  fault: Fault;
  /** As typed, for messages. */
  text: string;
}

/** commander collector for a repeatable `--fail <target:kind>`: checks the syntax only. */
export function collectFaultSpec(value: string, previous: string[] = []): string[] {
  if (!/^[a-z][a-z.]*:[a-z-]+$/.test(value)) {
    throw new InvalidArgumentError(
      `expected <system|operation>:<kind>, e.g. payment:decline; got "${value}"`,
    );
  }
  return [...previous, value];
}

/**
 * `payment:decline` → a decline fault on the payment system's forward operation (payment.charge);
 * `payment.refund:error` → an error fault on that very operation (to see a compensation fail).
 */
export function parseFaultSpec(text: string, scenario: Scenario): FaultRequest {
  const [target, kind] = text.split(":");
  if (!FAULT_KINDS.includes(kind as FaultKind)) {
    throw new InvalidArgumentError(
      `--fail ${text}: unknown kind "${kind}" (kinds: ${FAULT_KINDS.join(", ")})`,
    );
  }
  const systemName = SYSTEM_ALIASES[target] ?? target;
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
    const known = [...Object.keys(scenario.forwardOperations), ...Object.keys(scenario.operationSystems)];
    throw new InvalidArgumentError(
      `--fail ${text}: the ${scenario.name} scenario has no system or operation "${target}" (known: ${known.join(", ")})`,
    );
  }
  return { system, fault: { operation, kind: kind as FaultKind, times: FAULT_TIMES }, text };
}
