import { z } from "zod";
import { decodeString, encodeString, MAX_STRING_BYTES } from "../crypto";

/**
 * Field types shared by the systems' operation schemas (src/systems/<name>/operations.ts). Each
 * request and response is typed with zod and encoded into RECORD_FIELDS field elements; response
 * field 0 is the system's status (1 = succeeded, 2 = the business refused). Every response field is
 * encoded, so the signature covers the whole recorded response. Schemas are strict (a key they do
 * not define is refused) and every value has exactly one encoding, so the decoders give back the
 * one JSON that the committed fields encode: what `wesflow verify` compares a bundle's JSON with.
 */

/** A string that packs into one field element (encodeString): at most 31 UTF-8 bytes. */
export function fieldText(what: string, options: { allowEmpty?: boolean } = {}) {
  const text = z
    .string({ required_error: `${what} is required`, invalid_type_error: `${what} must be a string` })
    .refine((s) => Buffer.byteLength(s, "utf8") <= MAX_STRING_BYTES, {
      message: `${what} must be at most ${MAX_STRING_BYTES} UTF-8 bytes (it is packed into one field element)`,
    })
    // Leading NUL characters and unpaired surrogates are lost by the packing: two texts, one encoding.
    .refine((s) => Buffer.byteLength(s, "utf8") > MAX_STRING_BYTES || decodeString(encodeString(s)) === s, {
      message: `${what} must not start with a NUL character or hold an unpaired surrogate (its encoding would not keep it)`,
    });
  return options.allowEmpty
    ? text
    : text.refine((s) => s.length > 0, { message: `${what} must not be empty` });
}

/** The name whose code is `code` in a status table (e.g. PaymentStatus), for the decoders. */
export function statusOf<Name extends string>(codes: Record<Name, bigint>, code: bigint): Name {
  const name = (Object.keys(codes) as Name[]).find((n) => codes[n] === code);
  if (name === undefined)
    throw new RangeError(`status code ${code} is none of ${Object.keys(codes).join(", ")}`);
  return name;
}

/** A field element as a JavaScript number (the schemas then check it is a safe integer). */
export function numberOf(field: bigint): number {
  if (field > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError(`${field} is not a safe integer`);
  return Number(field);
}

/** Integer cents: a non-negative safe integer. */
export function cents(what: string) {
  return z
    .number({ required_error: `${what} is required`, invalid_type_error: `${what} must be a number` })
    .int(`${what} must be whole cents`)
    .nonnegative(`${what} must not be negative`)
    .max(Number.MAX_SAFE_INTEGER, `${what} must be a safe integer`);
}

export function count(what: string, min: number) {
  return z
    .number({ required_error: `${what} is required`, invalid_type_error: `${what} must be a number` })
    .int(`${what} must be an integer`)
    .min(min, `${what} must be at least ${min}`)
    .max(Number.MAX_SAFE_INTEGER, `${what} must be a safe integer`);
}
