import { SNARK_SCALAR_FIELD, toHex32, verifySignature, type PublicKey } from "../crypto";
import { createLogger, type Logger } from "../project";
import {
  attestationMessage,
  CALL_SUCCEEDED,
  hashFields,
  type CallRecord,
  type ProviderKey,
  type ProviderSet,
  type SystemName,
} from "../trace";
import {
  AttestationError,
  CallRejectedError,
  CallTimeoutError,
  HostConfigurationError,
  InvalidRequestError,
  InvalidResponseError,
  SystemUnavailableError,
  type CallIdentity,
} from "./errors";
import {
  AttestationJsonSchema,
  describeZodError,
  ErrorBodySchema,
  idempotencyKeyOf,
  OperationResponseBodySchema,
} from "./protocol";
import { isHttpOperation, NOTARY_SYSTEM } from "./http";
import type {
  AnyOperationSpec,
  CallArgs,
  CallResult,
  HostInterfaceOptions,
  OperationRequestBody,
  StatusOperationSpec,
  StatusQueryResponse,
} from "./types";

/** What a status query settled (HostInterface.settle). */
export interface SettleResult {
  /** The status query's own attested call: its answer is what the system did under the queried key. */
  query: CallResult<StatusQueryResponse>;
  /**
   * TOOK_EFFECT (and REFUSED, when the system shows it): the queried call's response, checked to be
   * one of its operation's responses whose hash is the one the status answer signed.
   */
  original?: { response: unknown; responseFields: bigint[] };
}

export const DEFAULT_CALL_TIMEOUT_MS = 10_000;

let defaultLogger: Logger | undefined;

/**
 * The only way a run talks to external systems. Each call gets the next callSeq (1, 2, ...) and the
 * idempotency key `${toHex32(workflowId)}:${callSeq}`; its request is checked against the
 * operation's schema before anything is sent; the answer is checked against the response schema;
 * and the system's EdDSA-Poseidon signature over
 * `Poseidon(workflowId, callSeq, operation, requestHash, responseHash)` must verify under the key
 * registered for that system in the provider set (never a key the answer merely claims). Only then
 * is the call recorded and its response handed to the step.
 *
 * A business refusal (e.g. a declined payment) is a valid, signed answer with status != 1: it is
 * returned and recorded like any other; the executor decides what it means for the run.
 */
export class HostInterface {
  readonly workflowId: bigint;
  readonly timeoutMs: number;
  private readonly endpoints: Partial<Record<SystemName, string>>;
  private readonly providers: ProviderSet;
  private readonly logger: Logger;
  private lastCallSeq = 0;
  private readonly records = new Map<number, CallRecord>();

  constructor(opts: HostInterfaceOptions) {
    if (opts.workflowId < 0n || opts.workflowId >= SNARK_SCALAR_FIELD) {
      throw new RangeError(`workflowId must be a field element, got ${opts.workflowId}`);
    }
    const timeoutMs = opts.timeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
    if (!Number.isSafeInteger(timeoutMs) || timeoutMs <= 0) {
      throw new RangeError(`timeoutMs must be a positive integer, got ${timeoutMs}`);
    }
    for (const [system, url] of Object.entries(opts.endpoints)) {
      if (url === undefined) continue;
      const protocol = safeProtocol(url);
      if (protocol !== "http:" && protocol !== "https:") {
        throw new RangeError(`endpoint of ${system} is not an http(s) URL: "${url}"`);
      }
    }
    this.workflowId = opts.workflowId;
    this.timeoutMs = timeoutMs;
    this.endpoints = { ...opts.endpoints };
    this.providers = opts.providers;
    defaultLogger ??= createLogger();
    this.logger = (opts.logger ?? defaultLogger).child({
      component: "host",
      workflowId: toHex32(opts.workflowId),
    });
  }

  /** The attested calls of the run, in callSeq order. */
  get calls(): readonly CallRecord[] {
    return [...this.records.values()].sort((a, b) => a.callSeq - b.callSeq);
  }

  /** The callSeq the next new call gets (so an executor can journal it before sending). */
  get nextCallSeq(): number {
    return this.lastCallSeq + 1;
  }

