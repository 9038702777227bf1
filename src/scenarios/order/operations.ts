import { z } from "zod";
import { decodeString, encodeString, MAX_STRING_BYTES } from "../../crypto";
import { defineOperation, type OperationSpec } from "../../host";

/**
 * The external operations of the e-commerce order scenario. Each request and response is typed
 * with zod and encoded into RECORD_FIELDS field elements; response field 0 is the system's status
 * (1 = succeeded, 2 = the business refused). Every response field is encoded, so the signature
 * covers the whole recorded response. Schemas are strict (a key they do not define is refused) and
 * every value has exactly one encoding, so the decoders give back the one JSON that the committed
 * fields encode: what `wesflow verify` compares a bundle's JSON with.
 */

/** A string that packs into one field element (encodeString): at most 31 UTF-8 bytes. */
function fieldText(what: string, options: { allowEmpty?: boolean } = {}) {
  const text = z
    .string({ required_error: `${what} is required`, invalid_type_error: `${what} must be a string` })
    .refine((s) => Buffer.byteLength(s, "utf8") <= MAX_STRING_BYTES, {
      message: `${what} must be at most ${MAX_STRING_BYTES} UTF-8 bytes (it is packed into one field element)`,
    })
    // Leading NUL characters and unpaired surrogates are lost by the packing: two texts, one encoding.
    .refine((s) => Buffer.byteLength(s, "utf8") > MAX_STRING_BYTES || decodeString(encodeString(s)) === s, {
      message: `${what} must not start with a NUL character or hold an unpaired surrogate (its encoding would not keep it)`,
    });
  return options.allowEmpty
    ? text
    : text.refine((s) => s.length > 0, { message: `${what} must not be empty` });
}

/** The name whose code is `code` in a status table (e.g. PaymentStatus), for the decoders. */
function statusOf<Name extends string>(codes: Record<Name, bigint>, code: bigint): Name {
  const name = (Object.keys(codes) as Name[]).find((n) => codes[n] === code);
  if (name === undefined)
    throw new RangeError(`status code ${code} is none of ${Object.keys(codes).join(", ")}`);
  return name;
}

