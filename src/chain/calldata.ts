import { z } from "zod";

import { ProofFormatError, formatZodIssues } from "./errors";
import {
  BN254_BASE_FIELD,
  DEFINITION_PUBLIC_SIGNAL_NAMES,
  PUBLIC_SIGNAL_NAMES,
  STATE_PUBLIC_SIGNAL_NAMES,
  type Groth16ProofJson,
  type StatePublicSignalValues,
  type PublicSignalValues,
  type SolidityProof,
  type SubmittedPublicSignals,
} from "./types";

const decimalString = z.string().regex(/^\d+$/, "expected a decimal integer string");

const coordinate = decimalString
  .transform((value) => BigInt(value))
  .refine((value) => value < BN254_BASE_FIELD, "coordinate is not below the BN254 base field");

/** snarkjs writes points in projective form: [x, y, "1"] for G1, [[x0, x1], [y0, y1], ["1", "0"]] for G2. */
const g1Point = z.array(coordinate).min(2).max(3);
const g2Point = z.array(z.array(coordinate).length(2)).min(2).max(3);

const groth16ProofSchema = z.object({ pi_a: g1Point, pi_b: g2Point, pi_c: g1Point });

const publicSignal = z.union([decimalString.transform((value) => BigInt(value)), z.bigint().nonnegative()]);

const publicSignalsSchema = z
  .array(publicSignal)
  .length(PUBLIC_SIGNAL_NAMES.length, `expected ${PUBLIC_SIGNAL_NAMES.length} public signals`);

const stateSignalsSchema = z
  .array(publicSignal)
  .length(
    STATE_PUBLIC_SIGNAL_NAMES.length,
    `expected ${STATE_PUBLIC_SIGNAL_NAMES.length} public signals (${STATE_PUBLIC_SIGNAL_NAMES.join(", ")})`,
  );

const submittedSignalsSchema = z.array(publicSignal).refine(
  (signals) =>
    signals.length === PUBLIC_SIGNAL_NAMES.length || signals.length === DEFINITION_PUBLIC_SIGNAL_NAMES.length,
  (signals) => ({
    message:
      `expected ${PUBLIC_SIGNAL_NAMES.length} public signals (${PUBLIC_SIGNAL_NAMES.join(", ")}), or ` +
      `${DEFINITION_PUBLIC_SIGNAL_NAMES.length} for a proof of a user-defined workflow (then definitionHash); ` +
      `got ${signals.length}`,
  }),
);

/**
 * Converts a snarkjs Groth16 proof to the verifier's calldata order. G2 coordinates are elements of
 * F_p^2 written (c0, c1) by snarkjs; the EVM pairing precompile takes (c1, c0), so each of pi_b's
 * pairs is swapped, exactly as `snarkjs zkey export soliditycalldata` does.
 */
export function toSolidityProof(proof: Groth16ProofJson): SolidityProof {
  const parsed = groth16ProofSchema.safeParse(proof);
  if (!parsed.success) throw new ProofFormatError(formatZodIssues(parsed.error), { cause: parsed.error });
  const { pi_a: a, pi_b: b, pi_c: c } = parsed.data;
  return {
    a: [a[0], a[1]],
    b: [
      [b[0][1], b[0][0]],
      [b[1][1], b[1][0]],
    ],
    c: [c[0], c[1]],
  };
}

/**
 * Parses the four public signals (decimal strings as snarkjs writes them, or bigints). Values at or
 * above the field modulus are passed through: the registry rejects them with its own error.
 */
export function toPublicSignalValues(publicSignals: readonly (string | bigint)[]): PublicSignalValues {
  const parsed = publicSignalsSchema.safeParse(publicSignals);
  if (!parsed.success) throw new ProofFormatError(formatZodIssues(parsed.error), { cause: parsed.error });
  const [runClaim, workflowId, traceRoot, providerSetRoot] = parsed.data;
  return [runClaim, workflowId, traceRoot, providerSetRoot];
}

/**
 * Parses public signals as submitted to the registry: four (a template's own circuit), or five (the
 * generic circuit of user-defined workflows, definitionHash last). The registry always takes the
 * first four; the fifth is returned apart, since the registry supplies it from the template.
 */
export function splitPublicSignals(publicSignals: readonly (string | bigint)[]): SubmittedPublicSignals {
  const parsed = submittedSignalsSchema.safeParse(publicSignals);
  if (!parsed.success) throw new ProofFormatError(formatZodIssues(parsed.error), { cause: parsed.error });
  const [runClaim, workflowId, traceRoot, providerSetRoot, definitionHash] = parsed.data;
  const signals: PublicSignalValues = [runClaim, workflowId, traceRoot, providerSetRoot];
  return definitionHash === undefined ? { signals } : { signals, definitionHash };
}

/**
 * Parses the six public signals of a state template's proof (the four, then stateRootBefore and
 * stateRootAfter). Values at or above the field modulus are passed through: the registry rejects them.
 */
export function toStatePublicSignalValues(
  publicSignals: readonly (string | bigint)[],
): StatePublicSignalValues {
  const parsed = stateSignalsSchema.safeParse(publicSignals);
  if (!parsed.success) throw new ProofFormatError(formatZodIssues(parsed.error), { cause: parsed.error });
  const [runClaim, workflowId, traceRoot, providerSetRoot, rootBefore, rootAfter] = parsed.data;
  return [runClaim, workflowId, traceRoot, providerSetRoot, rootBefore, rootAfter];
}
