import type { PublicKey } from "../crypto";
import type { AnyOperationSpec, OperationSpec, StatusOperationSpec } from "../host";
import type { Logger } from "../project";
import type { SystemName } from "../trace";

/**
 * What a simulated system can be told to do wrong, per operation:
 * - `error`: answer HTTP 503, perform nothing;
 * - `timeout`: hang before doing anything (hold the request, default 60 s, ended by close());
 * - `timeout-after-effect`: perform the effect, then hold the answer: only the answer is lost (a
 *   retry under the same idempotency key gets the original answer, a status query says TOOK_EFFECT);
 * - `decline`: the business refuses: a valid signed answer with a non-success status (the handler
 *   gets `ctx.decline`); applies to new effects only, never to a replay (nor to a status query);
 * - `bad-signature`: perform nothing, and answer what the operation would answer with the
 *   registered key's signature over a different message (a garbled answer: no evidence);
 * - `bad-signature-after-effect`: perform the effect, then answer it with that bad signature;
 * - `unknown-key`: perform the effect, then sign the right message with a fresh key that is in no
 *   provider set (a key rotated mid-call).
 * After every kind but `decline` the call has no usable answer: the executor settles its outcome
 * with the system's status query (src/host/status.ts), which these faults do not touch unless they
 * name it (`operation: "payment.status"`).
 */
export type FaultKind =
  | "error"
  | "timeout"
  | "timeout-after-effect"
  | "decline"
  | "bad-signature"
  | "bad-signature-after-effect"
  | "unknown-key";

export interface Fault {
  /** The operation name (e.g. "payment.charge"); omitted: every operation of the system. */
  operation?: string;
  kind: FaultKind;
  /**
   * With `decline` and an operation: one of the operation's named `refusals` (e.g. bank.statement's
   * "mismatch"), which its handler answers instead of its plain refusal.
   */
  refusal?: string;
  /** How many calls it affects, default 1. */
  times?: number;
  /** Only calls of this workflow (toHex32 of its id); omitted: every workflow's. */
  workflowId?: string;
}

export interface OperationContext {
  /** 0x-prefixed 32-byte hex. */
  workflowId: string;
  callSeq: number;
  idempotencyKey: string;
  /** 1-based position of this effect in the system's ledger. */
  sequence: number;
  /** A `decline` fault applies: return the business's refusal (a non-success status). */
  decline: boolean;
  /** With `decline`: the named refusal the fault asks for (one of the operation spec's `refusals`). */
  refusal?: string;
  /**
   * The effects performed so far, oldest first (a snapshot): a handler derives its state from it
   * (e.g. a refund looks up the capture it refunds), so the state survives a restart when the
   * system keeps its effects in a store file.
   */
  ledger: readonly LedgerEntry[];
}

/**
 * Thrown by a handler that refuses a request it cannot answer at all (not the business's signed
 * refusal, which is a response with a non-success status): the server answers HTTP 422 with `code`
 * and the message, performs and records nothing, and the host does not retry it. E.g. the SQL
 * gateway's query whose rows do not fit the fields.
 */
export class OperationRefusal extends Error {
  override name = "OperationRefusal";
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Performs one operation's effect and returns its response (checked with the spec's response schema). */
export type OperationHandler = (request: unknown, ctx: OperationContext) => unknown;

/** A handler typed by its spec: the request it gets has passed the request schema. */
export function operationHandler<Req, Res>(
  _spec: OperationSpec<Req, Res>,
  perform: (request: Req, ctx: OperationContext) => Res | Promise<Res>,
): OperationHandler {
  return (request, ctx) => perform(request as Req, ctx);
}

/** One performed effect, as `GET /ledger` lists it. */
export interface LedgerEntry {
  idempotencyKey: string;
  operation: string;
  workflowId: string;
  callSeq: number;
  request: unknown;
  response: unknown;
  /** ISO 8601 time the effect was performed. */
  at: string;
}

export interface SimulatedSystemOptions {
  system: SystemName;
  /** The system's code (its module's `code`): what its key's entry in a provider set carries. */
  systemCode: number;
  privateKey: Uint8Array;
  /** The effect of each operation, by operation name; every name needs a spec in `specs`. */
  operations: Record<string, OperationHandler>;
  specs: readonly AnyOperationSpec[];
  /**
   * The system's status query (one of `specs`, with no handler): the server answers it from its own
   * effects, signed, and fences a key it answers NO_EFFECT for. Omitted: no status query is served.
   */
  status?: StatusOperationSpec;
  /** Default 127.0.0.1 (loopback). */
  host?: string;
  /** Default 0 (any free port). */
  port?: number;
  /** How long a `timeout` fault holds the answer, default 60 000 ms. */
  timeoutHoldMs?: number;
  /**
   * A SQLite file where the system keeps its effects (and so its signed answers): with it, the
   * system answers a repeated idempotency key with the original response even after a restart.
   * Default: in memory only.
   */
  storeFile?: string;
  logger?: Logger;
  /**
   * Called with each effect once it is kept (stored), before its answer leaves: the simulated world
   * around a system reacting to what it did (the supply chain's lab inspects a lot the ERP produced,
   * so its result is in the lab's database by the time a workflow reads it). Not called for replays,
   * status queries or effects not kept. An error it throws is logged; the answer is sent regardless.
   */
  onEffect?: (entry: LedgerEntry) => Promise<void> | void;
}

export interface SimulatedSystem {
  system: SystemName;
  /** Base URL, e.g. http://127.0.0.1:40123 */
  url: string;
  publicKey: PublicKey;
  ledger(): LedgerEntry[];
  injectFault(fault: Fault): void;
  clearFaults(): void;
  /** Stops the server and ends pending (held) requests. */
  close(): Promise<void>;
}
