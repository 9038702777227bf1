import { z } from "zod";
import { decodeString, encodeString } from "../../crypto";
import { defineStatusOperation, type OperationSpec } from "../../host";
import { fieldText, numberOf, statusOf } from "../fields";
import { queryOperation, type AnyNamedQuery, type NamedQuery } from "./query";

/** The named queries the SQL gateway serves, one operation each (codes 501…). */

// ---------------------------------------------------------------- lab.inspection_result(lot)

/** The lab's verdict on the lot, response field 0. */
export const InspectionVerdict = { PASSED: 1n, FAILED: 2n, NO_RESULT: 3n, REFUSED: 4n } as const;

export const InspectionParamsSchema = z
  .object({
    /** The lot inspected (the ERP's lot id). */
    lot: fieldText("lot"),
  })
  .strict();
export type InspectionParams = z.infer<typeof InspectionParamsSchema>;

export const InspectionRowSchema = z
  .object({
    lot: fieldText("lot"),
    passed: z.boolean(),
    /** The measured value, a whole number in the product spec's unit (64-bit, here below 2^53). */
    measuredValue: z
      .number()
      .int("measuredValue must be a whole number")
      .nonnegative("measuredValue must not be negative")
      .max(Number.MAX_SAFE_INTEGER, "measuredValue must be a safe integer"),
    /** The lab's id of the test record. */
    testId: fieldText("testId"),
  })
  .strict();
export type InspectionRow = z.infer<typeof InspectionRowSchema>;

export const InspectionResponseSchema = z
  .object({
    /**
     * PASSED / FAILED: the lab recorded one result for the lot, and that is its verdict; NO_RESULT:
     * none yet; REFUSED: the gateway declined to answer.
     */
    status: z.enum(["PASSED", "FAILED", "NO_RESULT", "REFUSED"]),
    /** The lot's result: one row for PASSED and FAILED, none otherwise. */
    rows: z.array(InspectionRowSchema).max(1, "the fields hold one inspection result"),
  })
  .strict()
  .superRefine((r, ctx) => {
    const verdict = r.rows.length === 0 ? undefined : r.rows[0].passed ? "PASSED" : "FAILED";
    const ok = r.status === "PASSED" || r.status === "FAILED" ? verdict === r.status : r.rows.length === 0;
    if (!ok) ctx.addIssue({ code: "custom", message: `status ${r.status} does not match the rows` });
  });
export type InspectionResponse = z.infer<typeof InspectionResponseSchema>;

/**
 * The gateway's status query (every system has one; the shared server answers it from its ledger
 * under a call's idempotency key): whether a query under that key was answered, and with what.
 */
export const sqlStatus = defineStatusOperation({
  name: "sql.status",
  code: 502,
  system: "sql",
  settles: () => SQL_QUERIES.map((query) => query.spec),
});

/**
 * Request `[name, lot, 0, 0]`; response `[verdict, lot, measuredValue, testId]` for one result
 * (the row's `passed` is the verdict: PASSED 1, FAILED 2), `[3 or 4, 0, 0, 0]` for none.
 */
export const labInspectionResult: OperationSpec<InspectionParams, InspectionResponse> = queryOperation({
  name: "lab.inspection_result",
  code: 501,
  settle: { statusQuery: sqlStatus },
  paramsSchema: InspectionParamsSchema,
  encodeParams: (p) => [encodeString(p.lot), 0n, 0n],
  decodeParams: ([lot]) => ({ lot: decodeString(lot) }),
  responseSchema: InspectionResponseSchema,
  encodeResponse: (r) => {
    const [row] = r.rows;
    return row
      ? [
          InspectionVerdict[r.status],
          encodeString(row.lot),
          BigInt(row.measuredValue),
          encodeString(row.testId),
        ]
      : [InspectionVerdict[r.status], 0n, 0n, 0n];
  },
  decodeResponse: ([verdict, lot, measuredValue, testId]) => {
    const status = statusOf(InspectionVerdict, verdict);
    return {
      status,
      rows:
        status === "PASSED" || status === "FAILED"
          ? [
              {
                lot: decodeString(lot),
                passed: status === "PASSED",
                measuredValue: numberOf(measuredValue),
                testId: decodeString(testId),
              },
            ]
          : [],
    };
  },
});

/** A column of the drivers' integer types (SQLite BigInt with safeIntegers, PostgreSQL BIGINT as text). */
const dbInteger = (what: string) =>
  z
    .union([z.bigint(), z.number().int(), z.string().regex(/^-?[0-9]+$/)], {
      errorMap: () => ({ message: `${what} is not an integer` }),
    })
    .transform((value) => BigInt(value))
    .refine((value) => value >= 0n && value <= BigInt(Number.MAX_SAFE_INTEGER), {
      message: `${what} must be a whole number from 0 to 2^53 - 1`,
    })
    .transform(Number);

/** A boolean column: PostgreSQL's BOOLEAN, SQLite's 0/1. */
const dbBoolean = (what: string) =>
  z
    .union([z.boolean(), z.literal(0n), z.literal(1n), z.literal(0), z.literal(1)], {
      errorMap: () => ({ message: `${what} is not a boolean (true/false or 1/0)` }),
    })
    .transform((value) => value === true || value === 1n || value === 1);

export const inspectionResultQuery: NamedQuery<InspectionParams, InspectionRow, InspectionResponse> = {
  name: "lab.inspection_result",
  description: "the quality lab's inspection result of a lot: passed or not, the measured value, the test id",
  spec: labInspectionResult,
  sql: "SELECT lot, passed, measured_value, test_id FROM inspection_results WHERE lot = $1 ORDER BY test_id",
  bind: (p) => [p.lot],
  row: z
    .object({
      lot: fieldText("lot"),
      passed: dbBoolean("passed"),
      measured_value: dbInteger("measured_value"),
      test_id: fieldText("test_id"),
    })
    .transform((r): InspectionRow => ({
      lot: r.lot,
      passed: r.passed,
      measuredValue: r.measured_value,
      testId: r.test_id,
    })),
  maxRows: 1,
  answer: (_params, rows) =>
    rows.length === 0
      ? { status: "NO_RESULT", rows }
      : { status: rows[0].passed ? "PASSED" : "FAILED", rows },
  refused: { status: "REFUSED", rows: [] },
};

/** Every named query, by name (a new query is an entry here and its operation code). */
export const SQL_QUERIES: readonly AnyNamedQuery[] = [inspectionResultQuery];
