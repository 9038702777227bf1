import { encodeString, poseidon } from "../crypto";
import type { CallRecord, Trace } from "./types";

/**
 * Run receipts: one signature per system over the signed calls of a run that the host lists (each
 * checked by the system against what it answered under that call's idempotency key), instead of one
 * signature per call checked in the circuit (a template with RECEIPTS = 1, circuits/lib/saga.circom).
 * A system signs `Poseidon(RECEIPT_TAG, workflowId, n, chain)` where `chain` links its n signed calls of
 * the run in callSeq order: `chain = link(... link(link(0, call 1), call 2) ..., call n)`,
 * `link(h, call) = Poseidon(h, callSeq, operation, requestHash, responseHash)`: the same fields its
 * signature of each call covers. One receipt vouches for exactly those calls: a call left out, added,
 * reordered or changed gives another chain. The message has 4 inputs and starts with the tag, so it is
 * never a call's message (5 inputs) nor another run's (workflowId).
 *
 * What a receipt does not say (yet): that the system answered nothing else for the run. Like per-call
 * signatures, it vouches for the calls listed; a host that made further calls (e.g. compensations
 * after a settled call) could leave them out of both the trace and the receipt. A closing receipt
 * (every call the system answered for the run, and none accepted after it) would say so: not built.
 */

/** encodeString("wesflow/receipt"): circuits/lib/saga.circom's receiptTag(). */
export const RECEIPT_TAG = encodeString("wesflow/receipt");

/** What a receipt covers of one call: the fields of the call's own signed message. */
export interface ReceiptCall {
  callSeq: number;
  operation: number;
  requestHash: bigint;
  responseHash: bigint;
}

/** link(h, call) = Poseidon(h, callSeq, operation, requestHash, responseHash). */
export function receiptLink(previous: bigint, call: ReceiptCall): bigint {
  return poseidon([
    previous,
    BigInt(call.callSeq),
    BigInt(call.operation),
    call.requestHash,
    call.responseHash,
  ]);
}

/** The chain of calls in the order given (callSeq order), from 0. */
export function receiptChain(calls: readonly ReceiptCall[]): bigint {
  return calls.reduce((chain, call) => receiptLink(chain, call), 0n);
}

/** The message a system signs as its receipt: Poseidon(RECEIPT_TAG, workflowId, count, chain). */
export function receiptMessage(workflowId: bigint, count: number, chain: bigint): bigint {
  return poseidon([RECEIPT_TAG, workflowId, BigInt(count), chain]);
}

/**
 * The calls of one system that a receipt of the run covers: its calls with a signature of their own
 * (a failed call settled by its status query has none; the query is covered), in callSeq order.
 */
export function receiptCallsOf(trace: Pick<Trace, "calls">, system: string): CallRecord[] {
  return trace.calls
    .filter((call) => call.system === system && call.attestation !== undefined)
    .sort((a, b) => a.callSeq - b.callSeq);
}

/** The systems with signed calls in a run, by name (each owes the run a receipt). */
export function receiptSystemsOf(trace: Pick<Trace, "calls">): string[] {
  return [...new Set(trace.calls.filter((c) => c.attestation !== undefined).map((c) => c.system))];
}
