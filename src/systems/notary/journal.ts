import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";

/**
 * What the notary did under one idempotency key (`workflowId:callSeq`), kept in SQLite (WAL,
 * synchronous=FULL) before anything leaves the notary:
 * - `forwarding`: the request was journaled and sent (or about to be) to the upstream; no answer kept
 *   yet (the upstream did not answer, answered 5xx, or the notary stopped). A retry re-sends the same
 *   bytes under the same `Idempotency-Key`; a status query does the same before it answers.
 * - `answered`: the signed answer (`body`), the only one the key will ever get.
 * - `unmappable`: the upstream answered success with a body the declaration cannot map; kept, never
 *   signed (its outcome needs a person).
 * - `fenced`: a status query found nothing under the key and answered NO_EFFECT: never forwarded now.
 */
export type NotaryCallState = "forwarding" | "answered" | "unmappable" | "fenced";

export interface NotaryJournalRow {
  idempotencyKey: string;
  kind: "call" | "status";
  state: NotaryCallState;
  workflowId: string;
  callSeq: number;
  operationName: string;
  operationCode: number;
  /** Poseidon of the request fields, decimal. */
  requestHash: string;
  /** The HTTP declaration (calls) as JSON; null for status queries and fences. */
  declaration: unknown;
  /** What was sent: method, URL and exact body (calls). */
  method: string | null;
  targetUrl: string | null;
  requestBody: string | null;
  /** The request as the host sent it (JSON). */
  request: unknown;
  /** The upstream's raw answer {url, status, text} (calls, once answered or unmappable). */
  upstreamAnswer: unknown;
  /** The signed answer sent to the host (OperationResponseBody), once answered. */
  body: unknown;
  /** Poseidon of the response fields, decimal (answered calls). */
  responseHash: string | null;
  at: string;
}

interface Row {
  idempotency_key: string;
  kind: "call" | "status";
  state: NotaryCallState;
  workflow_id: string;
  call_seq: number;
  operation_name: string;
  operation_code: number;
  request_hash: string;
  declaration_json: string | null;
  method: string | null;
  target_url: string | null;
  request_body: string | null;
  request_json: string;
  upstream_json: string | null;
  body_json: string | null;
  response_hash: string | null;
  at: string;
}

export class NotaryJournal {
  private readonly db: Database;

  constructor(file: string) {
    fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    this.db = new Database(file, { timeout: 10_000 });
    this.db.pragma("journal_mode = WAL");
    this.db.pragma("synchronous = FULL");
    this.db.exec(`CREATE TABLE IF NOT EXISTS notary_calls (
      idempotency_key TEXT PRIMARY KEY,
      kind            TEXT NOT NULL,
      state           TEXT NOT NULL,
      workflow_id     TEXT NOT NULL,
      call_seq        INTEGER NOT NULL,
      operation_name  TEXT NOT NULL,
      operation_code  INTEGER NOT NULL,
      request_hash    TEXT NOT NULL,
      declaration_json TEXT,
      method          TEXT,
      target_url      TEXT,
      request_body    TEXT,
      request_json    TEXT NOT NULL,
      upstream_json   TEXT,
      body_json       TEXT,
      response_hash   TEXT,
      at              TEXT NOT NULL
    )`);
  }

  get(idempotencyKey: string): NotaryJournalRow | undefined {
    const row = this.db
      .prepare<Row>("SELECT * FROM notary_calls WHERE idempotency_key = ?")
      .get(idempotencyKey);
    return row && rowOf(row);
  }

  list(): NotaryJournalRow[] {
    return this.db.prepare<Row>("SELECT * FROM notary_calls ORDER BY rowid").all().map(rowOf);
  }

  /** A new key: journaled before anything is sent (`forwarding`, or `fenced` by a status query). */
  insert(row: Omit<NotaryJournalRow, "at" | "upstreamAnswer" | "body" | "responseHash">): void {
    this.db
      .prepare(
        `INSERT INTO notary_calls (idempotency_key, kind, state, workflow_id, call_seq, operation_name,
           operation_code, request_hash, declaration_json, method, target_url, request_body, request_json, at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        row.idempotencyKey,
        row.kind,
        row.state,
        row.workflowId,
        row.callSeq,
        row.operationName,
        row.operationCode,
        row.requestHash,
        row.declaration === null ? null : JSON.stringify(row.declaration),
        row.method,
        row.targetUrl,
        row.requestBody,
        JSON.stringify(row.request),
        new Date().toISOString(),
      );
  }

  /**
   * Keeps the one answer of a key: only a key still `forwarding` (or a status query's new row) takes
   * it, so a key never gets a second answer. Returns whether it was kept.
   */
  answer(args: {
    idempotencyKey: string;
    state: "answered" | "unmappable";
    upstreamAnswer?: unknown;
    body?: unknown;
    responseHash?: string;
  }): boolean {
    const result = this.db
      .prepare(
        `UPDATE notary_calls SET state = ?, upstream_json = ?, body_json = ?, response_hash = ?, at = ?
         WHERE idempotency_key = ? AND state = 'forwarding'`,
      )
      .run(
        args.state,
        args.upstreamAnswer === undefined ? null : JSON.stringify(args.upstreamAnswer),
        args.body === undefined ? null : JSON.stringify(args.body),
        args.responseHash ?? null,
        new Date().toISOString(),
        args.idempotencyKey,
      );
    return result.changes === 1;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

function rowOf(row: Row): NotaryJournalRow {
  const parse = (text: string | null): unknown => (text === null ? null : JSON.parse(text));
  return {
    idempotencyKey: row.idempotency_key,
    kind: row.kind,
    state: row.state,
    workflowId: row.workflow_id,
    callSeq: row.call_seq,
    operationName: row.operation_name,
    operationCode: row.operation_code,
    requestHash: row.request_hash,
    declaration: parse(row.declaration_json),
    method: row.method,
    targetUrl: row.target_url,
    requestBody: row.request_body,
    request: parse(row.request_json),
    upstreamAnswer: parse(row.upstream_json),
    body: parse(row.body_json),
    responseHash: row.response_hash,
    at: row.at,
  };
}
