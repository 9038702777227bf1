import http from "node:http";
import type { AddressInfo } from "node:net";
import { idempotencyKeyOf, type ErrorBody } from "../host";

/** The largest request body a system's server (or the notary) reads. */
export const MAX_BODY_BYTES = 1 << 20;

/** An answer other than 200, with the `{ error: { code, message } }` body. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * One key per call of a run: the key IS (workflowId, callSeq). Another key would let a host get a
 * second signed answer for the same call (which its status query and receipt would not see).
 */
export function checkIdempotencyKey(workflowId: bigint, callSeq: number, idempotencyKey: string): void {
  if (idempotencyKey !== idempotencyKeyOf(workflowId, callSeq)) {
    throw new HttpError(
      400,
      "INVALID_ENVELOPE",
      `body.idempotencyKey: must be ${idempotencyKeyOf(workflowId, callSeq)} (the run's id and the callSeq), got ${idempotencyKey}`,
    );
  }
}

export function allow(method: string, methods: string[]): void {
  if (!methods.includes(method))
    throw new HttpError(405, "METHOD_NOT_ALLOWED", `use ${methods.join(" or ")}`);
}

export function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on("end", () => {
      if (size > MAX_BODY_BYTES)
        reject(new HttpError(413, "BODY_TOO_LARGE", `the body exceeds ${MAX_BODY_BYTES} bytes`));
      else resolve(Buffer.concat(chunks).toString("utf8"));
    });
    req.on("error", reject);
  });
}

export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpError(400, "INVALID_JSON", "the body is not JSON");
  }
}

export function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

export function sendError(res: http.ServerResponse, status: number, code: string, message: string): void {
  const body: ErrorBody = { error: { code, message } };
  sendJson(res, status, body);
}

/** Listens on `host:port` (0: any free port) and returns the server's URL, one a client can connect to. */
export function listenOn(server: http.Server, host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      const address = server.address() as AddressInfo;
      resolve(`http://${urlHost(address.address)}:${address.port}`);
    });
  });
}

function urlHost(address: string): string {
  if (address === "0.0.0.0") return "127.0.0.1";
  if (address === "::") return "[::1]";
  return address.includes(":") ? `[${address}]` : address;
}
