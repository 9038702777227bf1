import { createHash } from "node:crypto";
import fs from "node:fs";
import * as snarkjs from "snarkjs";
import { WitnessCalculatorBuilder, type WitnessCalculator } from "circom_runtime";
import type { CircuitInstance } from "./instances";
import type { CircuitInput, RunProof } from "./types";

export class ProofGenerationError extends Error {
  override name = "ProofGenerationError";
}

/**
 * Proves circuit inputs with one instance's wasm and zkey, warm: the zkey is read once per Prover
 * and kept in memory, the witness calculator is compiled from the wasm once and reused (snarkjs's
 * fullProve reads and compiles the wasm again for every proof).
 *
 * The two halves are separate so that a pipeline can compute a run's witness (one thread, the main
 * one) while the previous run's proof (snarkjs's worker threads) is still being made:
 * `witness(input)` then `proveWitness(witness)`; `prove(input)` does both.
 */
export class Prover {
  private zkey?: Uint8Array;
  private vkey?: object;
  private calculator?: Promise<WitnessCalculator>;
  private calculating: Promise<unknown> = Promise.resolve();

  constructor(readonly instance: CircuitInstance) {
    for (const file of [instance.paths.wasm, instance.paths.zkey, instance.paths.vkey]) {
      if (!fs.existsSync(file)) {
        throw new ProofGenerationError(
          `missing build output ${file}: run \`npx wesflow setup\` (or npm run setup)`,
        );
      }
    }
  }

  /** The witness of `input` (snarkjs's .wtns format, in memory); a ProofGenerationError when a constraint fails. */
  async witness(input: CircuitInput): Promise<{ witness: Uint8Array; witnessMs: number }> {
    this.calculator ??= WitnessCalculatorBuilder(fs.readFileSync(this.instance.paths.wasm));
    let witness: Uint8Array;
    let witnessMs = 0;
    try {
      const calculator = await this.calculator;
      // One calculation at a time: the calculator's wasm memory holds one witness, and its async
      // calculateWTNSBin reads it out after an await that another calculation could slip into.
      const calculation = this.calculating.then(async () => {
        const started = performance.now();
        const computed = await calculator.calculateWTNSBin(input, true);
        witnessMs = Math.round(performance.now() - started);
        return computed;
      });
      this.calculating = calculation.catch(() => undefined);
      witness = await calculation;
    } catch (cause) {
      // circom's witness calculator throws "Assert Failed" when a constraint does not hold.
      throw new ProofGenerationError(
        `the run does not satisfy circuit ${this.instance.name}: ${(cause as Error).message.split("\n")[0]}`,
        { cause },
      );
    }
    return { witness, witnessMs };
  }

  /** The Groth16 proof of a witness made by {@link witness}. `witnessMs` is counted in the proof's proveMs. */
  async proveWitness(witness: Uint8Array, witnessMs = 0): Promise<RunProof> {
    this.zkey ??= fs.readFileSync(this.instance.paths.zkey);
    const started = performance.now();
    let result: Awaited<ReturnType<typeof snarkjs.groth16.prove>>;
    try {
      result = await snarkjs.groth16.prove(
        { type: "mem", data: this.zkey } as unknown as Uint8Array,
        { type: "mem", data: witness } as unknown as Uint8Array,
      );
    } catch (cause) {
      throw new ProofGenerationError(
        `cannot prove a witness of circuit ${this.instance.name}: ${(cause as Error).message.split("\n")[0]}`,
        { cause },
      );
    }
    const proofMs = Math.round(performance.now() - started);
    return {
      instance: this.instance.name,
      proof: result.proof,
      publicSignals: result.publicSignals,
      proveMs: witnessMs + proofMs,
      vkeyHash: verificationKeyHash(this.verificationKey()),
      witnessMs,
    };
  }

  /** The witness and the proof of `input`, one after the other. */
  async prove(input: CircuitInput): Promise<RunProof> {
    const { witness, witnessMs } = await this.witness(input);
    return this.proveWitness(witness, witnessMs);
  }

  async verify(proof: Pick<RunProof, "proof" | "publicSignals">): Promise<boolean> {
    return snarkjs.groth16.verify(this.verificationKey(), proof.publicSignals, proof.proof);
  }

  private verificationKey(): object {
    this.vkey ??= JSON.parse(fs.readFileSync(this.instance.paths.vkey, "utf8")) as object;
    return this.vkey;
  }
}

/**
 * Names a verification key: sha256 (hex) of its JSON as snarkjs exports it. A bundle keeps the hash
 * of the key its proof was made for, so a verifier can tell "made with another setup's keys" from
 * "not a valid proof".
 */
export function verificationKeyHash(vkey: object): string {
  return createHash("sha256").update(JSON.stringify(vkey)).digest("hex");
}

/** snarkjs keeps worker threads alive until the curve is terminated; call once before exiting. */
export async function releaseProverResources(): Promise<void> {
  const curve = (globalThis as { curve_bn128?: { terminate(): Promise<void> } }).curve_bn128;
  await curve?.terminate();
}
