import type { SystemModule } from "../module";
import { invoicingHandlers } from "./handlers";
import { invoiceIssue, invoiceVoid } from "./operations";

export * from "./operations";
export * from "./handlers";

/** The invoicing system: its operations and its simulated server's handlers. */
export const invoicingSystem: SystemModule = {
  name: "invoicing",
  code: 3,
  operations: [invoiceIssue, invoiceVoid],
  forward: invoiceIssue.name,
  handlers: invoicingHandlers,
};
