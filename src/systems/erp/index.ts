import type { SystemModule } from "../module";
import { erpHandlers } from "./handlers";
import { ERP_OPERATIONS, erpPlan, erpStatus } from "./operations";

export * from "./operations";
export * from "./handlers";
export {
  codeLimb,
  limbCode,
  LIMB_BITS,
  LIMBS_PER_FIELD,
  packLimbs,
  SHORT_CODE_BYTES,
  unpackLimbs,
} from "./packing";
export * from "./products";

/**
 * The ERP system: production planning (bill of materials, quality spec), purchasing and production,
 * with their compensations (cancel the plan, cancel the purchase, scrap the lot).
 */
export const erpSystem: SystemModule = {
  name: "erp",
  code: 4,
  operations: [...ERP_OPERATIONS, erpStatus],
  status: erpStatus,
  forward: erpPlan.name,
  handlers: () => erpHandlers(),
};
