import { toField } from "../crypto";
import { OPERATION_CODES, RECORD_FIELDS, type OperationName } from "../trace";
import type { OperationSpec } from "./types";

export class OperationSpecError extends Error {
  override name = "OperationSpecError";
}

/**
 * Builds an operation spec with its code from the catalog, and encoders that check their output:
 * exactly RECORD_FIELDS canonical field elements, so a wrong encoder fails where it is, not in the
 * circuit.
 */
export function defineOperation<Req, Res>(
  spec: Omit<OperationSpec<Req, Res>, "code">,
): OperationSpec<Req, Res> {
  const code = OPERATION_CODES[spec.name];
  if (code === undefined) throw new OperationSpecError(`operation "${spec.name}" is not in the catalog`);
  return {
    ...spec,
    code,
    encodeRequest: (request) => checkFields(spec.name, "request", spec.encodeRequest(request)),
    encodeResponse: (response) => checkFields(spec.name, "response", spec.encodeResponse(response)),
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
