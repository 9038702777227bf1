import type { SystemModule } from "../module";
import { venueHandlers } from "./handlers";
import { venueConfirmBatch, venueStatus } from "./operations";

export * from "./batch";
export * from "./operations";
export * from "./handlers";

/**
 * The trade venue (or the institutions' confirmation service): confirms, signed, the batch of
 * trades a clearing nets.
 */
export const venueSystem: SystemModule = {
  name: "venue",
  code: 7,
  operations: [venueConfirmBatch, venueStatus],
  status: venueStatus,
  forward: venueConfirmBatch.name,
  handlers: () => venueHandlers(),
};
