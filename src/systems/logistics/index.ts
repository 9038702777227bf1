import type { SystemModule } from "../module";
import { logisticsHandlers } from "./handlers";
import { logisticsShip, logisticsCancel } from "./operations";

export * from "./operations";
export * from "./handlers";

/** The logistics system: its operations and its simulated server's handlers. */
export const logisticsSystem: SystemModule = {
  name: "logistics",
  code: 2,
  operations: [logisticsShip, logisticsCancel],
  forward: logisticsShip.name,
  handlers: logisticsHandlers,
};
