import { effectsOf, shortNumbered } from "../ledger";
import { operationHandler, type OperationHandler } from "../types";
import { venueConfirmBatch, type VenueConfirmBatchResponse } from "./operations";

/**
 * The simulated trade venue's business logic: it confirms every well-formed batch (the request
 * schema has refused the rest: institutions listed once, payer and payee among them and distinct,
 * trade ids distinct, amounts of at least one cent) unless a `decline` fault says otherwise, with
 * references CF000001, … in the order it confirms. It keeps no trade book of its own: a real venue
 * confirms only the trades it executed (its own records), signing the same fields.
 */
export function venueHandlers(): Record<string, OperationHandler> {
  return {
    [venueConfirmBatch.name]: operationHandler(
      venueConfirmBatch,
      (_batch, ctx): VenueConfirmBatchResponse => {
        if (ctx.decline) return { status: "REFUSED", confirmation: "" };
        const confirmed = effectsOf(ctx.ledger, venueConfirmBatch, "CONFIRMED").length;
        return { status: "CONFIRMED", confirmation: shortNumbered("CF", confirmed + 1) };
      },
    ),
  };
}
