import { z } from "zod";
import { defineOperation, defineStatusOperation, type OperationSpec } from "../../host";
import { codeLimb, limbCode, shortCode } from "../erp/packing";
import { statusOf } from "../fields";
import { decodeTradeBatch, encodeTradeBatch, TradeBatchSchema, type TradeBatch } from "./batch";

/**
 * The trade venue's operations: it confirms a batch of trades that a clearing is about to net
 * (the trades it executed, with their payers, payees, amounts and ids), signed like any system's
 * answer over the batch's four packed fields (./batch.ts).
 */

/**
 * The venue's status query: what it did under the idempotency key of one of its calls (TOOK_EFFECT
 * with the response's hash, REFUSED, or NO_EFFECT and the key fenced).
 */
export const venueStatus = defineStatusOperation({
  name: "venue.status",
  code: 702,
  system: "venue",
  settles: () => [venueConfirmBatch],
});

export const ConfirmationStatus = { CONFIRMED: 1n, REFUSED: 2n } as const;

export const VenueConfirmBatchResponseSchema = z
  .object({
    status: z.enum(["CONFIRMED", "REFUSED"]),
    /** The venue's confirmation reference (CF000001, …); "" when refused. */
    confirmation: shortCode("confirmation", { allowEmpty: true }),
  })
  .strict()
  .superRefine((r, ctx) => {
    if ((r.status === "CONFIRMED") !== (r.confirmation !== "")) {
      ctx.addIssue({ code: "custom", message: "a confirmation has a reference, a refusal none" });
    }
  });
export type VenueConfirmBatchResponse = z.infer<typeof VenueConfirmBatchResponseSchema>;

/** Request: the batch, 4 packed fields (./batch.ts); response `[status, confirmation, 0, 0]`. */
export const venueConfirmBatch: OperationSpec<TradeBatch, VenueConfirmBatchResponse> = defineOperation({
  name: "venue.confirmBatch",
  code: 701,
  system: "venue",
  settle: { statusQuery: venueStatus },
  requestSchema: TradeBatchSchema,
  responseSchema: VenueConfirmBatchResponseSchema,
  encodeRequest: encodeTradeBatch,
  encodeResponse: (r) => [ConfirmationStatus[r.status], codeLimb(r.confirmation), 0n, 0n],
  decodeRequest: decodeTradeBatch,
  decodeResponse: ([status, confirmation]) => ({
    status: statusOf(ConfirmationStatus, status),
    confirmation: limbCode(confirmation),
  }),
  describe: (batch) =>
    `venue.confirmBatch(batch=${batch.batchId}, trades=${batch.trades.length}, institutions=[${batch.institutions.join(", ")}])`,
});
