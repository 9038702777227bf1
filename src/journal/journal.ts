import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { toField, toHex32 } from "../crypto";
import {
  newRecordSalt,
  type Attestation,
  type EvidenceName,
  type OutcomeName,
  type PhaseName,
  type StepRecord,
  type RunBinding,
  type StepStatusName,
  workflowIdOf,
} from "../trace";
import { fieldsFromJson, fieldsToJson, fromJournalJson, toJournalJson } from "./json";
import {
  RUN_STATUSES,
  type JournalCall,
  type JournalCallStatus,
  type JournalEvent,
  type JournalRun,
  type JournalRunState,
  type JournalStep,
  type JournalStepStatus,
  type RunStatus,
} from "./types";

export const JOURNAL_FILE_NAME = "journal.sqlite";
// 2: steps.salt (the record's leaf salt); 3: runs.submitter, workflow_tag, run_nonce (what the run's
// id commits to). Older journals are migrated on open.
const SCHEMA_VERSION = 3;

/** `<dataDir>/journal.sqlite` unless WESFLOW_JOURNAL names another file. */
export function defaultJournalFile(dataDir: string): string {
  return path.resolve(process.env.WESFLOW_JOURNAL ?? path.join(dataDir, JOURNAL_FILE_NAME));
}

export class JournalError extends Error {
  override name = "JournalError";
}

