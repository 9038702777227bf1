import { traceFromBundle, type BundleState, type BundleStateWrite, type RunBundle } from "../../bundle";
import { poseidon, rootFromPath, toHex32 } from "../../crypto";
import type { WorkflowStateEffect } from "../../definition";
import type { CircuitInstance } from "../../prover";
import {
  checkValueFields,
  MAX_STATE_VALUE,
  maxPackedStateValue,
  STATE_DEPTH,
  stateDomainId,
  stateKeyField,
  stateSlotOf,
  unpackStateValue,
  type StateChange,
} from "../../state";
import { SCENARIOS } from "../../scenarios";
import { numberOf, type Findings } from "./findings";
import type { VerifiedState } from "./types";

/**
 * The state check (see `verifyBundle`): the move the bundle states is the one its template and
 * trace allow, write by write, and its writes lead from rootBefore to rootAfter. Returns what the
 * bundle states (for the report) and its roots when they are readable (for the public signals);
 * undefined without a state. Nothing here knows a scenario's fields: the run's scenario recomputes its
 * changes from the trace (`changes(trace)` of its module in src/scenarios/<name>/).
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
  const effect = effectOf(bundle);
  const valueFields =
    effect?.valueFields === undefined
      ? undefined
      : findings.attempt("state", `scenario ${bundle.scenario}'s value fields`, () => [
          ...checkValueFields(effect.valueFields),
        ]);
  const summary: VerifiedState = {
    domain: state.domain,
    domainId: state.domainId,
    valueName: effect?.valueName ?? "value",
    ...(valueFields === undefined ? {} : { valueFields }),
    writes: state.writes.map((w) => ({
      key: w.key,
      valueBefore: w.valueBefore,
      valueAfter: w.valueAfter,
      ...(valueFields === undefined ? {} : fieldsOfWrite(w, valueFields)),
    })),
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
  if (!effect) {
    fail(
      `no registered scenario "${bundle.scenario}" moves state: the run's state change cannot be recomputed`,
    );
  } else if (effect.domain !== state.domain) {
    fail(
      `scenario ${bundle.scenario} moves state domain "${effect.domain}", the bundle's state is of "${state.domain}"`,
    );
  }
  const changes = effect
    ? findings.attempt("state", `scenario ${bundle.scenario}'s state changes of the run`, () =>
        effect.changes(traceFromBundle(bundle)),
      )
    : undefined;
  checkWrites({
    bundle,
    state,
    roots,
    changes,
    allowInsert: effect?.allowInsert === true,
    valueFields,
    findings,
  });
  return { summary, roots };
}

/**
 * A write's fields before and after by name (decimal strings), for the report; none when a value is
 * not a decimal packing of the fields (a finding of its own).
 */
function fieldsOfWrite(
  write: BundleStateWrite,
  valueFields: readonly string[],
): { fieldsBefore?: Record<string, string>; fieldsAfter?: Record<string, string> } {
  const named = (text: string) => {
    if (typeof text !== "string" || !/^\d+$/.test(text)) return undefined;
    const value = BigInt(text);
    if (value > maxPackedStateValue(valueFields.length)) return undefined;
    const fields = unpackStateValue(value, valueFields.length);
    return Object.fromEntries(valueFields.map((name, i) => [name, fields[i].toString()]));
  };
  const fieldsBefore = named(write.valueBefore);
  const fieldsAfter = named(write.valueAfter);
  return fieldsBefore && fieldsAfter ? { fieldsBefore, fieldsAfter } : {};
}

/** The state effect of the bundle's scenario (a registered module's definition), if it has one. */
function effectOf(bundle: RunBundle): WorkflowStateEffect | undefined {
  return SCENARIOS[bundle.scenario]?.createDefinition().state;
}

function stateRootsOf(
  state: BundleState,
  findings: Findings,
): { rootBefore: bigint; rootAfter: bigint } | undefined {
  const rootBefore = numberOf(findings, "state", "the state's rootBefore", state.rootBefore);
  const rootAfter = numberOf(findings, "state", "the state's rootAfter", state.rootAfter);
  return rootBefore === undefined || rootAfter === undefined ? undefined : { rootBefore, rootAfter };
}

/** What a delta does to a value, in words: "take 3", "add 5". */
function describeDelta(delta: bigint): string {
  return `${delta < 0n ? "take" : "add"} ${delta < 0n ? -delta : delta}`;
}

/** What one change does to a value of one field, in words: "take 3", "add 5", "set to 7". */
function describeChange(change: { value: bigint } | { delta: bigint }): string {
  return "delta" in change ? describeDelta(change.delta) : `set to ${change.value}`;
}

/**
 * The bundle's writes against the scenario's changes (one write per change, in order: same key,
 * valueAfter = the change applied to valueBefore) and against the roots: write w opens its key's
 * leaf (or the empty leaf, when it adds the key) at the key's own slot under the root writes 0..w-1
 * left, starting at rootBefore; the last write's root is rootAfter (no writes: rootAfter = rootBefore).
 */
