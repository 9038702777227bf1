import { z } from "zod";
import { decodeString, encodeString } from "../../crypto";
import { defineOperation, defineStatusOperation, type OperationSpec } from "../../host";
import { fieldText, numberOf, statusOf } from "../fields";
import {
  codeLimb,
  distinct,
  firstSlots,
  limbCode,
  packCodes,
  packLimbs,
  packQuantities,
  quantity,
  shortCode,
  unpackLimbs,
  usedSlots,
} from "./packing";

/**
 * The ERP's status query: what it did under the idempotency key of one of its calls (TOOK_EFFECT
 * with the response's hash, REFUSED, or NO_EFFECT and the key fenced). Every operation below names it
 * as its `settle.statusQuery`.
 */
export const erpStatus = defineStatusOperation({
  name: "erp.status",
  code: 407,
  system: "erp",
  settles: () => [erpPlan, erpPurchase, erpProduce, erpCancelPlan, erpCancelPurchase, erpScrapLot],
});

/**
 * The ERP system's operations: plan production (bill of materials and quality spec), purchase the
 * materials, produce the lot; and their compensations, cancel the plan, cancel the purchase, scrap
 * the lot. Each request and response is 4 field elements (response field 0 the status, 1 =
 * succeeded); ids and quantities share fields as 64-bit slots (./packing.ts). Every refusal is a
 * signed answer with status 2 and every other field 0.
 */

/** `erp.purchase(plan=PL000001, lines=[STEEL×40])`: how the audit shows a call. */
function describeCall(name: string, args: Record<string, string | number>): string {
  return `${name}(${Object.entries(args)
    .map(([key, value]) => `${key}=${value}`)
    .join(", ")})`;
}

const list = (items: readonly string[]) => `[${items.join(", ")}]`;

/** A status field that is the success status exactly when `succeeded` holds, all else zero/empty when refused. */
function refusedIsEmpty(
  ctx: z.RefinementCtx,
  refused: boolean,
  empty: boolean,
  what: string,
  success: { ok: boolean; message: string },
): void {
  if (refused && !empty) ctx.addIssue({ code: "custom", message: `a refused ${what} carries no data` });
  if (!refused && !success.ok) ctx.addIssue({ code: "custom", message: success.message });
}

// ---------------------------------------------------------------- erp.plan

export const PlanStatus = { PLANNED: 1n, REFUSED: 2n } as const;

export const ErpPlanRequestSchema = z
  .object({
    product: fieldText("product"),
    /** Units to produce. */
    quantity: quantity("quantity", 1),
  })
  .strict();
export type ErpPlanRequest = z.infer<typeof ErpPlanRequestSchema>;

export const BomLineSchema = z
  .object({
    material: shortCode("material"),
    /** Units of the material per unit of the product. */
    perUnit: quantity("perUnit", 1),
  })
  .strict();
export type BomLine = z.infer<typeof BomLineSchema>;

export const ErpPlanResponseSchema = z
  .object({
    status: z.enum(["PLANNED", "REFUSED"]),
    /** "" when refused. */
    planId: shortCode("planId", { allowEmpty: true }),
    /** The bill of materials per unit of the product: 1..3 distinct materials (none when refused). */
    bom: z.array(BomLineSchema).max(3, "a plan has at most 3 materials"),
    /** The product's quality spec: the inspection's measured value must be in [specMin, specMax]. */
    specMin: quantity("specMin", 0),
    specMax: quantity("specMax", 0),
  })
  .strict()
  .superRefine((r, ctx) =>
    refusedIsEmpty(
      ctx,
      r.status === "REFUSED",
      r.planId === "" && r.bom.length === 0 && r.specMin === 0 && r.specMax === 0,
      "plan",
      {
        ok:
          r.planId !== "" &&
          r.bom.length > 0 &&
          distinct(r.bom.map((l) => l.material)) &&
          r.specMin <= r.specMax,
        message: "a plan has an id, 1..3 distinct materials and specMin <= specMax",
      },
    ),
  );
export type ErpPlanResponse = z.infer<typeof ErpPlanResponseSchema>;

/**
 * Request `[product, quantity, 0, 0]`; response
 * `[status, planId | specMin<<64 | specMax<<128, materials (3 slots), perUnit (3 slots)]`.
 */
