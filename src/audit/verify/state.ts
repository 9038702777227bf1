import { traceFromBundle, type BundleState, type RunBundle } from "../../bundle";
import { poseidon, rootFromPath, toHex32 } from "../../crypto";
import type { WorkflowStateEffect } from "../../definition";
import type { CircuitInstance } from "../../prover";
import { MAX_STATE_VALUE, STATE_DEPTH, stateDomainId, stateKeyField, stateSlotOf } from "../../state";
import { SCENARIOS } from "../../scenarios";
import type { StateChange } from "../../state";
import { numberOf, type Findings } from "./findings";
import type { VerifiedState } from "./types";

/**
 * The state check (see `verifyBundle`): the transition the bundle states is the one its template
 * and trace allow, and its leaf opens both roots. Returns what the bundle states (for the report)
 * and its roots when they are readable (for the public signals); undefined without a state.
 */
export function checkState(args: {
  bundle: RunBundle;
  instance: CircuitInstance | undefined;
  findings: Findings;
}): { summary: VerifiedState; roots?: { rootBefore: bigint; rootAfter: bigint } } | undefined {
  const { bundle, instance, findings } = args;
  const fail = (problem: string) => findings.fail("state", problem);
  const state = bundle.state;
  const domain = instance?.stateDomain;
  if (!state) {
    if (domain !== undefined) {
      fail(
        `template ${bundle.template} proves a transition of state domain "${domain}": the bundle has no state`,
      );
    } else {
      findings.skipped.add("state"); // a template that moves no state: nothing to check
    }
    return undefined;
  }
  const roots = stateRootsOf(state, findings);
  const summary: VerifiedState = {
    domain: state.domain,
    domainId: state.domainId,
    key: state.key,
    valueBefore: state.valueBefore,
    valueAfter: state.valueAfter,
    rootBefore: roots ? toHex32(roots.rootBefore) : state.rootBefore,
    rootAfter: roots ? toHex32(roots.rootAfter) : state.rootAfter,
    unchanged: state.rootAfter === state.rootBefore,
  };
  if (instance && domain === undefined) {
    fail(
      `template ${bundle.template} moves no state, yet the bundle states a transition of state domain "${state.domain}"`,
    );
    return { summary, roots };
  }
  if (domain !== undefined && state.domain !== domain) {
    fail(`the bundle's state is of domain "${state.domain}", template ${bundle.template} moves "${domain}"`);
  }
  const domainId = findings.attempt("state", "the state's domain id", () => stateDomainId(state.domain));
  if (domainId !== undefined && state.domainId.toLowerCase() !== domainId.toLowerCase()) {
    fail(`the state's domainId is ${state.domainId}, the id of domain "${state.domain}" is ${domainId}`);
  }
  const expected = expectedChange({ bundle, findings });
  checkStateLeaf({ bundle, state, roots, depth: instance?.params[2] ?? STATE_DEPTH, expected, findings });
  return { summary, roots };
}

/**
 * What the run's scenario says its state move is, recomputed from the bundle's trace by the
 * scenario's own `changes(trace)` and `key(trace)` (src/scenarios/<name>/): the key whose leaf the
 * proof opens, and its one change (none for a run that leaves the state as it was). Undefined when
 * it cannot be recomputed (a finding says why).
 */
function expectedChange(args: {
  bundle: RunBundle;
  findings: Findings;
}): { key: string; change: StateChange | undefined } | undefined {
  const { bundle, findings } = args;
  const scenario = SCENARIOS[bundle.scenario];
  const effect: WorkflowStateEffect | undefined = scenario?.createDefinition().state;
  if (!effect) {
    findings.fail(
      "state",
      `no built-in scenario "${bundle.scenario}" moves state: the run's state change cannot be recomputed`,
    );
    return undefined;
  }
  return findings.attempt("state", `scenario ${bundle.scenario}'s state change of the run`, () => {
    const trace = traceFromBundle(bundle);
    const changes = effect.changes(trace);
    if (changes.length > 1) {
      throw new Error(`it writes ${changes.length} keys; a bundle's state opens one leaf`);
    }
    return { key: effect.key(trace), change: changes[0] };
  });
}

function stateRootsOf(
  state: BundleState,
  findings: Findings,
): { rootBefore: bigint; rootAfter: bigint } | undefined {
  const rootBefore = numberOf(findings, "state", "the state's rootBefore", state.rootBefore);
  const rootAfter = numberOf(findings, "state", "the state's rootAfter", state.rootAfter);
  return rootBefore === undefined || rootAfter === undefined ? undefined : { rootBefore, rootAfter };
}