function checkWrites(args: {
  bundle: RunBundle;
  state: BundleState;
  roots: { rootBefore: bigint; rootAfter: bigint } | undefined;
  /** The scenario's changes recomputed from the trace (undefined: not recomputable, already a finding). */
  changes: StateChange[] | undefined;
  allowInsert: boolean;
  /** The scenario's field names (undefined: one unnamed field). */
  valueFields: readonly string[] | undefined;
  findings: Findings;
}): void {
  const { bundle, state, roots, changes, allowInsert, valueFields, findings } = args;
  const fail = (problem: string) => findings.fail("state", problem);
  // The scenario's changes decide, whatever the outcome: a rolled-back order changes nothing, a
  // rolled-back supply chain whose lot was scrapped writes the consumed materials off.
  if (changes !== undefined && changes.length !== state.writes.length) {
    fail(
      `the run's ${bundle.scenario} trace (${bundle.outcome}) makes ${changes.length} state changes, the bundle's state has ${state.writes.length} writes`,
    );
  }
  let root = roots?.rootBefore;
  state.writes.forEach((write, w) => {
    const next = checkWrite({
      write,
      w,
      root,
      change: changes?.[w],
      allowInsert,
      valueFields,
      findings,
    });
    root = next;
  });
  if (roots && root !== undefined && root !== roots.rootAfter) {
    fail(
      state.writes.length === 0
        ? `the state has no writes, yet its rootAfter ${toHex32(roots.rootAfter)} is not its rootBefore ${toHex32(roots.rootBefore)}`
        : `the state's writes lead to root ${toHex32(root)}, not the state's rootAfter ${toHex32(roots.rootAfter)}`,
    );
  }
}

/** A write of a domain of one unnamed field against the run's change of it. */
function checkValueChange(args: {
  change: StateChange;
  w: number;
  valueBefore: bigint;
  valueAfter: bigint;
  fail: (problem: string) => void;
}): void {
  const { change, w, valueBefore, valueAfter, fail } = args;
  let single: { value: bigint } | { delta: bigint };
  if ("deltas" in change) {
    if (change.deltas.length !== 1) {
      fail(`the run's change ${w} gives ${change.deltas.length} deltas; the domain's values have one field`);
      return;
    }
    single = { delta: change.deltas[0] };
  } else single = change;
  const result = "delta" in single ? valueBefore + single.delta : single.value;
  if (result < 0n) {
    fail(
      `its valueBefore is ${valueBefore}: the run's change (${describeChange(single)}) would make it negative`,
    );
  } else if (valueAfter !== result) {
    fail(
      `its valueAfter is ${valueAfter}; the run's change (${describeChange(single)}) from ${valueBefore} gives ${result}`,
    );
  }
}

/**
 * A write of a domain of named fields against the run's change of it, field by field: each field
 * after is the field before plus its delta, within 64 bits (a change that sets the value: each
 * field is the one it sets). Findings name the field.
 */
function checkFieldChanges(args: {
  change: StateChange;
  w: number;
  /** Both within 2^(64·fields) (checked before). */
  valueBefore: bigint;
  valueAfter: bigint;
  valueFields: readonly string[];
  fail: (problem: string) => void;
}): void {
  const { change, w, valueBefore, valueAfter, valueFields, fail } = args;
  const count = valueFields.length;
  const before = unpackStateValue(valueBefore, count);
  const after = unpackStateValue(valueAfter, count);
  const names = valueFields.join(", ");
  if ("value" in change) {
    if (change.value < 0n || change.value > maxPackedStateValue(count)) {
      fail(
        `the run's change ${w} sets ${change.value}, which is not ${count} packed unsigned 64-bit fields (${names})`,
      );
      return;
    }
    const set = unpackStateValue(change.value, count);
    valueFields.forEach((name, i) => {
      if (after[i] !== set[i])
        fail(`its ${name} after is ${after[i]}; the run's change sets ${name} to ${set[i]}`);
    });
    return;
  }
  if ("delta" in change) {
    fail(
      `the run's change ${w} gives one delta, but the domain's values have the fields ${names}: its scenario must give deltas, one per field`,
    );
    return;
  }
  if (change.deltas.length !== count) {
    fail(
      `the run's change ${w} gives ${change.deltas.length} deltas; the domain's values have the fields ${names}`,
    );
    return;
  }
  valueFields.forEach((name, i) => {
    const delta = change.deltas[i];
    const result = before[i] + delta;
    const what = `the run's change (${name}: ${describeDelta(delta)})`;
    if (result < 0n) {
      fail(`its ${name} before is ${before[i]}: ${what} would make it negative`);
    } else if (result > MAX_STATE_VALUE) {
      fail(`its ${name} before is ${before[i]}: ${what} would take it above 2^64 - 1`);
    } else if (after[i] !== result) {
      fail(`its ${name} after is ${after[i]}; ${what} from ${before[i]} gives ${result}`);
    }
  });
}

