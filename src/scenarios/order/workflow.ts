import { z } from "zod";
import { decodeString, encodeString, toHex32 } from "../../crypto";
import { defineWorkflow, type WorkflowDefinition, type WorkflowStateEffect } from "../../definition";
import type { Trace } from "../../trace";
import { DEMO_STOCK, Inventory, ORDER_STOCK_DOMAIN } from "./inventory";
import {
  invoiceIssue,
  invoiceVoid,
  logisticsCancel,
  logisticsShip,
  paymentCharge,
  paymentRefund,
  type InvoiceIssueResponse,
  type LogisticsShipResponse,
  type PaymentChargeResponse,
} from "./operations";
import { orderWitness } from "./witness";

const shortText = (what: string) =>
  z
    .string()
    .min(1)
    .refine((s) => Buffer.byteLength(s, "utf8") <= 31, `${what} must be at most 31 UTF-8 bytes`);
const cents = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

export const OrderInputSchema = z.object({
  orderId: shortText("orderId"),
  customerId: shortText("customerId"),
  sku: shortText("sku"),
  quantity: z.number().int().positive().max(1_000_000),
  unitPriceCents: cents,
  /** Tax in basis points of the net amount (1900 = 19 %). */
  taxRateBps: z.number().int().min(0).max(10_000),
  currency: z.string().regex(/^[A-Z]{3}$/, "currency is an ISO 4217 code such as EUR"),
  destination: shortText("destination"),
});
export type OrderInput = z.infer<typeof OrderInputSchema>;

export const ORDER_STEP_CODES = {
  create_order: 1,
  reserve_inventory: 2,
  payment: 3,
  logistics: 4,
  invoice: 5,
  accounting: 6,
} as const;

interface CreatedOrder {
  netCents: number;
  taxCents: number;
  grossCents: number;
}

/** Status of a local compensation record (response field 0), like a system's "succeeded". */
const COMPENSATED = 1n;

/**
 * The e-commerce order: create → reserve inventory → payment → logistics → invoice → accounting.
 * Each step but the last has a compensation (cancel the order, release the stock, refund, cancel
 * the shipment, void the invoice); the external ones are attested calls like the forward ones.
 */