/** The leaf the bundle's state opens: its key, values, slot and path against the roots and the trace. */
function checkStateLeaf(args: {
  bundle: RunBundle;
  state: BundleState;
  roots: { rootBefore: bigint; rootAfter: bigint } | undefined;
  depth: number;
  /** The scenario's own account of the run's move (undefined: not recomputable, already a finding). */
  expected: { key: string; change: StateChange | undefined } | undefined;
  findings: Findings;
}): void {
  const { bundle, state, roots, depth, expected, findings } = args;
  const fail = (problem: string) => findings.fail("state", problem);
  const keyField = numberOf(findings, "state", "the state's keyField", state.keyField);
  const valueBefore = numberOf(findings, "state", "the state's valueBefore", state.valueBefore);
  const valueAfter = numberOf(findings, "state", "the state's valueAfter", state.valueAfter);
  for (const [what, value] of [
    ["valueBefore", valueBefore],
    ["valueAfter", valueAfter],
  ] as const) {
    if (value !== undefined && (value < 0n || value > MAX_STATE_VALUE)) {
      fail(`the state's ${what} ${value} is not an unsigned 64-bit integer`);
    }
  }
  const pathElements = state.pathElements.map((element, level) =>
    numberOf(findings, "state", `the state's path element ${level}`, element),
  );
  const pathIndices = state.pathIndices;
  let pathSound = pathElements.every((e) => e !== undefined);
  if (pathElements.length !== depth || pathIndices.length !== depth) {
    fail(
      `the state's path has ${pathElements.length} elements and ${pathIndices.length} indices, the state tree has depth ${depth}`,
    );
    pathSound = false;
  }
  const slot = state.slot;
  if (!Number.isInteger(slot) || slot < 0 || slot >= 2 ** depth) {
    fail(`the state's slot ${slot} is not a slot of a depth-${depth} state tree`);
    pathSound = false;
  } else {
    const bits = Array.from({ length: depth }, (_, level) => Math.floor(slot / 2 ** level) % 2);
    if (pathIndices.length === depth && bits.some((bit, level) => pathIndices[level] !== bit)) {
      fail(
        `the state's path indices ${pathIndices.join("")} (bottom-up) are not the bits of slot ${slot} (${bits.join("")})`,
      );
    }
  }

  // The key and change the scenario computes from the trace.
  if (expected !== undefined && state.key !== expected.key) {
    fail(`the state's key is "${state.key}", the run's ${bundle.scenario} trace names "${expected.key}"`);
  }
  const change = expected?.change;
  if (change !== undefined && change.key !== state.key) {
    fail(`the state opens "${state.key}", but the run's change is to "${change.key}"`);
  }
  const committed = bundle.outcome === "COMMITTED";
  const unopened = !committed && keyField === 0n;
  if (!unopened && keyField !== undefined) {
    const expectedKey = findings.attempt("state", `the state's key "${state.key}"`, () =>
      stateKeyField(state.key),
    );
    if (expectedKey !== undefined && keyField !== expectedKey) {
      fail(`the state's keyField is ${keyField}, key "${state.key}" encodes to ${expectedKey}`);
    }
    const ownSlot = findings.attempt("state", "the key's slot", () => stateSlotOf(keyField, depth));
    if (ownSlot !== undefined && slot !== ownSlot) {
      fail(
        `the state opens slot ${slot}, but key "${state.key}" lives at slot ${ownSlot} (fixed by the key)`,
      );
    }
  }

  const path = { pathElements: pathElements as bigint[], pathIndices };
  const open = (value: bigint) =>
    findings.attempt("state", "the state's leaf", () => rootFromPath(poseidon([keyField!, value]), path));
  const leafLabel = `the state's leaf of "${state.key}"`;
  if (committed) {
    if (expected !== undefined && change === undefined) {
      fail(
        `the run's ${bundle.scenario} trace changes no state, yet the run committed a state template's transition`,
      );
    }
    if (valueBefore !== undefined && valueAfter !== undefined && change !== undefined) {
      const result = "delta" in change ? valueBefore + change.delta : change.value;
      const how =
        "delta" in change
          ? `${change.delta < 0n ? "take" : "add"} ${change.delta < 0n ? -change.delta : change.delta}`
          : `set to ${change.value}`;
      if (result < 0n) {
        fail(`the state's valueBefore is ${valueBefore}: the run's change (${how}) would make it negative`);
      } else if (valueAfter !== result) {
        fail(
          `the state's valueAfter is ${valueAfter}; the run's change (${how}) from ${valueBefore} gives ${result}`,
        );
      }
    }
  } else {
    if (change !== undefined) {
      fail(
        `a rolled-back run leaves the state as it was, yet the scenario computes a change to "${change.key}"`,
      );
    }
    if (roots && roots.rootAfter !== roots.rootBefore) {
      fail(
        `a rolled-back run leaves the state as it was, yet the state's rootAfter ${toHex32(roots.rootAfter)} is not its rootBefore ${toHex32(roots.rootBefore)}`,
      );
    }
    if (valueBefore !== undefined && valueAfter !== undefined && valueAfter !== valueBefore) {
      fail(
        `a rolled-back run leaves the state as it was, yet the state's value goes from ${valueBefore} to ${valueAfter}`,
      );
    }
  }
  if (unopened) {
    // A key the domain does not hold: the empty opening (nothing to recompute: the proof does not open it).
    if (
      valueBefore !== 0n ||
      slot !== 0 ||
      pathElements.some((e) => e !== 0n) ||
      pathIndices.some((i) => i !== 0)
    ) {
      fail(
        `the state's keyField is 0 (a key the domain does not hold), yet its value, slot or path is not 0`,
      );
    }
    return;
  }
  if (!pathSound || keyField === undefined || !roots) return;
  if (valueBefore !== undefined) {
    const before = open(valueBefore);
    if (before !== undefined && before !== roots.rootBefore) {
      fail(
        `${leafLabel} with valueBefore ${valueBefore} and its path lead to root ${toHex32(before)}, not the state's rootBefore ${toHex32(roots.rootBefore)}`,
      );
    }
  }
  if (committed && valueAfter !== undefined) {
    const after = open(valueAfter);
    if (after !== undefined && after !== roots.rootAfter) {
      fail(
        `${leafLabel} with valueAfter ${valueAfter} and the same path lead to root ${toHex32(after)}, not the state's rootAfter ${toHex32(roots.rootAfter)}`,
      );
    }
  }
}
