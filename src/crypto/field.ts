/** The BN254 scalar field: every public input and trace value is an element of it. */
export const SNARK_SCALAR_FIELD =
  21888242871839275222246405745257275088548364400416034343698204186575808495617n;

/** Longest UTF-8 string that packs into one field element (31 bytes < 254 bits). */
export const MAX_STRING_BYTES = 31;

export class FieldEncodingError extends Error {
  override name = "FieldEncodingError";
  constructor(
    message: string,
    readonly value: unknown,
  ) {
    super(message);
  }
}

/** Checks that `value` is a canonical field element (0 <= value < p) and returns it. */
export function toField(value: bigint | number, what = "value"): bigint {
  const big = typeof value === "number" ? numberToBigInt(value, what) : value;
  if (big < 0n || big >= SNARK_SCALAR_FIELD) {
    throw new FieldEncodingError(`${what} is not a field element (0 <= x < p): ${big}`, value);
  }
  return big;
}

function numberToBigInt(value: number, what: string): bigint {
  if (!Number.isSafeInteger(value)) {
    throw new FieldEncodingError(`${what} must be a safe integer, got ${value}`, value);
  }
  return BigInt(value);
}

/** Packs a short UTF-8 string (at most 31 bytes) big-endian into one field element; "" is 0. */
export function encodeString(text: string, what = "string"): bigint {
  const bytes = Buffer.from(text, "utf8");
  if (bytes.length > MAX_STRING_BYTES) {
    throw new FieldEncodingError(`${what} is longer than ${MAX_STRING_BYTES} UTF-8 bytes: "${text}"`, text);
  }
  return bytes.length === 0 ? 0n : BigInt("0x" + bytes.toString("hex"));
}

/** Inverse of {@link encodeString}. */
export function decodeString(value: bigint): string {
  if (value === 0n) return "";
  let hex = value.toString(16);
  if (hex.length % 2) hex = "0" + hex;
  return Buffer.from(hex, "hex").toString("utf8");
}

/** 0x-prefixed, 32-byte, lower-case hex of a field element. */
export function toHex32(value: bigint): string {
  return "0x" + value.toString(16).padStart(64, "0");
}

/** 0x-prefixed, 20-byte, lower-case hex of a uint160 (an address, e.g. a run claim's submitter). */
export function toHex20(value: bigint): string {
  return "0x" + value.toString(16).padStart(40, "0");
}

/** Parses a decimal or 0x-hex string into a field element. */
export function parseField(text: string, what = "value"): bigint {
  let value: bigint;
  try {
    value = BigInt(text);
  } catch {
    throw new FieldEncodingError(`${what} is not a number: "${text}"`, text);
  }
  return toField(value, what);
}
