import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import pg from "pg";
import { z } from "zod";
import { describeZodError } from "../../host";
import { fieldText } from "../fields";
import { describeSqlSource, sqlSourceOf, type SqlSource } from "./source";

/**
 * The quality lab's own SQL database and the simulated lab that writes it (what the gateway's named
 * queries read). One table, the same DDL in SQLite and PostgreSQL:
 *
 *   inspection_results(test_id TEXT PRIMARY KEY, lot TEXT, passed BOOLEAN, measured_value BIGINT,
 *                      inspector TEXT, inspected_at TEXT)
 */

export const LAB_SCHEMA = `CREATE TABLE IF NOT EXISTS inspection_results (
  test_id        TEXT PRIMARY KEY,
  lot            TEXT NOT NULL,
  passed         BOOLEAN NOT NULL,
  measured_value BIGINT NOT NULL CHECK (measured_value >= 0),
  inspector      TEXT NOT NULL,
  inspected_at   TEXT NOT NULL
)`;
const LAB_INDEX = "CREATE INDEX IF NOT EXISTS inspection_results_lot ON inspection_results (lot)";

export class LabError extends Error {
  override name = "LabError";
}

export const InspectionRecordSchema = z
  .object({
    testId: fieldText("testId"),
    lot: fieldText("lot"),
    passed: z.boolean(),
    measuredValue: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
    inspector: z.string().min(1).max(200),
    /** ISO 8601; default now. */
    inspectedAt: z.string().datetime().optional(),
  })
  .strict();
export type InspectionRecord = z.infer<typeof InspectionRecordSchema>;

/** The lab's writing side of its database (the gateway only ever reads it). */
export interface LabDatabase {
  readonly source: SqlSource;
  /** Writes one inspection result. */
  record(result: InspectionRecord): Promise<void>;
  /** How many results the lab holds (the simulated lab numbers its tests with it). */
  count(): Promise<number>;
  close(): Promise<void>;
}

/**
 * Opens the lab's database for writing and creates its table if missing: `source`, or where
 * sqlSourceOf puts it (WESFLOW_SQL_URL, else `<dataDir>/lab/lab.sqlite`).
 */
export async function openLabDatabase(args: { source?: SqlSource; dataDir?: string }): Promise<LabDatabase> {
  const source =
    args.source ?? (args.dataDir !== undefined ? sqlSourceOf({ dataDir: args.dataDir }) : undefined);
  if (!source) throw new LabError("openLabDatabase needs a source or a dataDir");
  return source.kind === "sqlite" ? openSqliteLab(source) : await openPostgresLab(source);
}

function checked(result: InspectionRecord): InspectionRecord & { inspectedAt: string } {
  const parsed = InspectionRecordSchema.safeParse(result);
  if (!parsed.success)
    throw new LabError(`invalid inspection result: ${describeZodError(parsed.error, "result")}`);
  return { ...parsed.data, inspectedAt: parsed.data.inspectedAt ?? new Date().toISOString() };
}

function openSqliteLab(source: Extract<SqlSource, { kind: "sqlite" }>): LabDatabase {
  fs.mkdirSync(path.dirname(source.file), { recursive: true });
  const db = new Database(source.file, { timeout: 10_000 });
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = FULL");
  db.exec(LAB_SCHEMA);
  db.exec(LAB_INDEX);
  const insert = db.prepare(
    "INSERT INTO inspection_results (test_id, lot, passed, measured_value, inspector, inspected_at) VALUES (?, ?, ?, ?, ?, ?)",
  );
  return {
    source,
    record: async (result) => {
      const r = checked(result);
      insert.run(r.testId, r.lot, r.passed ? 1 : 0, r.measuredValue, r.inspector, r.inspectedAt);
    },
    count: async () => db.prepare<{ n: number }>("SELECT COUNT(*) AS n FROM inspection_results").get()!.n,
    close: async () => {
      if (db.open) db.close();
    },
  };
}

