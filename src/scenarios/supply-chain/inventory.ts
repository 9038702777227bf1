import type { StateStore } from "../../state";

/**
 * The supply chain's state domain: one key per material (its ERP code, e.g. STEEL), each value two
 * 64-bit fields packed in one leaf, `stock` (units on hand) and `scrap` (units written off by scrapped
 * lots): value = stock + scrap · 2^64 (src/state's packStateValue). One leaf per material keeps a run's
 * move to one state write per material of its bill (circuits/supplyChain/supplyChain.circom).
 */
export const SUPPLY_INVENTORY_DOMAIN = "supply/inventory";
export const INVENTORY_FIELDS = ["stock", "scrap"] as const;

/** The demo's warehouse at genesis: every material of the ERP's master data, nothing scrapped. */
export const DEMO_MATERIALS: Readonly<Record<string, number>> = {
  STEEL: 150,
  BEARING: 40,
  OIL: 20,
  SEAL: 30,
  BRASS: 60,
};

const LIMB = 1n << 64n;

/** Where the purchase step reads a material's stock from (the committed state, or a fixed table). */
export interface MaterialSource {
  /** The material's committed stock (without the pending moves of runs not recorded yet). */
  stock(material: string): number;
  /** Whether a run's move of the domain is committed (then its pending move no longer counts). */
  settled(runId: string): boolean;
}

/** The committed stock: the journal's state store, domain {@link SUPPLY_INVENTORY_DOMAIN}. */
export function storedMaterials(store: StateStore, domain = SUPPLY_INVENTORY_DOMAIN): MaterialSource {
  return {
    stock: (material) => Number((store.get(domain, material) ?? 0n) % LIMB),
    settled: (runId) => store.appliedTransition(domain, runId) !== undefined,
  };
}

/** A fixed table in memory: no run is ever settled. */
export function memoryMaterials(initial: Readonly<Record<string, number>>): MaterialSource {
  return { stock: (material) => initial[material] ?? 0, settled: () => false };
}

interface PendingMove {
  runId: string;
  /** Per material: purchased − needed (what the run's move will do to the stock). */
  moves: ReadonlyMap<string, number>;
}

/**
 * The warehouse as the purchase step sees it: committed stock plus the pending moves of runs that
 * executed but whose state transition is not committed yet (their proofs are being made). A run's
 * purchase buys what its need lacks in that view, so concurrent runs do not count the same stock
 * twice. Idempotent per run (a retried or resumed step plans the same purchase). Pending moves live
 * in this process's memory: after a restart a run's move counts once it is recorded, and its
 * transition re-checks stock >= 0 when it is prepared (a run that no longer fits is refused then).
 */
export class MaterialPlanner {
  private readonly source: MaterialSource;
  private readonly pending = new Map<string, PendingMove>();

  constructor(source: MaterialSource | Readonly<Record<string, number>>) {
    this.source = isSource(source) ? source : memoryMaterials(source);
  }

  /** Stock a new run may count on: committed stock and the pending moves of other runs. */
  available(material: string, exceptRunId?: string): number {
    let available = this.source.stock(material);
    for (const [runId, move] of this.pending) {
      if (this.source.settled(runId)) {
        this.pending.delete(runId);
        continue;
      }
      if (runId !== exceptRunId) available += move.moves.get(material) ?? 0;
    }
    return available;
  }

  /**
   * The purchase a run needs: per material of its bill, max(0, need − available). Records the run's
   * move (purchased − need per material) as pending; planning again for the same run returns the
   * first plan's lines.
   */
  plan(
    runId: string,
    needs: readonly { material: string; need: number }[],
  ): { material: string; quantity: number }[] {
    const held = this.pending.get(runId);
    const lines = needs
      .map(({ material, need }) => {
        const previous = held?.moves.get(material);
        const quantity =
          previous !== undefined ? previous + need : Math.max(0, need - this.available(material, runId));
        return { material, quantity };
      })
      .filter((line) => line.quantity > 0);
    if (!held) {
      const bought = new Map(lines.map((l) => [l.material, l.quantity]));
      this.pending.set(runId, {
        runId,
        moves: new Map(needs.map(({ material, need }) => [material, (bought.get(material) ?? 0) - need])),
      });
    }
    return lines;
  }

  /** Forgets a run's pending move (it rolled back before production: its purchase was returned). */
  release(runId: string): void {
    this.pending.delete(runId);
  }
}

function isSource(value: unknown): value is MaterialSource {
  return (
    typeof (value as MaterialSource).stock === "function" &&
    typeof (value as MaterialSource).settled === "function"
  );
}
