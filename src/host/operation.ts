import type { z } from "zod";
import { toField } from "../crypto";
import { RECORD_FIELDS, type OperationName } from "../trace";
import { describeZodError } from "./protocol";
import type { OperationSpec } from "./types";

export class OperationSpecError extends Error {
  override name = "OperationSpecError";
}

/** Field elements that are not the encoding of any request (or response) of an operation. */
export class OperationDecodingError extends Error {
  override name = "OperationDecodingError";
}

/**
 * Builds an operation spec (its code declared by its system's module, checked unique by the systems
 * catalog), with encoders that check their output:
 * exactly RECORD_FIELDS canonical field elements, so a wrong encoder fails where it is, not in the
 * circuit. Its decoders return only a value that the schema accepts and that encodes back to exactly
 * the fields decoded: for any fields, at most one request (response) is what they encode.
 */
export function defineOperation<Req, Res>(spec: OperationSpec<Req, Res>): OperationSpec<Req, Res> {
  const { code } = spec;
  if (!Number.isSafeInteger(code) || code <= 0) {
    throw new OperationSpecError(
      `operation "${spec.name}" needs a positive integer code, got ${String(code)}`,
    );
  }
  const encodeRequest = (request: Req) => checkFields(spec.name, "request", spec.encodeRequest(request));
  const encodeResponse = (response: Res) => checkFields(spec.name, "response", spec.encodeResponse(response));
  return {
    ...spec,
    code,
    encodeRequest,
    encodeResponse,
    decodeRequest: (fields) =>
      checkDecoded(spec.name, "request", fields, spec.decodeRequest, spec.requestSchema, encodeRequest),
    decodeResponse: (fields) =>
      checkDecoded(spec.name, "response", fields, spec.decodeResponse, spec.responseSchema, encodeResponse),
  };
}

function checkFields(name: OperationName, what: string, fields: bigint[]): bigint[] {
  if (fields.length !== RECORD_FIELDS) {
    throw new OperationSpecError(
      `${name} encodes its ${what} into ${fields.length} fields, not ${RECORD_FIELDS}`,
    );
  }
  fields.forEach((value, i) => toField(value, `${name} ${what} field ${i}`));
  return fields;
}

function checkDecoded<T>(
  name: OperationName,
  what: "request" | "response",
  fields: readonly bigint[],
  decode: (fields: readonly bigint[]) => T,
  schema: z.ZodType<T>,
  encode: (value: T) => bigint[],
): T {
  const fail = (why: string) =>
    new OperationDecodingError(`the ${what} fields are not the encoding of any ${name} ${what}: ${why}`);
  if (fields.length !== RECORD_FIELDS) throw fail(`there are ${fields.length}, not ${RECORD_FIELDS}`);
  let value: T;
  try {
    value = decode(fields);
  } catch (error) {
    throw fail((error as Error).message);
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw fail(describeZodError(parsed.error, what));
  let again: bigint[];
  try {
    again = encode(parsed.data);
  } catch (error) {
    throw fail((error as Error).message);
  }
  const differs = again.findIndex((element, i) => element !== fields[i]);
  if (differs >= 0) {
    throw fail(
      `field ${differs} is ${fields[differs]}, the value it decodes to encodes to ${again[differs]}`,
    );
  }
  return parsed.data;
}
