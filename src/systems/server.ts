import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import Database from "better-sqlite3";
import { z } from "zod";
import { derivePublicKey, newPrivateKey, poseidon, signMessage, toHex32, type PublicKey } from "../crypto";
import {
  attestationToJson,
  describeZodError,
  idempotencyKeyOf,
  OperationRequestBodySchema,
  ReceiptRequestBodySchema,
  type ReceiptResponseBody,
  type AnyOperationSpec,
  type OperationResponseBody,
  type StatusOperationSpec,
  type StatusQueryRequest,
  type StatusQueryResponse,
} from "../host";
import { createLogger, type Logger } from "../project";
import {
  attestationMessage,
  CALL_SUCCEEDED,
  hashFields,
  receiptChain,
  receiptMessage,
  type SystemName,
} from "../trace";
import {
  allow,
  checkIdempotencyKey,
  HttpError,
  listenOn,
  parseJson,
  readBody,
  sendError,
  sendJson,
} from "./http";
import { OperationRefusal } from "./types";
import type {
  Fault,
  FaultKind,
  LedgerEntry,
  OperationContext,
  OperationHandler,
  SimulatedSystem,
  SimulatedSystemOptions,
} from "./types";

const DEFAULT_TIMEOUT_HOLD_MS = 60_000;
export const FAULT_KINDS = [
  "error",
  "timeout",
  "timeout-after-effect",
  "decline",
  "bad-signature",
  "bad-signature-after-effect",
  "unknown-key",
] as const satisfies readonly FaultKind[];

export const FaultSchema = z
  .object({
    operation: z.string().min(1).optional(),
    kind: z.enum(FAULT_KINDS),
    refusal: z
      .string()
      .regex(/^[a-z][a-z-]*$/, "a refusal is named in lower-case letters and dashes")
      .optional(),
    times: z.number().int().positive().max(1_000_000).optional(),
    workflowId: z
      .string()
      .regex(/^0x[0-9a-f]{64}$/, "workflowId is toHex32 of the workflow id")
      .optional(),
  })
  .strict();

export class SimulatedSystemError extends Error {
  override name = "SimulatedSystemError";
}

interface StoredEffect {
  entry: LedgerEntry;
  workflowId: bigint;
  /** JSON of the validated request, to tell a replay from a reuse of the key for another call. */
  requestJson: string;
  message: bigint;
  body: OperationResponseBody;
}

interface ActiveFault {
  operation?: string;
  workflowId?: string;
  kind: FaultKind;
  refusal?: string;
  remaining: number;
}

interface HeldAnswer {
  timer: NodeJS.Timeout;
  res: http.ServerResponse;
}

let defaultLogger: Logger | undefined;

/**
 * Starts a simulated external system: a real HTTP server (node:http) that validates requests
 * with the operations' schemas, performs each effect once per idempotency key, and signs every
 * answer with its EdDSA-Poseidon key over the same message the host interface and the circuit
 * recompute. See {@link Fault} for what it can be told to do wrong.
 *
 * Routes: `POST /operations/:name`, `POST /receipt` (the run's receipt of its signed calls, see
 * src/trace/receipt.ts), `GET /ledger`, `GET /health`, `GET /key`, `POST /faults`, `DELETE /faults`.
 */
export async function startSimulatedSystem(options: SimulatedSystemOptions): Promise<SimulatedSystem> {
  const server = new SimulatedSystemServer(options, await derivePublicKey(options.privateKey));
  await server.listen(options.host ?? "127.0.0.1", options.port ?? 0);
  return {
    system: options.system,
    url: server.url,
    publicKey: server.publicKey,
    ledger: () => server.ledger(),
    injectFault: (fault) => server.injectFault(fault),
    clearFaults: () => server.clearFaults(),
    close: () => server.close(),
  };
}

class SimulatedSystemServer {
  url = "";
  private readonly system: SystemName;
  private readonly systemCode: number;
  private readonly privateKey: Uint8Array;
  private readonly specs = new Map<string, AnyOperationSpec>();
  private readonly handlers = new Map<string, OperationHandler>();
  private readonly timeoutHoldMs: number;
  private readonly logger: Logger;
  private readonly server: http.Server;
  private readonly effects = new Map<string, StoredEffect>();
  /** Idempotency keys a status query answered NO_EFFECT for: never performed from then on. */
  private readonly fenced = new Set<string>();
  private readonly status?: StatusOperationSpec;
  private readonly store?: EffectStore;
  private readonly onEffect?: SimulatedSystemOptions["onEffect"];
  private faults: ActiveFault[] = [];
  private readonly held = new Set<HeldAnswer>();
  /** Effects are performed one at a time, so a ledger sequence number is exact and a key is never performed twice. */
  private queue: Promise<unknown> = Promise.resolve();
  private closing?: Promise<void>;

