import { z } from "zod";
import { decodeString, encodeString } from "../../crypto";
import { defineOperation, defineStatusOperation, type OperationSpec } from "../../host";
import { cents, fieldText, numberOf, statusOf } from "../fields";

/** The payment system's operations: charge, and refund (compensates a charge). */

// ---------------------------------------------------------------- payment.status (settles a call)

/**
 * The payment system's status query: what it did under the idempotency key of one of its calls
 * (TOOK_EFFECT with the response's hash, REFUSED, or NO_EFFECT and the key fenced). Every operation
 * below names it as its `settle.statusQuery`.
 */
export const paymentStatus = defineStatusOperation({
  name: "payment.status",
  code: 103,
  system: "payment",
  settles: () => [paymentCharge, paymentRefund],
});

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
  refusalReasons: { DECLINED: "the payment provider declined the charge" },
  code: 101,
  system: "payment",
  settle: { statusQuery: paymentStatus },
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
  compensates: "payment.charge",
  refusalReasons: {
    REFUSED: "the refund names no capture of this order and currency, or asks more than is left of it",
  },
  code: 102,
  system: "payment",
  settle: { statusQuery: paymentStatus },
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
