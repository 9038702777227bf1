import * as poseidonLite from "poseidon-lite";
import { toField } from "./field";

type PoseidonFn = (inputs: bigint[]) => bigint;

const BY_ARITY: Record<number, PoseidonFn> = {
  1: poseidonLite.poseidon1,
  2: poseidonLite.poseidon2,
  3: poseidonLite.poseidon3,
  4: poseidonLite.poseidon4,
  5: poseidonLite.poseidon5,
  6: poseidonLite.poseidon6,
  7: poseidonLite.poseidon7,
  8: poseidonLite.poseidon8,
  9: poseidonLite.poseidon9,
  10: poseidonLite.poseidon10,
  11: poseidonLite.poseidon11,
  12: poseidonLite.poseidon12,
  13: poseidonLite.poseidon13,
  14: poseidonLite.poseidon14,
  15: poseidonLite.poseidon15,
  16: poseidonLite.poseidon16,
};

/** Poseidon over BN254 as circomlib's `Poseidon(n)` computes it (1 <= n <= 16 inputs). */
export function poseidon(inputs: readonly bigint[]): bigint {
  const hash = BY_ARITY[inputs.length];
  if (!hash) throw new RangeError(`Poseidon takes 1 to 16 inputs, got ${inputs.length}`);
  return hash(inputs.map((x, i) => toField(x, `Poseidon input ${i}`)));
}