  async call<Req, Res>(args: CallArgs<Req, Res>): Promise<CallResult<Res>> {
    return (await this.exchange(args)).result;
  }

  /**
   * Asks `status` (the system's status query) what the system did under the idempotency key of
   * the earlier call `queried` (its callSeq and request fields, of operation `of`), as a call of its
   * own (its own callSeq, attested and recorded like any call). A TOOK_EFFECT answer must carry the
   * queried call's response (`original`), which must be one of `of`'s responses, hash to the
   * signed responseHash and say "succeeded"; a REFUSED answer's, when it shows one, must hash to it
   * and not say "succeeded"; a NO_EFFECT answer shows none. Otherwise InvalidResponseError.
   */
  async settle(args: {
    status: StatusOperationSpec;
    of: AnyOperationSpec;
    queried: { callSeq: number; requestFields: readonly bigint[] };
    stepIndex: number;
    callSeq?: number;
    timeoutMs?: number;
  }): Promise<SettleResult> {
    const { status, of, queried } = args;
    const identity: CallIdentity = {
      system: status.system,
      operation: status.name,
      callSeq: args.callSeq ?? this.lastCallSeq + 1,
    };
    if (!status.settles().includes(of)) {
      throw new HostConfigurationError(`${status.name} does not settle ${of.name}`, identity);
    }
    if (queried.callSeq === identity.callSeq) {
      throw new HostConfigurationError(`a status query cannot query its own call`, identity);
    }
    const { result, original } = await this.exchange({
      operation: status,
      request: {
        callSeq: queried.callSeq,
        operation: of.name,
        requestHash: hashFields(queried.requestFields).toString(),
      },
      stepIndex: args.stepIndex,
      callSeq: args.callSeq,
      timeoutMs: args.timeoutMs,
      // The queried operation by code: a system that knows its operations by name ignores it; the
      // notary, which serves operations declared in workflow files, signs the code it is given.
      extra: { queried: { code: of.code } },
    });
    const answer = result.response;
    const bad = (why: string) =>
      new InvalidResponseError(`the status answer ${answer.outcome} ${why}`, identity);
    if (answer.outcome === "NO_EFFECT") {
      if (original) throw bad("shows a response");
      return { query: result };
    }
    if (!original) {
      if (answer.outcome === "TOOK_EFFECT") throw bad("shows no response of the queried call");
      return { query: result };
    }
    const parsed = of.responseSchema.safeParse(original.response);
    if (!parsed.success)
      throw bad(`shows no ${of.name} response: ${describeZodError(parsed.error, "original")}`);
    let responseFields: bigint[];
    try {
      responseFields = of.encodeResponse(parsed.data);
    } catch (cause) {
      throw bad(`shows a response that cannot be encoded: ${(cause as Error).message}`);
    }
    if (hashFields(responseFields).toString() !== answer.responseHash) {
      throw bad("shows a response whose hash is not the one it signed");
    }
    if ((responseFields[0] === CALL_SUCCEEDED) !== (answer.outcome === "TOOK_EFFECT")) {
      throw bad(`shows a response whose status is ${responseFields[0]}`);
    }
    return { query: result, original: { response: parsed.data, responseFields } };
  }

