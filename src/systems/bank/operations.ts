import { z } from "zod";
import { poseidon, SNARK_SCALAR_FIELD } from "../../crypto";
import { defineOperation, defineStatusOperation, type OperationSpec } from "../../host";
import { codeLimb, limbCode, packLimbs, shortCode, unpackLimbs } from "../erp/packing";
import { cents, numberOf, statusOf } from "../fields";

/**
 * The settlement bank's operations: execute a batch's net legs in one transfer, reverse it (its
 * compensation), and a statement of the institutions' balances that reconciles them with the
 * balances the clearing expects. Short codes (batch, institutions, references) are 64-bit limbs,
 * three to a field (../erp/packing.ts); a signed amount (a net, a leg) is a field element, negative
 * ones p − |x| (netField). Field layouts: ./README.md.
 */

/** The most institutions one transfer or statement names (the clearing's batch). */
export const MAX_LEGS = 4;

/**
 * The bank's status query: what it did under the idempotency key of one of its calls (TOOK_EFFECT
 * with the response's hash, REFUSED, or NO_EFFECT and the key fenced).
 */
export const bankStatus = defineStatusOperation({
  name: "bank.status",
  code: 604,
  system: "bank",
  settles: () => [bankTransferBatch, bankReverseBatch, bankStatement],
});

/** A signed amount as a field element: itself when ≥ 0, p − |x| when negative. */
export function netField(net: bigint): bigint {
  return net >= 0n ? net : SNARK_SCALAR_FIELD + net;
}

/** A decimal field element (a hash) in JSON: one text per value. */
const fieldDecimal = (what: string) =>
  z
    .string({ required_error: `${what} is required` })
    .regex(/^(0|[1-9][0-9]{0,76})$/, `${what} must be a field element as a decimal string`)
    .refine((text) => BigInt(text) < SNARK_SCALAR_FIELD, `${what} is not a field element (≥ p)`);

const distinct = (codes: readonly string[]) => new Set(codes).size === codes.length;

// ---------------------------------------------------------------- bank.transferBatch

export const LegSchema = z
  .object({
    /** The institution's settlement account (a short code). */
    institution: shortCode("institution"),
    amountCents: cents("amountCents"),
    /** PAY: the account is debited; RECEIVE: credited (a zero leg is RECEIVE). */
    side: z.enum(["PAY", "RECEIVE"]),
  })
  .strict()
  .refine((leg) => leg.amountCents > 0 || leg.side === "RECEIVE", "a zero leg is a RECEIVE leg");
export type Leg = z.infer<typeof LegSchema>;

/** A leg's signed amount in cents: negative when the institution pays. */
export function legNet(leg: Leg): bigint {
  return leg.side === "PAY" ? -BigInt(leg.amountCents) : BigInt(leg.amountCents);
}

/** The leg that moves `net` cents (negative: pays). */
export function legOf(institution: string, net: bigint): Leg {
  const amount = net < 0n ? -net : net;
  if (amount > BigInt(Number.MAX_SAFE_INTEGER))
    throw new RangeError(`a leg of ${net} cents is not a safe integer`);
  return { institution, amountCents: Number(amount), side: net < 0n ? "PAY" : "RECEIVE" };
}

/**
 * The hash the bank's answer commits to: Poseidon(code 0, leg 0, …, code 3, leg 3) of the legs in
 * order (each leg its signed amount as a field element, netField), 0s after the last leg.
 */
export function legsHashOf(legs: readonly Leg[]): bigint {
  const inputs: bigint[] = [];
  for (let j = 0; j < MAX_LEGS; j++) {
    const leg = legs[j];
    inputs.push(leg ? codeLimb(leg.institution) : 0n, leg ? netField(legNet(leg)) : 0n);
  }
  return poseidon(inputs);
}