export function orderWorkflow(
  inventory: Inventory,
  options: { retry?: WorkflowDefinition<OrderInput>["retry"] } = {},
): WorkflowDefinition<OrderInput> {
  return defineWorkflow<OrderInput>({
    name: "order",
    template: "OrderStateWorkflow_4_3_10",
    // Proves committed runs only, with three attestation slots; rolled-back runs (up to six calls:
    // three forward, three compensating) need the larger instance.
    rollbackTemplate: "OrderStateSaga_4_3_10",
    description:
      "E-commerce order: create, reserve stock, charge payment, ship, invoice, book accounting entries",
    inputSchema: OrderInputSchema,
    retry: options.retry,
    steps: [
      {
        name: "create_order",
        code: ORDER_STEP_CODES.create_order,
        async run({ input }) {
          // Exact integers: tax = Math.round(net × rate / 10 000) for net ≥ 0, as the circuit proves it
          // (circuits/order/rules.circom: net × rate + 5000 = 10 000 × tax + r, 0 ≤ r < 10 000).
          const net = BigInt(input.quantity) * BigInt(input.unitPriceCents);
          const tax = (net * BigInt(input.taxRateBps) + 5_000n) / 10_000n;
          if (net + tax > BigInt(Number.MAX_SAFE_INTEGER))
            throw new Error("order total exceeds the supported amount range");
          const result: CreatedOrder = {
            netCents: Number(net),
            taxCents: Number(tax),
            grossCents: Number(net + tax),
          };
          return {
            result,
            request: [
              encodeString(input.orderId),
              encodeString(input.customerId),
              encodeString(input.sku),
              BigInt(input.quantity),
            ],
            // The order's figures and its tax rate; the total (net + tax) is what payment, invoice
            // and accounting record.
            response: [BigInt(input.unitPriceCents), net, tax, BigInt(input.taxRateBps)],
          };
        },
        compensation: {
          name: "cancel_order",
          async run({ input, forward }) {
            const order = forward as CreatedOrder;
            return {
              result: { cancelled: true },
              request: [
                encodeString(input.orderId),
                encodeString(input.customerId),
                BigInt(order.grossCents),
                0n,
              ],
              response: [COMPENSATED, 0n, 0n, 0n],
            };
          },
        },
      },
      {
        name: "reserve_inventory",
        code: ORDER_STEP_CODES.reserve_inventory,
        async run({ input, workflowId }) {
          const { before, after } = inventory.reserve({
            orderId: input.orderId,
            runId: toHex32(workflowId),
            sku: input.sku,
            quantity: input.quantity,
          });
          return {
            result: { stockBefore: before, stockAfter: after },
            request: [encodeString(input.orderId), encodeString(input.sku), BigInt(input.quantity), 0n],
            response: [BigInt(before), BigInt(after), 0n, 0n],
          };
        },
        compensation: {
          name: "release_inventory",
          async run({ input }) {
            const { before, after, released } = inventory.release({ orderId: input.orderId, sku: input.sku });
            return {
              result: { stockBefore: before, stockAfter: after, released },
              request: [encodeString(input.orderId), encodeString(input.sku), BigInt(input.quantity), 0n],
              response: [BigInt(before), BigInt(after), released ? 1n : 0n, 0n],
            };
          },
        },
      },
      {
        name: "payment",
        code: ORDER_STEP_CODES.payment,
        operation: paymentCharge,
        async run({ input, results, call }) {
          const order = results.create_order as CreatedOrder;
          const payment = await call(paymentCharge, {
            orderId: input.orderId,
            customerId: input.customerId,
            amountCents: order.grossCents,
            currency: input.currency,
          });
          return { result: payment };
        },
        compensation: {
          name: "refund_payment",
          operation: paymentRefund,
          async run({ input, forward, call }) {
            const payment = forward as PaymentChargeResponse;
            const refund = await call(paymentRefund, {
              orderId: input.orderId,
              paymentRef: payment.paymentRef,
              amountCents: payment.amountCents,
              currency: input.currency,
            });
            return { result: refund };
          },
        },
      },
      {
        name: "logistics",
        code: ORDER_STEP_CODES.logistics,
        operation: logisticsShip,
        async run({ input, call }) {
          const shipment = await call(logisticsShip, {
            orderId: input.orderId,
            sku: input.sku,
            quantity: input.quantity,
            destination: input.destination,
          });
          return { result: shipment };
        },
        compensation: {
          name: "cancel_shipment",
          operation: logisticsCancel,
          async run({ input, forward, call }) {
            const shipment = forward as LogisticsShipResponse;
            const cancellation = await call(logisticsCancel, {
              orderId: input.orderId,
              trackingNumber: shipment.trackingNumber,
            });
            return { result: cancellation };
          },
        },
      },
      {
        name: "invoice",
        code: ORDER_STEP_CODES.invoice,
        operation: invoiceIssue,
        async run({ input, results, call }) {
          const order = results.create_order as CreatedOrder;
          const invoice = await call(invoiceIssue, {
            orderId: input.orderId,
            customerId: input.customerId,
            amountCents: order.grossCents,
            taxCents: order.taxCents,
          });
          return { result: invoice };
        },
        compensation: {
          name: "void_invoice",
          operation: invoiceVoid,
          async run({ input, forward, call }) {
            const invoice = forward as InvoiceIssueResponse;
            const voided = await call(invoiceVoid, {
              orderId: input.orderId,
              invoiceNumber: invoice.invoiceNumber,
              amountCents: invoice.amountCents,
            });
            return { result: voided };
          },
        },
      },
      {
        name: "accounting",
        code: ORDER_STEP_CODES.accounting,
        async run({ input, results }) {
          const order = results.create_order as CreatedOrder;
          // Double entry: receivable (debit, gross) = revenue (credit, net) + tax payable (credit, tax).
          const entries = [
            { account: "1200 receivables", debitCents: order.grossCents, creditCents: 0 },
            { account: "4000 revenue", debitCents: 0, creditCents: order.netCents },
            { account: "2300 tax payable", debitCents: 0, creditCents: order.taxCents },
          ];
          const debits = entries.reduce((sum, e) => sum + e.debitCents, 0);
          const credits = entries.reduce((sum, e) => sum + e.creditCents, 0);
          if (debits !== credits)
            throw new Error(`entries do not balance: debits ${debits}, credits ${credits}`);
          return {
            result: { entries },
            request: [
              encodeString(input.orderId),
              BigInt(order.grossCents),
              BigInt(order.netCents),
              BigInt(order.taxCents),
            ],
            response: [BigInt(debits), BigInt(credits), BigInt(entries.length), 0n],
          };
        },
      },
    ],
    state: ORDER_STOCK_EFFECT,
    witness: orderWitness,
  });
}

/** The order's SKU and quantity as create_order (the trace's first record) carries them. */
function orderLineOf(trace: Trace): { sku: string; quantity: bigint } {
  const create = trace.steps[0];
  if (!create) throw new Error("the order's trace has no create_order record");
  return { sku: decodeString(create.request[2]), quantity: create.request[3] };
}

/**
 * The order's effect on the stock: a committed order takes its quantity of its SKU (the circuit
 * proves leaf(sku) goes from v to v − qty ≥ 0); a rolled-back order leaves the stock as it was
 * (its reservation was released: stateRootAfter = stateRootBefore).
 */
export const ORDER_STOCK_EFFECT: WorkflowStateEffect = {
  domain: ORDER_STOCK_DOMAIN,
  genesis: Object.fromEntries(Object.entries(DEMO_STOCK).map(([sku, units]) => [sku, BigInt(units)])),
  changes: (trace: Trace) => {
    if (trace.outcome !== "COMMITTED") return [];
    const { sku, quantity } = orderLineOf(trace);
    return [{ key: sku, delta: -quantity }];
  },
  valueName: "stock",
};

/** The demo's order: one line, EUR, 19 % VAT. */
export function demoOrderInput(orderNumber: number): OrderInput {
  return {
    orderId: `ORD-2026-${String(orderNumber).padStart(6, "0")}`,
    customerId: "CUST-ACME-GMBH",
    sku: "SKU-COFFEE-1KG",
    quantity: 3,
    unitPriceCents: 1899,
    taxRateBps: 1900,
    currency: "EUR",
    destination: "10115 Berlin DE",
  };
}
