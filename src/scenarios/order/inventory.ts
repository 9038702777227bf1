import type { StateStore } from "../../state";

/**
 * Where the reserve-inventory step reads an SKU's stock from: the committed state (the journal's
 * state store, whose transitions the runs' proofs show) or, for tests and tools that run the
 * workflow without a store, a fixed table in memory.
 */
export interface StockSource {
  /** The SKU's stock as committed (without the reservations of runs not yet recorded). */
  stock(sku: string): number;
  /** Whether a run's effect on the stock is committed (then its reservation no longer counts). */
  settled(runId: string): boolean;
}

/** The stock domain of the order scenario's state (src/state): one key per SKU. */
export const ORDER_STOCK_DOMAIN = "order/stock";

/** The order scenario's committed stock: the journal's state store, domain {@link ORDER_STOCK_DOMAIN}. */
export function storedStock(store: StateStore, domain = ORDER_STOCK_DOMAIN): StockSource {
  return {
    stock: (sku) => Number(store.get(domain, sku) ?? 0n),
    settled: (runId) => store.appliedTransition(domain, runId) !== undefined,
  };
}

/** A fixed stock table in memory: no run is ever settled, every reservation keeps counting. */
export function memoryStock(initial: Readonly<Record<string, number>>): StockSource {
  return { stock: (sku) => initial[sku] ?? 0, settled: () => false };
}

interface Reservation {
  runId: string;
  sku: string;
  quantity: number;
  before: number;
  after: number;
}

/**
 * The merchant's stock per SKU as the reserve-inventory step sees it: the committed stock minus the
 * reservations of runs that executed but whose transition is not committed yet (their proofs are
 * being made; see src/state for the rebasing policy). Reserving and releasing are idempotent per
 * order, so a step that is run again (a retry, or a resume after a crash) never takes or gives back
 * stock twice. Reservations live in this process's memory: after a restart, a run that executed
 * before the crash is not counted until it is recorded, and its transition re-checks stock ≥ 0 when
 * it is prepared (a run that no longer fits is refused then).
 */
export class Inventory {
  private readonly source: StockSource;
  private readonly reservations = new Map<string, Reservation>();

  constructor(source: StockSource | Readonly<Record<string, number>>) {
    this.source = isStockSource(source) ? source : memoryStock(source);
  }

  /** Stock that a new order may take: committed stock minus the pending reservations. */
  available(sku: string): number {
    let available = this.source.stock(sku);
    for (const [orderId, reservation] of this.reservations) {
      if (reservation.sku !== sku) continue;
      if (this.source.settled(reservation.runId)) {
        this.reservations.delete(orderId);
        continue;
      }
      available -= reservation.quantity;
    }
    return available;
  }

  /**
   * Takes `quantity` units of `sku` for `orderId` (run `runId`); throws when there are not enough.
   * Returns stock before and after. Reserving again for the same order returns the first
   * reservation's figures.
   */
  reserve(args: { orderId: string; runId?: string; sku: string; quantity: number }): {
    before: number;
    after: number;
  } {
    const existing = this.reservations.get(args.orderId);
    if (existing) {
      if (existing.sku !== args.sku || existing.quantity !== args.quantity) {
        throw new Error(`order ${args.orderId} already holds another reservation`);
      }
      return { before: existing.before, after: existing.after };
    }
    const before = this.available(args.sku);
    if (args.quantity > before) {
      throw new Error(`insufficient stock for ${args.sku}: ${before} available, ${args.quantity} ordered`);
    }
    const after = before - args.quantity;
    this.reservations.set(args.orderId, {
      runId: args.runId ?? args.orderId,
      sku: args.sku,
      quantity: args.quantity,
      before,
      after,
    });
    return { before, after };
  }

  /**
   * Puts an order's reserved stock back. Returns stock before and after; `released` is false when
   * this inventory holds no reservation for the order (already released, or reserved by another
   * process whose memory is gone), and then nothing changes.
   */
  release(args: { orderId: string; sku: string }): { before: number; after: number; released: boolean } {
    const reservation = this.reservations.get(args.orderId);
    if (!reservation || reservation.sku !== args.sku) {
      const stock = this.available(args.sku);
      return { before: stock, after: stock, released: false };
    }
    const before = this.available(reservation.sku);
    this.reservations.delete(args.orderId);
    return { before, after: before + reservation.quantity, released: true };
  }
}

function isStockSource(value: unknown): value is StockSource {
  return (
    typeof (value as StockSource).stock === "function" && typeof (value as StockSource).settled === "function"
  );
}

export const DEMO_STOCK: Record<string, number> = { "SKU-COFFEE-1KG": 500, "SKU-MUG-CERAMIC": 120 };
