// A workflow of your own: a purchase, proven by wesflow's generic template (WorkflowTrace_8_4)
// without any circom. `npm start` runs it with its example input (below), proves the run and
// records it on the in-process chain:
//   npx wesflow run ./workflows/purchase.workflow.ts                            COMMITTED
//   npx wesflow run ./workflows/purchase.workflow.ts --fail invoicing:decline   ROLLED_BACK (refunded)
//   npx wesflow operations                     what a step may call, with every request and response field
import { z } from "zod";
import { defineWorkflow, encodeString, operations, StepError, type PaymentChargeResponse } from "wesflow";

const UNIT_PRICE_CENTS = { widget: 1_250, gadget: 4_900 } as const;

const PurchaseInput = z.object({
  // Text that goes into the trace is at most 31 bytes (encodeString packs it into one field element).
  purchaseId: z.string().min(1).max(31),
  customerId: z.string().min(1).max(31),
  item: z.enum(["widget", "gadget"]),
  quantity: z.number().int().min(1).max(100),
});
type PurchaseInput = z.infer<typeof PurchaseInput>;

export default defineWorkflow<PurchaseInput>({
  // Names: the workflow's lower-case letters, digits and dashes; steps' and compensations'
  // snake_case (lower-case letters, digits, _); step codes distinct positive integers.
  name: "purchase",
  description: "Purchase: price the items → charge the card → issue the invoice",
  inputSchema: PurchaseInput,
  retry: { maxAttempts: 3, callTimeoutMs: 5_000 },
  steps: [
    {
      // A local step: no external call; its four request and four response fields go into the trace.
      name: "price",
      code: 1,
      async run({ input }) {
        const amountCents = UNIT_PRICE_CENTS[input.item] * input.quantity;
        if (amountCents > 1_000_000)
          throw StepError.final(`a purchase of ${amountCents} cents needs approval`);
        return {
          result: { amountCents },
          request: [encodeString(input.purchaseId), encodeString(input.item), BigInt(input.quantity), 0n],
          response: [BigInt(amountCents), 0n, 0n, 0n],
        };
      },
    },
    {
      // One call to the payment system, signed by it; refunded if a later step fails for good.
      name: "charge",
      code: 2,
      operation: operations.paymentCharge,
      async run({ input, results, call }) {
        const { amountCents } = results.price as { amountCents: number };
        const payment = await call(operations.paymentCharge, {
          orderId: input.purchaseId,
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
            orderId: input.purchaseId,
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
      code: 3,
      operation: operations.invoiceIssue,
      async run({ input, results, call }) {
        const { amountCents } = results.price as { amountCents: number };
        const invoice = await call(operations.invoiceIssue, {
          orderId: input.purchaseId,
          customerId: input.customerId,
          amountCents,
          taxCents: 0,
        });
        return { result: invoice };
      },
    },
  ],
});

/** The input `wesflow run` uses when no --input FILE is given (n: a fresh number per run). */
export const exampleInput = (n: number): PurchaseInput => ({
  purchaseId: `PO-${n}`,
  customerId: "CUST-ACME-GMBH",
  item: "widget",
  quantity: 4,
});
