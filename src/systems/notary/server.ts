import http from "node:http";
import { z } from "zod";
import { derivePublicKey, signMessage, toHex32, type PublicKey } from "../../crypto";
import {
  attestationToJson,
  describeZodError,
  HttpDeclarationSchema,
  httpRequestFields,
  httpResponseFields,
  httpTarget,
  idempotencyKeyOf,
  notaryStatus,
  NOTARY_SYSTEM,
  NOTARY_SYSTEM_CODE,
  OperationRequestBodySchema,
  type HttpDeclaration,
  type OperationResponseBody,
  type StatusQueryResponse,
} from "../../host";
import { createLogger, type Logger } from "../../project";
import { attestationMessage, CALL_SUCCEEDED, hashFields, SettleOutcome } from "../../trace";
import {
  allow,
  checkIdempotencyKey,
  HttpError,
  listenOn,
  parseJson,
  readBody,
  sendError,
  sendJson,
} from "../http";
import { NotaryJournal, type NotaryJournalRow } from "./journal";

export const DEFAULT_UPSTREAM_TIMEOUT_MS = 8_000;

export interface NotaryOptions {
  /** The upstream it forwards to: an http(s) base URL; a call's declared URL must lie under it. */
  upstream: string;
  privateKey: Uint8Array;
  /** The SQLite journal of what it forwarded and signed (survives restarts). */
  journalFile: string;
  /** Default 127.0.0.1 (loopback). */
  host?: string;
  /** Default 0 (any free port). */
  port?: number;
  /** How long it waits for the upstream, default 8 000 ms (below the host's default call timeout). */
  upstreamTimeoutMs?: number;
  logger?: Logger;
}

export interface RunningNotary {
  url: string;
  upstream: string;
  publicKey: PublicKey;
  /** Everything it journaled, oldest first. */
  journal(): NotaryJournalRow[];
  close(): Promise<void>;
}

export class NotaryConfigurationError extends Error {
  override name = "NotaryConfigurationError";
}

const StatusRequestSchema = z
  .object({
    callSeq: z
      .number()
      .int()
      .min(1)
      .max(2 ** 32 - 1),
    operation: z.string().min(1).max(100),
    requestHash: z.string().regex(/^(0|[1-9][0-9]{0,76})$/),
  })
  .strict();

/**
 * Starts the signing notary: a forwarding proxy in front of one upstream REST API that signs nothing.
 * For `POST /operations/<name>` (the host's envelope plus the call's HTTP declaration) it checks the
 * idempotency key is `workflowId:callSeq`, journals the request, forwards the exact request to the
 * upstream (header `Idempotency-Key: workflowId:callSeq`), maps the upstream's answer into the record's
 * fields by the declaration (src/host/http.ts), journals the signed answer and only then answers. A
 * retry under the key gets the journaled answer (never forwarded again); another request under it is
 * refused (409). `POST /operations/notary.status` answers, signed, what it did under a call's key
 * (src/host/status.ts). Also `GET /health`, `GET /key`, `GET /journal`.
 */
export async function startNotary(options: NotaryOptions): Promise<RunningNotary> {
  const notary = new NotaryServer(options, await derivePublicKey(options.privateKey));
  await notary.listen(options.host ?? "127.0.0.1", options.port ?? 0);
  return {
    url: notary.url,
    upstream: notary.upstream.href,
    publicKey: notary.publicKey,
    journal: () => notary.journal.list(),
    close: () => notary.close(),
  };
}

class NotaryServer {
  url = "";
  readonly upstream: URL;
  readonly journal: NotaryJournal;
  private readonly server: http.Server;
  private readonly logger: Logger;
  private readonly upstreamTimeoutMs: number;
  /** One request per key at a time (a retry waits for the attempt in flight). */
  private readonly locks = new Map<string, Promise<unknown>>();
  private closing?: Promise<void>;

