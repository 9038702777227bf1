// A user-defined workflow against a REST API of one's own that signs nothing (examples/refunds-api.ts),
// called through the signing notary (`wesflow notary --upstream URL`): a refund issues a credit note,
// then pays it out; a payout the API refuses voids the credit note again (through the notary too).
//   npx ts-node --transpile-only examples/refunds-api.ts 4100 &
//   npx wesflow notary --upstream http://127.0.0.1:4100 --port 8600 &
//   WESFLOW_NOTARY_URL=http://127.0.0.1:8600 npx wesflow run ./examples/refund.workflow.ts --json
// (a refund above 500.00 is refused by the API's payout: the run is rolled back, the credit note voided)
import { z } from "zod";
import { defineHttpOperation, defineWorkflow, encodeString, StepError } from "wesflow";

const API = process.env.REFUNDS_API_URL ?? "http://127.0.0.1:4100";

const CreditNoteAnswer = z.object({
  creditNote: z.object({
    id: z.string(),
    orderId: z.string(),
    amountCents: z.number().int(),
    currency: z.string(),
    status: z.enum(["ISSUED", "VOIDED"]),
  }),
  createdAt: z.string(),
});

/** POST /credit-notes: the record keeps orderId, amount and currency, and the note's id and amount. */
export const issueCreditNote = defineHttpOperation({
  name: "refunds.issue_credit_note",
  code: 1001,
  method: "POST",
  url: `${API}/credit-notes`,
  requestSchema: z.object({
    orderId: z.string().min(1).max(31),
    amountCents: z.number().int().positive(),
    currency: z.string().length(3),
  }),
  answerSchema: CreditNoteAnswer,
  fields: {
    request: [
      { from: "orderId", as: "text" },
      { from: "amountCents", as: "uint" },
      { from: "currency", as: "text" },
    ],
    response: [
      { from: "creditNote.id", as: "text" },
      { from: "creditNote.amountCents", as: "uint" },
    ],
  },
  success: { from: "creditNote.status", equals: ["ISSUED"] },
});

/** POST /credit-notes/void: compensates issue_credit_note. */
export const voidCreditNote = defineHttpOperation({
  name: "refunds.void_credit_note",
  code: 1002,
  method: "POST",
  url: `${API}/credit-notes/void`,
  requestSchema: z.object({ creditNoteId: z.string().min(1).max(31) }),
  answerSchema: z.object({ id: z.string(), status: z.literal("VOIDED") }),
  fields: { request: [{ from: "creditNoteId", as: "text" }], response: [{ from: "id", as: "text" }] },
  success: { from: "status", equals: ["VOIDED"] },
});

/** POST /payouts: refused (HTTP 422) above the API's limit. */
export const payOut = defineHttpOperation({
  name: "refunds.pay_out",
  code: 1003,
  method: "POST",
  url: `${API}/payouts`,
  requestSchema: z.object({ creditNoteId: z.string().min(1).max(31) }),
  answerSchema: z.object({
    payout: z.object({ id: z.string(), creditNoteId: z.string(), amountCents: z.number().int() }),
    status: z.literal("PAID"),
  }),
  fields: {
    request: [{ from: "creditNoteId", as: "text" }],
    response: [
      { from: "payout.id", as: "text" },
      { from: "payout.amountCents", as: "uint" },
    ],
  },
  success: { from: "status", equals: ["PAID"] },
});

const RefundInput = z.object({
  orderId: z.string().min(1).max(31),
  amountCents: z.number().int().positive(),
  currency: z.string().length(3),
});
type RefundInput = z.infer<typeof RefundInput>;

export default defineWorkflow<RefundInput>({
  name: "refund",
  description: "Refund: check → credit note (REST API, notarised) → payout (REST API, notarised)",
  inputSchema: RefundInput,
  retry: { maxAttempts: 3, callTimeoutMs: 10_000 },
  steps: [
    {
      name: "check",
      code: 21,
      async run({ input }) {
        if (input.currency !== "EUR") throw StepError.final(`refunds are paid in EUR, not ${input.currency}`);
        return {
          result: { amountCents: input.amountCents },
          request: [encodeString(input.orderId), BigInt(input.amountCents), encodeString(input.currency), 0n],
          response: [1n, 0n, 0n, 0n],
        };
      },
    },
    {
      name: "credit_note",
      code: 22,
      operation: issueCreditNote,
      async run({ input, call }) {
        const answer = await call(issueCreditNote, {
          orderId: input.orderId,
          amountCents: input.amountCents,
          currency: input.currency,
        });
        return { result: { creditNoteId: answer.body!.creditNote.id } };
      },
      compensation: {
        name: "void_credit_note",
        operation: voidCreditNote,
        async run({ forward, call }) {
          const { creditNoteId } = forward as { creditNoteId: string };
          await call(voidCreditNote, { creditNoteId });
          return { result: null };
        },
      },
    },
    {
      name: "payout",
      code: 23,
      operation: payOut,
      async run({ results, call }) {
        const { creditNoteId } = results.credit_note as { creditNoteId: string };
        const answer = await call(payOut, { creditNoteId });
        return { result: { payoutId: answer.body!.payout.id } };
      },
    },
  ],
});

/** The input `wesflow run` uses without --input; above 50,000 cents the API refuses the payout. */
export const exampleInput = (n: number): RefundInput => ({
  orderId: `ORD-${n}`,
  amountCents: 1999,
  currency: "EUR",
});