async function openPostgresLab(source: Extract<SqlSource, { kind: "postgres" }>): Promise<LabDatabase> {
  const client = new pg.Client({ connectionString: source.url, connectionTimeoutMillis: 10_000 });
  client.on("error", () => undefined);
  try {
    await client.connect();
    await client.query(LAB_SCHEMA);
    await client.query(LAB_INDEX);
  } catch (cause) {
    await client.end().catch(() => undefined);
    throw new LabError(
      `cannot open the lab database ${describeSqlSource(source)}: ${(cause as Error).message}`,
    );
  }
  return {
    source,
    record: async (result) => {
      const r = checked(result);
      await client.query(
        "INSERT INTO inspection_results (test_id, lot, passed, measured_value, inspector, inspected_at) VALUES ($1, $2, $3, $4, $5, $6)",
        [r.testId, r.lot, r.passed, r.measuredValue, r.inspector, r.inspectedAt],
      );
    },
    count: async () =>
      Number((await client.query<{ n: string }>("SELECT COUNT(*) AS n FROM inspection_results")).rows[0].n),
    close: async () => {
      await client.end().catch(() => undefined);
    },
  };
}

// ---------------------------------------------------------------- the simulated lab

/**
 * What the simulated lab can be told to do wrong: `fail-inspection` records a failing result (the
 * measured value just above the spec, passed = false), so a workflow's inspection reads an attested
 * failure (`--fail lab:fail-inspection`).
 */
export type LabFaultKind = "fail-inspection";
export const LAB_FAULT_KINDS: readonly LabFaultKind[] = ["fail-inspection"];

export const LabFaultSchema = z
  .object({
    kind: z.enum(["fail-inspection"]),
    /** How many inspections it affects, default 1. */
    times: z.number().int().positive().max(1_000_000).optional(),
    /** Only this lot's inspection; omitted: any lot's. */
    lot: fieldText("lot").optional(),
  })
  .strict();
export type LabFault = z.infer<typeof LabFaultSchema>;

/** The simulated quality lab: inspects a lot against its spec and records the result in its database. */
export class SimulatedLab {
  private faults: { kind: LabFaultKind; lot?: string; remaining: number }[] = [];
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    readonly database: LabDatabase,
    readonly inspector = "LAB-INSPECTOR-1",
  ) {}

  /** The lab on the database `source` (or the data directory's, see openLabDatabase). */
  static async open(args: {
    source?: SqlSource;
    dataDir?: string;
    inspector?: string;
  }): Promise<SimulatedLab> {
    return new SimulatedLab(await openLabDatabase(args), args.inspector);
  }

  injectFault(fault: LabFault): void {
    const parsed = LabFaultSchema.safeParse(fault);
    if (!parsed.success) throw new LabError(`invalid lab fault: ${describeZodError(parsed.error, "fault")}`);
    this.faults.push({ kind: parsed.data.kind, lot: parsed.data.lot, remaining: parsed.data.times ?? 1 });
  }

  clearFaults(): void {
    this.faults = [];
  }

  /**
   * Inspects `lot` against the spec [specMin, specMax] and records the result: within spec, the
   * middle of the range, passed; with a `fail-inspection` fault, specMax + 1, failed. Test ids are
   * `QT-000001`, … in the order the lab records them.
   */
  inspect(args: { lot: string; specMin: number; specMax: number }): Promise<InspectionRecord> {
    const { lot, specMin, specMax } = args;
    if (
      !Number.isSafeInteger(specMin) ||
      !Number.isSafeInteger(specMax) ||
      specMin < 0 ||
      specMin > specMax
    ) {
      throw new LabError(`the spec [${specMin}, ${specMax}] is not a range of whole numbers from 0`);
    }
    const task = async () => {
      const fault = this.takeFault(lot);
      const passed = fault === undefined;
      const result: InspectionRecord = {
        testId: `QT-${String((await this.database.count()) + 1).padStart(6, "0")}`,
        lot,
        passed,
        measuredValue: passed ? specMin + Math.floor((specMax - specMin) / 2) : specMax + 1,
        inspector: this.inspector,
        inspectedAt: new Date().toISOString(),
      };
      await this.database.record(result);
      return result;
    };
    const run = this.queue.then(task, task);
    this.queue = run.catch(() => undefined);
    return run;
  }

  close(): Promise<void> {
    return this.database.close();
  }

  private takeFault(lot: string): LabFaultKind | undefined {
    const fault = this.faults.find((f) => f.lot === undefined || f.lot === lot);
    if (!fault) return undefined;
    fault.remaining -= 1;
    if (fault.remaining <= 0) this.faults = this.faults.filter((f) => f !== fault);
    return fault.kind;
  }
}