/** A run id that matches no run, or (as a prefix) several. */
export class UnknownRunError extends JournalError {
  override name = "UnknownRunError";
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS runs (
  run_id       TEXT PRIMARY KEY,
  scenario     TEXT NOT NULL,
  template     TEXT NOT NULL,
  input_json   TEXT NOT NULL,
  status       TEXT NOT NULL,
  outcome      TEXT,
  reason       TEXT,
  last_error   TEXT,
  owner        TEXT,
  bundle_path  TEXT,
  network      TEXT,
  tx_hash      TEXT,
  submitter    TEXT,
  workflow_tag TEXT,
  run_nonce    TEXT,
  created_at   TEXT NOT NULL,
  updated_at   TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_status ON runs (status);
CREATE TABLE IF NOT EXISTS steps (
  run_id          TEXT NOT NULL REFERENCES runs (run_id),
  trace_index     INTEGER NOT NULL,
  step_index      INTEGER NOT NULL,
  phase           TEXT NOT NULL,
  step_name       TEXT NOT NULL,
  step_code       INTEGER NOT NULL,
  call_seq        INTEGER NOT NULL,
  operation       INTEGER NOT NULL,
  status          TEXT NOT NULL,
  attempts        INTEGER NOT NULL DEFAULT 0,
  record_status   TEXT,
  request_fields  TEXT,
  response_fields TEXT,
  evidence        TEXT,
  salt            TEXT,
  result_json     TEXT,
  error           TEXT,
  started_at      TEXT NOT NULL,
  finished_at     TEXT,
  PRIMARY KEY (run_id, trace_index)
);
CREATE TABLE IF NOT EXISTS calls (
  run_id           TEXT NOT NULL REFERENCES runs (run_id),
  call_seq         INTEGER NOT NULL,
  trace_index      INTEGER NOT NULL,
  system           TEXT NOT NULL,
  operation        INTEGER NOT NULL,
  operation_name   TEXT NOT NULL,
  idempotency_key  TEXT NOT NULL UNIQUE,
  request_json     TEXT NOT NULL,
  request_fields   TEXT NOT NULL,
  status           TEXT NOT NULL,
  attempts         INTEGER NOT NULL,
  response_json    TEXT,
  response_fields  TEXT,
  attestation_json TEXT,
  error            TEXT,
  sent_at          TEXT NOT NULL,
  answered_at      TEXT,
  PRIMARY KEY (run_id, call_seq)
);
CREATE TABLE IF NOT EXISTS events (
  seq         INTEGER PRIMARY KEY AUTOINCREMENT,
  run_id      TEXT NOT NULL,
  at          TEXT NOT NULL,
  kind        TEXT NOT NULL,
  trace_index INTEGER,
  call_seq    INTEGER,
  detail_json TEXT
);
CREATE INDEX IF NOT EXISTS events_run ON events (run_id, seq);
`;

interface RunRow {
  run_id: string;
  scenario: string;
  template: string;
  input_json: string;
  status: RunStatus;
  outcome: OutcomeName | null;
  reason: string | null;
  last_error: string | null;
  owner: string | null;
  bundle_path: string | null;
  network: string | null;
  tx_hash: string | null;
  submitter: string | null;
  workflow_tag: string | null;
  run_nonce: string | null;
  created_at: string;
  updated_at: string;
  step_count: number;
  failed_step: string | null;
}

interface StepRow {
  trace_index: number;
  step_index: number;
  phase: PhaseName;
  step_name: string;
  step_code: number;
  call_seq: number;
  operation: number;
  status: JournalStepStatus;
  attempts: number;
  record_status: StepStatusName | null;
  request_fields: string | null;
  response_fields: string | null;
  evidence: EvidenceName | null;
  salt: string | null;
  result_json: string | null;
  error: string | null;
  started_at: string;
  finished_at: string | null;
}

interface CallRow {
  call_seq: number;
  trace_index: number;
  system: string;
  operation: number;
  operation_name: string;
  idempotency_key: string;
  request_json: string;
  request_fields: string;
  status: JournalCallStatus;
  attempts: number;
  response_json: string | null;
  response_fields: string | null;
  attestation_json: string | null;
  error: string | null;
  sent_at: string;
  answered_at: string | null;
}

interface EventRow {
  seq: number;
  run_id: string;
  at: string;
  kind: string;
  trace_index: number | null;
  call_seq: number | null;
  detail_json: string | null;
}

const now = () => new Date().toISOString();
const opt = <T>(value: T | null): T | undefined => (value === null ? undefined : value);

/** `host:pid` of this process: the owner written on the runs it executes. */
export function thisProcessOwner(): string {
  return `${os.hostname()}:${process.pid}`;
}

/**
 * Whether the process that owns a run is still alive. A process on another host cannot be checked
 * and counts as alive (the journal is a local file; a shared journal is PostgreSQL's job, later).
 */
export function ownerAlive(owner: string | undefined): boolean {
  if (!owner) return false;
  const at = owner.lastIndexOf(":");
  const host = owner.slice(0, at);
  const pid = Number(owner.slice(at + 1));
  if (host !== os.hostname()) return true;
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * The durable journal of workflow runs: an embedded SQLite file (WAL, synchronous=FULL, so every
 * committed transaction survives a crash of the process or the machine). Every step transition and
 * every external call is written here, the call's request BEFORE it is sent and its attested answer
 * when it arrives, so a run can be finished after a crash by `resumeWorkflow` without performing
 * any external effect twice. Each method is one transaction.
 */
export class Journal {
  readonly file: string;
  private readonly db: Database;
  private readonly owner = thisProcessOwner();

  private constructor(file: string, db: Database) {
    this.file = file;
    this.db = db;
  }

  /** Opens (creating if needed) a journal file; ":memory:" gives a throw-away journal for tests. */
  static open(file: string): Journal {
    if (file !== ":memory:") fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    let db: Database;
    try {
      db = new Database(file, { timeout: 10_000 });
    } catch (cause) {
      throw new JournalError(`cannot open the journal ${file}: ${(cause as Error).message}`, { cause });
    }
    try {
      db.pragma("journal_mode = WAL");
      db.pragma("synchronous = FULL");
      db.pragma("foreign_keys = ON");
      const version = db.pragma("user_version", { simple: true }) as number;
      if (version > SCHEMA_VERSION) {
        throw new JournalError(
          `the journal ${file} has schema version ${version}; this wesflow knows ${SCHEMA_VERSION}`,
        );
      }
      db.exec(SCHEMA);
      migrate(db);
      db.pragma(`user_version = ${SCHEMA_VERSION}`);
    } catch (error) {
      db.close();
      if (error instanceof JournalError) throw error;
      throw new JournalError(`cannot use the journal ${file}: ${(error as Error).message}`, { cause: error });
    }
    return new Journal(file, db);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  /** The journal's SQLite connection, for stores that keep their tables in the same file (src/state). */
  database(): Database {
    return this.db;
  }

  // ------------------------------------------------------------------ runs

  /**
   * Journals a new run, owned by this process, status RUNNING. Returns its id (toHex32(workflowId)).
   * `binding` (what the id commits to) is kept with it: without it the run cannot be proven.
   */
  createRun(args: {
    workflowId: bigint;
    binding?: RunBinding;
    scenario: string;
    template: string;
    input: unknown;
  }): string {
    const runId = toHex32(args.workflowId);
    const { binding } = args;
    if (binding && workflowIdOf(binding) !== args.workflowId) {
      throw new JournalError(`run ${runId}: the id is not the one its binding makes`);
    }
    const at = now();
    this.db.transaction(() => {
      if (this.db.prepare("SELECT 1 FROM runs WHERE run_id = ?").get(runId)) {
        throw new JournalError(`run ${runId} is already in the journal`);
      }
      this.db
        .prepare(
          `INSERT INTO runs (run_id, scenario, template, input_json, status, owner, submitter, workflow_tag,
             run_nonce, created_at, updated_at)
           VALUES (?, ?, ?, ?, 'RUNNING', ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          runId,
          args.scenario,
          args.template,
          toJournalJson(args.input),
          this.owner,
          binding?.submitter ?? null,
          binding ? binding.workflowTag.toString() : null,
          binding ? binding.runNonce.toString() : null,
          at,
          at,
        );
      this.event(runId, "run-started", { scenario: args.scenario });
    })();
    return runId;
  }

  /**
   * Makes this process the run's owner, unless another live process owns it. Atomic (an IMMEDIATE
   * transaction), so two processes resuming the same run cannot both get it.
   */
  claimRun(runId: string): boolean {
    return this.db
      .transaction(() => {
        const row = this.db
          .prepare<{ owner: string | null }>("SELECT owner FROM runs WHERE run_id = ?")
          .get(runId);
        if (!row) throw new UnknownRunError(`no run ${runId} in the journal`);
        if (row.owner && row.owner !== this.owner && ownerAlive(row.owner)) return false;
        this.db
          .prepare("UPDATE runs SET owner = ?, updated_at = ? WHERE run_id = ?")
          .run(this.owner, now(), runId);
        this.event(runId, "run-claimed", { owner: this.owner, previousOwner: row.owner ?? undefined });
        return true;
      })
      .immediate();
  }

  releaseRun(runId: string): void {
    this.db.prepare("UPDATE runs SET owner = NULL WHERE run_id = ? AND owner = ?").run(runId, this.owner);
  }

  /** The execution finished: the trace is final. */
  finishRun(args: { runId: string; outcome: OutcomeName }): void {
    this.db.transaction(() => {
      this.db
        .prepare(
          "UPDATE runs SET status = ?, outcome = ?, reason = NULL, owner = NULL, updated_at = ? WHERE run_id = ?",
        )
        .run(args.outcome, args.outcome, now(), args.runId);
      this.event(args.runId, "run-finished", { outcome: args.outcome });
    })();
  }

  /** A compensation failed for good: the run waits for `wesflow resume` (the record stays PARKED). */
  parkRun(args: { runId: string; traceIndex: number; reason: string }): void {
    this.db.transaction(() => {
      this.db
        .prepare("UPDATE steps SET status = 'PARKED', error = ? WHERE run_id = ? AND trace_index = ?")
        .run(args.reason, args.runId, args.traceIndex);
      this.db
        .prepare(
          "UPDATE runs SET status = 'NEEDS_ATTENTION', reason = ?, owner = NULL, updated_at = ? WHERE run_id = ?",
        )
        .run(args.reason, now(), args.runId);
      this.event(args.runId, "run-parked", { reason: args.reason }, args.traceIndex);
    })();
  }

  /** After execution: PROVEN or RECORDED (with where), or a failure of those stages (`lastError`). */
  updateRun(args: {
    runId: string;
    status?: RunStatus;
    bundlePath?: string;
    network?: string;
    txHash?: string;
    lastError?: string | null;
  }): void {
    if (args.status !== undefined && !RUN_STATUSES.includes(args.status)) {
      throw new JournalError(`unknown run status ${args.status}`);
    }
    this.db.transaction(() => {
      const sets: string[] = ["updated_at = @at"];
      if (args.status !== undefined) sets.push("status = @status");
      if (args.bundlePath !== undefined) sets.push("bundle_path = @bundlePath");
      if (args.network !== undefined) sets.push("network = @network");
      if (args.txHash !== undefined) sets.push("tx_hash = @txHash");
      if (args.lastError !== undefined) sets.push("last_error = @lastError");
      this.db.prepare(`UPDATE runs SET ${sets.join(", ")} WHERE run_id = @runId`).run({
        at: now(),
        runId: args.runId,
        status: args.status ?? null,
        bundlePath: args.bundlePath ?? null,
        network: args.network ?? null,
        txHash: args.txHash ?? null,
        lastError: args.lastError ?? null,
      });
      if (args.status) this.event(args.runId, `run-${args.status.toLowerCase()}`, { txHash: args.txHash });
      else if (args.lastError) this.event(args.runId, "run-error", { error: args.lastError });
    })();
  }

  getRun(runId: string): JournalRun | undefined {
    const row = this.db.prepare<RunRow>(`${RUN_SELECT} WHERE r.run_id = ?`).get(runId);
    return row && runFromRow(row);
  }

  /** Runs, newest first; optionally only some statuses or one scenario. */
  listRuns(filter: { statuses?: readonly RunStatus[]; scenario?: string } = {}): JournalRun[] {
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.statuses) {
      where.push(`r.status IN (${filter.statuses.map(() => "?").join(", ")})`);
      params.push(...filter.statuses);
    }
    if (filter.scenario) {
      where.push("r.scenario = ?");
      params.push(filter.scenario);
    }
    const sql = `${RUN_SELECT} ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY r.created_at DESC, r.run_id`;
    return this.db
      .prepare<RunRow>(sql)
      .all(...params)
      .map(runFromRow);
  }

  /** A run id from its full 0x-hex form or an unambiguous prefix (at least 6 hex digits after 0x). */
  resolveRunId(idOrPrefix: string): string {
    const text = idOrPrefix.trim().toLowerCase();
    if (/^0x[0-9a-f]{64}$/.test(text)) {
      if (!this.getRun(text)) throw new UnknownRunError(`no run ${text} in the journal ${this.file}`);
      return text;
    }
    if (!/^0x[0-9a-f]{6,63}$/.test(text)) {
      throw new UnknownRunError(`"${idOrPrefix}" is not a run id (0x and at least 6 hex digits)`);
    }
    const matches = this.db
      .prepare<{ run_id: string }>("SELECT run_id FROM runs WHERE run_id LIKE ? ORDER BY run_id LIMIT 2")
      .all(`${text}%`);
    if (matches.length === 0) throw new UnknownRunError(`no run ${text}… in the journal ${this.file}`);
    if (matches.length > 1) throw new UnknownRunError(`several runs start with ${text}: give more digits`);
    return matches[0].run_id;
  }

  /** Everything journaled about a run, records in trace order and calls in callSeq order. */
  loadRun(runId: string): JournalRunState {
    const run = this.getRun(runId);
    if (!run) throw new UnknownRunError(`no run ${runId} in the journal ${this.file}`);
    const steps = this.db
      .prepare<StepRow>("SELECT * FROM steps WHERE run_id = ? ORDER BY trace_index")
      .all(runId)
      .map(stepFromRow);
    const calls = this.db
      .prepare<CallRow>("SELECT * FROM calls WHERE run_id = ? ORDER BY call_seq")
      .all(runId)
      .map(callFromRow);
    return { run, steps, calls };
  }

  events(runId: string): JournalEvent[] {
    return this.db
      .prepare<EventRow>("SELECT * FROM events WHERE run_id = ? ORDER BY seq")
      .all(runId)
      .map((row) => ({
        seq: row.seq,
        runId: row.run_id,
        at: row.at,
        kind: row.kind,
        traceIndex: opt(row.trace_index),
        callSeq: opt(row.call_seq),
        detail: fromJournalJson(row.detail_json),
      }));
  }

  // ------------------------------------------------------------------ steps

  /** A trace record begins (its callSeq is fixed here). A forward step's failure moves the run to COMPENSATING. */
  stepStarted(args: {
    runId: string;
    traceIndex: number;
    stepIndex: number;
    phase: PhaseName;
    stepName: string;
    stepCode: number;
    callSeq: number;
    operation: number;
  }): void {
    this.db.transaction(() => {
      this.db
        .prepare(
          `INSERT INTO steps (run_id, trace_index, step_index, phase, step_name, step_code, call_seq, operation, status, started_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'STARTED', ?)`,
        )
        .run(
          args.runId,
          args.traceIndex,
          args.stepIndex,
          args.phase,
          args.stepName,
          args.stepCode,
          args.callSeq,
          args.operation,
          now(),
        );
      this.touch(args.runId);
      this.event(args.runId, "step-started", { step: args.stepName, phase: args.phase }, args.traceIndex);
    })();
  }

  /** A record that was interrupted or parked is attempted again (after a resume). */
  stepResumed(args: { runId: string; traceIndex: number }): void {
    this.db.transaction(() => {
      this.db
        .prepare("UPDATE steps SET status = 'STARTED', error = NULL WHERE run_id = ? AND trace_index = ?")
        .run(args.runId, args.traceIndex);
      this.db
        .prepare(
          `UPDATE runs SET status = CASE WHEN status = 'NEEDS_ATTENTION' THEN 'COMPENSATING' ELSE status END,
             reason = NULL, updated_at = ? WHERE run_id = ?`,
        )
        .run(now(), args.runId);
      this.event(args.runId, "step-resumed", undefined, args.traceIndex);
    })();
  }

  stepAttemptFailed(args: {
    runId: string;
    traceIndex: number;
    attempt: number;
    error: string;
    retryable: boolean;
    backoffMs?: number;
  }): void {
    this.db.transaction(() => {
      this.db
        .prepare("UPDATE steps SET attempts = ?, error = ? WHERE run_id = ? AND trace_index = ?")
        .run(args.attempt, args.error, args.runId, args.traceIndex);
      this.event(
        args.runId,
        "step-attempt-failed",
        { attempt: args.attempt, error: args.error, retryable: args.retryable, backoffMs: args.backoffMs },
        args.traceIndex,
      );
    })();
  }

  /** The record is final: OK or FAILED, with the fields the trace commits to. A FAILED forward step starts the compensation. */
  stepFinished(args: {
    runId: string;
    record: StepRecord;
    attempts: number;
    result?: unknown;
    error?: string;
  }): void {
    const { runId, record } = args;
    this.db.transaction(() => {
      this.db
        .prepare(
          `UPDATE steps SET status = ?, record_status = ?, attempts = ?, request_fields = ?, response_fields = ?,
             evidence = ?, salt = ?, result_json = ?, error = ?, finished_at = ?
           WHERE run_id = ? AND trace_index = ?`,
        )
        .run(
          record.status,
          record.status,
          args.attempts,
          fieldsToJson(record.request),
          fieldsToJson(record.response),
          record.evidence,
          toField(record.salt, "salt").toString(),
          args.result === undefined ? null : toJournalJson(args.result),
          args.error ?? null,
          now(),
          runId,
          record.index,
        );
      if (record.phase === "FORWARD" && record.status === "FAILED") {
        this.db
          .prepare("UPDATE runs SET status = 'COMPENSATING', updated_at = ? WHERE run_id = ?")
          .run(now(), runId);
      } else {
        this.touch(runId);
      }
      this.event(
        runId,
        "step-finished",
        { step: record.stepName, phase: record.phase, status: record.status, evidence: record.evidence },
        record.index,
      );
    })();
  }

  /**
   * A SETTLE record is final (the status query answered), and, when the failed call took effect,
   * the failed record is amended in the same transaction: the response the status query showed,
   * evidence SETTLED, and the result the step's code made of it (what its compensation gets).
   */
  settleFinished(args: {
    runId: string;
    record: StepRecord;
    attempts: number;
    settled?: { record: StepRecord; result?: unknown };
  }): void {
    const { runId, record, settled } = args;
    this.db.transaction(() => {
      this.db
        .prepare(
          `UPDATE steps SET status = 'OK', record_status = 'OK', attempts = ?, request_fields = ?, response_fields = ?,
             evidence = ?, salt = ?, error = NULL, finished_at = ?
           WHERE run_id = ? AND trace_index = ? AND phase = 'SETTLE'`,
        )
        .run(
          args.attempts,
          fieldsToJson(record.request),
          fieldsToJson(record.response),
          record.evidence,
          toField(record.salt, "salt").toString(),
          now(),
          runId,
          record.index,
        );
      if (settled) {
        const changed = this.db
          .prepare(
            `UPDATE steps SET response_fields = ?, evidence = 'SETTLED', result_json = ?
             WHERE run_id = ? AND trace_index = ? AND phase = 'FORWARD' AND status = 'FAILED'`,
          )
          .run(
            fieldsToJson(settled.record.response),
            settled.result === undefined ? null : toJournalJson(settled.result),
            runId,
            settled.record.index,
          );
        if (changed.changes !== 1) {
          throw new JournalError(`run ${runId} has no failed record ${settled.record.index} to settle`);
        }
      }
      this.touch(runId);
      this.event(
        runId,
        "step-finished",
        {
          step: record.stepName,
          phase: record.phase,
          status: record.status,
          evidence: record.evidence,
          settled: record.response[0]?.toString(),
        },
        record.index,
      );
    })();
  }

  // ------------------------------------------------------------------ calls

  /**
   * Journals a call BEFORE it is sent (each attempt): the first time with its request, idempotency
   * key and fields; again before each re-send (attempts + 1, status PENDING).
   */
  callSending(args: {
    runId: string;
    callSeq: number;
    traceIndex: number;
    system: string;
    operation: number;
    operationName: string;
    idempotencyKey: string;
    request: unknown;
    requestFields: readonly bigint[];
  }): void {
    this.db.transaction(() => {
      const at = now();
      const existing = this.db
        .prepare<{ attempts: number }>("SELECT attempts FROM calls WHERE run_id = ? AND call_seq = ?")
        .get(args.runId, args.callSeq);
      if (existing) {
        this.db
          .prepare(
            "UPDATE calls SET status = 'PENDING', attempts = attempts + 1, sent_at = ?, error = NULL WHERE run_id = ? AND call_seq = ?",
          )
          .run(at, args.runId, args.callSeq);
      } else {
        this.db
          .prepare(
            `INSERT INTO calls (run_id, call_seq, trace_index, system, operation, operation_name, idempotency_key,
               request_json, request_fields, status, attempts, sent_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'PENDING', 1, ?)`,
          )
          .run(
            args.runId,
            args.callSeq,
            args.traceIndex,
            args.system,
            args.operation,
            args.operationName,
            args.idempotencyKey,
            toJournalJson(args.request),
            fieldsToJson(args.requestFields),
            at,
          );
      }
      this.event(
        args.runId,
        "call-sending",
        {
          operation: args.operationName,
          idempotencyKey: args.idempotencyKey,
          attempt: (existing?.attempts ?? 0) + 1,
        },
        args.traceIndex,
        args.callSeq,
      );
    })();
  }

  /** The attested answer arrived (signature verified by the host interface). */
  callAnswered(args: {
    runId: string;
    callSeq: number;
    response: unknown;
    responseFields: readonly bigint[];
    attestation: Attestation;
  }): void {
    this.db.transaction(() => {
      this.db
        .prepare(
          `UPDATE calls SET status = 'ANSWERED', response_json = ?, response_fields = ?, attestation_json = ?,
             error = NULL, answered_at = ? WHERE run_id = ? AND call_seq = ?`,
        )
        .run(
          toJournalJson(args.response),
          fieldsToJson(args.responseFields),
          toJournalJson(args.attestation),
          now(),
          args.runId,
          args.callSeq,
        );
      this.event(
        args.runId,
        "call-answered",
        { status: args.responseFields[0]?.toString() },
        undefined,
        args.callSeq,
      );
    })();
  }

  /**
   * A status query's attested answer arrived; when it shows the queried call took effect, that
   * call's response is kept with it in the same transaction (the queried call becomes SETTLED).
   */
  callSettled(args: {
    runId: string;
    callSeq: number;
    response: unknown;
    responseFields: readonly bigint[];
    attestation: Attestation;
    settles?: { callSeq: number; response: unknown; responseFields: readonly bigint[] };
  }): void {
    this.db.transaction(() => {
      this.callAnswered(args);
      const { settles } = args;
      if (settles) {
        this.db
          .prepare(
            `UPDATE calls SET status = 'SETTLED', response_json = ?, response_fields = ?, attestation_json = NULL,
               answered_at = ? WHERE run_id = ? AND call_seq = ?`,
          )
          .run(
            toJournalJson(settles.response),
            fieldsToJson(settles.responseFields),
            now(),
            args.runId,
            settles.callSeq,
          );
        this.event(args.runId, "call-settled", { by: args.callSeq }, undefined, settles.callSeq);
      }
    })();
  }

  /** The attempt got no acceptable answer (timeout, outage, refusal, bad attestation, ...). */
  callFailed(args: { runId: string; callSeq: number; error: string; retryable: boolean }): void {
    this.db.transaction(() => {
      this.db
        .prepare("UPDATE calls SET status = 'FAILED', error = ? WHERE run_id = ? AND call_seq = ?")
        .run(args.error, args.runId, args.callSeq);
      this.event(
        args.runId,
        "call-failed",
        { error: args.error, retryable: args.retryable },
        undefined,
        args.callSeq,
      );
    })();
  }

  // ------------------------------------------------------------------ internals

  private touch(runId: string): void {
    this.db.prepare("UPDATE runs SET updated_at = ? WHERE run_id = ?").run(now(), runId);
  }

  private event(runId: string, kind: string, detail?: unknown, traceIndex?: number, callSeq?: number): void {
    this.db
      .prepare(
        "INSERT INTO events (run_id, at, kind, trace_index, call_seq, detail_json) VALUES (?, ?, ?, ?, ?, ?)",
      )
      .run(
        runId,
        now(),
        kind,
        traceIndex ?? null,
        callSeq ?? null,
        detail === undefined ? null : toJournalJson(detail),
      );
  }
}

