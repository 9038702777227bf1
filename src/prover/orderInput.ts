import {
  computeTraceRoot,
  Outcome,
  type ProviderSet,
  SYSTEM_CODES,
  type SystemName,
  type Trace,
} from "../trace";
import type { CircuitInput } from "./types";

const str = (x: bigint | number) => x.toString();

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
  const keys: string[][] = [];
  const r8: string[][] = [];
  const s: string[] = [];
  const pathElements: string[][] = [];
  const pathIndices: string[][] = [];
  for (const call of calls) {
    const attestation = call.attestation;
    if (!attestation) {
      throw new WitnessInputError(`call ${call.callSeq} (${call.operationName}) has no attestation`);
    }
    const path = providers.pathOf(SYSTEM_CODES[call.system as SystemName], attestation.publicKey);
    keys.push(attestation.publicKey.map(str));
    r8.push(attestation.signature.R8.map(str));
    s.push(str(attestation.signature.S));
    pathElements.push(path.pathElements.map(str));
    pathIndices.push(path.pathIndices.map(str));
  }
  return {
    workflowId: str(trace.workflowId),
    outcome: str(Outcome[trace.outcome]),
    traceRoot: str(computeTraceRoot(trace, traceDepth)),
    providerSetRoot: str(providers.root),
    submitter: str(submitter),
    request: trace.steps.map((step) => step.request.map(str)),
    response: trace.steps.map((step) => step.response.map(str)),
    providerKey: keys,
    signatureR8: r8,
    signatureS: s,
    providerPathElements: pathElements,
    providerPathIndices: pathIndices,
  };
}
