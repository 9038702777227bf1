import { randomBytes } from "node:crypto";
import { encodeString, poseidon, toHex32 } from "../crypto";

/**
 * What a run's id commits to (circuits/lib/trace.circom `RunBinding`): the address that may record
 * it, the workflow it belongs to, and a private random nonce, so that
 *   workflowId = Poseidon(submitter, workflowTag, runNonce).
 * Every provider signs the workflow id, so the signatures of a run are bound to its submitter and its
 * workflow; no other address can prove anything for its id (see circuits/README.md, "Run binding").
 */
export interface RunBinding {
  /** The Ethereum address (0x…, 20 bytes) that will submit the run's proof. */
  submitter: string;
  /** The workflow's identity: the definition's hash (user workflows) or a template's fixed tag. */
  workflowTag: bigint;
  /** 31 random bytes, journaled with the run; private (a bundle carries it as part of the witness). */
  runNonce: bigint;
}

export class RunBindingError extends Error {
  override name = "RunBindingError";
}

/** A fresh run nonce: 31 random bytes, so always a field element. */
export function newRunNonce(): bigint {
  return BigInt("0x" + randomBytes(31).toString("hex"));
}

/** An address as the field element the circuits take for `submitter`. */
export function submitterField(submitter: string): bigint {
  if (!/^0x[0-9a-fA-F]{40}$/.test(submitter)) {
    throw new RunBindingError(`a submitter is a 0x-prefixed 20-byte address, got "${submitter}"`);
  }
  return BigInt(submitter);
}

/** workflowId = Poseidon(submitter, workflowTag, runNonce). */
export function workflowIdOf(binding: RunBinding): bigint {
  return poseidon([submitterField(binding.submitter), binding.workflowTag, binding.runNonce]);
}

/**
 * The fixed workflow tag of a template whose circuit names its workflow by a constant (a built-in
 * scenario: circuits.json's "workflowTag", e.g. "wesflow/order"): the string as a field element.
 */
export function fixedWorkflowTag(name: string): bigint {
  return encodeString(name, "a workflow tag");
}

/**
 * Throws unless `workflowId` is the id `binding` makes and, when given, the submitter and tag are the
 * ones expected (a run started for another address or another workflow cannot be proven here).
 */
export function checkRunBinding(args: {
  workflowId: bigint;
  binding: RunBinding;
  submitter?: string;
  workflowTag?: bigint;
  what?: string;
}): void {
  const { workflowId, binding } = args;
  const what = args.what ?? `run ${toHex32(workflowId)}`;
  if (args.submitter !== undefined && BigInt(args.submitter) !== submitterField(binding.submitter)) {
    throw new RunBindingError(
      `${what} was started to be recorded by ${binding.submitter}, not by ${args.submitter}: ` +
        `its id (and every signature over it) is bound to that address; submit it with that account's key`,
    );
  }
  if (args.workflowTag !== undefined && args.workflowTag !== binding.workflowTag) {
    throw new RunBindingError(
      `${what} belongs to workflow ${toHex32(binding.workflowTag)}, not ${toHex32(args.workflowTag)}: ` +
        `its id is bound to the workflow it was started for`,
    );
  }
  if (workflowIdOf(binding) !== workflowId) {
    throw new RunBindingError(
      `${what}: the id is not Poseidon(submitter, workflowTag, runNonce) of its binding`,
    );
  }
}
