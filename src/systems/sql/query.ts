import type { z } from "zod";
import { decodeString, encodeString } from "../../crypto";
import { defineOperation, type OperationSpec, type StatusOperationSpec } from "../../host";
import type { OperationName } from "../../trace";
import type { SqlValue } from "./database";

/**
 * A named, parameterised, read-only query of the SQL gateway: the only SQL the gateway runs (a
 * request names a query and gives its parameters, never SQL text). Each is an operation of the
 * `sql` system (its code in src/trace/catalog.ts), so a workflow calls it through the host interface
 * like any other system, and the gateway signs the same message as every system:
 * `(workflowId, callSeq, operation, requestHash, responseHash)` with
 * - requestHash = Poseidon(queryName, param fields…): request field 0 is the query's name (one
 *   field element), fields 1..3 its parameters;
 * - responseHash = Poseidon(verdict, row fields…): response field 0 is the query's verdict (1 = the
 *   affirmative answer, e.g. the lot passed), fields 1..3 the rows, encoded canonically.
 */
export interface NamedQuery<Params = unknown, Row = unknown, Res = unknown> {
  name: OperationName;
  /** What it answers, in words. */
  description: string;
  /** The operation the gateway serves it as: request = the parameters, response = verdict + rows. */
  spec: OperationSpec<Params, Res>;
  /** One SELECT with parameters `$1, $2, …`, valid in SQLite and PostgreSQL. */
  sql: string;
  /** The values of `$1, $2, …` for the parameters. */
  bind(params: Params): SqlValue[];
  /**
   * A database row (as either driver returns it) → the row the response carries: coerces the drivers'
   * types, and refuses what the fields cannot hold.
   */
  row: z.ZodType<Row, z.ZodTypeDef, unknown>;
  /** The most rows the response's fields hold; more is refused (TOO_MANY_ROWS), never cut. */
  maxRows: number;
  /** The response for rows (at most maxRows). */
  answer(params: Params, rows: Row[]): Res;
  /** The gateway's signed refusal (what a `decline` fault answers). */
  refused: Res;
}

/** Any named query, whatever its types (for the registry). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyNamedQuery = NamedQuery<any, any, any>;

/** `lab.inspection_result(lot=LT000001)`. */
export function describeQueryCall(name: string, params: Record<string, unknown>): string {
  return `${name}(${Object.entries(params)
    .map(([key, value]) => `${key}=${String(value)}`)
    .join(", ")})`;
}

/**
 * The operation spec of a named query: request fields `[queryName, ...params (3 fields)]`, response
 * fields as the query encodes its verdict and rows.
 */
export function queryOperation<Params extends Record<string, unknown>, Res>(def: {
  name: OperationName;
  /** The operation's code (unique in the systems catalog; the sql system's are 501…). */
  code: number;
  /** The gateway's status query (sql.status), which the shared server answers from its ledger. */
  settle: { statusQuery: StatusOperationSpec };
  paramsSchema: z.ZodType<Params>;
  /** The parameters into 3 field elements. */
  encodeParams(params: Params): bigint[];
  decodeParams(fields: readonly bigint[]): Params;
  responseSchema: z.ZodType<Res>;
  encodeResponse(response: Res): bigint[];
  decodeResponse(fields: readonly bigint[]): Res;
}): OperationSpec<Params, Res> {
  const nameField = encodeString(def.name, "query name");
  return defineOperation<Params, Res>({
    name: def.name,
    code: def.code,
    settle: def.settle,
    system: "sql",
    requestSchema: def.paramsSchema,
    responseSchema: def.responseSchema,
    encodeRequest: (params) => [nameField, ...def.encodeParams(params)],
    decodeRequest: ([name, ...params]) => {
      if (name !== nameField) {
        throw new RangeError(`request field 0 names query "${decodeString(name)}", not ${def.name}`);
      }
      return def.decodeParams(params);
    },
    encodeResponse: def.encodeResponse,
    decodeResponse: def.decodeResponse,
    describe: (params) => describeQueryCall(def.name, params),
  });
}
