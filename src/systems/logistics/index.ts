import type { SystemModule } from "../module";
import { logisticsHandlers } from "./handlers";
import { logisticsShip, logisticsCancel, logisticsStatus } from "./operations";

export * from "./operations";
export * from "./handlers";

/** The logistics system: its operations and its simulated server's handlers. */
export const logisticsSystem: SystemModule = {
  name: "logistics",
  code: 2,
  operations: [logisticsShip, logisticsCancel, logisticsStatus],
  forward: logisticsShip.name,
  status: logisticsStatus,
  handlers: logisticsHandlers,
};