  constructor(
    options: SimulatedSystemOptions,
    readonly publicKey: PublicKey,
  ) {
    this.system = options.system;
    if (!Number.isSafeInteger(options.systemCode) || options.systemCode <= 0)
      throw new SimulatedSystemError(`system ${options.system} needs a positive integer code`);
    this.systemCode = options.systemCode;
    this.privateKey = options.privateKey;
    for (const spec of options.specs) {
      if (spec.system !== options.system) {
        throw new SimulatedSystemError(
          `operation ${spec.name} belongs to ${spec.system}, not ${options.system}`,
        );
      }
      this.specs.set(spec.name, spec);
    }
    for (const [name, handler] of Object.entries(options.operations)) {
      if (!this.specs.has(name))
        throw new SimulatedSystemError(`operation ${name} has a handler but no spec`);
      this.handlers.set(name, handler);
    }
    if (options.status) {
      if (this.specs.get(options.status.name) !== options.status) {
        throw new SimulatedSystemError(`the status query ${options.status.name} is not one of the specs`);
      }
      if (this.handlers.has(options.status.name)) {
        throw new SimulatedSystemError(
          `the status query ${options.status.name} is answered by the server, not a handler`,
        );
      }
      this.status = options.status;
      const status = options.status;
      this.handlers.set(status.name, (request, ctx) =>
        this.statusAnswer(request as StatusQueryRequest, BigInt(ctx.workflowId)),
      );
    }
    this.timeoutHoldMs = options.timeoutHoldMs ?? DEFAULT_TIMEOUT_HOLD_MS;
    this.onEffect = options.onEffect;
    defaultLogger ??= createLogger();
    this.logger = (options.logger ?? defaultLogger).child({
      component: "simulated-system",
      system: this.system,
    });
    if (options.storeFile) {
      this.store = new EffectStore(options.storeFile);
      for (const effect of this.store.load()) this.remember(effect);
    }
    this.server = http.createServer((req, res) => void this.route(req, res));
  }

  async listen(host: string, port: number): Promise<void> {
    this.url = await listenOn(this.server, host, port);
    this.logger.debug({ url: this.url }, "simulated system listening");
  }

  ledger(): LedgerEntry[] {
    return [...this.effects.values()].map((effect) => structuredClone(effect.entry));
  }

  injectFault(fault: Fault): void {
    const parsed = FaultSchema.safeParse(fault);
    if (!parsed.success)
      throw new SimulatedSystemError(`invalid fault: ${describeZodError(parsed.error, "fault")}`);
    const { operation, kind, refusal, times, workflowId } = parsed.data;
    if (operation !== undefined && !this.handlers.has(operation)) {
      throw new SimulatedSystemError(`${this.system} has no operation "${operation}"`);
    }
    if (kind === "decline" && operation !== undefined && operation === this.status?.name) {
      throw new SimulatedSystemError(`a status query cannot decline: it says what the system did`);
    }
    if (refusal !== undefined) {
      const named = operation === undefined ? undefined : this.specs.get(operation)?.refusals;
      if (kind !== "decline" || !named || !Object.hasOwn(named, refusal)) {
        throw new SimulatedSystemError(
          `"${refusal}" is no refusal of ${operation ?? "every operation"}: a named refusal is a decline of an operation that names it`,
        );
      }
    }
    this.faults.push({ operation, workflowId, kind, refusal, remaining: times ?? 1 });
    this.logger.info({ fault: parsed.data }, "fault injected");
  }