export const BankTransferBatchRequestSchema = z
  .object({
    batchId: shortCode("batchId"),
    /** One leg per institution of the batch, in its order (1..4). */
    legs: z
      .array(LegSchema)
      .min(1, "a transfer has at least one leg")
      .max(MAX_LEGS, `a transfer has at most ${MAX_LEGS} legs`)
      .refine((legs) => distinct(legs.map((l) => l.institution)), "an institution has one leg"),
  })
  .strict();
export type BankTransferBatchRequest = z.infer<typeof BankTransferBatchRequestSchema>;

export const TransferStatus = { EXECUTED: 1n, REFUSED: 2n } as const;

export const BankTransferBatchResponseSchema = z
  .object({
    status: z.enum(["EXECUTED", "REFUSED"]),
    /** The bank's transfer reference (TR000001, …); "" when refused. */
    transfer: shortCode("transfer", { allowEmpty: true }),
    /** legsHashOf(the legs executed), decimal; "0" when refused. */
    legsHash: fieldDecimal("legsHash"),
  })
  .strict()
  .superRefine((r, ctx) => {
    if ((r.status === "EXECUTED") !== (r.transfer !== "") || (r.status === "REFUSED" && r.legsHash !== "0")) {
      ctx.addIssue({
        code: "custom",
        message: "an executed transfer has a reference and a hash, a refusal none",
      });
    }
  });
export type BankTransferBatchResponse = z.infer<typeof BankTransferBatchResponseSchema>;

/** Three codes, or a code and two amounts, … (unused limbs 0). */
const limbs = (values: readonly bigint[], what: string) => packLimbs(values, what);

/** The first `count` limbs of fields[1..] read as 3 + 1 codes (institutions), then amounts. */
function codesOf(first: bigint, second: bigint): { codes: bigint[]; rest: bigint[] } {
  const [c0, c1, c2] = unpackLimbs(first, "institutions 0..2");
  const [c3, ...rest] = unpackLimbs(second, "institution 3");
  const codes = [c0, c1, c2, c3];
  const count = codes.findIndex((code) => code === 0n);
  return { codes: count < 0 ? codes : codes.slice(0, count), rest };
}

/**
 * Request `[batchId, inst0|inst1|inst2, inst3|amount0|amount1, amount2|amount3|sides]` (sides: bit j
 * set when leg j pays); response `[status, transfer, legsHash, 0]`.
 */
export const bankTransferBatch: OperationSpec<BankTransferBatchRequest, BankTransferBatchResponse> =
  defineOperation({
    name: "bank.transferBatch",
    code: 601,
    system: "bank",
    settle: { statusQuery: bankStatus },
    requestSchema: BankTransferBatchRequestSchema,
    responseSchema: BankTransferBatchResponseSchema,
    encodeRequest: (r) => {
      const code = (j: number) => (r.legs[j] ? codeLimb(r.legs[j].institution) : 0n);
      const amount = (j: number) => BigInt(r.legs[j]?.amountCents ?? 0);
      const sides = r.legs.reduce((bits, leg, j) => bits | (leg.side === "PAY" ? 1n << BigInt(j) : 0n), 0n);
      return [
        codeLimb(r.batchId),
        limbs([code(0), code(1), code(2)], "institutions"),
        limbs([code(3), amount(0), amount(1)], "legs"),
        limbs([amount(2), amount(3), sides], "legs"),
      ];
    },
    encodeResponse: (r) => [TransferStatus[r.status], codeLimb(r.transfer), BigInt(r.legsHash), 0n],
    decodeRequest: ([batchId, first, second, third]) => {
      const { codes, rest } = codesOf(first, second);
      const [a2, a3, sides] = unpackLimbs(third, "legs");
      const amounts = [rest[0], rest[1], a2, a3];
      return {
        batchId: limbCode(batchId),
        legs: codes.map((code, j) => ({
          institution: limbCode(code),
          amountCents: numberOf(amounts[j]),
          side: (sides >> BigInt(j)) & 1n ? ("PAY" as const) : ("RECEIVE" as const),
        })),
      };
    },
    decodeResponse: ([status, transfer, legsHash]) => ({
      status: statusOf(TransferStatus, status),
      transfer: limbCode(transfer),
      legsHash: legsHash.toString(),
    }),
    describe: (r) =>
      `bank.transferBatch(batch=${r.batchId}, legs=[${r.legs
        .map((l) => `${l.institution} ${l.side === "PAY" ? "-" : "+"}${l.amountCents}`)
        .join(", ")}])`,
  });

