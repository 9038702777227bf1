import { toHex20 } from "../crypto";
import {
  checkRunBinding,
  computeTraceRoot,
  Outcome,
  receiptChain,
  RECORD_FIELDS,
  Settlement,
  type SettlementName,
  type CallRecord,
  type ProviderSet,
  type Trace,
} from "../trace";
import type { CircuitInput } from "./types";

export class WitnessInputError extends Error {
  override name = "WitnessInputError";
}

/** What the witness builder needs to know of a template built on circuits/lib/saga.circom. */
export interface SagaTemplateShape {
  /** The circom template's name (for messages). */
  template: string;
  /** Forward steps of the template (N). */
  steps: number;
  /** Attestation slots (MAX_CALLS). */
  maxCalls: number;
  /** Whether the template proves ROLLED_BACK runs. */
  rollback: boolean;
  /** The workflow tag the template's circuit fixes (its run ids are bound to it). */
  workflowTag: bigint;
  /** The system code the template expects for each call, by the call's system name. */
  systemCodeOf(system: string): number;
  /**
   * A template built on Saga with RECEIPTS = 1: the codes of the systems it calls, ascending (its
   * receipt slots, one per system); the run's receipts (trace.receipts) fill them.
   */
  receiptSystems?: readonly number[];
}

/** BabyJubJub's identity point: what a disabled attestation slot carries (it must be on the curve). */
const IDENTITY: [bigint, bigint] = [0n, 1n];

/**
 * The run's calls in callSeq order, checked to be numbered 1, 2, … (`circuit` names the circuit in
 * the message; signedCalls checks they fit its attestation slots).
 */
export function sortedCalls(trace: Trace, maxCalls: number, circuit: string): CallRecord[] {
  const calls = [...trace.calls].sort((a, b) => a.callSeq - b.callSeq);
  // a settled call has no attestation slot: one more call than slots may fit
  if (calls.length > maxCalls + 1) {
    throw new WitnessInputError(`the run made ${calls.length} calls; ${circuit} proves at most ${maxCalls}`);
  }
  calls.forEach((call, c) => {
    if (call.callSeq !== c + 1) {
      throw new WitnessInputError(
        `calls are not numbered 1, 2, …: found callSeq ${call.callSeq} at ${c + 1}`,
      );
    }
  });
  return calls;
}

/** Every slot's request and response fields and leaf salt; slots after the last record are zeros. */
export function recordFieldsInput(
  trace: Trace,
  slots: number,
): { request: bigint[][]; response: bigint[][]; salt: bigint[] } {
  const zeros = () => new Array<bigint>(RECORD_FIELDS).fill(0n);
  return {
    request: Array.from({ length: slots }, (_, i) => [...(trace.steps[i]?.request ?? zeros())]),
    response: Array.from({ length: slots }, (_, i) => [...(trace.steps[i]?.response ?? zeros())]),
    salt: Array.from({ length: slots }, (_, i) => trace.steps[i]?.salt ?? 0n),
  };
}

/**
 * How the trace's failed call was settled (the circuits' private `settlement`): TOOK_EFFECT when
 * the failed record is SETTLED, NOTHING_TO_UNDO when a SETTLE record follows a DECLARED one, NONE
 * otherwise (committed, a local failure, a signed refusal). The circuit checks the rest.
 */
export function settlementOf(trace: Trace): SettlementName {
  const failedAt = trace.steps.findIndex((s) => s.status === "FAILED");
  if (failedAt < 0 || trace.steps[failedAt + 1]?.phase !== "SETTLE") return "NONE";
  return trace.steps[failedAt].evidence === "SETTLED" ? "TOOK_EFFECT" : "NOTHING_TO_UNDO";
}

/** The `settlement` signal's value for a trace. */
export function settlementInput(trace: Trace): bigint {
  return BigInt(Settlement[settlementOf(trace)]);
}

/**
 * The run's signed calls in callSeq order: the ones the attestation slots hold (a failed call that
 * was settled by its status query has no signature of its own and no slot).
 */
export function signedCalls(calls: readonly CallRecord[], maxCalls: number, circuit: string): CallRecord[] {
  const signed = calls.filter((call) => call.attestation !== undefined);
  if (signed.length > maxCalls) {
    throw new WitnessInputError(
      `the run has ${signed.length} signed calls; ${circuit} proves at most ${maxCalls}`,
    );
  }
  return signed;
}

/**
 * Per attestation slot c (the c-th signed call): the provider's key, signature and Merkle path in
 * the provider set under the system code the circuit checks the call against (`systemCodeOf`); an
 * unused slot takes the identity point and zeros.
 */
export function attestationInput(args: {
  calls: readonly CallRecord[];
  maxCalls: number;
  providers: ProviderSet;
  systemCodeOf: (call: CallRecord, slot: number) => number;
}): {
  providerKey: bigint[][];
  signatureR8: bigint[][];
  signatureS: bigint[];
  providerPathElements: bigint[][];
  providerPathIndices: bigint[][];
} {
  const { calls, providers } = args;
  const providerKey: bigint[][] = [];
  const signatureR8: bigint[][] = [];
  const signatureS: bigint[] = [];
  const pathElements: bigint[][] = [];
  const pathIndices: bigint[][] = [];
  for (let c = 0; c < args.maxCalls; c++) {
    const attestation = calls[c]?.attestation;
    if (attestation) {
      const path = providers.pathOf(args.systemCodeOf(calls[c], c), attestation.publicKey);
      providerKey.push([...attestation.publicKey]);
      signatureR8.push([...attestation.signature.R8]);
      signatureS.push(attestation.signature.S);
      pathElements.push(path.pathElements);
      pathIndices.push(path.pathIndices.map(BigInt));
    } else {
      providerKey.push([...IDENTITY]);
      signatureR8.push([...IDENTITY]);
      signatureS.push(0n);
      pathElements.push(new Array<bigint>(providers.depth).fill(0n));
      pathIndices.push(new Array<bigint>(providers.depth).fill(0n));
    }
  }
  return {
    providerKey,
    signatureR8,
    signatureS,
    providerPathElements: pathElements,
    providerPathIndices: pathIndices,
  };
}