export const erpPlan: OperationSpec<ErpPlanRequest, ErpPlanResponse> = defineOperation({
  name: "erp.plan",
  code: 401,
  settle: { statusQuery: erpStatus },
  system: "erp",
  requestSchema: ErpPlanRequestSchema,
  responseSchema: ErpPlanResponseSchema,
  encodeRequest: (r) => [encodeString(r.product), BigInt(r.quantity), 0n, 0n],
  encodeResponse: (r) => [
    PlanStatus[r.status],
    packLimbs([codeLimb(r.planId), BigInt(r.specMin), BigInt(r.specMax)], "plan"),
    packCodes(
      r.bom.map((l) => l.material),
      "materials",
    ),
    packQuantities(
      r.bom.map((l) => l.perUnit),
      "perUnit",
    ),
  ],
  decodeRequest: ([product, planned]) => ({ product: decodeString(product), quantity: numberOf(planned) }),
  decodeResponse: ([status, plan, materials, perUnit]) => {
    const [planId, specMin, specMax] = unpackLimbs(plan, "plan");
    const codes = usedSlots(materials, "materials");
    const amounts = usedSlots(perUnit, "perUnit");
    return {
      status: statusOf(PlanStatus, status),
      planId: limbCode(planId),
      bom: Array.from({ length: Math.max(codes.length, amounts.length) }, (_, i) => ({
        material: limbCode(codes[i] ?? 0n),
        perUnit: numberOf(amounts[i] ?? 0n),
      })),
      specMin: numberOf(specMin),
      specMax: numberOf(specMax),
    };
  },
  describe: (r) => describeCall("erp.plan", { product: r.product, quantity: r.quantity }),
});

// ---------------------------------------------------------------- erp.purchase

export const PurchaseStatus = { ORDERED: 1n, REFUSED: 2n } as const;

export const PurchaseLineSchema = z
  .object({
    material: shortCode("material"),
    quantity: quantity("quantity", 1),
  })
  .strict();
export type PurchaseLine = z.infer<typeof PurchaseLineSchema>;

export const ErpPurchaseRequestSchema = z
  .object({
    /** The plan the materials are for (erp.plan's planId). */
    planId: shortCode("planId"),
    /** 0..3 lines, distinct materials of the plan's bill; no lines: nothing to buy. */
    lines: z
      .array(PurchaseLineSchema)
      .max(3, "a purchase has at most 3 lines")
      .refine((lines) => distinct(lines.map((l) => l.material)), "a material appears on one line only"),
  })
  .strict();
export type ErpPurchaseRequest = z.infer<typeof ErpPurchaseRequestSchema>;

export const ErpPurchaseResponseSchema = z
  .object({
    status: z.enum(["ORDERED", "REFUSED"]),
    /** One purchase order per request line, in line order (none when refused). */
    poIds: z.array(shortCode("poId")).max(3).refine(distinct, "purchase order ids are distinct"),
  })
  .strict()
  .superRefine((r, ctx) => {
    if (r.status === "REFUSED" && r.poIds.length > 0) {
      ctx.addIssue({ code: "custom", message: "a refused purchase carries no purchase orders" });
    }
  });
export type ErpPurchaseResponse = z.infer<typeof ErpPurchaseResponseSchema>;

/** Request `[planId, materials (3 slots), quantities (3 slots), 0]`; response `[status, poIds (3 slots), 0, 0]`. */
export const erpPurchase: OperationSpec<ErpPurchaseRequest, ErpPurchaseResponse> = defineOperation({
  name: "erp.purchase",
  code: 402,
  settle: { statusQuery: erpStatus },
  system: "erp",
  requestSchema: ErpPurchaseRequestSchema,
  responseSchema: ErpPurchaseResponseSchema,
  encodeRequest: (r) => [
    codeLimb(r.planId),
    packCodes(
      r.lines.map((l) => l.material),
      "materials",
    ),
    packQuantities(
      r.lines.map((l) => l.quantity),
      "quantities",
    ),
    0n,
  ],
  encodeResponse: (r) => [PurchaseStatus[r.status], packCodes(r.poIds, "poIds"), 0n, 0n],
  decodeRequest: ([planId, materials, quantities]) => {
    const codes = usedSlots(materials, "materials");
    const amounts = usedSlots(quantities, "quantities");
    return {
      planId: limbCode(planId),
      lines: Array.from({ length: Math.max(codes.length, amounts.length) }, (_, i) => ({
        material: limbCode(codes[i] ?? 0n),
        quantity: numberOf(amounts[i] ?? 0n),
      })),
    };
  },
  decodeResponse: ([status, poIds]) => ({
    status: statusOf(PurchaseStatus, status),
    poIds: usedSlots(poIds, "poIds").map(limbCode),
  }),
  describe: (r) =>
    describeCall("erp.purchase", {
      plan: r.planId,
      lines: list(r.lines.map((l) => `${l.material}×${l.quantity}`)),
    }),
});

// ---------------------------------------------------------------- erp.produce

export const ProductionStatus = { PRODUCED: 1n, REFUSED: 2n } as const;

export const ErpProduceRequestSchema = z
  .object({
    planId: shortCode("planId"),
    /** Units to produce: the plan's quantity. */
    quantity: quantity("quantity", 1),
  })
  .strict();
export type ErpProduceRequest = z.infer<typeof ErpProduceRequestSchema>;

