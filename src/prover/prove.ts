import { createHash } from "node:crypto";
import fs from "node:fs";
import * as snarkjs from "snarkjs";
import type { CircuitInstance } from "./instances";
import type { CircuitInput, RunProof } from "./types";

export class ProofGenerationError extends Error {
  override name = "ProofGenerationError";
}

/**
 * Proves circuit inputs with one instance's wasm and zkey. The zkey is kept in memory between
 * proofs of one process (it is read once per Prover).
 */
export class Prover {
  private zkey?: Uint8Array;
  private vkey?: object;

  constructor(readonly instance: CircuitInstance) {
    for (const file of [instance.paths.wasm, instance.paths.zkey, instance.paths.vkey]) {
      if (!fs.existsSync(file)) {
        throw new ProofGenerationError(
          `missing build output ${file}: run \`npx wesflow setup\` (or npm run setup)`,
        );
      }
    }
  }

  async prove(input: CircuitInput): Promise<RunProof> {
    this.zkey ??= fs.readFileSync(this.instance.paths.zkey);
    const started = performance.now();
    let result: Awaited<ReturnType<typeof snarkjs.groth16.fullProve>>;
    try {
      result = await snarkjs.groth16.fullProve(input, this.instance.paths.wasm, {
        type: "mem",
        data: this.zkey,
      } as unknown as Uint8Array);
    } catch (cause) {
      // circom's witness calculator throws "Assert Failed" when a constraint does not hold.
      throw new ProofGenerationError(
        `the run does not satisfy circuit ${this.instance.name}: ${(cause as Error).message.split("\n")[0]}`,
        { cause },
      );
    }
    return {
      instance: this.instance.name,
      proof: result.proof,
      publicSignals: result.publicSignals,
      proveMs: Math.round(performance.now() - started),
      vkeyHash: verificationKeyHash(this.verificationKey()),
    };
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