/**
 * Per receipt slot r (the r-th of the template's systems, ascending codes): the system's receipt of
 * the run (key, signature, Merkle path in the provider set) when it has signed calls in the trace,
 * else the identity point and zeros (the circuit disables the slot of a system the layout does not
 * call). A missing receipt, or one that does not cover exactly the trace's signed calls of its system,
 * is refused here with its reason.
 */
export function receiptInput(args: {
  trace: Trace;
  calls: readonly CallRecord[];
  systems: readonly number[];
  providers: ProviderSet;
  shape: SagaTemplateShape;
}): ReturnType<typeof attestationInput> {
  const { trace, calls, systems, providers, shape } = args;
  const input: ReturnType<typeof attestationInput> = {
    providerKey: [],
    signatureR8: [],
    signatureS: [],
    providerPathElements: [],
    providerPathIndices: [],
  };
  for (const call of calls) {
    if (!systems.includes(shape.systemCodeOf(call.system))) {
      throw new WitnessInputError(
        `${shape.template} has no receipt slot for ${call.system}, which the run called`,
      );
    }
  }
  for (const code of systems) {
    const own = calls.filter((call) => shape.systemCodeOf(call.system) === code);
    const receipt = trace.receipts?.find((r) => r.systemCode === code);
    if (own.length === 0) {
      input.providerKey.push([...IDENTITY]);
      input.signatureR8.push([...IDENTITY]);
      input.signatureS.push(0n);
      input.providerPathElements.push(new Array<bigint>(providers.depth).fill(0n));
      input.providerPathIndices.push(new Array<bigint>(providers.depth).fill(0n));
      continue;
    }
    if (!receipt) {
      throw new WitnessInputError(
        `${shape.template} checks receipts: the run has ${own.length} signed calls of system ${code} and no receipt of it`,
      );
    }
    if (receipt.count !== own.length || receipt.chain !== receiptChain(own)) {
      throw new WitnessInputError(
        `the receipt of system ${code} does not cover the run's ${own.length} signed calls of it`,
      );
    }
    const path = providers.pathOf(code, receipt.publicKey);
    input.providerKey.push([...receipt.publicKey]);
    input.signatureR8.push([...receipt.signature.R8]);
    input.signatureS.push(receipt.signature.S);
    input.providerPathElements.push(path.pathElements);
    input.providerPathIndices.push(path.pathIndices.map(BigInt));
  }
  return input;
}

/**
 * The private `runNonce` of a trace, after checking that its id is the one its binding makes for this
 * submitter (and this workflow tag, when the template's is known): a run bound to another address or
 * workflow cannot be proven, and saying so here beats a failed witness.
 */
export function runNonceInput(trace: Trace, submitter: bigint, workflowTag?: bigint): { runNonce: bigint } {
  try {
    checkRunBinding({
      workflowId: trace.workflowId,
      binding: trace.binding,
      submitter: toHex20(submitter),
      workflowTag,
    });
  } catch (cause) {
    throw new WitnessInputError((cause as Error).message, { cause });
  }
  return { runNonce: trace.binding.runNonce };
}

/**
 * The input of a SagaWorkflow-based circuit for a trace: every record's request and response
 * fields (slots after the last record are zeros), which forward step failed (N = none), how its call
 * was settled (settlementOf), and per signed call (in callSeq order) the provider's key, signature
 * and Merkle path in the provider set. The circuit recomputes and checks everything; a trace that
 * does not have the template's layout simply fails to prove.
 */
export function sagaWorkflowInput(args: {
  shape: SagaTemplateShape;
  trace: Trace;
  providers: ProviderSet;
  submitter: bigint;
  traceDepth: number;
}): CircuitInput {
  const { trace, providers, submitter, traceDepth, shape } = args;
  const template = shape.template;
  const slots = 1 << traceDepth;
  if (trace.steps.length > slots) {
    throw new WitnessInputError(`the trace has ${trace.steps.length} records; ${template} holds ${slots}`);
  }
  if (trace.outcome === "ROLLED_BACK" && !shape.rollback) {
    throw new WitnessInputError(`${template} proves committed runs; this run is ROLLED_BACK`);
  }
  const failed = trace.steps.find((s) => s.status === "FAILED");
  if ((trace.outcome === "ROLLED_BACK") !== Boolean(failed)) {
    throw new WitnessInputError(`a ${trace.outcome} run ${failed ? "has" : "lacks"} a failed step`);
  }
  const calls = signedCalls(sortedCalls(trace, shape.maxCalls, template), shape.maxCalls, template);
  const records = recordFieldsInput(trace, slots);
  const attestations = shape.receiptSystems
    ? receiptInput({ trace, calls, systems: shape.receiptSystems, providers, shape })
    : attestationInput({
        calls,
        maxCalls: shape.maxCalls,
        providers,
        systemCodeOf: (call) => shape.systemCodeOf(call.system),
      });
  return {
    workflowId: trace.workflowId,
    outcome: BigInt(Outcome[trace.outcome]),
    traceRoot: computeTraceRoot(trace, traceDepth),
    providerSetRoot: providers.root,
    submitter,
    ...runNonceInput(trace, submitter, shape.workflowTag),
    failedStep: BigInt(failed ? failed.index : shape.steps),
    settlement: settlementInput(trace),
    ...records,
    ...attestations,
  };
}
