/**
 * The external operations the e-commerce order calls: those of the payment, logistics and invoicing
 * systems (src/systems/<name>/operations.ts), re-exported for the order's modules and tests.
 */
export * from "../../systems/payment/operations";
export * from "../../systems/logistics/operations";
export * from "../../systems/invoicing/operations";
