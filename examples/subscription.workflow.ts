// A user-defined workflow: a yearly software subscription, proven by the generic template
// (WorkflowTrace_8_4) without any circom. Run it with:
//   npx wesflow run ./examples/subscription.workflow.ts
//   npx wesflow run ./examples/subscription.workflow.ts --fail invoicing:decline   (rolled back)
import { z } from "zod";
import { defineWorkflow, encodeString, operations, StepError, type PaymentChargeResponse } from "wesflow";

const PLANS = { basic: 900, team: 2900 } as const; // cents per seat and month

const SubscriptionInput = z.object({
  subscriptionId: z.string().min(1).max(31),
  customerId: z.string().min(1).max(31),
  plan: z.enum(["basic", "team"]),
  seats: z.number().int().min(1).max(1000),
  months: z.number().int().min(1).max(36),
});
type SubscriptionInput = z.infer<typeof SubscriptionInput>;

export default defineWorkflow<SubscriptionInput>({
  name: "subscription",
  description: "Software subscription: quote → charge the card → issue the invoice",
  inputSchema: SubscriptionInput,
  retry: { maxAttempts: 3, callTimeoutMs: 5_000 },
  steps: [
    {
      // A local step: no external call. Its request and response fields go into the trace.
      name: "quote",
      code: 11,
      async run({ input }) {
        const amountCents = PLANS[input.plan] * input.seats * input.months;
        if (amountCents > 10_000_000)
          throw StepError.final(`quote of ${amountCents} cents needs a sales review`);
        return {
          result: { amountCents },
          request: [
            encodeString(input.subscriptionId),
            encodeString(input.plan),
            BigInt(input.seats),
            BigInt(input.months),
          ],
          response: [BigInt(amountCents), 0n, 0n, 0n],
        };
      },
    },
    {
      // One attested call to the payment system; refunded if a later step fails for good.
      name: "charge",
      code: 12,
      operation: operations.paymentCharge,
      async run({ input, results, call }) {
        const { amountCents } = results.quote as { amountCents: number };
        const payment = await call(operations.paymentCharge, {
          orderId: input.subscriptionId,
          customerId: input.customerId,
          amountCents,
          currency: "EUR",
        });
        return { result: payment };
      },
      compensation: {
        name: "refund",
        operation: operations.paymentRefund,
        async run({ input, forward, call }) {
          const payment = forward as PaymentChargeResponse;
          const refund = await call(operations.paymentRefund, {
            orderId: input.subscriptionId,
            paymentRef: payment.paymentRef,
            amountCents: payment.amountCents,
            currency: "EUR",
          });
          return { result: refund };
        },
      },
    },
    {
      name: "invoice",
      code: 13,
      operation: operations.invoiceIssue,
      async run({ input, results, call }) {
        const { amountCents } = results.quote as { amountCents: number };
        const invoice = await call(operations.invoiceIssue, {
          orderId: input.subscriptionId,
          customerId: input.customerId,
          amountCents,
          taxCents: 0,
        });
        if (invoice.status !== "ISSUED") throw StepError.final("the invoicing system rejected the invoice");
        return { result: invoice };
      },
    },
  ],
});

/** The input `wesflow run` uses when no --input FILE is given (n: a fresh number per run). */
export const exampleInput = (n: number): SubscriptionInput => ({
  subscriptionId: `SUB-${n}`,
  customerId: "CUST-ACME-GMBH",
  plan: "team",
  seats: 5,
  months: 12,
});
