import { effectsOf } from "../ledger";
import { operationHandler, type LedgerEntry, type OperationHandler } from "../types";
import {
  erpCancelPlan,
  erpCancelPurchase,
  erpPlan,
  erpProduce,
  erpPurchase,
  erpScrapLot,
  type ErpCancelPlanResponse,
  type ErpCancelPurchaseResponse,
  type ErpPlanRequest,
  type ErpPlanResponse,
  type ErpProduceResponse,
  type ErpPurchaseResponse,
  type ErpScrapLotResponse,
} from "./operations";
import { SHORT_CODE_BYTES } from "./packing";
import { ERP_PRODUCTS, type ErpProduct } from "./products";

/** `PL000042`: ERP ids are a 2-letter prefix and a number, 8 characters (one 64-bit slot). */
export function erpId(prefix: "PL" | "PO" | "LT", n: number): string {
  const id = `${prefix}${String(n).padStart(SHORT_CODE_BYTES - prefix.length, "0")}`;
  if (id.length > SHORT_CODE_BYTES) throw new RangeError(`the ERP has run out of ${prefix} ids`);
  return id;
}

interface Plan {
  request: ErpPlanRequest;
  response: ErpPlanResponse;
  cancelled: boolean;
}

interface PurchaseOrder {
  planId: string;
  material: string;
  quantity: number;
  cancelled: boolean;
}

interface Lot {
  planId: string;
  quantity: number;
  consumed: number[];
  scrapped: boolean;
}

/** The ERP's documents, rebuilt from its ledger (so they survive a restart with a store file). */
class ErpBooks {
  readonly plans = new Map<string, Plan>();
  readonly purchaseOrders = new Map<string, PurchaseOrder>();
  readonly lots = new Map<string, Lot>();

  constructor(ledger: readonly LedgerEntry[]) {
    for (const { request, response } of effectsOf(ledger, erpPlan, "PLANNED")) {
      this.plans.set(response.planId, { request, response, cancelled: false });
    }
    for (const { request } of effectsOf(ledger, erpCancelPlan, "CANCELLED")) {
      this.plans.get(request.planId)!.cancelled = true;
    }
    for (const { request, response } of effectsOf(ledger, erpPurchase, "ORDERED")) {
      request.lines.forEach((line, i) =>
        this.purchaseOrders.set(response.poIds[i], { planId: request.planId, ...line, cancelled: false }),
      );
    }
    for (const { response } of effectsOf(ledger, erpCancelPurchase, "CANCELLED")) {
      for (const poId of response.poIds) this.purchaseOrders.get(poId)!.cancelled = true;
    }
    for (const { request, response } of effectsOf(ledger, erpProduce, "PRODUCED")) {
      this.lots.set(response.lotId, {
        planId: request.planId,
        quantity: response.quantity,
        consumed: response.consumed,
        scrapped: false,
      });
    }
    for (const { request } of effectsOf(ledger, erpScrapLot, "SCRAPPED")) {
      this.lots.get(request.lotId)!.scrapped = true;
    }
  }

  /** The plan, if it exists and is not cancelled. */
  openPlan(planId: string): Plan | undefined {
    const plan = this.plans.get(planId);
    return plan && !plan.cancelled ? plan : undefined;
  }

  lotsOf(planId: string): Lot[] {
    return [...this.lots.values()].filter((lot) => lot.planId === planId);
  }
}

/**
 * The simulated ERP's business logic. Handlers keep no state of their own: they rebuild the plans,
 * purchase orders and lots from the ledger (ctx.ledger). A plan takes its bill of materials and
 * quality spec from the product master data (`products`, default ERP_PRODUCTS); a plan is produced
 * once, in its planned quantity; a purchase is for materials of an open plan not produced yet; a
 * plan with a lot that is not scrapped cannot be cancelled. Anything else is REFUSED (signed), as is
 * every call a `decline` fault hits. The ERP does not keep the stock: the scenario's proven state
 * does (stock after = before + purchased − consumed).
 */
