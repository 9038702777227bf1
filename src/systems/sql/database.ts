import fs from "node:fs";
import Database from "better-sqlite3";
import pg from "pg";
import { describeSqlSource, type SqlSource } from "./source";

/** A bind parameter of a named query. */
export type SqlValue = string | number | bigint | null;

/** A row as the database driver returns it: column name → value (driver types, coerced by each query's row schema). */
export type SqlRow = Record<string, unknown>;

const STATEMENT_TIMEOUT_MS = 10_000;
const CONNECT_TIMEOUT_MS = 10_000;

/** The gateway could not run a query (the database is missing or unreachable, the SQL is wrong): retryable. */
export class SqlDatabaseError extends Error {
  override name = "SqlDatabaseError";
}

/** A statement that would change the database: never run by the gateway. */
export class SqlReadOnlyError extends Error {
  override name = "SqlReadOnlyError";
}

/**
 * Runs one parameterised SELECT on the lab's database, read-only, and returns at most `limit` rows:
 * SQLite opened read-only (and the statement refused unless SQLite says it reads and changes
 * nothing), PostgreSQL in a READ ONLY transaction of a session whose transactions default to read
 * only. Parameters are `$1, $2, …` in the SQL (PostgreSQL's syntax; for SQLite they are bound by
 * position of occurrence) and bound, never spliced into the text. SQLite integers come back as
 * BigInt, PostgreSQL's BIGINT as decimal strings: the caller's row schema coerces them.
 */
export async function readOnlyQuery(args: {
  source: SqlSource;
  sql: string;
  params: readonly SqlValue[];
  limit: number;
}): Promise<SqlRow[]> {
  const { source, params } = args;
  if (!Number.isSafeInteger(args.limit) || args.limit < 1)
    throw new RangeError(`bad row limit ${args.limit}`);
  // The limit wraps the query, so a query returns at most `limit` rows whatever its own text says.
  const sql = `SELECT * FROM (${args.sql}) AS named_query LIMIT ${args.limit}`;
  return source.kind === "sqlite"
    ? sqliteQuery(source.file, sql, params)
    : postgresQuery(source.url, sql, params, describeSqlSource(source));
}

function sqliteQuery(file: string, sql: string, params: readonly SqlValue[]): SqlRow[] {
  if (!fs.existsSync(file)) throw new SqlDatabaseError(`the lab database ${file} does not exist (yet)`);
  let db: Database;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true, timeout: STATEMENT_TIMEOUT_MS });
  } catch (cause) {
    throw new SqlDatabaseError(`cannot open the lab database ${file}: ${(cause as Error).message}`);
  }
  try {
    const { text, order } = sqlitePlaceholders(sql);
    let statement;
    try {
      statement = db.prepare<SqlRow>(text);
    } catch (cause) {
      throw new SqlDatabaseError(`SQLite refuses the query: ${(cause as Error).message}`);
    }
    if (!statement.reader || !statement.readonly) {
      throw new SqlReadOnlyError("the query is not a read-only SELECT");
    }
    const bound = order.map((n) => {
      if (n < 1 || n > params.length)
        throw new RangeError(`the query uses $${n}, it has ${params.length} parameter(s)`);
      return params[n - 1];
    });
    return statement.safeIntegers(true).all(...bound);
  } finally {
    db.close();
  }
}

/** `$1 … $n` → `?` for SQLite, with the parameter number of each occurrence in order. */
export function sqlitePlaceholders(sql: string): { text: string; order: number[] } {
  const order: number[] = [];
  const text = sql.replace(/\$(\d+)/g, (_, n: string) => {
    order.push(Number(n));
    return "?";
  });
  return { text, order };
}

async function postgresQuery(
  url: string,
  sql: string,
  params: readonly SqlValue[],
  where: string,
): Promise<SqlRow[]> {
  const client = new pg.Client({
    connectionString: url,
    // Every transaction of this session is read only, and so is the one the query runs in.
    options: "-c default_transaction_read_only=on",
    statement_timeout: STATEMENT_TIMEOUT_MS,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
  });
  client.on("error", () => undefined); // a dropped connection fails the query below, not the process
  try {
    await client.connect();
  } catch (cause) {
    await client.end().catch(() => undefined);
    throw new SqlDatabaseError(`cannot connect to ${where}: ${(cause as Error).message}`);
  }
  try {
    await client.query("BEGIN TRANSACTION READ ONLY");
    const result = await client.query<SqlRow>(sql, params as SqlValue[]);
    await client.query("COMMIT");
    return result.rows;
  } catch (cause) {
    const code = (cause as { code?: string }).code;
    // 25006: read_only_sql_transaction (the statement would write).
    if (code === "25006")
      throw new SqlReadOnlyError(`PostgreSQL refuses a write: ${(cause as Error).message}`);
    throw new SqlDatabaseError(`${where} refuses the query: ${(cause as Error).message}`);
  } finally {
    await client.end().catch(() => undefined);
  }
}