  constructor(
    private readonly options: NotaryOptions,
    readonly publicKey: PublicKey,
  ) {
    let upstream: URL;
    try {
      upstream = new URL(options.upstream);
    } catch {
      throw new NotaryConfigurationError(`--upstream must be an http(s) URL, got "${options.upstream}"`);
    }
    if (upstream.protocol !== "http:" && upstream.protocol !== "https:")
      throw new NotaryConfigurationError(`--upstream must be an http(s) URL, got "${options.upstream}"`);
    if (upstream.search || upstream.hash)
      throw new NotaryConfigurationError(`--upstream carries no query or fragment: "${options.upstream}"`);
    if (!upstream.pathname.endsWith("/")) upstream.pathname += "/";
    this.upstream = upstream;
    this.upstreamTimeoutMs = options.upstreamTimeoutMs ?? DEFAULT_UPSTREAM_TIMEOUT_MS;
    this.logger = (options.logger ?? createLogger()).child({ component: "notary", upstream: upstream.href });
    this.journal = new NotaryJournal(options.journalFile);
    this.server = http.createServer((req, res) => void this.route(req, res));
  }

  async listen(host: string, port: number): Promise<void> {
    this.url = await listenOn(this.server, host, port);
  }

  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      this.server.close(() => {
        this.journal.close();
        resolve();
      });
      this.server.closeAllConnections();
    });
    return this.closing;
  }

  private async route(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    try {
      const { pathname } = new URL(req.url ?? "/", "http://localhost");
      const method = req.method ?? "GET";
      const operation = /^\/operations\/([^/]+)$/.exec(pathname);
      if (operation) {
        allow(method, ["POST"]);
        const name = decodeURIComponent(operation[1]);
        const envelope = parseJson(await readBody(req));
        sendJson(
          res,
          200,
          name === notaryStatus.name ? await this.status(envelope) : await this.call(name, envelope),
        );
      } else if (pathname === "/health") {
        allow(method, ["GET"]);
        sendJson(res, 200, { status: "ok", system: NOTARY_SYSTEM, upstream: this.upstream.href });
      } else if (pathname === "/key") {
        allow(method, ["GET"]);
        sendJson(res, 200, {
          system: NOTARY_SYSTEM,
          systemCode: NOTARY_SYSTEM_CODE,
          publicKey: [this.publicKey[0].toString(), this.publicKey[1].toString()],
        });
      } else if (pathname === "/journal") {
        allow(method, ["GET"]);
        sendJson(res, 200, this.journal.list());
      } else {
        throw new HttpError(404, "NOT_FOUND", `no route ${method} ${pathname}`);
      }
    } catch (error) {
      if (error instanceof HttpError) {
        sendError(res, error.status, error.code, error.message);
      } else {
        this.logger.error({ err: error }, "request failed");
        sendError(res, 500, "INTERNAL", (error as Error).message);
      }
    }
  }

  // ------------------------------------------------------------------ a call

  private async call(name: string, raw: unknown): Promise<OperationResponseBody> {
    const envelope = OperationRequestBodySchema.safeParse(raw);
    if (!envelope.success)
      throw new HttpError(400, "INVALID_ENVELOPE", describeZodError(envelope.error, "body"));
    const { workflowId, callSeq, idempotencyKey, request } = envelope.data;
    checkIdempotencyKey(workflowId, callSeq, idempotencyKey);
    const parsed = HttpDeclarationSchema.safeParse((raw as { http?: unknown }).http);
    if (!parsed.success) {
      throw new HttpError(400, "INVALID_DECLARATION", describeZodError(parsed.error, "body.http"));
    }
    const declaration = parsed.data;
    if (declaration.name !== name)
      throw new HttpError(
        400,
        "INVALID_DECLARATION",
        `the declaration is ${declaration.name}'s, not ${name}'s`,
      );
    this.checkUpstream(declaration.url);
    let requestFields: bigint[];
    let target: { url: string; body: string | undefined };
    try {
      target = httpTarget(declaration, request);
      requestFields = httpRequestFields(declaration, request);
    } catch (error) {
      throw new HttpError(400, "INVALID_REQUEST", (error as Error).message);
    }
    const requestHash = hashFields(requestFields).toString();
    return this.locked(idempotencyKey, async () => {
      const existing = this.journal.get(idempotencyKey);
      if (existing) {
        if (
          existing.state !== "fenced" &&
          (existing.kind !== "call" ||
            existing.operationCode !== declaration.code ||
            existing.requestHash !== requestHash)
        ) {
          throw new HttpError(
            409,
            "IDEMPOTENCY_CONFLICT",
            `idempotency key ${idempotencyKey} was used for another call (${existing.operationName}, another request): the notary signs one answer per call`,
          );
        }
        if (existing.state === "fenced") {
          throw new HttpError(
            409,
            "SETTLED_NO_EFFECT",
            `idempotency key ${idempotencyKey} was settled as never forwarded (status query): it is not forwarded now`,
          );
        }
        if (existing.state === "answered") {
          this.logger.debug({ idempotencyKey }, "replay: the journaled signed answer");
          return existing.body as OperationResponseBody;
        }
        if (existing.state === "unmappable") throw unmappable(existing);
        // forwarding: an earlier attempt got no answer; the same bytes go again under the same key.
        return this.forward(existing);
      }
      this.journal.insert({
        idempotencyKey,
        kind: "call",
        state: "forwarding",
        workflowId: toHex32(workflowId),
        callSeq,
        operationName: declaration.name,
        operationCode: declaration.code,
        requestHash,
        declaration,
        method: declaration.method,
        targetUrl: target.url,
        requestBody: target.body ?? null,
        request,
      });
      return this.forward(this.journal.get(idempotencyKey)!);
    });
  }

  /** Sends a journaled request to the upstream and keeps and signs its answer; unsigned errors otherwise. */
  private async forward(row: NotaryJournalRow): Promise<OperationResponseBody> {
    const declaration = row.declaration as HttpDeclaration;
    const log = this.logger.child({ idempotencyKey: row.idempotencyKey, operation: row.operationName });
    let status: number;
    let text: string;
    const signal = AbortSignal.timeout(this.upstreamTimeoutMs);
    try {
      const res = await fetch(row.targetUrl!, {
        method: row.method!,
        headers: {
          accept: "application/json",
          "idempotency-key": row.idempotencyKey,
          ...(row.requestBody !== null ? { "content-type": "application/json" } : {}),
        },
        ...(row.requestBody !== null ? { body: row.requestBody } : {}),
        redirect: "manual",
        signal,
      });
      status = res.status;
      text = await res.text();
    } catch (cause) {
      const why = signal.aborted
        ? `no answer within ${this.upstreamTimeoutMs} ms`
        : ((cause as { cause?: { code?: string } }).cause?.code ?? (cause as Error).message);
      log.warn({ why }, "upstream unreachable");
      throw new HttpError(
        502,
        "UPSTREAM_UNREACHABLE",
        `the upstream ${this.upstream.origin} did not answer: ${why}`,
      );
    }
    // Not an answer to sign: the outcome stays open (a retry or a status query forwards it again).
    if (status >= 500 || status === 408 || status === 429 || (status >= 300 && status < 400)) {
      log.warn({ status }, "upstream answered no outcome");
      throw new HttpError(
        502,
        "UPSTREAM_ERROR",
        `the upstream answered HTTP ${status} (no outcome to sign: try again under the same key)`,
      );
    }
    const upstreamAnswer = { url: row.targetUrl!, status, text };
    let responseFields: bigint[];
    try {
      responseFields = httpResponseFields(declaration, upstreamAnswer);
    } catch (error) {
      this.journal.answer({ idempotencyKey: row.idempotencyKey, state: "unmappable", upstreamAnswer });
      log.warn({ status, err: error }, "upstream answer cannot be mapped: kept, not signed");
      throw unmappable({ ...row, upstreamAnswer });
    }
    const responseHash = hashFields(responseFields);
    const message = attestationMessage({
      workflowId: BigInt(row.workflowId),
      callSeq: row.callSeq,
      operation: row.operationCode,
      requestHash: BigInt(row.requestHash),
      responseHash,
    });
    const signature = await signMessage(this.options.privateKey, message);
    const body: OperationResponseBody = {
      response: upstreamAnswer,
      attestation: attestationToJson(this.publicKey, signature),
    };
    // Kept before it leaves; a key that already holds an answer keeps it (never a second one).
    if (
      !this.journal.answer({
        idempotencyKey: row.idempotencyKey,
        state: "answered",
        upstreamAnswer,
        body,
        responseHash: responseHash.toString(),
      })
    ) {
      const held = this.journal.get(row.idempotencyKey)!;
      if (held.state === "answered") return held.body as OperationResponseBody;
      throw new HttpError(
        409,
        "IDEMPOTENCY_CONFLICT",
        `idempotency key ${row.idempotencyKey} is ${held.state}`,
      );
    }
    log.info(
      { status, outcome: responseFields[0] === CALL_SUCCEEDED ? "succeeded" : "refused" },
      "forwarded and signed",
    );
    return body;
  }

  // ------------------------------------------------------------------ its status query

  private async status(raw: unknown): Promise<OperationResponseBody> {
    const envelope = OperationRequestBodySchema.safeParse(raw);
    if (!envelope.success)
      throw new HttpError(400, "INVALID_ENVELOPE", describeZodError(envelope.error, "body"));
    const { workflowId, callSeq, idempotencyKey } = envelope.data;
    checkIdempotencyKey(workflowId, callSeq, idempotencyKey);
    const query = StatusRequestSchema.safeParse(envelope.data.request);
    if (!query.success) throw new HttpError(400, "INVALID_REQUEST", describeZodError(query.error, "request"));
    const code = z
      .number()
      .int()
      .positive()
      .safeParse((raw as { queried?: { code?: unknown } }).queried?.code);
    if (!code.success)
      throw new HttpError(400, "INVALID_REQUEST", "body.queried.code: the queried operation's code");
    const { callSeq: queriedSeq, operation, requestHash } = query.data;
    if (queriedSeq === callSeq)
      throw new HttpError(400, "INVALID_REQUEST", "a status query cannot query its own call");
    const queriedKey = idempotencyKeyOf(workflowId, queriedSeq);
    const statusFields = [BigInt(queriedSeq), BigInt(code.data), BigInt(requestHash), 0n];
    const statusRequestHash = hashFields(statusFields).toString();

    return this.locked(idempotencyKey, async () => {
      const own = this.journal.get(idempotencyKey);
      if (own?.state === "answered") {
        if (own.kind !== "status" || own.requestHash !== statusRequestHash)
          throw new HttpError(
            409,
            "IDEMPOTENCY_CONFLICT",
            `idempotency key ${idempotencyKey} was used for another call`,
          );
        return own.body as OperationResponseBody;
      }
      if (own && (own.kind !== "status" || own.requestHash !== statusRequestHash))
        throw new HttpError(
          409,
          "IDEMPOTENCY_CONFLICT",
          `idempotency key ${idempotencyKey} was used for another call`,
        );
      const { answer, original } = await this.locked(queriedKey, () =>
        this.outcomeOf({ workflowId, queriedKey, queriedSeq, operation, code: code.data, requestHash }),
      );
      const responseFields = [
        BigInt(SettleOutcome[answer.outcome]),
        answer.outcome === "NO_EFFECT" ? 0n : BigInt(answer.responseHash),
        0n,
        0n,
      ];
      const responseHash = hashFields(responseFields);
      const signature = await signMessage(
        this.options.privateKey,
        attestationMessage({
          workflowId,
          callSeq,
          operation: notaryStatus.code,
          requestHash: BigInt(statusRequestHash),
          responseHash,
        }),
      );
      const body: OperationResponseBody = {
        response: answer,
        attestation: attestationToJson(this.publicKey, signature),
        ...(original !== undefined ? { original: { response: original } } : {}),
      };
      if (!own) {
        this.journal.insert({
          idempotencyKey,
          kind: "status",
          state: "forwarding",
          workflowId: toHex32(workflowId),
          callSeq,
          operationName: notaryStatus.name,
          operationCode: notaryStatus.code,
          requestHash: statusRequestHash,
          declaration: null,
          method: null,
          targetUrl: null,
          requestBody: null,
          request: query.data,
        });
      }
      this.journal.answer({ idempotencyKey, state: "answered", body, responseHash: responseHash.toString() });
      return this.journal.get(idempotencyKey)!.body as OperationResponseBody;
    });
  }

  /** What the notary did under a call's key; an open outcome is forwarded again first. */
  private async outcomeOf(args: {
    workflowId: bigint;
    queriedKey: string;
    queriedSeq: number;
    operation: string;
    code: number;
    requestHash: string;
  }): Promise<{ answer: StatusQueryResponse; original?: unknown }> {
    let row = this.journal.get(args.queriedKey);
    if (!row) {
      // Never forwarded: say so, signed, and never forward it from now on.
      this.journal.insert({
        idempotencyKey: args.queriedKey,
        kind: "call",
        state: "fenced",
        workflowId: toHex32(args.workflowId),
        callSeq: args.queriedSeq,
        operationName: args.operation,
        operationCode: args.code,
        requestHash: args.requestHash,
        declaration: null,
        method: null,
        targetUrl: null,
        requestBody: null,
        request: null,
      });
      return { answer: { outcome: "NO_EFFECT" } };
    }
    if (
      row.kind !== "call" ||
      row.operationName !== args.operation ||
      row.operationCode !== args.code ||
      row.requestHash !== args.requestHash
    ) {
      throw new HttpError(
        409,
        "IDEMPOTENCY_CONFLICT",
        `idempotency key ${args.queriedKey} holds another call than the one queried`,
      );
    }
    if (row.state === "fenced") return { answer: { outcome: "NO_EFFECT" } };
    if (row.state === "forwarding") {
      try {
        await this.forward(row);
      } catch (error) {
        if (error instanceof HttpError && error.code !== "UPSTREAM_ANSWER_UNMAPPABLE") {
          throw new HttpError(
            503,
            "OUTCOME_UNKNOWN",
            `the outcome of ${args.queriedKey} is not known yet: ${error.message}`,
          );
        }
        if (!(error instanceof HttpError)) throw error;
      }
      row = this.journal.get(args.queriedKey)!;
    }
    if (row.state === "unmappable") {
      throw new HttpError(
        409,
        "OUTCOME_UNREADABLE",
        `${unmappable(row).message}: its outcome needs a person`,
      );
    }
    const signed = row.body as OperationResponseBody;
    const responseFields = httpResponseFields(
      row.declaration as HttpDeclaration,
      row.upstreamAnswer as { url: string; status: number; text: string },
    );
    const outcome = responseFields[0] === CALL_SUCCEEDED ? "TOOK_EFFECT" : "REFUSED";
    return { answer: { outcome, responseHash: row.responseHash! }, original: signed.response };
  }

  private checkUpstream(url: string): void {
    const target = new URL(url);
    if (target.origin !== this.upstream.origin || !target.pathname.startsWith(this.upstream.pathname)) {
      throw new HttpError(
        403,
        "NOT_THIS_UPSTREAM",
        `this notary forwards only to ${this.upstream.href}, not to ${url}`,
      );
    }
  }

  private locked<T>(key: string, task: () => Promise<T>): Promise<T> {
    const before = this.locks.get(key) ?? Promise.resolve();
    const run = before.then(task, task);
    const settled = run.catch(() => undefined);
    this.locks.set(key, settled);
    void settled.then(() => {
      if (this.locks.get(key) === settled) this.locks.delete(key);
    });
    return run;
  }
}

function unmappable(row: Pick<NotaryJournalRow, "operationName" | "upstreamAnswer">): HttpError {
  const answer = row.upstreamAnswer as { status?: number } | null;
  return new HttpError(
    502,
    "UPSTREAM_ANSWER_UNMAPPABLE",
    `the upstream answered ${row.operationName} with HTTP ${answer?.status ?? "?"} and a body its declaration cannot map (kept in the notary's journal, not signed)`,
  );
}