export const ErpProduceResponseSchema = z
  .object({
    status: z.enum(["PRODUCED", "REFUSED"]),
    /** The lot produced ("" when refused). */
    lotId: shortCode("lotId", { allowEmpty: true }),
    /** Units in the lot (0 when refused). */
    quantity: quantity("quantity", 0),
    /** Material consumed per slot of the plan's bill: quantity × perUnit (none when refused). */
    consumed: z.array(quantity("consumed", 1)).max(3),
  })
  .strict()
  .superRefine((r, ctx) =>
    refusedIsEmpty(
      ctx,
      r.status === "REFUSED",
      r.lotId === "" && r.quantity === 0 && r.consumed.length === 0,
      "production",
      {
        ok: r.lotId !== "" && r.quantity > 0 && r.consumed.length > 0,
        message: "a produced lot has an id, a quantity and what it consumed",
      },
    ),
  );
export type ErpProduceResponse = z.infer<typeof ErpProduceResponseSchema>;

/** Request `[planId, quantity, 0, 0]`; response `[status, lotId, quantity, consumed (3 slots)]`. */
export const erpProduce: OperationSpec<ErpProduceRequest, ErpProduceResponse> = defineOperation({
  name: "erp.produce",
  code: 403,
  settle: { statusQuery: erpStatus },
  system: "erp",
  requestSchema: ErpProduceRequestSchema,
  responseSchema: ErpProduceResponseSchema,
  encodeRequest: (r) => [codeLimb(r.planId), BigInt(r.quantity), 0n, 0n],
  encodeResponse: (r) => [
    ProductionStatus[r.status],
    codeLimb(r.lotId),
    BigInt(r.quantity),
    packQuantities(r.consumed, "consumed"),
  ],
  decodeRequest: ([planId, units]) => ({ planId: limbCode(planId), quantity: numberOf(units) }),
  decodeResponse: ([status, lotId, units, consumed]) => ({
    status: statusOf(ProductionStatus, status),
    lotId: limbCode(lotId),
    quantity: numberOf(units),
    consumed: usedSlots(consumed, "consumed").map(numberOf),
  }),
  describe: (r) => describeCall("erp.produce", { plan: r.planId, quantity: r.quantity }),
});

// ---------------------------------------------------------------- erp.cancelPlan (compensates erp.plan)

export const PlanCancellationStatus = { CANCELLED: 1n, REFUSED: 2n } as const;

export const ErpCancelPlanRequestSchema = z.object({ planId: shortCode("planId") }).strict();
export type ErpCancelPlanRequest = z.infer<typeof ErpCancelPlanRequestSchema>;

export const ErpCancelPlanResponseSchema = z.object({ status: z.enum(["CANCELLED", "REFUSED"]) }).strict();
export type ErpCancelPlanResponse = z.infer<typeof ErpCancelPlanResponseSchema>;

/** Request `[planId, 0, 0, 0]`; response `[status, 0, 0, 0]`. */
export const erpCancelPlan: OperationSpec<ErpCancelPlanRequest, ErpCancelPlanResponse> = defineOperation({
  name: "erp.cancelPlan",
  compensates: "erp.plan",
  code: 404,
  settle: { statusQuery: erpStatus },
  system: "erp",
  requestSchema: ErpCancelPlanRequestSchema,
  responseSchema: ErpCancelPlanResponseSchema,
  encodeRequest: (r) => [codeLimb(r.planId), 0n, 0n, 0n],
  encodeResponse: (r) => [PlanCancellationStatus[r.status], 0n, 0n, 0n],
  decodeRequest: ([planId]) => ({ planId: limbCode(planId) }),
  decodeResponse: ([status]) => ({ status: statusOf(PlanCancellationStatus, status) }),
  describe: (r) => describeCall("erp.cancelPlan", { plan: r.planId }),
});

// ---------------------------------------------------------------- erp.cancelPurchase (compensates erp.purchase)

export const PurchaseCancellationStatus = { CANCELLED: 1n, REFUSED: 2n } as const;

export const ErpCancelPurchaseRequestSchema = z
  .object({
    planId: shortCode("planId"),
    /** The purchase orders to cancel (erp.purchase's poIds), 0..3. */
    poIds: z.array(shortCode("poId")).max(3).refine(distinct, "a purchase order is cancelled once"),
  })
  .strict();
export type ErpCancelPurchaseRequest = z.infer<typeof ErpCancelPurchaseRequestSchema>;