export function erpHandlers(
  options: { products?: Readonly<Record<string, ErpProduct>> } = {},
): Record<string, OperationHandler> {
  const products = options.products ?? ERP_PRODUCTS;
  return {
    [erpPlan.name]: operationHandler(erpPlan, (request, ctx): ErpPlanResponse => {
      const refused: ErpPlanResponse = { status: "REFUSED", planId: "", bom: [], specMin: 0, specMax: 0 };
      const product = Object.hasOwn(products, request.product) ? products[request.product] : undefined;
      if (ctx.decline || !product) return refused;
      // Every need (quantity × perUnit) must stay a safe integer: 64-bit in the circuit, exact in JSON.
      if (product.bom.some((l) => !Number.isSafeInteger(l.perUnit * request.quantity))) return refused;
      const books = new ErpBooks(ctx.ledger);
      return {
        status: "PLANNED",
        planId: erpId("PL", books.plans.size + 1),
        bom: product.bom.map((l) => ({ material: l.material, perUnit: l.perUnit })),
        specMin: product.spec.min,
        specMax: product.spec.max,
      };
    }),

    [erpPurchase.name]: operationHandler(erpPurchase, (request, ctx): ErpPurchaseResponse => {
      const refused: ErpPurchaseResponse = { status: "REFUSED", poIds: [] };
      if (ctx.decline) return refused;
      const books = new ErpBooks(ctx.ledger);
      const plan = books.openPlan(request.planId);
      if (!plan || books.lotsOf(request.planId).length > 0) return refused;
      const materials = new Set(plan.response.bom.map((l) => l.material));
      if (!request.lines.every((line) => materials.has(line.material))) return refused;
      const first = books.purchaseOrders.size + 1;
      return { status: "ORDERED", poIds: request.lines.map((_, i) => erpId("PO", first + i)) };
    }),

    [erpProduce.name]: operationHandler(erpProduce, (request, ctx): ErpProduceResponse => {
      const refused: ErpProduceResponse = { status: "REFUSED", lotId: "", quantity: 0, consumed: [] };
      if (ctx.decline) return refused;
      const books = new ErpBooks(ctx.ledger);
      const plan = books.openPlan(request.planId);
      if (!plan || books.lotsOf(request.planId).length > 0) return refused;
      if (request.quantity !== plan.request.quantity) return refused;
      return {
        status: "PRODUCED",
        lotId: erpId("LT", books.lots.size + 1),
        quantity: request.quantity,
        consumed: plan.response.bom.map((l) => l.perUnit * request.quantity),
      };
    }),

    [erpCancelPlan.name]: operationHandler(erpCancelPlan, (request, ctx): ErpCancelPlanResponse => {
      if (ctx.decline) return { status: "REFUSED" };
      const books = new ErpBooks(ctx.ledger);
      const plan = books.openPlan(request.planId);
      if (!plan || books.lotsOf(request.planId).some((lot) => !lot.scrapped)) return { status: "REFUSED" };
      return { status: "CANCELLED" };
    }),

    [erpCancelPurchase.name]: operationHandler(
      erpCancelPurchase,
      (request, ctx): ErpCancelPurchaseResponse => {
        const refused: ErpCancelPurchaseResponse = { status: "REFUSED", poIds: [], returned: [] };
        if (ctx.decline) return refused;
        const books = new ErpBooks(ctx.ledger);
        const orders = request.poIds.map((poId) => books.purchaseOrders.get(poId));
        if (!books.plans.has(request.planId)) return refused;
        if (orders.some((po) => !po || po.planId !== request.planId || po.cancelled)) return refused;
        // Once a lot of the plan consumed the materials, the received goods stay in stock.
        const consumed = books.lotsOf(request.planId).length > 0;
        return {
          status: "CANCELLED",
          poIds: request.poIds,
          returned: orders.map((po) => (consumed ? 0 : po!.quantity)),
        };
      },
    ),

    [erpScrapLot.name]: operationHandler(erpScrapLot, (request, ctx): ErpScrapLotResponse => {
      const refused: ErpScrapLotResponse = { status: "REFUSED", quantity: 0, writtenOff: [] };
      if (ctx.decline) return refused;
      const lot = new ErpBooks(ctx.ledger).lots.get(request.lotId);
      if (!lot || lot.scrapped) return refused;
      return { status: "SCRAPPED", quantity: lot.quantity, writtenOff: lot.consumed };
    }),
  };
}