  private async exchange<Req, Res>(
    args: CallArgs<Req, Res> & { extra?: Record<string, unknown> },
  ): Promise<{ result: CallResult<Res>; original?: { response: unknown } }> {
    const { operation, stepIndex } = args;
    const callSeq = args.callSeq ?? this.lastCallSeq + 1;
    const identity: CallIdentity = { system: operation.system, operation: operation.name, callSeq };

    if (!Number.isSafeInteger(callSeq) || callSeq < 1) {
      throw new HostConfigurationError(`callSeq must be a positive integer, got ${callSeq}`, identity);
    }
    const timeoutMs = args.timeoutMs ?? this.timeoutMs;
    if (!Number.isSafeInteger(timeoutMs) || timeoutMs <= 0) {
      throw new HostConfigurationError(`timeoutMs must be a positive integer, got ${timeoutMs}`, identity);
    }
    if (!Number.isSafeInteger(stepIndex) || stepIndex < 0) {
      throw new HostConfigurationError(
        `stepIndex must be a non-negative integer, got ${stepIndex}`,
        identity,
      );
    }

    // 1. The request: typed and encodable, or nothing is sent.
    const parsedRequest = operation.requestSchema.safeParse(args.request);
    if (!parsedRequest.success) {
      throw new InvalidRequestError(describeZodError(parsedRequest.error, "request"), identity, {
        cause: parsedRequest.error,
      });
    }
    const request = parsedRequest.data;
    let requestFields: bigint[];
    let requestHash: bigint;
    try {
      requestFields = operation.encodeRequest(request);
      requestHash = hashFields(requestFields);
    } catch (cause) {
      throw new InvalidRequestError(`cannot encode the request: ${(cause as Error).message}`, identity, {
        cause,
      });
    }

    // 2. Where to send it and whose signature to expect.
    const baseUrl = this.endpoints[operation.system];
    if (!baseUrl)
      throw new HostConfigurationError(
        operation.system === NOTARY_SYSTEM
          ? `no notary configured: start \`wesflow notary --upstream URL\` and set WESFLOW_NOTARY_URL to where it listens`
          : `no endpoint configured for system ${operation.system}`,
        identity,
      );
    const registered = this.providers.keyOf(operation.system);
    if (!registered) {
      throw new AttestationError(
        `system ${operation.system} has no key in the provider set: its answers could not be attested`,
        identity,
        "unregistered-system",
      );
    }
    const earlier = this.records.get(callSeq);
    if (earlier && (earlier.operation !== operation.code || earlier.requestHash !== requestHash)) {
      throw new HostConfigurationError(
        `callSeq ${callSeq} was already used by ${earlier.operationName} with another request`,
        identity,
      );
    }

    // 3. Send (the callSeq is used from here on: a retry must reuse it).
    this.lastCallSeq = Math.max(this.lastCallSeq, callSeq);
    const idempotencyKey = idempotencyKeyOf(this.workflowId, callSeq);
    const log = this.logger.child({
      callSeq,
      system: operation.system,
      operation: operation.name,
      stepIndex,
    });
    const body: OperationRequestBody = {
      workflowId: toHex32(this.workflowId),
      callSeq,
      idempotencyKey,
      request,
      ...args.extra,
      // An HTTP operation's declaration goes with it: the notary maps and forwards by it.
      ...(isHttpOperation(operation) ? { http: operation.http } : {}),
    };
    const url = new URL(`operations/${encodeURIComponent(operation.name)}`, baseUrl.replace(/\/?$/, "/"));
    log.debug({ url: url.href, idempotencyKey }, "sending call");
    const started = performance.now();
    try {
      const answer = await this.send(url, body, identity, timeoutMs);

      // 4. The answer: typed, encodable, and signed by the registered key.
      const envelope = OperationResponseBodySchema.safeParse(answer);
      if (!envelope.success) {
        throw new InvalidResponseError(describeZodError(envelope.error, "answer"), identity, {
          cause: envelope.error,
        });
      }
      const parsedResponse = operation.responseSchema.safeParse(envelope.data.response);
      if (!parsedResponse.success) {
        throw new InvalidResponseError(describeZodError(parsedResponse.error, "response"), identity, {
          cause: parsedResponse.error,
        });
      }
      const response = parsedResponse.data;
      let responseFields: bigint[];
      let responseHash: bigint;
      try {
        responseFields = operation.encodeResponse(response);
        responseHash = hashFields(responseFields);
      } catch (cause) {
        throw new InvalidResponseError(`cannot encode the response: ${(cause as Error).message}`, identity, {
          cause,
        });
      }
      const attestation = AttestationJsonSchema.safeParse(envelope.data.attestation);
      if (!attestation.success) {
        throw new AttestationError(
          `the answer has no well-formed attestation: ${describeZodError(attestation.error, "attestation")}`,
          identity,
          "missing",
          { cause: attestation.error },
        );
      }
      const { publicKey: claimedKey, signature } = attestation.data;
      this.checkClaimedKey(claimedKey, registered, identity);
      const message = attestationMessage({
        workflowId: this.workflowId,
        callSeq,
        operation: operation.code,
        requestHash,
        responseHash,
      });
      if (!(await verifySignature(message, signature, registered.publicKey))) {
        throw new AttestationError(
          `the signature does not verify under the key registered for ${operation.system}`,
          identity,
          "bad-signature",
        );
      }

      // 5. Record it.
      const record: CallRecord = {
        callSeq,
        stepIndex,
        system: operation.system,
        operation: operation.code,
        operationName: operation.name,
        idempotencyKey,
        requestHash,
        responseHash,
        requestJson: request,
        responseJson: response,
        attestation: {
          system: registered.system,
          systemCode: registered.systemCode,
          publicKey: registered.publicKey,
          signature,
        },
      };
      if (earlier && earlier.responseHash !== responseHash) {
        throw new InvalidResponseError(
          `the system answered idempotency key ${idempotencyKey} differently than before`,
          identity,
        );
      }
      this.records.set(callSeq, record);
      log.debug(
        { status: responseFields[0].toString(), ms: Math.round(performance.now() - started) },
        "call attested and recorded",
      );
      const original = envelope.data.original && { response: envelope.data.original.response };
      return { result: { response, requestFields, responseFields, record }, original };
    } catch (error) {
      log.warn({ err: error, ms: Math.round(performance.now() - started) }, "call failed");
      throw error;
    }
  }