/** One write; returns the root it leaves (undefined when it cannot be recomputed). */
function checkWrite(args: {
  write: BundleStateWrite;
  w: number;
  /** The root the write opens its leaf under (undefined: unknown). */
  root: bigint | undefined;
  change: StateChange | undefined;
  allowInsert: boolean;
  valueFields: readonly string[] | undefined;
  findings: Findings;
}): bigint | undefined {
  const { write, w, root, change, allowInsert, valueFields, findings } = args;
  const depth = STATE_DEPTH;
  const label = `write ${w} ("${write.key}")`;
  const fail = (problem: string) => findings.fail("state", `${label}: ${problem}`);
  const num = (what: string, value: string) => numberOf(findings, "state", `${label}'s ${what}`, value);
  const keyField = num("keyField", write.keyField);
  const valueBefore = num("valueBefore", write.valueBefore);
  const valueAfter = num("valueAfter", write.valueAfter);
  const maxValue = valueFields === undefined ? MAX_STATE_VALUE : maxPackedStateValue(valueFields.length);
  let valuesSound = true;
  for (const [what, value] of [
    ["valueBefore", valueBefore],
    ["valueAfter", valueAfter],
  ] as const) {
    if (value !== undefined && (value < 0n || value > maxValue)) {
      valuesSound = false;
      fail(
        valueFields === undefined
          ? `its ${what} ${value} is not an unsigned 64-bit integer`
          : `its ${what} ${value} is not ${valueFields.length} packed unsigned 64-bit fields (${valueFields.join(", ")})`,
      );
    }
  }
  if (change !== undefined && change.key !== write.key) {
    fail(`the run's change ${w} is to "${change.key}"`);
  }
  if (change !== undefined && valueBefore !== undefined && valueAfter !== undefined && valuesSound) {
    if (valueFields === undefined) {
      checkValueChange({ change, w, valueBefore, valueAfter, fail });
    } else {
      checkFieldChanges({ change, w, valueBefore, valueAfter, valueFields, fail });
    }
  }
  if (write.inserted) {
    if (!allowInsert) fail(`it adds the key, which the scenario's state domain does not allow`);
    if (valueBefore !== undefined && valueBefore !== 0n)
      fail(`it adds the key, yet its valueBefore is ${valueBefore}`);
  }
  const expectedKey = findings.attempt("state", `${label}'s key`, () => stateKeyField(write.key));
  if (expectedKey !== undefined && keyField !== undefined && keyField !== expectedKey) {
    fail(`its keyField is ${keyField}, key "${write.key}" encodes to ${expectedKey}`);
  }
  const pathElements = write.pathElements.map((element, level) => num(`path element ${level}`, element));
  const pathIndices = write.pathIndices;
  let pathSound = pathElements.every((e) => e !== undefined);
  if (pathElements.length !== depth || pathIndices.length !== depth) {
    fail(
      `its path has ${pathElements.length} elements and ${pathIndices.length} indices, the state tree has depth ${depth}`,
    );
    pathSound = false;
  }
  const slot = write.slot;
  if (!Number.isInteger(slot) || slot < 0 || slot >= 2 ** depth) {
    fail(`its slot ${slot} is not a slot of a depth-${depth} state tree`);
    pathSound = false;
  } else {
    const bits = Array.from({ length: depth }, (_, level) => Math.floor(slot / 2 ** level) % 2);
    if (pathIndices.length === depth && bits.some((bit, level) => pathIndices[level] !== bit)) {
      fail(
        `its path indices ${pathIndices.join("")} (bottom-up) are not the bits of slot ${slot} (${bits.join("")})`,
      );
      pathSound = false;
    }
    if (keyField !== undefined) {
      const ownSlot = findings.attempt("state", `${label}'s slot`, () => stateSlotOf(keyField, depth));
      if (ownSlot !== undefined && slot !== ownSlot) {
        fail(`it opens slot ${slot}, but the key lives at slot ${ownSlot} (fixed by the key)`);
      }
    }
  }
  if (!pathSound || keyField === undefined || valueBefore === undefined || valueAfter === undefined) {
    return undefined;
  }
  const path = { pathElements: pathElements as bigint[], pathIndices };
  const leafBefore = write.inserted ? 0n : poseidon([keyField, valueBefore]);
  const before = findings.attempt("state", `${label}'s leaf`, () => rootFromPath(leafBefore, path));
  if (root !== undefined && before !== undefined && before !== root) {
    fail(
      `its leaf before (${write.inserted ? "empty" : `value ${valueBefore}`}) and path lead to root ${toHex32(before)}, not ${w === 0 ? "the state's rootBefore" : `the root write ${w - 1} left`} ${toHex32(root)}`,
    );
    return undefined;
  }
  return findings.attempt("state", `${label}'s leaf after`, () =>
    rootFromPath(poseidon([keyField, valueAfter]), path),
  );
}