/**
 * Brings a journal of an older schema up to this one (idempotent). Version 1 had no steps.salt: the
 * column is added, and each finished record without one gets a fresh salt, once, so that a resumed
 * run rebuilds the same trace root every time. (A run proven before salted leaves cannot be proven
 * again: its old leaves had no salt.)
 */
function migrate(db: Database): void {
  migrateSalts(db);
  migrateBindings(db);
}

/**
 * Version 3 keeps what a run's id commits to (submitter, workflow tag, nonce). Runs journaled before
 * have none: their ids were random, so this version's templates cannot prove them (resume says so).
 */
function migrateBindings(db: Database): void {
  const hasBinding = () =>
    (db.prepare("PRAGMA table_info(runs)").all() as { name: string }[]).some((c) => c.name === "run_nonce");
  if (hasBinding()) return;
  db.transaction(() => {
    if (hasBinding()) return;
    db.exec("ALTER TABLE runs ADD COLUMN submitter TEXT");
    db.exec("ALTER TABLE runs ADD COLUMN workflow_tag TEXT");
    db.exec("ALTER TABLE runs ADD COLUMN run_nonce TEXT");
  }).immediate();
}

function migrateSalts(db: Database): void {
  const hasSalt = () =>
    (db.prepare("PRAGMA table_info(steps)").all() as { name: string }[]).some((c) => c.name === "salt");
  if (hasSalt()) return;
  // IMMEDIATE: another process opening the same journal migrates it first or waits for this one.
  db.transaction(() => {
    if (hasSalt()) return;
    db.exec("ALTER TABLE steps ADD COLUMN salt TEXT");
    const rows = db
      .prepare("SELECT run_id, trace_index FROM steps WHERE record_status IS NOT NULL AND salt IS NULL")
      .all() as { run_id: string; trace_index: number }[];
    const update = db.prepare("UPDATE steps SET salt = ? WHERE run_id = ? AND trace_index = ?");
    for (const row of rows) update.run(newRecordSalt().toString(), row.run_id, row.trace_index);
  }).immediate();
}