  clearFaults(): void {
    this.faults = [];
  }

  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      for (const held of this.held) {
        clearTimeout(held.timer);
        held.res.destroy();
      }
      this.held.clear();
      this.server.close(() => resolve());
      this.server.closeAllConnections();
      this.store?.close();
    });
    return this.closing;
  }

  // ------------------------------------------------------------------ HTTP

  private async route(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    try {
      const { pathname } = new URL(req.url ?? "/", "http://localhost");
      const method = req.method ?? "GET";
      const operation = /^\/operations\/([^/]+)$/.exec(pathname);
      if (operation) {
        allow(method, ["POST"]);
        await this.operation(decodeURIComponent(operation[1]), req, res);
      } else if (pathname === "/receipt") {
        allow(method, ["POST"]);
        sendJson(res, 200, await this.receipt(req));
      } else if (pathname === "/ledger") {
        allow(method, ["GET"]);
        sendJson(res, 200, this.ledger());
      } else if (pathname === "/health") {
        allow(method, ["GET"]);
        sendJson(res, 200, { status: "ok", system: this.system });
      } else if (pathname === "/key") {
        allow(method, ["GET"]);
        sendJson(res, 200, {
          system: this.system,
          systemCode: this.systemCode,
          publicKey: [this.publicKey[0].toString(), this.publicKey[1].toString()],
        });
      } else if (pathname === "/faults") {
        allow(method, ["POST", "DELETE"]);
        if (method === "DELETE") {
          this.clearFaults();
          res.writeHead(204).end();
        } else {
          try {
            this.injectFault(parseJson(await readBody(req)) as Fault);
          } catch (error) {
            if (error instanceof SimulatedSystemError)
              throw new HttpError(400, "INVALID_FAULT", error.message);
            throw error;
          }
          sendJson(res, 200, { faults: this.faults });
        }
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

  private async operation(name: string, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const spec = this.specs.get(name);
    const handler = this.handlers.get(name);
    if (!spec || !handler)
      throw new HttpError(404, "UNKNOWN_OPERATION", `${this.system} has no operation "${name}"`);

    const envelope = OperationRequestBodySchema.safeParse(parseJson(await readBody(req)));
    if (!envelope.success) {
      throw new HttpError(400, "INVALID_ENVELOPE", describeZodError(envelope.error, "body"));
    }
    const { workflowId, callSeq, idempotencyKey } = envelope.data;
    checkIdempotencyKey(workflowId, callSeq, idempotencyKey);
    const parsedRequest = spec.requestSchema.safeParse(envelope.data.request);
    if (!parsedRequest.success) {
      throw new HttpError(400, "INVALID_REQUEST", describeZodError(parsedRequest.error, "request"));
    }
    const request: unknown = parsedRequest.data;
    let requestHash: bigint;
    try {
      requestHash = hashFields(spec.encodeRequest(request));
    } catch (error) {
      throw new HttpError(400, "INVALID_REQUEST", `cannot encode the request: ${(error as Error).message}`);
    }
    const requestJson = JSON.stringify(request);
    const log = this.logger.child({ operation: name, workflowId: toHex32(workflowId), callSeq });

    const decided = await this.exclusive(async () => {
      const existing = this.effects.get(idempotencyKey);
      if (existing) {
        const { entry } = existing;
        if (
          entry.operation !== name ||
          existing.workflowId !== workflowId ||
          entry.callSeq !== callSeq ||
          existing.requestJson !== requestJson
        ) {
          throw new HttpError(
            409,
            "IDEMPOTENCY_CONFLICT",
            `idempotency key ${idempotencyKey} was used for another call (${entry.operation}, call ${entry.callSeq})`,
          );
        }
      }
      const isStatus = name === this.status?.name;
      const fault = this.takeFault(name, toHex32(workflowId), existing !== undefined || isStatus);
      if (fault?.kind === "error") {
        log.info("fault: answering 503");
        throw new HttpError(503, "SIMULATED_OUTAGE", `${this.system} is unavailable (injected fault)`);
      }
      if (fault?.kind === "timeout") return { fault };
      if (existing) {
        log.debug({ idempotencyKey }, "replay: answering the original response");
        return { fault, effect: existing };
      }
      if (this.fenced.has(idempotencyKey)) {
        throw new HttpError(
          409,
          "SETTLED_NO_EFFECT",
          `idempotency key ${idempotencyKey} was settled as never performed (status query): it is not performed now`,
        );
      }
      const effect = await this.perform({
        spec,
        handler,
        request,
        requestHash,
        requestJson,
        workflowId,
        callSeq,
        idempotencyKey,
        decline: fault?.kind === "decline",
        refusal: fault?.kind === "decline" ? fault.refusal : undefined,
        // A bad signature before any effect: the answer the operation would give, not kept.
        keep: fault?.kind !== "bad-signature",
      });
      if (fault?.kind === "bad-signature") log.info("fault: answering without performing the effect");
      else log.info({ idempotencyKey, sequence: this.effects.size }, "effect performed");
      return { fault, effect };
    });

    const { fault, effect } = decided;
    if (!effect) {
      log.info({ holdMs: this.timeoutHoldMs }, "fault: holding the request before any effect");
      this.hold(res, () =>
        sendError(res, 504, "SIMULATED_TIMEOUT", "held past the client timeout (injected fault)"),
      );
      return;
    }
    const body = await this.tamper(effect, fault?.kind);
    if (fault?.kind === "timeout-after-effect") {
      log.info({ holdMs: this.timeoutHoldMs }, "fault: effect performed, holding the answer");
      this.hold(res, () => sendJson(res, 200, body));
      return;
    }
    sendJson(res, 200, body);
  }

  /**
   * The run's receipt: every listed call must be one this system answered under its idempotency key
   * (the run's id and callSeq), for that operation, with that request and response (the same hashes
   * its signature of the call covered); then it signs the chain of them (src/trace/receipt.ts). A
   * call it never answered, answered otherwise, or only answered unsigned (a bad-signature fault
   * before any effect keeps nothing) is refused: 409 RECEIPT_MISMATCH, nothing signed.
   */
  private async receipt(req: http.IncomingMessage): Promise<ReceiptResponseBody> {
    const parsed = ReceiptRequestBodySchema.safeParse(parseJson(await readBody(req)));
    if (!parsed.success)
      throw new HttpError(400, "INVALID_RECEIPT_REQUEST", describeZodError(parsed.error, "body"));
    const { workflowId, calls } = parsed.data;
    const covered = await this.exclusive(async () =>
      calls.map((call, i) => {
        if (i > 0 && call.callSeq <= calls[i - 1].callSeq) {
          throw new HttpError(400, "INVALID_RECEIPT_REQUEST", "calls must be in increasing callSeq order");
        }
        const key = idempotencyKeyOf(workflowId, call.callSeq);
        const effect = this.effects.get(key);
        const spec = effect && this.specs.get(effect.entry.operation);
        const mismatch = (why: string) =>
          new HttpError(
            409,
            "RECEIPT_MISMATCH",
            `call ${call.callSeq} (${call.operation}) of this run: ${why}`,
          );
        if (!effect || !spec || effect.workflowId !== workflowId || effect.entry.callSeq !== call.callSeq)
          throw mismatch(`${this.system} answered no such call`);
        if (effect.entry.operation !== call.operation) throw mismatch(`it was ${effect.entry.operation}`);
        if (hashFields(spec.encodeRequest(effect.entry.request)) !== call.requestHash)
          throw mismatch("another request was answered under its key");
        if (hashFields(spec.encodeResponse(effect.entry.response)) !== call.responseHash)
          throw mismatch("the answer was another response");
        return {
          callSeq: call.callSeq,
          operation: spec.code,
          requestHash: call.requestHash,
          responseHash: call.responseHash,
        };
      }),
    );
    const chain = receiptChain(covered);
    const signature = await signMessage(this.privateKey, receiptMessage(workflowId, covered.length, chain));
    this.logger.debug({ workflowId: toHex32(workflowId), calls: covered.length }, "receipt signed");
    return {
      system: this.system,
      systemCode: this.systemCode,
      count: covered.length,
      chain: chain.toString(),
      attestation: attestationToJson(this.publicKey, signature),
    };
  }

  private async perform(args: {
    spec: AnyOperationSpec;
    handler: OperationHandler;
    request: unknown;
    requestHash: bigint;
    requestJson: string;
    workflowId: bigint;
    callSeq: number;
    idempotencyKey: string;
    decline: boolean;
    refusal?: string;
    /** false: compute the answer only (the effect is not performed, nothing is kept). */
    keep: boolean;
  }): Promise<StoredEffect> {
    const { spec, workflowId, callSeq, idempotencyKey, decline } = args;
    const ctx: OperationContext = {
      workflowId: toHex32(workflowId),
      callSeq,
      idempotencyKey,
      sequence: this.effects.size + 1,
      decline,
      ...(args.refusal !== undefined ? { refusal: args.refusal } : {}),
      ledger: this.ledger(),
    };
    let raw: unknown;
    try {
      raw = await args.handler(args.request, ctx);
    } catch (error) {
      if (error instanceof HttpError) throw error;
      if (error instanceof OperationRefusal) throw new HttpError(422, error.code, error.message);
      throw new HttpError(500, "OPERATION_FAILED", `${spec.name} failed: ${(error as Error).message}`);
    }
    const parsed = spec.responseSchema.safeParse(raw);
    if (!parsed.success) {
      throw new HttpError(
        500,
        "INVALID_HANDLER_RESPONSE",
        describeZodError(parsed.error, `${spec.name} response`),
      );
    }
    const response: unknown = parsed.data;
    const responseFields = spec.encodeResponse(response);
    if (decline && responseFields[0] === CALL_SUCCEEDED) {
      throw new HttpError(500, "DECLINE_IGNORED", `the ${spec.name} handler ignored ctx.decline`);
    }
    const message = attestationMessage({
      workflowId,
      callSeq,
      operation: spec.code,
      requestHash: args.requestHash,
      responseHash: hashFields(responseFields),
    });
    const signature = await signMessage(this.privateKey, message);
    const original =
      spec.name === this.status?.name
        ? this.originalOf(args.request as StatusQueryRequest, workflowId, response as StatusQueryResponse)
        : undefined;
    const effect: StoredEffect = {
      entry: {
        idempotencyKey,
        operation: spec.name,
        workflowId: ctx.workflowId,
        callSeq,
        request: args.request,
        response,
        at: new Date().toISOString(),
      },
      workflowId,
      requestJson: args.requestJson,
      message,
      body: {
        response,
        attestation: attestationToJson(this.publicKey, signature),
        ...(original !== undefined ? { original: { response: original } } : {}),
      },
    };
    if (!args.keep) return effect;
    this.store?.save(effect); // durable before the answer leaves (a NO_EFFECT answer: the fence too)
    this.remember(effect);
    if (this.onEffect && spec.name !== this.status?.name) {
      try {
        await this.onEffect(structuredClone(effect.entry));
      } catch (error) {
        this.logger.error({ err: error, operation: spec.name }, "the onEffect hook failed");
      }
    }
    return effect;
  }

  /** Keeps an effect (performed now or loaded from the store); a status query's NO_EFFECT fences its key. */
  private remember(effect: StoredEffect): void {
    this.effects.set(effect.entry.idempotencyKey, effect);
    if (this.status && effect.entry.operation === this.status.name) {
      const query = effect.entry.request as StatusQueryRequest;
      if ((effect.entry.response as StatusQueryResponse).outcome === "NO_EFFECT") {
        this.fenced.add(idempotencyKeyOf(effect.workflowId, query.callSeq));
      }
    }
  }

  /**
   * The status query's answer (run as its handler, one at a time with every effect): what this
   * system did under the queried call's key. A key used for another operation or request, or by a
   * status query itself, is a conflict, never signed.
   */
  private statusAnswer(query: StatusQueryRequest, workflowId: bigint): StatusQueryResponse {
    const key = idempotencyKeyOf(workflowId, query.callSeq);
    const target = this.effects.get(key);
    if (!target) return { outcome: "NO_EFFECT" };
    const spec = this.specs.get(target.entry.operation);
    if (
      !spec ||
      spec.name === this.status?.name ||
      target.entry.operation !== query.operation ||
      target.workflowId !== workflowId ||
      hashFields(spec.encodeRequest(target.entry.request)).toString() !== query.requestHash
    ) {
      throw new HttpError(
        409,
        "IDEMPOTENCY_CONFLICT",
        `idempotency key ${key} holds ${target.entry.operation} call ${target.entry.callSeq} with another request than the one queried`,
      );
    }
    const responseFields = spec.encodeResponse(target.entry.response);
    const responseHash = hashFields(responseFields).toString();
    return responseFields[0] === CALL_SUCCEEDED
      ? { outcome: "TOOK_EFFECT", responseHash }
      : { outcome: "REFUSED", responseHash };
  }

  /** The response a status answer (other than NO_EFFECT) speaks of: the queried call's. */
  private originalOf(query: StatusQueryRequest, workflowId: bigint, answer: StatusQueryResponse): unknown {
    if (answer.outcome === "NO_EFFECT") return undefined;
    return structuredClone(this.effects.get(idempotencyKeyOf(workflowId, query.callSeq))?.entry.response);
  }

  /** The stored answer, or (for a signature fault) a copy with a signature that must not be accepted. */
  private async tamper(effect: StoredEffect, kind: FaultKind | undefined): Promise<OperationResponseBody> {
    if (kind === "bad-signature" || kind === "bad-signature-after-effect") {
      // The registered key, but over another message.
      const signature = await signMessage(this.privateKey, poseidon([effect.message]));
      return { ...effect.body, attestation: attestationToJson(this.publicKey, signature) };
    }
    if (kind === "unknown-key") {
      // The right message, signed by a key no provider set holds.
      const foreignKey = newPrivateKey();
      const signature = await signMessage(foreignKey, effect.message);
      return {
        ...effect.body,
        attestation: attestationToJson(await derivePublicKey(foreignKey), signature),
      };
    }
    return effect.body;
  }

  /**
   * The first fault for this operation (and workflow), used up by one call. A decline never applies
   * to a replay or a status query; a fault named for no operation leaves the status query alone.
   */
  private takeFault(operation: string, workflowId: string, replay: boolean): ActiveFault | undefined {
    const isStatus = operation === this.status?.name;
    const fault = this.faults.find(
      (f) =>
        (f.operation === operation || (f.operation === undefined && !isStatus)) &&
        (f.workflowId === undefined || f.workflowId === workflowId) &&
        !(replay && f.kind === "decline"),
    );
    if (!fault) return undefined;
    fault.remaining -= 1;
    if (fault.remaining <= 0) this.faults = this.faults.filter((f) => f !== fault);
    return fault;
  }

  private hold(res: http.ServerResponse, answer: () => void): void {
    const held: HeldAnswer = {
      res,
      timer: setTimeout(() => {
        this.held.delete(held);
        if (!res.destroyed) answer();
      }, this.timeoutHoldMs),
    };
    this.held.add(held);
    res.once("close", () => {
      clearTimeout(held.timer);
      this.held.delete(held);
    });
  }

  private exclusive<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(task, task);
    this.queue = run.catch(() => undefined);
    return run;
  }
}

/** The effects of a simulated system in a SQLite file (WAL, synchronous=FULL): written before the answer is sent. */
class EffectStore {
  private readonly db: Database;

  constructor(file: string) {
    fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    this.db = new Database(file, { timeout: 10_000 });
    this.db.pragma("journal_mode = WAL");
    this.db.pragma("synchronous = FULL");
    this.db.exec(`CREATE TABLE IF NOT EXISTS effects (
      sequence        INTEGER PRIMARY KEY AUTOINCREMENT,
      idempotency_key TEXT NOT NULL UNIQUE,
      workflow_id     TEXT NOT NULL,
      request_json    TEXT NOT NULL,
      message         TEXT NOT NULL,
      entry_json      TEXT NOT NULL,
      body_json       TEXT NOT NULL
    )`);
  }

  load(): StoredEffect[] {
    const rows = this.db
      .prepare<{
        workflow_id: string;
        request_json: string;
        message: string;
        entry_json: string;
        body_json: string;
      }>("SELECT * FROM effects ORDER BY sequence")
      .all();
    return rows.map((row) => ({
      entry: JSON.parse(row.entry_json) as LedgerEntry,
      workflowId: BigInt(row.workflow_id),
      requestJson: row.request_json,
      message: BigInt(row.message),
      body: JSON.parse(row.body_json) as OperationResponseBody,
    }));
  }

  save(effect: StoredEffect): void {
    this.db
      .prepare(
        "INSERT INTO effects (idempotency_key, workflow_id, request_json, message, entry_json, body_json) VALUES (?, ?, ?, ?, ?, ?)",
      )
      .run(
        effect.entry.idempotencyKey,
        toHex32(effect.workflowId),
        effect.requestJson,
        effect.message.toString(),
        JSON.stringify(effect.entry),
        JSON.stringify(effect.body),
      );
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

/** The ledger a simulated system kept in its store file (for tests and tools, while or after it runs). */
export function readStoredLedger(storeFile: string): LedgerEntry[] {
  if (!fs.existsSync(storeFile)) return [];
  const db = new Database(storeFile, { readonly: true, fileMustExist: true, timeout: 10_000 });
  try {
    return db
      .prepare<{ entry_json: string }>("SELECT entry_json FROM effects ORDER BY sequence")
      .all()
      .map((row) => JSON.parse(row.entry_json) as LedgerEntry);
  } finally {
    db.close();
  }
}
