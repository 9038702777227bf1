/**
 * The merchant's stock per SKU, as the reserve-inventory step sees it, and the reservations made
 * per order. Held in memory for this template; the Merkle-committed state (stateRootBefore/After)
 * is not built yet. Reserving and releasing are idempotent per order, so a step that is run again
 * (a retry, or a resume after a crash) never takes or gives back stock twice.
 */
export class Inventory {
  private readonly stock = new Map<string, number>();
  private readonly reservations = new Map<
    string,
    { sku: string; quantity: number; before: number; after: number }
  >();

  constructor(initial: Record<string, number>) {
    for (const [sku, quantity] of Object.entries(initial)) this.stock.set(sku, quantity);
  }

  available(sku: string): number {
    return this.stock.get(sku) ?? 0;
  }

  /**
   * Takes `quantity` units of `sku` for `orderId`; throws when there are not enough. Returns stock
   * before and after. Reserving again for the same order returns the first reservation's figures.
   */
  reserve(args: { orderId: string; sku: string; quantity: number }): { before: number; after: number } {
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
    this.stock.set(args.sku, after);
    this.reservations.set(args.orderId, { sku: args.sku, quantity: args.quantity, before, after });
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
    const after = before + reservation.quantity;
    this.stock.set(reservation.sku, after);
    this.reservations.delete(args.orderId);
    return { before, after, released: true };
  }
}

export const DEMO_STOCK: Record<string, number> = { "SKU-COFFEE-1KG": 500, "SKU-MUG-CERAMIC": 120 };
