import { z } from "zod";
import { encodeString, toHex32 } from "../../crypto";
import { defineWorkflow, type WorkflowDefinition, type WorkflowStateEffect } from "../../definition";
import {
  erpCancelPlan,
  erpCancelPurchase,
  erpPlan,
  erpProduce,
  erpPurchase,
  erpScrapLot,
  labInspectionResult,
  logisticsCancel,
  logisticsShip,
  type ErpPlanResponse,
  type ErpProduceResponse,
  type ErpPurchaseResponse,
  type LogisticsShipResponse,
} from "../../systems";
import type { Trace } from "../../trace";
import { DEMO_MATERIALS, INVENTORY_FIELDS, MaterialPlanner, SUPPLY_INVENTORY_DOMAIN } from "./inventory";
import { supplyChainWitness } from "./witness";

const text = (what: string, max = 31) =>
  z
    .string()
    .min(1)
    .refine((s) => Buffer.byteLength(s, "utf8") <= max, `${what} must be at most ${max} UTF-8 bytes`);

export const SupplyOrderInputSchema = z
  .object({
    orderId: text("orderId"),
    /** A product of the ERP's master data (GEARBOX-7, PUMP-3, VALVE-1). */
    product: text("product"),
    quantity: z.number().int().positive().max(1_000_000),
    destination: text("destination"),
  })
  .strict();
export type SupplyOrderInput = z.infer<typeof SupplyOrderInputSchema>;

export const SUPPLY_STEP_CODES = {
  confirm_order: 1,
  plan: 2,
  purchase: 3,
  produce: 4,
  inspect: 5,
  ship: 6,
} as const;

/** The instance that proves every supply-chain run (circuits.json). */
export const SUPPLY_CHAIN_TEMPLATE = "SupplyChainSaga_4_3_10";

/**
 * The supply chain: confirm order → production plan (ERP) → raw material purchase (ERP) → production
 * (ERP) → quality inspection (the lab's database, read through the SQL gateway) → shipping
 * (logistics). Compensations: cancel the plan, cancel the purchase, scrap the lot, cancel the
 * shipment (all attested calls); the confirmation is a local record and the inspection a read, so
 * neither has one. The purchase buys per material what the stock lacks for the plan's need
 * (quantity × per unit), as the warehouse stands (MaterialPlanner).
 */
export function supplyChainWorkflow(planner: MaterialPlanner): WorkflowDefinition<SupplyOrderInput> {
  return defineWorkflow<SupplyOrderInput>({
    name: "supply-chain",
    template: SUPPLY_CHAIN_TEMPLATE,
    rollbackTemplate: SUPPLY_CHAIN_TEMPLATE,
    description:
      "Supply chain: confirm the order, plan production, purchase materials, produce, inspect the lot, ship it",
    inputSchema: SupplyOrderInputSchema,
    steps: [
      {
        name: "confirm_order",
        code: SUPPLY_STEP_CODES.confirm_order,
        async run({ input }) {
          return {
            result: { confirmed: true },
            request: [
              encodeString(input.orderId),
              encodeString(input.product),
              BigInt(input.quantity),
              encodeString(input.destination),
            ],
            response: [1n, 0n, 0n, 0n],
          };
        },
      },
      {
        name: "plan",
        code: SUPPLY_STEP_CODES.plan,
        operation: erpPlan,
        async run({ input, call }) {
          return { result: await call(erpPlan, { product: input.product, quantity: input.quantity }) };
        },
        compensation: {
          name: "cancel_plan",
          operation: erpCancelPlan,
          async run({ forward, results, workflowId, call }) {
            const plan = forward as ErpPlanResponse;
            const cancelled = await call(erpCancelPlan, { planId: plan.planId });
            // The last compensation of every rollback after the plan. No lot was produced: the
            // purchase (if any) went back, the run moves no stock, its pending move is forgotten. Once
            // a lot was (it is scrapped), the goods stay in stock and the run's move stands.
            if (results.produce === undefined) planner.release(toHex32(workflowId));
            return { result: cancelled };
          },
        },
      },
      {
        name: "purchase",
        code: SUPPLY_STEP_CODES.purchase,
        operation: erpPurchase,
        async run({ input, results, workflowId, call }) {
          const plan = results.plan as ErpPlanResponse;
          const lines = planner.plan(
            toHex32(workflowId),
            plan.bom.map((line) => ({ material: line.material, need: input.quantity * line.perUnit })),
          );
          return { result: await call(erpPurchase, { planId: plan.planId, lines }) };
        },
        compensation: {
          name: "cancel_purchase",
          operation: erpCancelPurchase,
          async run({ results, forward, call }) {
            const plan = results.plan as ErpPlanResponse;
            const purchase = forward as ErpPurchaseResponse;
            return {
              result: await call(erpCancelPurchase, { planId: plan.planId, poIds: purchase.poIds }),
            };
          },
        },
      },
      {
        name: "produce",
        code: SUPPLY_STEP_CODES.produce,
        operation: erpProduce,
        async run({ input, results, call }) {
          const plan = results.plan as ErpPlanResponse;
          return { result: await call(erpProduce, { planId: plan.planId, quantity: input.quantity }) };
        },
        compensation: {
          name: "scrap_lot",
          operation: erpScrapLot,
          async run({ forward, call }) {
            const lot = forward as ErpProduceResponse;
            return { result: await call(erpScrapLot, { lotId: lot.lotId }) };
          },
        },
      },
      {
        name: "inspect",
        code: SUPPLY_STEP_CODES.inspect,
        operation: labInspectionResult,
        async run({ results, call }) {
          const lot = results.produce as ErpProduceResponse;
          return { result: await call(labInspectionResult, { lot: lot.lotId }) };
        },
      },
      {
        name: "ship",
        code: SUPPLY_STEP_CODES.ship,
        operation: logisticsShip,
        async run({ input, results, call }) {
          const lot = results.produce as ErpProduceResponse;
          return {
            result: await call(logisticsShip, {
              orderId: input.orderId,
              sku: lot.lotId,
              quantity: input.quantity,
              destination: input.destination,
            }),
          };
        },
        compensation: {
          name: "cancel_shipment",
          operation: logisticsCancel,
          async run({ input, forward, call }) {
            const shipment = forward as LogisticsShipResponse;
            return {
              result: await call(logisticsCancel, {
                orderId: input.orderId,
                trackingNumber: shipment.trackingNumber,
              }),
            };
          },
        },
      },
    ],
    state: SUPPLY_INVENTORY_EFFECT,
    witness: supplyChainWitness,
  });
}

