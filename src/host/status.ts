import { z } from "zod";
import { SNARK_SCALAR_FIELD } from "../crypto";
import { SettleOutcome, type OperationName, type SettleOutcomeName, type SystemName } from "../trace";
import { defineOperation, OperationSpecError } from "./operation";
import type { AnyOperationSpec, StatusOperationSpec, StatusQueryRequest, StatusQueryResponse } from "./types";

/**
 * A system's status query: asked under the idempotency key of one of its calls (the call's
 * callSeq: the key is `${toHex32(workflowId)}:${callSeq}`, idempotencyKeyOf), it answers, signed like
 * any call, what the system did under that key:
 * - TOOK_EFFECT, with the hash of the response it gave (and, in the HTTP body, that response as
 *   `original.response`): the call was performed and succeeded;
 * - REFUSED, with the hash of its signed refusal: the call was performed as a business refusal;
 * - NO_EFFECT: the call was never performed, and the key is fenced: the system will refuse it from
 *   now on (a late or repeated request under it is answered 409), so "no effect" stays true.
 * The request names the call by its callSeq, operation and request hash; a key used for another
 * operation or another request is answered 409, never signed. The signed message is the ordinary
 * Poseidon(workflowId, callSeq, operation, requestHash, responseHash), with the status query's own
 * callSeq and operation code: it cannot pass for the queried call's answer (another operation code)
 * nor for a query of another run, call, operation or request (all in the message or its request).
 *
 * Fields: request [callSeq, operation code, request hash, 0]; response [outcome code (SettleOutcome),
 * response hash or 0, 0, 0].
 */
/** A field element as a canonical decimal string (one text per value). */
const fieldDecimal = (what: string) =>
  z
    .string({ required_error: `${what} is required`, invalid_type_error: `${what} must be a string` })
    .regex(/^(0|[1-9][0-9]{0,76})$/, `${what} must be a field element as a decimal string`)
    .refine((text) => BigInt(text) < SNARK_SCALAR_FIELD, `${what} is not a field element (≥ p)`);

const MAX_CALL_SEQ = 2 ** 32 - 1;

/**
 * The status operation `name` of `system`, settling the calls of the operations `settles()` lists
 * (a function, so the operations may be defined after it and name it as their `settle.statusQuery`).
 */
export function defineStatusOperation(args: {
  name: OperationName;
  /** Its operation code (unique in the systems catalog, like any operation's). */
  code: number;
  system: SystemName;
  settles: () => readonly AnyOperationSpec[];
}): StatusOperationSpec {
  const settled = (): readonly AnyOperationSpec[] => {
    const specs = args.settles();
    for (const spec of specs) {
      if (spec.system !== args.system || spec.name === args.name) {
        throw new OperationSpecError(`${args.name} cannot settle ${spec.name} (${spec.system}'s)`);
      }
    }
    return specs;
  };
  const operationName = z
    .string({ required_error: "operation is required" })
    .refine((name) => settled().some((spec) => spec.name === name), {
      message: `operation must be one of the operations ${args.name} settles`,
    });
  const requestSchema = z
    .object({
      callSeq: z.number().int().min(1).max(MAX_CALL_SEQ),
      operation: operationName,
      requestHash: fieldDecimal("requestHash"),
    })
    .strict() as unknown as z.ZodType<StatusQueryRequest>;
  const responseSchema = z.discriminatedUnion("outcome", [
    z.object({ outcome: z.literal("TOOK_EFFECT"), responseHash: fieldDecimal("responseHash") }).strict(),
    z.object({ outcome: z.literal("REFUSED"), responseHash: fieldDecimal("responseHash") }).strict(),
    z.object({ outcome: z.literal("NO_EFFECT") }).strict(),
  ]) as z.ZodType<StatusQueryResponse>;
  const spec = defineOperation<StatusQueryRequest, StatusQueryResponse>({
    name: args.name,
    code: args.code,
    system: args.system,
    requestSchema,
    responseSchema,
    encodeRequest: (r) => [
      BigInt(r.callSeq),
      BigInt(settled().find((spec) => spec.name === r.operation)!.code),
      BigInt(r.requestHash),
      0n,
    ],
    encodeResponse: (r) => [
      BigInt(SettleOutcome[r.outcome]),
      r.outcome === "NO_EFFECT" ? 0n : BigInt(r.responseHash),
      0n,
      0n,
    ],
    decodeRequest: ([callSeq, code, requestHash]) => {
      const operation = settled().find((s) => BigInt(s.code) === code);
      if (!operation) throw new RangeError(`operation code ${code} is not one ${args.name} settles`);
      if (callSeq > BigInt(MAX_CALL_SEQ)) throw new RangeError(`callSeq ${callSeq} is out of range`);
      return { callSeq: Number(callSeq), operation: operation.name, requestHash: requestHash.toString() };
    },
    decodeResponse: ([code, responseHash]) => {
      const outcome = (Object.keys(SettleOutcome) as SettleOutcomeName[]).find(
        (name) => BigInt(SettleOutcome[name]) === code,
      );
      if (!outcome)
        throw new RangeError(`outcome code ${code} is none of ${Object.keys(SettleOutcome).join(", ")}`);
      return outcome === "NO_EFFECT" ? { outcome } : { outcome, responseHash: responseHash.toString() };
    },
  });
  return { ...spec, settles: settled };
}

/** Whether an operation spec is a status query (defineStatusOperation's). */
export function isStatusOperation(spec: AnyOperationSpec): spec is StatusOperationSpec {
  return typeof (spec as Partial<StatusOperationSpec>).settles === "function";
}
