import { z } from "zod";
import { decodeString, encodeString } from "../../crypto";

/**
 * How the ERP fits its documents into RECORD_FIELDS (4) field elements per request and response:
 * short identifiers (plan, purchase order, lot ids and material codes) are at most 8 ASCII bytes,
 * so one packs into a 64-bit limb (encodeString, big-endian: the same value as a field of its own),
 * and up to three limbs of 64 bits share one field element, slot 0 in the low bits:
 * `field = limb0 + limb1·2^64 + limb2·2^128` (< 2^192, always canonical). A circuit splits such a
 * field with three 64-bit range checks, which are also the 64-bit checks its rules need.
 * Lists (bill of materials, purchase lines, lots' consumption) take slots 0.. in order; unused slots
 * are 0, and a used slot is never 0 (a code is never empty, a listed quantity at least 1), so every
 * list has one encoding.
 */

export const LIMB_BITS = 64n;
export const LIMBS_PER_FIELD = 3;
const LIMB_LIMIT = 1n << LIMB_BITS;

/** Longest short identifier (a material code, a plan, PO or lot id): one 64-bit limb. */
export const SHORT_CODE_BYTES = 8;

/** An ERP identifier: 1..8 of A–Z, 0–9 and `-`, starting with a letter or digit ("" only where allowed). */
export function shortCode(what: string, options: { allowEmpty?: boolean } = {}) {
  const code = z
    .string({ required_error: `${what} is required`, invalid_type_error: `${what} must be a string` })
    .regex(
      options.allowEmpty ? /^(?:[A-Z0-9][A-Z0-9-]{0,7})?$/ : /^[A-Z0-9][A-Z0-9-]{0,7}$/,
      `${what} must be 1 to ${SHORT_CODE_BYTES} characters of A-Z, 0-9 and - (it is packed into 64 bits)`,
    );
  return code;
}

/** A quantity the ERP lists: a whole number ≥ min, a safe integer (so below 2^53, well within 64 bits). */
export function quantity(what: string, min: number) {
  return z
    .number({ required_error: `${what} is required`, invalid_type_error: `${what} must be a number` })
    .int(`${what} must be a whole number`)
    .min(min, `${what} must be at least ${min}`)
    .max(Number.MAX_SAFE_INTEGER, `${what} must be a safe integer (below 2^53)`);
}

/** Up to three 64-bit values into one field element, slot 0 lowest. */
export function packLimbs(values: readonly bigint[], what = "limbs"): bigint {
  if (values.length > LIMBS_PER_FIELD) {
    throw new RangeError(
      `${what}: ${values.length} values do not fit the ${LIMBS_PER_FIELD} slots of a field`,
    );
  }
  return values.reduce((packed, value, i) => {
    if (value < 0n || value >= LIMB_LIMIT)
      throw new RangeError(`${what}[${i}] is not a 64-bit value: ${value}`);
    return packed | (value << (LIMB_BITS * BigInt(i)));
  }, 0n);
}

/** The three 64-bit slots of a packed field element; refuses a value of more than 192 bits. */
export function unpackLimbs(field: bigint, what = "limbs"): bigint[] {
  if (field < 0n || field >= 1n << (LIMB_BITS * BigInt(LIMBS_PER_FIELD))) {
    throw new RangeError(`${what} is not ${LIMBS_PER_FIELD} packed 64-bit values: ${field}`);
  }
  return Array.from(
    { length: LIMBS_PER_FIELD },
    (_, i) => (field >> (LIMB_BITS * BigInt(i))) & (LIMB_LIMIT - 1n),
  );
}

/** A short code as its 64-bit limb ("" is 0). */
export function codeLimb(code: string): bigint {
  return encodeString(code);
}

/** The inverse of codeLimb. */
export function limbCode(limb: bigint): string {
  return decodeString(limb);
}

/** A list of up to three codes into one field; unused slots 0. */
export function packCodes(codes: readonly string[], what: string): bigint {
  return packLimbs(codes.map(codeLimb), what);
}

/** A list of up to three quantities into one field; unused slots 0. */
export function packQuantities(values: readonly number[], what: string): bigint {
  return packLimbs(values.map(BigInt), what);
}

/** The slots of a packed list, trailing empty slots dropped (an empty slot before a used one is kept: the schema refuses it). */
export function usedSlots(field: bigint, what: string): bigint[] {
  const limbs = unpackLimbs(field, what);
  while (limbs.length > 0 && limbs[limbs.length - 1] === 0n) limbs.pop();
  return limbs;
}

/** The first `count` slots of a packed list (the rest must be 0: re-encoding checks it). */
export function firstSlots(field: bigint, count: number, what: string): bigint[] {
  return unpackLimbs(field, what).slice(0, count);
}

/** No value twice (materials of a bill, purchase orders of a cancellation). */
export function distinct(values: readonly string[]): boolean {
  return new Set(values).size === values.length;
}
