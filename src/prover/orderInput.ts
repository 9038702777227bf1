import {
  computeTraceRoot,
  Outcome,
  type ProviderSet,
  SYSTEM_CODES,
  type SystemName,
  type Trace,
} from "../trace";
import type { CircuitInput } from "./types";

export class WitnessInputError extends Error {
  override name = "WitnessInputError";
}

/**
 * The input of `OrderWorkflow(traceDepth, providerDepth)` for a committed order run: every step's
 * request and response fields, and per external call the provider's key, signature and Merkle path
 * in the provider set. The circuit recomputes all hashes; nothing here is trusted by it.
 */
export function orderWorkflowInput(args: {
  trace: Trace;
  providers: ProviderSet;
  submitter: bigint;
  traceDepth: number;
}): CircuitInput {
  const { trace, providers, submitter, traceDepth } = args;
  if (trace.outcome !== "COMMITTED") {
    throw new WitnessInputError(`the order template proves committed runs; this run is ${trace.outcome}`);
  }
  const calls = [...trace.calls].sort((a, b) => a.callSeq - b.callSeq);
  const keys: bigint[][] = [];
  const r8: bigint[][] = [];
  const s: bigint[] = [];
  const pathElements: bigint[][] = [];
  const pathIndices: bigint[][] = [];
  for (const call of calls) {
    const attestation = call.attestation;
    if (!attestation) {
      throw new WitnessInputError(`call ${call.callSeq} (${call.operationName}) has no attestation`);
    }
    const path = providers.pathOf(SYSTEM_CODES[call.system as SystemName], attestation.publicKey);
    keys.push([...attestation.publicKey]);
    r8.push([...attestation.signature.R8]);
    s.push(attestation.signature.S);
    pathElements.push(path.pathElements);
    pathIndices.push(path.pathIndices.map(BigInt));
  }
  return {
    workflowId: trace.workflowId,
    outcome: BigInt(Outcome[trace.outcome]),
    traceRoot: computeTraceRoot(trace, traceDepth),
    providerSetRoot: providers.root,
    submitter,
    request: trace.steps.map((step) => [...step.request]),
    response: trace.steps.map((step) => [...step.response]),
    providerKey: keys,
    signatureR8: r8,
    signatureS: s,
    providerPathElements: pathElements,
    providerPathIndices: pathIndices,
  };
}