// ---------------------------------------------------------------- bank.reverseBatch (compensates a transfer)

export const BankReverseBatchRequestSchema = z
  .object({
    batchId: shortCode("batchId"),
    /** The transfer to reverse (bank.transferBatch's reference). */
    transfer: shortCode("transfer"),
    /** Its legs' hash, as the transfer's answer gave it. */
    legsHash: fieldDecimal("legsHash"),
  })
  .strict();
export type BankReverseBatchRequest = z.infer<typeof BankReverseBatchRequestSchema>;

export const ReversalStatus = { REVERSED: 1n, REFUSED: 2n } as const;

export const BankReverseBatchResponseSchema = z
  .object({
    status: z.enum(["REVERSED", "REFUSED"]),
    /** The bank's reversal reference (RV000001, …); "" when refused. */
    reversal: shortCode("reversal", { allowEmpty: true }),
    /** The hash of the legs reversed (the transfer's); "0" when refused. */
    legsHash: fieldDecimal("legsHash"),
  })
  .strict()
  .superRefine((r, ctx) => {
    if ((r.status === "REVERSED") !== (r.reversal !== "") || (r.status === "REFUSED" && r.legsHash !== "0")) {
      ctx.addIssue({ code: "custom", message: "a reversal has a reference and a hash, a refusal none" });
    }
  });
export type BankReverseBatchResponse = z.infer<typeof BankReverseBatchResponseSchema>;

/** Request `[batchId, transfer, legsHash, 0]`; response `[status, reversal, legsHash, 0]`. */
export const bankReverseBatch: OperationSpec<BankReverseBatchRequest, BankReverseBatchResponse> =
  defineOperation({
    name: "bank.reverseBatch",
    compensates: "bank.transferBatch",
    code: 602,
    system: "bank",
    settle: { statusQuery: bankStatus },
    requestSchema: BankReverseBatchRequestSchema,
    responseSchema: BankReverseBatchResponseSchema,
    encodeRequest: (r) => [codeLimb(r.batchId), codeLimb(r.transfer), BigInt(r.legsHash), 0n],
    encodeResponse: (r) => [ReversalStatus[r.status], codeLimb(r.reversal), BigInt(r.legsHash), 0n],
    decodeRequest: ([batchId, transfer, legsHash]) => ({
      batchId: limbCode(batchId),
      transfer: limbCode(transfer),
      legsHash: legsHash.toString(),
    }),
    decodeResponse: ([status, reversal, legsHash]) => ({
      status: statusOf(ReversalStatus, status),
      reversal: limbCode(reversal),
      legsHash: legsHash.toString(),
    }),
    describe: (r) => `bank.reverseBatch(batch=${r.batchId}, transfer=${r.transfer})`,
  });

// ---------------------------------------------------------------- bank.statement

export const ExpectedBalanceSchema = z
  .object({
    institution: shortCode("institution"),
    /** The balance the clearing expects after the batch (cents). */
    expectedCents: cents("expectedCents"),
  })
  .strict();
export type ExpectedBalance = z.infer<typeof ExpectedBalanceSchema>;

export const BankStatementRequestSchema = z
  .object({
    batchId: shortCode("batchId"),
    /** The batch's institutions, in its order, with the balances expected after it (1..4). */
    balances: z
      .array(ExpectedBalanceSchema)
      .min(1, "a statement is of at least one account")
      .max(MAX_LEGS, `a statement is of at most ${MAX_LEGS} accounts`)
      .refine((balances) => distinct(balances.map((b) => b.institution)), "an account is listed once"),
  })
  .strict();