/** A field element as a JavaScript number (the schemas then check it is a safe integer). */
function numberOf(field: bigint): number {
  if (field > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError(`${field} is not a safe integer`);
  return Number(field);
}

/** Integer cents: a non-negative safe integer. */
function cents(what: string) {
  return z
    .number({ required_error: `${what} is required`, invalid_type_error: `${what} must be a number` })
    .int(`${what} must be whole cents`)
    .nonnegative(`${what} must not be negative`)
    .max(Number.MAX_SAFE_INTEGER, `${what} must be a safe integer`);
}

function count(what: string, min: number) {
  return z
    .number({ required_error: `${what} is required`, invalid_type_error: `${what} must be a number` })
    .int(`${what} must be an integer`)
    .min(min, `${what} must be at least ${min}`)
    .max(Number.MAX_SAFE_INTEGER, `${what} must be a safe integer`);
}

// ---------------------------------------------------------------- payment.charge

export const PaymentStatus = { CAPTURED: 1n, DECLINED: 2n } as const;

export const PaymentChargeRequestSchema = z
  .object({
    orderId: fieldText("orderId"),
    customerId: fieldText("customerId"),
    amountCents: cents("amountCents"),
    currency: z.string().regex(/^[A-Z]{3}$/, "currency must be an ISO 4217 code such as EUR"),
  })
  .strict();
export type PaymentChargeRequest = z.infer<typeof PaymentChargeRequestSchema>;

export const PaymentChargeResponseSchema = z
  .object({
    status: z.enum(["CAPTURED", "DECLINED"]),
    /** The payment system's reference; "" when declined. */
    paymentRef: fieldText("paymentRef", { allowEmpty: true }),
    /** The amount captured (0 when declined). */
    amountCents: cents("amountCents"),
  })
  .strict();
export type PaymentChargeResponse = z.infer<typeof PaymentChargeResponseSchema>;

export const paymentCharge: OperationSpec<PaymentChargeRequest, PaymentChargeResponse> = defineOperation({
  name: "payment.charge",
  system: "payment",
  requestSchema: PaymentChargeRequestSchema,
  responseSchema: PaymentChargeResponseSchema,
  encodeRequest: (r) => [
    encodeString(r.orderId),
    encodeString(r.customerId),
    BigInt(r.amountCents),
    encodeString(r.currency),
  ],
  encodeResponse: (r) => [PaymentStatus[r.status], encodeString(r.paymentRef), BigInt(r.amountCents), 0n],
  decodeRequest: ([orderId, customerId, amountCents, currency]) => ({
    orderId: decodeString(orderId),
    customerId: decodeString(customerId),
    amountCents: numberOf(amountCents),
    currency: decodeString(currency),
  }),
  decodeResponse: ([status, paymentRef, amountCents]) => ({
    status: statusOf(PaymentStatus, status),
    paymentRef: decodeString(paymentRef),
    amountCents: numberOf(amountCents),
  }),
});

// ---------------------------------------------------------------- logistics.ship

export const ShipmentStatus = { SCHEDULED: 1n, REJECTED: 2n } as const;

export const LogisticsShipRequestSchema = z
  .object({
    orderId: fieldText("orderId"),
    sku: fieldText("sku"),
    quantity: count("quantity", 1),
    destination: fieldText("destination"),
  })
  .strict();
export type LogisticsShipRequest = z.infer<typeof LogisticsShipRequestSchema>;

export const LogisticsShipResponseSchema = z
  .object({
    status: z.enum(["SCHEDULED", "REJECTED"]),
    /** "" when rejected. */
    trackingNumber: fieldText("trackingNumber", { allowEmpty: true }),
    carrier: fieldText("carrier", { allowEmpty: true }),
    /** Days until delivery (0 when rejected). */
    etaDays: count("etaDays", 0),
  })
  .strict();
export type LogisticsShipResponse = z.infer<typeof LogisticsShipResponseSchema>;

export const logisticsShip: OperationSpec<LogisticsShipRequest, LogisticsShipResponse> = defineOperation({
  name: "logistics.ship",
  system: "logistics",
  requestSchema: LogisticsShipRequestSchema,
  responseSchema: LogisticsShipResponseSchema,
  encodeRequest: (r) => [
    encodeString(r.orderId),
    encodeString(r.sku),
    BigInt(r.quantity),
    encodeString(r.destination),
  ],
  encodeResponse: (r) => [
    ShipmentStatus[r.status],
    encodeString(r.trackingNumber),
    encodeString(r.carrier),
    BigInt(r.etaDays),
  ],
  decodeRequest: ([orderId, sku, quantity, destination]) => ({
    orderId: decodeString(orderId),
    sku: decodeString(sku),
    quantity: numberOf(quantity),
    destination: decodeString(destination),
  }),
  decodeResponse: ([status, trackingNumber, carrier, etaDays]) => ({
    status: statusOf(ShipmentStatus, status),
    trackingNumber: decodeString(trackingNumber),
    carrier: decodeString(carrier),
    etaDays: numberOf(etaDays),
  }),
});

// ---------------------------------------------------------------- invoice.issue

export const InvoiceStatus = { ISSUED: 1n, REJECTED: 2n } as const;

export const InvoiceIssueRequestSchema = z
  .object({
    orderId: fieldText("orderId"),
    customerId: fieldText("customerId"),
    /** The invoice total, tax included. */
    amountCents: cents("amountCents"),
    /** The tax part of amountCents. */
    taxCents: cents("taxCents"),
  })
  .strict()
  .refine((r) => r.taxCents <= r.amountCents, {
    message: "taxCents must not exceed amountCents (the total includes the tax)",
    path: ["taxCents"],
  });
export type InvoiceIssueRequest = z.infer<typeof InvoiceIssueRequestSchema>;

export const InvoiceIssueResponseSchema = z
  .object({
    status: z.enum(["ISSUED", "REJECTED"]),
    /** "" when rejected. */
    invoiceNumber: fieldText("invoiceNumber", { allowEmpty: true }),
    /** The invoiced total (0 when rejected). */
    amountCents: cents("amountCents"),
  })
  .strict();
export type InvoiceIssueResponse = z.infer<typeof InvoiceIssueResponseSchema>;

export const invoiceIssue: OperationSpec<InvoiceIssueRequest, InvoiceIssueResponse> = defineOperation({
  name: "invoice.issue",
  system: "invoicing",
  requestSchema: InvoiceIssueRequestSchema,
  responseSchema: InvoiceIssueResponseSchema,
  encodeRequest: (r) => [
    encodeString(r.orderId),
    encodeString(r.customerId),
    BigInt(r.amountCents),
    BigInt(r.taxCents),
  ],
  encodeResponse: (r) => [InvoiceStatus[r.status], encodeString(r.invoiceNumber), BigInt(r.amountCents), 0n],
  decodeRequest: ([orderId, customerId, amountCents, taxCents]) => ({
    orderId: decodeString(orderId),
    customerId: decodeString(customerId),
    amountCents: numberOf(amountCents),
    taxCents: numberOf(taxCents),
  }),
  decodeResponse: ([status, invoiceNumber, amountCents]) => ({
    status: statusOf(InvoiceStatus, status),
    invoiceNumber: decodeString(invoiceNumber),
    amountCents: numberOf(amountCents),
  }),
});

// ---------------------------------------------------------------- payment.refund (compensates payment.charge)

export const RefundStatus = { REFUNDED: 1n, REFUSED: 2n } as const;

export const PaymentRefundRequestSchema = z
  .object({
    orderId: fieldText("orderId"),
    /** The capture to refund (payment.charge's paymentRef). */
    paymentRef: fieldText("paymentRef"),
    amountCents: cents("amountCents"),
    currency: z.string().regex(/^[A-Z]{3}$/, "currency must be an ISO 4217 code such as EUR"),
  })
  .strict();
export type PaymentRefundRequest = z.infer<typeof PaymentRefundRequestSchema>;

export const PaymentRefundResponseSchema = z
  .object({
    status: z.enum(["REFUNDED", "REFUSED"]),
    /** "" when refused. */
    refundRef: fieldText("refundRef", { allowEmpty: true }),
    /** The amount refunded (0 when refused). */
    amountCents: cents("amountCents"),
  })
  .strict();
export type PaymentRefundResponse = z.infer<typeof PaymentRefundResponseSchema>;

export const paymentRefund: OperationSpec<PaymentRefundRequest, PaymentRefundResponse> = defineOperation({
  name: "payment.refund",
  system: "payment",
  requestSchema: PaymentRefundRequestSchema,
  responseSchema: PaymentRefundResponseSchema,
  encodeRequest: (r) => [
    encodeString(r.orderId),
    encodeString(r.paymentRef),
    BigInt(r.amountCents),
    encodeString(r.currency),
  ],
  encodeResponse: (r) => [RefundStatus[r.status], encodeString(r.refundRef), BigInt(r.amountCents), 0n],
  decodeRequest: ([orderId, paymentRef, amountCents, currency]) => ({
    orderId: decodeString(orderId),
    paymentRef: decodeString(paymentRef),
    amountCents: numberOf(amountCents),
    currency: decodeString(currency),
  }),
  decodeResponse: ([status, refundRef, amountCents]) => ({
    status: statusOf(RefundStatus, status),
    refundRef: decodeString(refundRef),
    amountCents: numberOf(amountCents),
  }),
});

// ---------------------------------------------------------------- logistics.cancel (compensates logistics.ship)

export const CancellationStatus = { CANCELLED: 1n, REFUSED: 2n } as const;

export const LogisticsCancelRequestSchema = z
  .object({
    orderId: fieldText("orderId"),
    /** The shipment to cancel (logistics.ship's trackingNumber). */
    trackingNumber: fieldText("trackingNumber"),
  })
  .strict();
export type LogisticsCancelRequest = z.infer<typeof LogisticsCancelRequestSchema>;

export const LogisticsCancelResponseSchema = z
  .object({
    status: z.enum(["CANCELLED", "REFUSED"]),
    /** The cancelled shipment's tracking number ("" when refused). */
    trackingNumber: fieldText("trackingNumber", { allowEmpty: true }),
    /** The carrier's cancellation reference ("" when refused). */
    cancellationRef: fieldText("cancellationRef", { allowEmpty: true }),
  })
  .strict();
export type LogisticsCancelResponse = z.infer<typeof LogisticsCancelResponseSchema>;

export const logisticsCancel: OperationSpec<LogisticsCancelRequest, LogisticsCancelResponse> =
  defineOperation({
    name: "logistics.cancel",
    system: "logistics",
    requestSchema: LogisticsCancelRequestSchema,
    responseSchema: LogisticsCancelResponseSchema,
    encodeRequest: (r) => [encodeString(r.orderId), encodeString(r.trackingNumber), 0n, 0n],
    encodeResponse: (r) => [
      CancellationStatus[r.status],
      encodeString(r.trackingNumber),
      encodeString(r.cancellationRef),
      0n,
    ],
    decodeRequest: ([orderId, trackingNumber]) => ({
      orderId: decodeString(orderId),
      trackingNumber: decodeString(trackingNumber),
    }),
    decodeResponse: ([status, trackingNumber, cancellationRef]) => ({
      status: statusOf(CancellationStatus, status),
      trackingNumber: decodeString(trackingNumber),
      cancellationRef: decodeString(cancellationRef),
    }),
  });

// ---------------------------------------------------------------- invoice.void (compensates invoice.issue)

export const VoidStatus = { VOIDED: 1n, REFUSED: 2n } as const;

export const InvoiceVoidRequestSchema = z
  .object({
    orderId: fieldText("orderId"),
    /** The invoice to void (invoice.issue's invoiceNumber). */
    invoiceNumber: fieldText("invoiceNumber"),
    /** The invoiced total, which the credit note cancels. */
    amountCents: cents("amountCents"),
  })
  .strict();
export type InvoiceVoidRequest = z.infer<typeof InvoiceVoidRequestSchema>;

export const InvoiceVoidResponseSchema = z
  .object({
    status: z.enum(["VOIDED", "REFUSED"]),
    /** "" when refused. */
    creditNoteNumber: fieldText("creditNoteNumber", { allowEmpty: true }),
    /** The amount credited (0 when refused). */
    amountCents: cents("amountCents"),
  })
  .strict();
export type InvoiceVoidResponse = z.infer<typeof InvoiceVoidResponseSchema>;

export const invoiceVoid: OperationSpec<InvoiceVoidRequest, InvoiceVoidResponse> = defineOperation({
  name: "invoice.void",
  system: "invoicing",
  requestSchema: InvoiceVoidRequestSchema,
  responseSchema: InvoiceVoidResponseSchema,
  encodeRequest: (r) => [encodeString(r.orderId), encodeString(r.invoiceNumber), BigInt(r.amountCents), 0n],
  encodeResponse: (r) => [VoidStatus[r.status], encodeString(r.creditNoteNumber), BigInt(r.amountCents), 0n],
  decodeRequest: ([orderId, invoiceNumber, amountCents]) => ({
    orderId: decodeString(orderId),
    invoiceNumber: decodeString(invoiceNumber),
    amountCents: numberOf(amountCents),
  }),
  decodeResponse: ([status, creditNoteNumber, amountCents]) => ({
    status: statusOf(VoidStatus, status),
    creditNoteNumber: decodeString(creditNoteNumber),
    amountCents: numberOf(amountCents),
  }),
});

/** The order scenario's operations, by system. */
export const ORDER_OPERATIONS = {
  payment: [paymentCharge, paymentRefund],
  logistics: [logisticsShip, logisticsCancel],
  invoicing: [invoiceIssue, invoiceVoid],
} as const;

/** The forward operation of each order system (what `--fail payment:decline` targets). */
export const ORDER_FORWARD_OPERATIONS = {
  payment: paymentCharge.name,
  logistics: logisticsShip.name,
  invoicing: invoiceIssue.name,
} as const;