const RUN_SELECT = `SELECT r.*,
  (SELECT COUNT(*) FROM steps s WHERE s.run_id = r.run_id) AS step_count,
  (SELECT step_name FROM steps s WHERE s.run_id = r.run_id AND s.phase = 'FORWARD' AND s.status = 'FAILED') AS failed_step
  FROM runs r`;

function runFromRow(row: RunRow): JournalRun {
  return {
    runId: row.run_id,
    workflowId: BigInt(row.run_id),
    ...(row.submitter !== null && row.workflow_tag !== null && row.run_nonce !== null
      ? {
          binding: {
            submitter: row.submitter,
            workflowTag: BigInt(row.workflow_tag),
            runNonce: BigInt(row.run_nonce),
          },
        }
      : {}),
    scenario: row.scenario,
    template: row.template,
    input: fromJournalJson(row.input_json),
    status: row.status,
    outcome: opt(row.outcome),
    reason: opt(row.reason),
    lastError: opt(row.last_error),
    owner: opt(row.owner),
    stepCount: row.step_count,
    failedStep: opt(row.failed_step),
    bundlePath: opt(row.bundle_path),
    network: opt(row.network),
    txHash: opt(row.tx_hash),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function stepFromRow(row: StepRow): JournalStep {
  const request = fieldsFromJson(row.request_fields);
  const response = fieldsFromJson(row.response_fields);
  const record: StepRecord | undefined =
    row.record_status && request && response && row.evidence && row.salt !== null
      ? {
          index: row.trace_index,
          stepCode: row.step_code,
          stepName: row.step_name,
          phase: row.phase,
          status: row.record_status,
          callSeq: row.call_seq,
          operation: row.operation,
          request,
          response,
          evidence: row.evidence,
          salt: BigInt(row.salt),
        }
      : undefined;
  return {
    traceIndex: row.trace_index,
    stepIndex: row.step_index,
    phase: row.phase,
    stepName: row.step_name,
    stepCode: row.step_code,
    callSeq: row.call_seq,
    operation: row.operation,
    status: row.status,
    attempts: row.attempts,
    record,
    result: fromJournalJson(row.result_json),
    error: opt(row.error),
    startedAt: row.started_at,
    finishedAt: opt(row.finished_at),
  };
}

/** An attestation as journaled, field elements back to bigints (also from plain decimal strings). */
function attestationFromJson(text: string | null): Attestation | undefined {
  const raw = fromJournalJson(text) as
    | {
        system: string;
        systemCode: number;
        publicKey: [unknown, unknown];
        signature: { R8: [unknown, unknown]; S: unknown };
      }
    | undefined;
  if (!raw) return undefined;
  const big = (value: unknown) => BigInt(value as string | bigint);
  return {
    system: raw.system,
    systemCode: raw.systemCode,
    publicKey: [big(raw.publicKey[0]), big(raw.publicKey[1])],
    signature: { R8: [big(raw.signature.R8[0]), big(raw.signature.R8[1])], S: big(raw.signature.S) },
  };
}

function callFromRow(row: CallRow): JournalCall {
  return {
    callSeq: row.call_seq,
    traceIndex: row.trace_index,
    system: row.system,
    operation: row.operation,
    operationName: row.operation_name,
    idempotencyKey: row.idempotency_key,
    request: fromJournalJson(row.request_json),
    requestFields: fieldsFromJson(row.request_fields) ?? [],
    status: row.status,
    attempts: row.attempts,
    response: fromJournalJson(row.response_json),
    responseFields: fieldsFromJson(row.response_fields),
    attestation: attestationFromJson(row.attestation_json),
    error: opt(row.error),
    sentAt: row.sent_at,
    answeredAt: opt(row.answered_at),
  };
}