export type BankStatementRequest = z.infer<typeof BankStatementRequestSchema>;

export const StatementStatus = { MATCHED: 1n, MISMATCH: 2n, REFUSED: 3n } as const;

export const BankStatementResponseSchema = z
  .object({
    /** MATCHED: the bank's balances are the expected ones; MISMATCH: they are not (both listed). */
    status: z.enum(["MATCHED", "MISMATCH", "REFUSED"]),
    /** The bank's balance of each account asked, in order (none when refused). */
    balances: z.array(cents("balance")).max(MAX_LEGS),
    /** The bank's statement reference (ST000001, …); "" when refused. */
    statement: shortCode("statement", { allowEmpty: true }),
  })
  .strict()
  .superRefine((r, ctx) => {
    const refused = r.status === "REFUSED";
    if (
      refused !== (r.statement === "") ||
      (refused && r.balances.length > 0) ||
      (!refused && r.balances.length === 0)
    ) {
      ctx.addIssue({
        code: "custom",
        message: "a statement has a reference and balances, a refusal neither",
      });
    }
  });
export type BankStatementResponse = z.infer<typeof BankStatementResponseSchema>;

/**
 * Request `[batchId, inst0|inst1|inst2, inst3|expected0|expected1, expected2|expected3]`; response
 * `[status, balance0|balance1|balance2, balance3, statement|count]` (count: balances listed).
 */
export const bankStatement: OperationSpec<BankStatementRequest, BankStatementResponse> = defineOperation({
  name: "bank.statement",
  code: 603,
  system: "bank",
  settle: { statusQuery: bankStatus },
  refusals: {
    mismatch:
      "a statement whose balances differ from the expected ones (the first account shows one cent more): MISMATCH, signed",
  },
  requestSchema: BankStatementRequestSchema,
  responseSchema: BankStatementResponseSchema,
  encodeRequest: (r) => {
    const code = (j: number) => (r.balances[j] ? codeLimb(r.balances[j].institution) : 0n);
    const expected = (j: number) => BigInt(r.balances[j]?.expectedCents ?? 0);
    return [
      codeLimb(r.batchId),
      limbs([code(0), code(1), code(2)], "institutions"),
      limbs([code(3), expected(0), expected(1)], "expected balances"),
      limbs([expected(2), expected(3)], "expected balances"),
    ];
  },
  encodeResponse: (r) => {
    const balance = (j: number) => BigInt(r.balances[j] ?? 0);
    return [
      StatementStatus[r.status],
      limbs([balance(0), balance(1), balance(2)], "balances"),
      balance(3),
      limbs([codeLimb(r.statement), BigInt(r.balances.length)], "statement"),
    ];
  },
  decodeRequest: ([batchId, first, second, third]) => {
    const { codes, rest } = codesOf(first, second);
    const [e2, e3] = unpackLimbs(third, "expected balances");
    const expected = [rest[0], rest[1], e2, e3];
    return {
      batchId: limbCode(batchId),
      balances: codes.map((code, j) => ({
        institution: limbCode(code),
        expectedCents: numberOf(expected[j]),
      })),
    };
  },
  decodeResponse: ([status, first, b3, last]) => {
    const [statement, count] = unpackLimbs(last, "statement");
    const balances = [...unpackLimbs(first, "balances"), b3];
    return {
      status: statusOf(StatementStatus, status),
      balances: balances.slice(0, numberOf(count)).map(numberOf),
      statement: limbCode(statement),
    };
  },
  describe: (r) =>
    `bank.statement(batch=${r.batchId}, accounts=[${r.balances.map((b) => b.institution).join(", ")}])`,
});

export const BANK_OPERATIONS = [bankTransferBatch, bankReverseBatch, bankStatement] as const;
