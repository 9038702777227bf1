import { describeZodError } from "../../host";
import type { Logger } from "../../project";
import { OperationRefusal, type OperationHandler } from "../types";
import { readOnlyQuery, SqlReadOnlyError } from "./database";
import { SQL_QUERIES } from "./queries";
import { describeQueryCall, type AnyNamedQuery } from "./query";
import { describeSqlSource, type SqlSource } from "./source";

/** A query name the gateway does not serve (the host's side: see sqlQuery). */
export class UnknownQueryError extends Error {
  override name = "UnknownQueryError";
}

/** The named query `name` of the registry, or UnknownQueryError listing the ones there are. */
export function namedQuery(name: string, queries: readonly AnyNamedQuery[] = SQL_QUERIES): AnyNamedQuery {
  const found = queries.find((q) => q.name === name);
  if (!found) {
    throw new UnknownQueryError(
      `the SQL gateway has no query "${name}"; named queries: ${queries.map((q) => q.name).join(", ")}`,
    );
  }
  return found;
}

/**
 * The host interface's database adapter: the operation spec of a named query, to call through the
 * host like any system (`ctx.call(sqlQuery("lab.inspection_result"), { lot })`). An unknown name
 * is refused here, before anything is journaled or sent.
 */
export function sqlQuery(name: string) {
  return namedQuery(name).spec;
}

/**
 * The SQL gateway's handlers on the shared signing server, one per named query: each runs its
 * query's fixed SQL read-only on `source` with the request's (schema-checked) parameters, coerces
 * the rows with the query's row schema and answers the query's verdict and rows, which the server
 * signs. Refused with HTTP 422 and nothing recorded: more rows than the fields hold (TOO_MANY_ROWS,
 * never cut short), a row the fields cannot hold (ROW_NOT_ENCODABLE), SQL that would write
 * (NOT_READ_ONLY). A database that cannot be reached is an outage (HTTP 500, retried). The server
 * keeps each answer under its idempotency key, so a retried call gets the rows first read and signed.
 */
export function sqlGatewayHandlers(args: {
  source: SqlSource;
  queries?: readonly AnyNamedQuery[];
  logger?: Logger;
}): Record<string, OperationHandler> {
  const { source } = args;
  const log = args.logger?.child({ component: "sql-gateway", database: describeSqlSource(source) });
  return Object.fromEntries(
    (args.queries ?? SQL_QUERIES).map((query): [string, OperationHandler] => [
      query.name,
      async (params, ctx) => {
        if (ctx.decline) return query.refused;
        const call = describeQueryCall(query.name, params as Record<string, unknown>);
        let raw;
        try {
          raw = await readOnlyQuery({
            source,
            sql: query.sql,
            params: query.bind(params),
            limit: query.maxRows + 1,
          });
        } catch (error) {
          if (error instanceof SqlReadOnlyError)
            throw new OperationRefusal("NOT_READ_ONLY", `${call}: ${error.message}`);
          throw error;
        }
        if (raw.length > query.maxRows) {
          throw new OperationRefusal(
            "TOO_MANY_ROWS",
            `${call} returned more than ${query.maxRows} row(s); its response fields hold at most ${query.maxRows}`,
          );
        }
        const rows = raw.map((row, i) => {
          const parsed = query.row.safeParse(row);
          if (!parsed.success) {
            throw new OperationRefusal(
              "ROW_NOT_ENCODABLE",
              `${call}: ${describeZodError(parsed.error, `row ${i}`)}`,
            );
          }
          return parsed.data;
        });
        const response = query.answer(params, rows);
        const checked = query.spec.responseSchema.safeParse(response);
        if (!checked.success) {
          throw new OperationRefusal(
            "ROW_NOT_ENCODABLE",
            `${call}: ${describeZodError(checked.error, "rows")}`,
          );
        }
        try {
          query.spec.encodeResponse(checked.data);
        } catch (error) {
          throw new OperationRefusal("ROW_NOT_ENCODABLE", `${call}: ${(error as Error).message}`);
        }
        log?.debug({ query: query.name, rows: rows.length, sequence: ctx.sequence }, "named query answered");
        return checked.data;
      },
    ]),
  );
}
