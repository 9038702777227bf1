import { randomBytes } from "node:crypto";
import { buildEddsa } from "circomlibjs";
import { toField } from "./field";

/** A BabyJubJub public key (x, y). */
export type PublicKey = readonly [bigint, bigint];

/** An EdDSA-Poseidon signature as circomlib's `EdDSAPoseidonVerifier` takes it. */
export interface Signature {
  R8: readonly [bigint, bigint];
  S: bigint;
}

type Eddsa = Awaited<ReturnType<typeof buildEddsa>>;
let eddsaPromise: Promise<Eddsa> | undefined;

function eddsa(): Promise<Eddsa> {
  eddsaPromise ??= buildEddsa();
  return eddsaPromise;
}

/** A 32-byte private key from the OS's random source. */
export function newPrivateKey(): Buffer {
  return randomBytes(32);
}

export async function derivePublicKey(privateKey: Uint8Array): Promise<PublicKey> {
  const e = await eddsa();
  const [x, y] = e.prv2pub(privateKey);
  return [e.F.toObject(x), e.F.toObject(y)];
}

/** Signs one field element with EdDSA-Poseidon on BabyJubJub. */
export async function signMessage(privateKey: Uint8Array, message: bigint): Promise<Signature> {
  const e = await eddsa();
  const sig = e.signPoseidon(privateKey, e.F.e(toField(message, "message")));
  return { R8: [e.F.toObject(sig.R8[0]), e.F.toObject(sig.R8[1])], S: sig.S };
}

export async function verifySignature(
  message: bigint,
  signature: Signature,
  publicKey: PublicKey,
): Promise<boolean> {
  const e = await eddsa();
  try {
    return e.verifyPoseidon(
      e.F.e(toField(message, "message")),
      { R8: [e.F.e(signature.R8[0]), e.F.e(signature.R8[1])], S: signature.S },
      [e.F.e(publicKey[0]), e.F.e(publicKey[1])],
    );
  } catch {
    // circomlibjs throws on points off the curve: that is an invalid signature, not a crash.
    return false;
  }
}
