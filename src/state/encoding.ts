import { id } from "ethers";
import { decodeString, encodeString, FieldEncodingError, poseidon } from "../crypto";
import { StateError, StateValueError } from "./errors";
import { unpackStateValue } from "./fields";
import { MAX_STATE_VALUE } from "./tree";

/**
 * The field element of a state key: its UTF-8 bytes packed big-endian (`encodeString`, at most 31
 * bytes; for stock, the SKU). Empty keys and keys that would collide with another (a leading NUL
 * character) are refused.
 */
export function stateKeyField(key: string): bigint {
  if (typeof key !== "string" || key.length === 0) {
    throw new StateError(`a state key must be a non-empty string, got ${JSON.stringify(key)}`);
  }
  let field: bigint;
  try {
    field = encodeString(key, "state key");
  } catch (error) {
    if (error instanceof FieldEncodingError) throw new StateError(error.message, { cause: error });
    throw error;
  }
  if (decodeString(field) !== key) {
    throw new StateError(`state key ${JSON.stringify(key)} does not survive field encoding (leading NUL?)`);
  }
  return field;
}

/**
 * A used slot's leaf: Poseidon(key, value). (An empty slot's leaf is 0.) The value is one unsigned
 * 64-bit integer, or in a domain of `fieldCount` named fields their packed value
 * (`packStateValue`, below 2^(64·fieldCount)).
 */
export function stateLeaf(keyField: bigint, value: bigint, fieldCount = 1): bigint {
  if (fieldCount === 1) return poseidon([keyField, checkStateValue(value)]);
  unpackStateValue(value, fieldCount);
  return poseidon([keyField, value]);
}

/**
 * Checks that `value` is an unsigned 64-bit integer (a bigint, 0 ≤ value < 2^64) and returns it;
 * `field` names the field of a domain of named fields (StateValueError.field).
 */
export function checkStateValue(value: unknown, key?: string, what = "value", field?: string): bigint {
  const of = key === undefined ? "" : ` of "${key}"`;
  if (typeof value !== "bigint") {
    throw new StateValueError(
      `the ${what}${of} must be a bigint, got ${typeof value} ${String(value)}`,
      key,
      value,
      field,
    );
  }
  if (value < 0n) {
    throw new StateValueError(
      `the ${what}${of} would be negative (${value}): state values are unsigned 64-bit integers`,
      key,
      value,
      field,
    );
  }
  if (value > MAX_STATE_VALUE) {
    throw new StateValueError(
      `the ${what}${of} would be ${value}, above 2^64 - 1 (${MAX_STATE_VALUE}): state values are unsigned 64-bit integers`,
      key,
      value,
      field,
    );
  }
  return value;
}

/** The on-chain id of a state domain: keccak256 of its UTF-8 name (ethers `id`), 0x-hex. */
export function stateDomainId(name: string): string {
  return id(name);
}
