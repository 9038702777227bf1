import { StateError, StateValueError } from "./errors";
import { MAX_STATE_VALUE } from "./tree";

/**
 * A state value of several named fields (a domain's `valueFields`, e.g. ["stock", "scrap"]): the
 * fields are unsigned 64-bit limbs of one leaf value, field 0 lowest,
 * `value = Σ fᵢ · 2^(64·i)`. With at most MAX_STATE_FIELDS = 3 fields the value stays below
 * 2^192, so it is one canonical BN254 field element (the leaf is still Poseidon(keyField, value)).
 * A domain without named fields holds one 64-bit field, the value itself.
 */
export const MAX_STATE_FIELDS = 3;

/** Bits of each field of a packed state value. */
export const STATE_FIELD_BITS = 64;

/** Largest packed value of `count` fields: 2^(64·count) − 1. */
export function maxPackedStateValue(count: number): bigint {
  checkFieldCount(count);
  return (1n << BigInt(STATE_FIELD_BITS * count)) - 1n;
}

/**
 * Packs 1..3 unsigned 64-bit fields into one state value (field 0 lowest). A field that is no
 * bigint, negative or ≥ 2^64 is refused (StateValueError naming the field, `names[i]` when given).
 */
export function packStateValue(fields: readonly bigint[], names?: readonly string[]): bigint {
  if (!Array.isArray(fields)) {
    throw new StateError(`a packed state value takes an array of fields, got ${typeof fields}`);
  }
  checkFieldCount(fields.length);
  let value = 0n;
  fields.forEach((field, i) => {
    const name = names?.[i] ?? `field ${i}`;
    if (typeof field !== "bigint") {
      throw new StateValueError(
        `${name} must be a bigint, got ${typeof field} ${String(field)}`,
        undefined,
        field,
        name,
      );
    }
    if (field < 0n || field > MAX_STATE_VALUE) {
      throw new StateValueError(
        `${name} is ${field}: each field of a state value is an unsigned 64-bit integer (0 ≤ f < 2^64)`,
        undefined,
        field,
        name,
      );
    }
    value |= field << BigInt(STATE_FIELD_BITS * i);
  });
  return value;
}

/**
 * The `count` fields (1..3) of a packed state value, field 0 first. Refused (StateValueError): a
 * value that is no bigint, is negative or is ≥ 2^(64·count) (it has bits above its last field).
 */
export function unpackStateValue(value: bigint, count: number): bigint[] {
  checkFieldCount(count);
  if (typeof value !== "bigint") {
    throw new StateValueError(
      `a packed state value must be a bigint, got ${typeof value} ${String(value)}`,
      undefined,
      value,
    );
  }
  if (value < 0n || value > maxPackedStateValue(count)) {
    throw new StateValueError(
      `${value} is not ${count} packed unsigned 64-bit field${count === 1 ? "" : "s"} (0 ≤ value < 2^${STATE_FIELD_BITS * count})`,
      undefined,
      value,
    );
  }
  const mask = MAX_STATE_VALUE;
  return Array.from({ length: count }, (_, i) => (value >> BigInt(STATE_FIELD_BITS * i)) & mask);
}

/**
 * Checks a domain's field names: 1..3 distinct non-empty names without surrounding spaces. Throws a
 * StateError saying what is wrong; returns the names.
 */
export function checkValueFields(names: unknown): readonly string[] {
  if (!Array.isArray(names)) {
    throw new StateError(`valueFields must be an array of 1 to ${MAX_STATE_FIELDS} names`);
  }
  if (names.length < 1 || names.length > MAX_STATE_FIELDS) {
    throw new StateError(
      `valueFields has ${names.length} names; a state value packs 1 to ${MAX_STATE_FIELDS} fields of 64 bits`,
    );
  }
  const seen = new Set<string>();
  for (const name of names) {
    if (typeof name !== "string" || name.length === 0 || name.trim() !== name) {
      throw new StateError(
        `a value field's name must be a non-empty string without surrounding spaces, got ${JSON.stringify(name)}`,
      );
    }
    if (seen.has(name)) throw new StateError(`value field "${name}" is named twice`);
    seen.add(name);
  }
  return names as readonly string[];
}

/** Whether two domains' field names are the same (undefined: one unnamed field). */
export function sameValueFields(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.length === b.length && a.every((name, i) => name === b[i]);
}

function checkFieldCount(count: number): void {
  if (!Number.isInteger(count) || count < 1 || count > MAX_STATE_FIELDS) {
    throw new StateError(
      `a state value packs 1 to ${MAX_STATE_FIELDS} fields of ${STATE_FIELD_BITS} bits, not ${count}`,
    );
  }
}
