import type { OperationName, SystemName } from "../trace";

/** Which call an error is about. `callSeq` is the call's sequence number in the run. */
export interface CallIdentity {
  system: SystemName;
  operation: OperationName;
  callSeq: number;
}

/**
 * A call through the host interface failed. `retryable` says whether sending the same call again
 * (same callSeq, so same idempotency key) may succeed; the executor's retry policy reads it.
 */
export abstract class HostCallError extends Error {
  abstract readonly retryable: boolean;
  readonly system: SystemName;
  readonly operation: OperationName;
  readonly callSeq: number;

  constructor(message: string, identity: CallIdentity, options?: { cause?: unknown }) {
    super(`${identity.operation} (call ${identity.callSeq}): ${message}`, options);
    this.system = identity.system;
    this.operation = identity.operation;
    this.callSeq = identity.callSeq;
  }
}

/** No answer within the timeout. The system may or may not have performed the effect: retry with the same callSeq. */
export class CallTimeoutError extends HostCallError {
  override name = "CallTimeoutError";
  readonly retryable = true;

  constructor(
    identity: CallIdentity,
    readonly timeoutMs: number,
    options?: { cause?: unknown },
  ) {
    super(`no answer within ${timeoutMs} ms`, identity, options);
  }
}

/** The system could not be reached (connection refused or reset) or answered 5xx (or 408/429). */
export class SystemUnavailableError extends HostCallError {
  override name = "SystemUnavailableError";
  readonly retryable = true;

  constructor(
    message: string,
    identity: CallIdentity,
    /** The HTTP status, when there was an answer. */
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, identity, options);
  }
}

/** The system refused the call (HTTP 4xx): sending it again gives the same answer. */
export class CallRejectedError extends HostCallError {
  override name = "CallRejectedError";
  readonly retryable = false;

  constructor(
    message: string,
    identity: CallIdentity,
    readonly status: number,
    /** The system's error code, e.g. "INVALID_REQUEST" or "IDEMPOTENCY_CONFLICT". */
    readonly code?: string,
    options?: { cause?: unknown },
  ) {
    super(message, identity, options);
  }
}

/** The answer is not what the operation's response schema (or the protocol) says it must be. */
export class InvalidResponseError extends HostCallError {
  override name = "InvalidResponseError";
  readonly retryable = false;
}

export type AttestationFailure =
  /** The answer carries no well-formed attestation. */
  | "missing"
  /** The system has no key in the provider set. */
  | "unregistered-system"
  /** The claimed key is in no provider set entry. */
  | "unknown-key"
  /** The claimed key is registered, but for another system. */
  | "key-mismatch"
  /** The signature does not verify under the key registered for the system. */
  | "bad-signature";

/** The answer's attestation is not valid evidence. Never retried: the answer is not accepted. */
export class AttestationError extends HostCallError {
  override name = "AttestationError";
  readonly retryable = false;

  constructor(
    message: string,
    identity: CallIdentity,
    readonly reason: AttestationFailure,
    options?: { cause?: unknown },
  ) {
    super(message, identity, options);
  }
}

/**
 * The request failed the operation's request schema or could not be encoded into field elements.
 * Nothing was sent and no callSeq was used up: `callSeq` is the one the call would have had.
 */
export class InvalidRequestError extends HostCallError {
  override name = "InvalidRequestError";
  readonly retryable = false;
}

/** The host is not set up for the call: no endpoint for the system, or an inconsistent operation spec. */
export class HostConfigurationError extends HostCallError {
  override name = "HostConfigurationError";
  readonly retryable = false;
}
