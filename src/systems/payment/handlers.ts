import { operationHandler, type OperationHandler } from "../types";
import { effectsOf, numbered } from "../ledger";
import {
  paymentCharge,
  paymentRefund,
  type PaymentChargeResponse,
  type PaymentRefundResponse,
} from "./operations";

/**
 * The simulated payment system's business logic. Handlers keep no state of their own: they read it
 * from the system's ledger (ctx.ledger), so a system that stores its effects keeps its state across
 * restarts. A refund needs a capture of that order (and never refunds more than was captured);
 * anything else is REFUSED (signed).
 */
export function paymentHandlers(): Record<string, OperationHandler> {
  return {
    [paymentCharge.name]: operationHandler(paymentCharge, (request, ctx): PaymentChargeResponse => {
      if (ctx.decline) return { status: "DECLINED", paymentRef: "", amountCents: 0 };
      const captured = effectsOf(ctx.ledger, paymentCharge, "CAPTURED").length;
      return {
        status: "CAPTURED",
        paymentRef: numbered("PAY", captured + 1),
        amountCents: request.amountCents,
      };
    }),
    [paymentRefund.name]: operationHandler(paymentRefund, (request, ctx): PaymentRefundResponse => {
      const refused: PaymentRefundResponse = { status: "REFUSED", refundRef: "", amountCents: 0 };
      if (ctx.decline) return refused;
      const capture = effectsOf(ctx.ledger, paymentCharge, "CAPTURED").find(
        (e) => e.response.paymentRef === request.paymentRef,
      );
      if (
        !capture ||
        capture.request.orderId !== request.orderId ||
        capture.request.currency !== request.currency
      ) {
        return refused;
      }
      const refunds = effectsOf(ctx.ledger, paymentRefund, "REFUNDED");
      const alreadyRefunded = refunds
        .filter((e) => e.request.paymentRef === request.paymentRef)
        .reduce((sum, e) => sum + e.response.amountCents, 0);
      if (request.amountCents <= 0 || alreadyRefunded + request.amountCents > capture.response.amountCents) {
        return refused;
      }
      return {
        status: "REFUNDED",
        refundRef: numbered("RFD", refunds.length + 1),
        amountCents: request.amountCents,
      };
    }),
  };
}
