import { verifySignature, type PublicKey } from "../crypto";
import { NOTARY_SYSTEM } from "../host";
import { attestationMessage, type Attestation, type CallRecord } from "../trace";

/**
 * The evidence level of a call whose signature verified: `attested` when the system itself signed,
 * `attested-by-notary` when the signature is the notary's (src/systems/notary/: the key registered for
 * the notary, a forwarding proxy that signs what an upstream that signs nothing answered it). A
 * notarised call is never shown as the upstream's own signature.
 */
export type AttestedLevel = "attested" | "attested-by-notary";

export function attestedLevel(system: string): AttestedLevel {
  return system === NOTARY_SYSTEM ? "attested-by-notary" : "attested";
}

/** Whether a level says the call's signature verified (by the system or by the notary). */
export function isAttestedLevel(level: string | undefined): level is AttestedLevel {
  return level === "attested" || level === "attested-by-notary";
}

/** The key a provider set registers for one system. */
export interface RegisteredKey {
  systemCode: number;
  publicKey: PublicKey;
}

/**
 * Why a call's attestation does not hold, or undefined when it does: it must be by the key the
 * provider set registers for the call's system, and sign Poseidon(workflowId, callSeq, operation,
 * requestHash, responseHash) with the hashes recomputed from the step record's fields (not the
 * ones the call record states).
 */
export async function attestationProblem(args: {
  workflowId: bigint;
  call: Pick<CallRecord, "callSeq" | "operation" | "system">;
  attestation: Attestation;
  requestHash: bigint;
  responseHash: bigint;
  registered: RegisteredKey | undefined;
}): Promise<string | undefined> {
  const { call, attestation, registered } = args;
  if (!registered) return `system ${call.system} has no key in the provider set`;
  if (attestation.system !== call.system) {
    return `the attestation is by system ${attestation.system}, the call went to ${call.system}`;
  }
  if (attestation.systemCode !== registered.systemCode) {
    return `the attestation names system code ${attestation.systemCode}, ${call.system} is registered as ${registered.systemCode}`;
  }
  if (
    attestation.publicKey[0] !== registered.publicKey[0] ||
    attestation.publicKey[1] !== registered.publicKey[1]
  ) {
    return `the attestation's key is not the key registered for ${call.system}`;
  }
  let verified = false;
  try {
    const message = attestationMessage({
      workflowId: args.workflowId,
      callSeq: call.callSeq,
      operation: call.operation,
      requestHash: args.requestHash,
      responseHash: args.responseHash,
    });
    verified = await verifySignature(message, attestation.signature, attestation.publicKey);
  } catch {
    verified = false; // a value outside the field signs nothing
  }
  return verified ? undefined : "the signature does not verify over the recorded call";
}
