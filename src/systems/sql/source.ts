import path from "node:path";

/**
 * Where the lab's SQL database is: a SQLite file by default (`<dataDir>/lab/lab.sqlite`), or the
 * database `WESFLOW_SQL_URL` names: `postgres://user@host:port/db` (or `postgresql://`) for
 * PostgreSQL, `file:PATH` for another SQLite file. The gateway reads it, the simulated lab writes it.
 */
export type SqlSource = { kind: "sqlite"; file: string } | { kind: "postgres"; url: string };

export const SQL_URL_ENV = "WESFLOW_SQL_URL";

export class SqlSourceError extends Error {
  override name = "SqlSourceError";
}

/** The lab's SQLite file when no URL says otherwise. */
export function defaultLabDatabaseFile(dataDir: string): string {
  return path.join(dataDir, "lab", "lab.sqlite");
}

/** The lab's database: `url` (default: the WESFLOW_SQL_URL environment variable), else the default file. */
export function sqlSourceOf(args: { dataDir: string; url?: string }): SqlSource {
  const url = (args.url ?? process.env[SQL_URL_ENV] ?? "").trim();
  if (url === "") return { kind: "sqlite", file: defaultLabDatabaseFile(args.dataDir) };
  if (/^postgres(ql)?:\/\//i.test(url)) return { kind: "postgres", url };
  if (/^file:/i.test(url)) {
    const file = url.slice("file:".length);
    if (file === "") throw new SqlSourceError(`${SQL_URL_ENV}=file: names no file`);
    return { kind: "sqlite", file: path.resolve(file) };
  }
  throw new SqlSourceError(
    `${SQL_URL_ENV} must be postgres://… (PostgreSQL) or file:PATH (SQLite), got "${redactedUrl(url)}"`,
  );
}

/** For logs and messages: a PostgreSQL URL without its password, or the SQLite file. */
export function describeSqlSource(source: SqlSource): string {
  return source.kind === "sqlite" ? `SQLite ${source.file}` : `PostgreSQL ${redactedUrl(source.url)}`;
}

function redactedUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString();
  } catch {
    return url.replace(/\/\/([^:@/]*):[^@/]*@/, "//$1:***@");
  }
}
