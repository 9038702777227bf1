import { z } from "zod";
import { SNARK_SCALAR_FIELD, toHex32, type PublicKey, type Signature } from "../crypto";
import type { AttestationJson } from "./types";

/**
 * The wire format between the host interface and an external system (see src/systems/server.ts):
 * `POST /operations/:name` with an {@link OperationRequestBodySchema} body, answered by 200 with an
 * {@link OperationResponseBodySchema} body or by an error status with an {@link ErrorBodySchema} body.
 */

const decimalField = z
  .string()
  .regex(/^[0-9]{1,78}$/, "a field element as a decimal string")
  .transform((text) => BigInt(text))
  .refine((value) => value < SNARK_SCALAR_FIELD, "not a field element (must be < p)");

export const AttestationJsonSchema = z.object({
  publicKey: z.tuple([decimalField, decimalField]),
  signature: z.object({
    R8: z.tuple([decimalField, decimalField]),
    S: z
      .string()
      .regex(/^[0-9]{1,78}$/, "S as a decimal string")
      .transform((text) => BigInt(text)),
  }),
});

export const OperationRequestBodySchema = z.object({
  workflowId: z
    .string()
    .regex(/^0x[0-9a-fA-F]{1,64}$/, "workflowId is 0x-prefixed hex")
    .transform((text) => BigInt(text))
    .refine((value) => value < SNARK_SCALAR_FIELD, "workflowId is not a field element"),
  callSeq: z.number().int().positive().max(Number.MAX_SAFE_INTEGER),
  idempotencyKey: z.string().min(1).max(200),
  request: z.unknown(),
});

export const OperationResponseBodySchema = z.object({
  response: z.unknown(),
  attestation: z.unknown(),
  /** A status query's answer: the queried call's response (see OperationResponseBody). */
  original: z.object({ response: z.unknown() }).strict().optional(),
});

export const ErrorBodySchema = z.object({
  error: z.object({ code: z.string(), message: z.string() }),
});

/** `${toHex32(workflowId)}:${callSeq}`: unique per call of a run, the same for every retry of it. */
export function idempotencyKeyOf(workflowId: bigint, callSeq: number): string {
  return `${toHex32(workflowId)}:${callSeq}`;
}

export function attestationToJson(publicKey: PublicKey, signature: Signature): AttestationJson {
  return {
    publicKey: [publicKey[0].toString(), publicKey[1].toString()],
    signature: { R8: [signature.R8[0].toString(), signature.R8[1].toString()], S: signature.S.toString() },
  };
}

/** The first issue of a zod error as one line: "path: message". */
export function describeZodError(error: z.ZodError, what: string): string {
  const issue = error.issues[0];
  const where = issue.path.length > 0 ? `${what}.${issue.path.join(".")}` : what;
  return `${where}: ${issue.message}`;
}
