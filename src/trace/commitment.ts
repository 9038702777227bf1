import { randomBytes } from "node:crypto";
import { poseidon, PoseidonMerkleTree, toField } from "../crypto";
import { Evidence, Outcome, Phase, RECORD_FIELDS, StepStatus, type StepRecord, type Trace } from "./types";

/** Poseidon hash of a step's request or response fields (RECORD_FIELDS of them). */
export function hashFields(fields: readonly bigint[]): bigint {
  if (fields.length !== RECORD_FIELDS) {
    throw new RangeError(`a record has ${RECORD_FIELDS} fields, got ${fields.length}`);
  }
  return poseidon(fields);
}

/** The field elements of a step record, in the order the circuit's `StepLeaf` hashes them (salt last). */
export function stepLeafInputs(step: StepRecord): bigint[] {
  return [
    BigInt(step.index),
    BigInt(step.stepCode),
    BigInt(Phase[step.phase]),
    BigInt(StepStatus[step.status]),
    BigInt(step.callSeq),
    BigInt(step.operation),
    hashFields(step.request),
    hashFields(step.response),
    BigInt(Evidence[step.evidence]),
    toField(step.salt, "salt"),
  ];
}

/**
 * A fresh salt for a step record: 31 random bytes (248 bits), uniform and below the BN254 scalar
 * field modulus.
 */
export function newRecordSalt(): bigint {
  return BigInt("0x" + randomBytes(31).toString("hex"));
}

export function stepLeaf(step: StepRecord): bigint {
  return poseidon(stepLeafInputs(step));
}

/** The Merkle tree over the step leaves; unused slots are 0. */
export function stepsTree(steps: readonly StepRecord[], depth: number): PoseidonMerkleTree {
  steps.forEach((step, i) => {
    if (step.index !== i) throw new RangeError(`step at position ${i} has index ${step.index}`);
  });
  return new PoseidonMerkleTree(depth, steps.map(stepLeaf));
}

/**
 * traceRoot = Poseidon(workflowId, outcome, stepCount, stepsRoot): binds the run's identity and
 * outcome to every step, and lets one step be disclosed with a Merkle path to stepsRoot.
 */
export function traceRootOf(args: {
  workflowId: bigint;
  outcome: number;
  stepCount: number;
  stepsRoot: bigint;
}): bigint {
  return poseidon([
    toField(args.workflowId, "workflowId"),
    BigInt(args.outcome),
    BigInt(args.stepCount),
    args.stepsRoot,
  ]);
}

export function computeTraceRoot(trace: Trace, depth: number): bigint {
  return traceRootOf({
    workflowId: trace.workflowId,
    outcome: Outcome[trace.outcome],
    stepCount: trace.steps.length,
    stepsRoot: stepsTree(trace.steps, depth).root,
  });
}

/**
 * The message a provider signs for one call: Poseidon(workflowId, callSeq, operation, requestHash,
 * responseHash). The circuit's `ProviderAttestation` recomputes it.
 */
export function attestationMessage(args: {
  workflowId: bigint;
  callSeq: number;
  operation: number;
  requestHash: bigint;
  responseHash: bigint;
}): bigint {
  return poseidon([
    args.workflowId,
    BigInt(args.callSeq),
    BigInt(args.operation),
    args.requestHash,
    args.responseHash,
  ]);
}

/** Leaf of the provider-set tree: Poseidon(systemCode, pubKeyX, pubKeyY). */
export function providerLeaf(args: { systemCode: number; publicKey: readonly [bigint, bigint] }): bigint {
  return poseidon([BigInt(args.systemCode), args.publicKey[0], args.publicKey[1]]);
}
