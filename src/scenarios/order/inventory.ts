/**
 * The merchant's stock per SKU, as the reserve-inventory step sees it. Held in memory for this
 * template; the Merkle-committed state (stateRootBefore/After) is not built yet.
 */
export class Inventory {
  private readonly stock = new Map<string, number>();

  constructor(initial: Record<string, number>) {
    for (const [sku, quantity] of Object.entries(initial)) this.stock.set(sku, quantity);
  }

  available(sku: string): number {
    return this.stock.get(sku) ?? 0;
  }

  /** Takes `quantity` units of `sku`; throws when there are not enough. Returns stock before and after. */
  reserve(sku: string, quantity: number): { before: number; after: number } {
    const before = this.available(sku);
    if (quantity > before)
      throw new Error(`insufficient stock for ${sku}: ${before} available, ${quantity} ordered`);
    this.stock.set(sku, before - quantity);
    return { before, after: before - quantity };
  }
}

export const DEMO_STOCK: Record<string, number> = { "SKU-COFFEE-1KG": 500, "SKU-MUG-CERAMIC": 120 };
