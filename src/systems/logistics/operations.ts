import { z } from "zod";
import { decodeString, encodeString } from "../../crypto";
import { defineOperation, defineStatusOperation, type OperationSpec } from "../../host";
import { count, fieldText, numberOf, statusOf } from "../fields";

/** The logistics system's operations: ship, and cancel (compensates a shipment). */

// ---------------------------------------------------------------- logistics.status (settles a call)

/**
 * The logistics system's status query: what it did under the idempotency key of one of its calls
 * (TOOK_EFFECT with the response's hash, REFUSED, or NO_EFFECT and the key fenced). Every operation
 * below names it as its `settle.statusQuery`.
 */
export const logisticsStatus = defineStatusOperation({
  name: "logistics.status",
  code: 203,
  system: "logistics",
  settles: () => [logisticsShip, logisticsCancel],
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
  refusalReasons: { REJECTED: "the carrier rejected the shipment" },
  code: 201,
  system: "logistics",
  settle: { statusQuery: logisticsStatus },
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
    compensates: "logistics.ship",
    refusalReasons: {
      REFUSED: "the cancellation names no scheduled shipment of this order, or one already cancelled",
    },
    code: 202,
    system: "logistics",
    settle: { statusQuery: logisticsStatus },
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
