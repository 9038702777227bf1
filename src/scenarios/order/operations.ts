import { invoicingSystem, logisticsSystem, paymentSystem } from "../../systems";

/**
 * The external operations the e-commerce order calls: those of the payment, logistics and invoicing
 * systems (src/systems/<name>/operations.ts), re-exported for the order's modules and tests.
 */
export * from "../../systems/payment/operations";
export * from "../../systems/logistics/operations";
export * from "../../systems/invoicing/operations";

/** The order scenario's operations, by system. */
export const ORDER_OPERATIONS = {
  payment: paymentSystem.operations,
  logistics: logisticsSystem.operations,
  invoicing: invoicingSystem.operations,
} as const;

/** The forward operation of each order system (what `--fail payment:decline` targets). */
export const ORDER_FORWARD_OPERATIONS = {
  payment: paymentSystem.forward,
  logistics: logisticsSystem.forward,
  invoicing: invoicingSystem.forward,
} as const;