  private async send(
    url: URL,
    body: OperationRequestBody,
    identity: CallIdentity,
    timeoutMs: number,
  ): Promise<unknown> {
    const signal = AbortSignal.timeout(timeoutMs);
    let status: number;
    let text: string;
    try {
      const res = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json" },
        body: JSON.stringify(body),
        signal,
      });
      status = res.status;
      text = await res.text();
    } catch (cause) {
      if (signal.aborted) throw new CallTimeoutError(identity, timeoutMs, { cause });
      throw new SystemUnavailableError(
        `cannot reach ${url.origin}: ${networkReason(cause)}`,
        identity,
        undefined,
        {
          cause,
        },
      );
    }

    let json: unknown;
    let jsonError: unknown;
    try {
      json = JSON.parse(text);
    } catch (cause) {
      jsonError = cause;
    }
    if (status === 200) {
      if (jsonError !== undefined) {
        throw new InvalidResponseError("the answer is not JSON", identity, { cause: jsonError });
      }
      return json;
    }
    const problem = ErrorBodySchema.safeParse(json);
    const detail = problem.success
      ? `${problem.data.error.code}: ${problem.data.error.message}`
      : text.slice(0, 200);
    // 408 and 429 say "try again later", like 5xx; every other 4xx is final.
    if (status >= 500 || status === 408 || status === 429) {
      throw new SystemUnavailableError(`HTTP ${status} ${detail}`, identity, status);
    }
    if (status >= 400) {
      throw new CallRejectedError(
        `HTTP ${status} ${detail}`,
        identity,
        status,
        problem.success ? problem.data.error.code : undefined,
      );
    }
    throw new InvalidResponseError(`unexpected HTTP status ${status}`, identity);
  }

  private checkClaimedKey(claimed: PublicKey, registered: ProviderKey, identity: CallIdentity): void {
    if (sameKey(claimed, registered.publicKey)) return;
    const owner = this.providers.providers.find((p) => sameKey(p.publicKey, claimed));
    if (owner) {
      throw new AttestationError(
        `the answer is signed with the key of ${owner.system}, not the key registered for ${identity.system}`,
        identity,
        "key-mismatch",
      );
    }
    throw new AttestationError(
      `the answer claims key (${claimed[0]}, ${claimed[1]}), which is not in the provider set`,
      identity,
      "unknown-key",
    );
  }
}

function sameKey(a: PublicKey, b: PublicKey): boolean {
  return a[0] === b[0] && a[1] === b[1];
}

function safeProtocol(url: string): string | undefined {
  try {
    return new URL(url).protocol;
  } catch {
    return undefined;
  }
}

/** undici's "fetch failed" hides the reason in `cause` (ECONNREFUSED, ECONNRESET, ...). */
function networkReason(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error as Error).message ?? String(error);
}
