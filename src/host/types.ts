import type { z } from "zod";
import type { Logger } from "../project";
import type { CallRecord, OperationName, ProviderSet, SystemName } from "../trace";

/**
 * One operation of an external system: its typed request and response, and how each is encoded
 * into the RECORD_FIELDS field elements that the trace commits to and the system signs.
 */
export interface OperationSpec<Req, Res> {
  /** e.g. "payment.charge" (declared by its system's module, src/systems/<name>/). */
  name: OperationName;
  /** The system that performs the operation and signs its responses. */
  system: SystemName;
  /** The operation's code in trace records (unique across the systems catalog). */
  code: number;
  requestSchema: z.ZodType<Req>;
  responseSchema: z.ZodType<Res>;
  /** Exactly RECORD_FIELDS field elements. */
  encodeRequest(request: Req): bigint[];
  /** Exactly RECORD_FIELDS field elements; element 0 is the system's status, 1n (CALL_SUCCEEDED) = succeeded. */
  encodeResponse(response: Res): bigint[];
  /**
   * The inverse of encodeRequest: the one request (as its schema gives it) whose encoding is
   * `fields`; throws OperationDecodingError when no request encodes to them. An auditor compares the
   * request JSON a bundle shows with it, key by key.
   */
  decodeRequest(fields: readonly bigint[]): Req;
  /** The inverse of encodeResponse, as decodeRequest is of encodeRequest. */
  decodeResponse(fields: readonly bigint[]): Res;
  /**
   * How people read a call of the operation, from its request: e.g.
   * `lab.inspection_result(lot=LT000001)`. The audit shows it (from the committed request fields,
   * decoded) instead of the bare operation name. Optional: the name alone otherwise.
   */
  describe?(request: Req): string;
  /**
   * Named business refusals a simulated system can be told to give for this operation (`--fail
   * <operation>:<name>`), besides the plain `decline`: name → what the system then answers (e.g.
   * bank.statement's `mismatch`, a statement whose balances differ from the expected ones). Each is
   * a signed refusal like `decline` (response field 0 not 1); the handler sees the name in
   * `ctx.refusal`.
   */
  refusals?: Readonly<Record<string, string>>;
  /**
   * Why the system answers each of its refusal statuses (status name → reason, e.g. payment.refund's
   * REFUSED: no capture of that order): a refused call's error names it (CallRefusedError), and
   * `wesflow operations` lists it.
   */
  refusalReasons?: Readonly<Record<string, string>>;
  /** The operation of the same system that this one compensates (payment.refund → "payment.charge"). */
  compensates?: OperationName;

  /**
   * How the outcome of one of its calls is settled when the call got no usable answer (a timeout
   * after the retries, an outage, a bad signature or an unknown key): the system's signed status
   * query under the call's idempotency key (TOOK_EFFECT with the original response, REFUSED, or
   * NO_EFFECT, after which the key is fenced). The executor asks it before compensating anything
   * else; a forward step whose call cannot be settled parks the run NEEDS_ATTENTION. (A
   * compensation is never settled this way: it is re-sent under its key until it is answered.)
   * Absent: the operation's outcome cannot be settled.
   */
  settle?: { statusQuery: StatusOperationSpec };
}

/**
 * A system's status query (src/host/status.ts, defineStatusOperation): its request names a call of
 * the system (callSeq, operation, request hash), its answer says what the system did under that
 * call's idempotency key.
 */
export interface StatusQueryRequest {
  /** The queried call's callSeq (which fixes its idempotency key). */
  callSeq: number;
  /** The queried call's operation (one of this system's). */
  operation: OperationName;
  /** Poseidon of the queried call's request fields, as a decimal string. */
  requestHash: string;
}

export type StatusQueryResponse =
  | { outcome: "TOOK_EFFECT"; responseHash: string }
  | { outcome: "REFUSED"; responseHash: string }
  | { outcome: "NO_EFFECT" };

export type StatusOperationSpec = OperationSpec<StatusQueryRequest, StatusQueryResponse> & {
  /** The operations whose calls it settles (its system's own). */
  settles(): readonly AnyOperationSpec[];
};

/** Any operation spec, whatever its request and response types (for lists of specs). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyOperationSpec = OperationSpec<any, any>;

export interface HostInterfaceOptions {
  workflowId: bigint;
  /** Base URL of each external system, e.g. { payment: "http://127.0.0.1:40123" }. */
  endpoints: Partial<Record<SystemName, string>>;
  /** The registered provider keys: an attestation counts only under the key registered for its system. */
  providers: ProviderSet;
  /** Per-call timeout, default 10 000 ms. */
  timeoutMs?: number;
  logger?: Logger;
}

export interface CallArgs<Req, Res> {
  operation: OperationSpec<Req, Res>;
  request: Req;
  /** The trace step that makes the call. */
  stepIndex: number;
  /**
   * Re-sends an earlier call under its callSeq (and so its idempotency key): a retry after a
   * retryable error (`error.callSeq`), or a resume after a crash. The system then performs the
   * effect at most once. Omitted: the call gets the next callSeq.
   */
  callSeq?: number;
  /** This call's timeout in ms; default: the host's `timeoutMs`. */
  timeoutMs?: number;
}

export interface CallResult<Res> {
  response: Res;
  requestFields: bigint[];
  responseFields: bigint[];
  record: CallRecord;
}

/** The JSON body of `POST /operations/:name`. */
export interface OperationRequestBody {
  /** 0x-prefixed, 32-byte hex. */
  workflowId: string;
  callSeq: number;
  idempotencyKey: string;
  request: unknown;
  /** An HTTP operation's declaration (src/host/http.ts): what the notary forwards and maps by. */
  http?: unknown;
  /** A status query's queried operation, by code (the notary signs it). */
  queried?: { code: number };
}

/** The attestation as it travels in JSON: field elements as decimal strings. */
export interface AttestationJson {
  publicKey: [string, string];
  signature: { R8: [string, string]; S: string };
}

/** The JSON body of a 200 answer to `POST /operations/:name`. */
export interface OperationResponseBody {
  response: unknown;
  attestation: AttestationJson;
  /**
   * A status query's answer TOOK_EFFECT (or REFUSED) only: the response the queried call got, whose
   * hash the signed answer carries (the host checks it).
   */
  original?: { response: unknown };
}

/** The JSON body of every non-200 answer. */
export interface ErrorBody {
  error: { code: string; message: string };
}
