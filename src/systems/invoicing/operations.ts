import { z } from "zod";
import { decodeString, encodeString } from "../../crypto";
import { defineOperation, defineStatusOperation, type OperationSpec } from "../../host";
import { cents, fieldText, numberOf, statusOf } from "../fields";

/** The invoicing system's operations: issue, and void (compensates an invoice). */

// ---------------------------------------------------------------- invoice.status (settles a call)

/**
 * The invoicing system's status query: what it did under the idempotency key of one of its calls
 * (TOOK_EFFECT with the response's hash, REFUSED, or NO_EFFECT and the key fenced). Every operation
 * below names it as its `settle.statusQuery`.
 */
export const invoiceStatus = defineStatusOperation({
  name: "invoice.status",
  code: 303,
  system: "invoicing",
  settles: () => [invoiceIssue, invoiceVoid],
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
  refusalReasons: { REJECTED: "the invoicing system rejected the invoice" },
  code: 301,
  system: "invoicing",
  settle: { statusQuery: invoiceStatus },
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
  compensates: "invoice.issue",
  refusalReasons: {
    REFUSED: "the void names no issued invoice of this order and amount, or one already voided",
  },
  code: 302,
  system: "invoicing",
  settle: { statusQuery: invoiceStatus },
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