/**
 * Whether the run's lot exists at its end: produced and either shipped (committed) or scrapped by
 * the rollback (the inspection or shipping failed, or production failed after its effect, which its
 * status query showed).
 */
export function lotProduced(trace: Trace): { produced: boolean; scrapped: boolean } {
  if (trace.outcome === "COMMITTED") return { produced: true, scrapped: false };
  const failed = trace.steps.find((s) => s.status === "FAILED");
  const failedStep = failed ? failed.index : -1;
  const scrapped =
    failedStep > SUPPLY_STEP_CODES.produce - 1 ||
    (failedStep === SUPPLY_STEP_CODES.produce - 1 && failed?.evidence === "SETTLED");
  return { produced: scrapped, scrapped };
}

/**
 * The run's move of the inventory, per material of the plan's bill (in the plan's slot order):
 * committed, stock += purchased − need; rolled back with the lot scrapped, the same stock move and
 * scrap += need (purchases received stay in stock, the consumed materials are written off); rolled
 * back before production, nothing (the purchase was returned in full). The circuit proves the same
 * from the ERP's signed plan, purchase, production and compensations.
 */
export function inventoryChanges(trace: Trace): { key: string; deltas: bigint[] }[] {
  const { produced, scrapped } = lotProduced(trace);
  if (!produced) return [];
  const plan = erpPlan.decodeResponse(trace.steps[1].response);
  const purchase = erpPurchase.decodeRequest(trace.steps[2].request);
  const quantity = trace.steps[0].request[2];
  return plan.bom.map(({ material, perUnit }) => {
    const need = quantity * BigInt(perUnit);
    const bought = BigInt(purchase.lines.find((l) => l.material === material)?.quantity ?? 0);
    return { key: material, deltas: [bought - need, scrapped ? need : 0n] };
  });
}

export const SUPPLY_INVENTORY_EFFECT: WorkflowStateEffect = {
  domain: SUPPLY_INVENTORY_DOMAIN,
  genesis: Object.fromEntries(
    Object.entries(DEMO_MATERIALS).map(([material, stock]) => [material, [BigInt(stock), 0n]]),
  ),
  valueFields: INVENTORY_FIELDS,
  allowInsert: true,
  changes: inventoryChanges,
};

/** The demo's n-th order: gearboxes and pumps in turn. */
export function demoSupplyOrderInput(n: number): SupplyOrderInput {
  const products = ["GEARBOX-7", "PUMP-3"] as const;
  return {
    orderId: `SO-2026-${String(n).padStart(6, "0")}`,
    product: products[n % products.length],
    quantity: 2 + (n % 3),
    destination: "20095 Hamburg DE",
  };
}
