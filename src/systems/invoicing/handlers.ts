import { operationHandler, type OperationHandler } from "../types";
import { effectsOf, numbered } from "../ledger";
import { invoiceIssue, invoiceVoid, type InvoiceIssueResponse, type InvoiceVoidResponse } from "./operations";

/**
 * The simulated invoicing system's business logic (state read from its ledger): invoice numbers
 * have no gaps; a void needs an issued invoice of that order and amount, once; anything else is
 * REFUSED (signed).
 */
export function invoicingHandlers(): Record<string, OperationHandler> {
  return {
    [invoiceIssue.name]: operationHandler(invoiceIssue, (request, ctx): InvoiceIssueResponse => {
      if (ctx.decline) return { status: "REJECTED", invoiceNumber: "", amountCents: 0 };
      const issued = effectsOf(ctx.ledger, invoiceIssue, "ISSUED").length;
      return {
        status: "ISSUED",
        invoiceNumber: numbered("INV", issued + 1),
        amountCents: request.amountCents,
      };
    }),
    [invoiceVoid.name]: operationHandler(invoiceVoid, (request, ctx): InvoiceVoidResponse => {
      const refused: InvoiceVoidResponse = { status: "REFUSED", creditNoteNumber: "", amountCents: 0 };
      if (ctx.decline) return refused;
      const invoice = effectsOf(ctx.ledger, invoiceIssue, "ISSUED").find(
        (e) => e.response.invoiceNumber === request.invoiceNumber,
      );
      const voids = effectsOf(ctx.ledger, invoiceVoid, "VOIDED");
      if (
        !invoice ||
        invoice.request.orderId !== request.orderId ||
        invoice.response.amountCents !== request.amountCents ||
        voids.some((e) => e.request.invoiceNumber === request.invoiceNumber)
      ) {
        return refused;
      }
      return {
        status: "VOIDED",
        creditNoteNumber: numbered("CN", voids.length + 1),
        amountCents: request.amountCents,
      };
    }),
  };
}
