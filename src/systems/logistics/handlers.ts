import { operationHandler, type OperationHandler } from "../types";
import { effectsOf, numbered } from "../ledger";
import {
  logisticsCancel,
  logisticsShip,
  type LogisticsCancelResponse,
  type LogisticsShipResponse,
} from "./operations";

export const SIM_CARRIER = "SIM-CARRIER";

/** Delivery days derived deterministically from the destination text: 1 to 5. */
export function etaDaysFor(destination: string): number {
  const sum = [...Buffer.from(destination, "utf8")].reduce((total, byte) => total + byte, 0);
  return 1 + (sum % 5);
}

/**
 * The simulated logistics system's business logic (state read from its ledger): a cancellation
 * needs a scheduled shipment of that order, once; anything else is REFUSED (signed).
 */
export function logisticsHandlers(): Record<string, OperationHandler> {
  return {
    [logisticsShip.name]: operationHandler(logisticsShip, (request, ctx): LogisticsShipResponse => {
      if (ctx.decline) return { status: "REJECTED", trackingNumber: "", carrier: SIM_CARRIER, etaDays: 0 };
      const scheduled = effectsOf(ctx.ledger, logisticsShip, "SCHEDULED").length;
      return {
        status: "SCHEDULED",
        trackingNumber: numbered("TRK", scheduled + 1),
        carrier: SIM_CARRIER,
        etaDays: etaDaysFor(request.destination),
      };
    }),
    [logisticsCancel.name]: operationHandler(logisticsCancel, (request, ctx): LogisticsCancelResponse => {
      const refused: LogisticsCancelResponse = {
        status: "REFUSED",
        trackingNumber: "",
        cancellationRef: "",
      };
      if (ctx.decline) return refused;
      const shipment = effectsOf(ctx.ledger, logisticsShip, "SCHEDULED").find(
        (e) => e.response.trackingNumber === request.trackingNumber,
      );
      const cancellations = effectsOf(ctx.ledger, logisticsCancel, "CANCELLED");
      if (
        !shipment ||
        shipment.request.orderId !== request.orderId ||
        cancellations.some((e) => e.request.trackingNumber === request.trackingNumber)
      ) {
        return refused;
      }
      return {
        status: "CANCELLED",
        trackingNumber: request.trackingNumber,
        cancellationRef: numbered("CXL", cancellations.length + 1),
      };
    }),
  };
}
