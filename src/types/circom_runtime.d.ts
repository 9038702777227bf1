// circom_runtime (the witness calculator snarkjs uses) ships no types: the part wesflow calls.
declare module "circom_runtime" {
  export interface WitnessCalculator {
    /** The witness of `input` in snarkjs's .wtns format; throws when a constraint of the circuit fails. */
    calculateWTNSBin(input: Record<string, unknown>, sanityCheck: boolean): Promise<Uint8Array>;
  }
  /** Compiles a circom wasm once; the calculator can be used for many inputs. */
  export function WitnessCalculatorBuilder(
    wasm: Uint8Array,
    options?: { memorySize?: number },
  ): Promise<WitnessCalculator>;
}
