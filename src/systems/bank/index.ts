import type { SystemModule } from "../module";
import { bankHandlers } from "./handlers";
import { BANK_OPERATIONS, bankStatus, bankTransferBatch } from "./operations";

export * from "./operations";
export * from "./accounts";
export * from "./handlers";

/**
 * The settlement bank: executes a clearing's net legs in one transfer (reversed as its
 * compensation) and reconciles the institutions' balances with a statement; its books are its own.
 */
export const bankSystem: SystemModule = {
  name: "bank",
  code: 6,
  operations: [...BANK_OPERATIONS, bankStatus],
  status: bankStatus,
  forward: bankTransferBatch.name,
  handlers: () => bankHandlers(),
};