export const ErpCancelPurchaseResponseSchema = z
  .object({
    status: z.enum(["CANCELLED", "REFUSED"]),
    /** The purchase orders closed (the request's, in its order; none when refused). */
    poIds: z.array(shortCode("poId")).max(3).refine(distinct, "purchase order ids are distinct"),
    /**
     * Per purchase order, the quantity that goes back to the supplier: all of it while no lot of the
     * plan consumed the materials; 0 once one did (the goods were received and stay in stock).
     */
    returned: z.array(quantity("returned", 0)).max(3),
  })
  .strict()
  .superRefine((r, ctx) => {
    if (r.returned.length !== r.poIds.length) {
      ctx.addIssue({ code: "custom", message: "one returned quantity per purchase order" });
    }
    if (r.status === "REFUSED" && r.poIds.length > 0) {
      ctx.addIssue({ code: "custom", message: "a refused cancellation carries no purchase orders" });
    }
  });
export type ErpCancelPurchaseResponse = z.infer<typeof ErpCancelPurchaseResponseSchema>;

/** Request `[planId, poIds (3 slots), 0, 0]`; response `[status, poIds (3 slots), returned (3 slots), 0]`. */
export const erpCancelPurchase: OperationSpec<ErpCancelPurchaseRequest, ErpCancelPurchaseResponse> =
  defineOperation({
    name: "erp.cancelPurchase",
    compensates: "erp.purchase",
    code: 405,
    settle: { statusQuery: erpStatus },
    system: "erp",
    requestSchema: ErpCancelPurchaseRequestSchema,
    responseSchema: ErpCancelPurchaseResponseSchema,
    encodeRequest: (r) => [codeLimb(r.planId), packCodes(r.poIds, "poIds"), 0n, 0n],
    encodeResponse: (r) => [
      PurchaseCancellationStatus[r.status],
      packCodes(r.poIds, "poIds"),
      packQuantities(r.returned, "returned"),
      0n,
    ],
    decodeRequest: ([planId, poIds]) => ({
      planId: limbCode(planId),
      poIds: usedSlots(poIds, "poIds").map(limbCode),
    }),
    decodeResponse: ([status, poIds, returned]) => {
      const orders = usedSlots(poIds, "poIds").map(limbCode);
      return {
        status: statusOf(PurchaseCancellationStatus, status),
        poIds: orders,
        returned: firstSlots(returned, orders.length, "returned").map(numberOf),
      };
    },
    describe: (r) => describeCall("erp.cancelPurchase", { plan: r.planId, pos: list(r.poIds) }),
  });

// ---------------------------------------------------------------- erp.scrapLot (compensates erp.produce)

export const ScrapStatus = { SCRAPPED: 1n, REFUSED: 2n } as const;

export const ErpScrapLotRequestSchema = z.object({ lotId: shortCode("lotId") }).strict();
export type ErpScrapLotRequest = z.infer<typeof ErpScrapLotRequestSchema>;

export const ErpScrapLotResponseSchema = z
  .object({
    status: z.enum(["SCRAPPED", "REFUSED"]),
    /** Units of the lot scrapped (0 when refused). */
    quantity: quantity("quantity", 0),
    /** Materials written off per slot of the plan's bill: what the lot consumed (none when refused). */
    writtenOff: z.array(quantity("writtenOff", 1)).max(3),
  })
  .strict()
  .superRefine((r, ctx) =>
    refusedIsEmpty(ctx, r.status === "REFUSED", r.quantity === 0 && r.writtenOff.length === 0, "scrap", {
      ok: r.quantity > 0 && r.writtenOff.length > 0,
      message: "a scrapped lot has a quantity and the materials written off",
    }),
  );
export type ErpScrapLotResponse = z.infer<typeof ErpScrapLotResponseSchema>;

/** Request `[lotId, 0, 0, 0]`; response `[status, quantity, writtenOff (3 slots), 0]`. */
export const erpScrapLot: OperationSpec<ErpScrapLotRequest, ErpScrapLotResponse> = defineOperation({
  name: "erp.scrapLot",
  compensates: "erp.produce",
  code: 406,
  settle: { statusQuery: erpStatus },
  system: "erp",
  requestSchema: ErpScrapLotRequestSchema,
  responseSchema: ErpScrapLotResponseSchema,
  encodeRequest: (r) => [codeLimb(r.lotId), 0n, 0n, 0n],
  encodeResponse: (r) => [
    ScrapStatus[r.status],
    BigInt(r.quantity),
    packQuantities(r.writtenOff, "writtenOff"),
    0n,
  ],
  decodeRequest: ([lotId]) => ({ lotId: limbCode(lotId) }),
  decodeResponse: ([status, units, writtenOff]) => ({
    status: statusOf(ScrapStatus, status),
    quantity: numberOf(units),
    writtenOff: usedSlots(writtenOff, "writtenOff").map(numberOf),
  }),
  describe: (r) => describeCall("erp.scrapLot", { lot: r.lotId }),
});

export const ERP_OPERATIONS = [
  erpPlan,
  erpPurchase,
  erpProduce,
  erpCancelPlan,
  erpCancelPurchase,
  erpScrapLot,
] as const;
