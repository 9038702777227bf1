import type { SystemModule } from "../module";
import { paymentHandlers } from "./handlers";
import { paymentCharge, paymentRefund, paymentStatus } from "./operations";

export * from "./operations";
export * from "./handlers";

/** The payment system: its operations and its simulated server's handlers. */
export const paymentSystem: SystemModule = {
  name: "payment",
  code: 1,
  operations: [paymentCharge, paymentRefund, paymentStatus],
  forward: paymentCharge.name,
  status: paymentStatus,
  handlers: paymentHandlers,
};
