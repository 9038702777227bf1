import type { StateStore } from "../../state";

/** The clearing's state domain: one key per institution (its code), the value its balance in cents. */
export const CLEARING_BALANCES_DOMAIN = "clearing/balances";

/**
 * Where the clearing reads an institution's balance from: the committed state (the journal's state
 * store, whose transitions the runs' proofs show) or, for tests and tools without a store, a fixed
 * table in memory.
 */
export interface BalanceSource {
  /** The institution's committed balance; undefined: the domain does not hold it (not registered). */
  balance(institution: string): bigint | undefined;
  /** The registered institutions. */
  institutions(): string[];
  /** Whether a run's effect on the balances is committed (then it no longer counts as pending). */
  settled(runId: string): boolean;
}

/** The clearing's committed balances: the journal's state store, domain {@link CLEARING_BALANCES_DOMAIN}. */
export function storedBalances(store: StateStore, domain = CLEARING_BALANCES_DOMAIN): BalanceSource {
  return {
    balance: (institution) => store.get(domain, institution),
    institutions: () => store.entries(domain).map((entry) => entry.key),
    settled: (runId) => store.appliedTransition(domain, runId) !== undefined,
  };
}

/** A fixed table in memory: no run is ever settled, every settled batch keeps counting. */
export function memoryBalances(initial: Readonly<Record<string, bigint>>): BalanceSource {
  return {
    balance: (institution) => (Object.hasOwn(initial, institution) ? initial[institution] : undefined),
    institutions: () => Object.keys(initial),
    settled: () => false,
  };
}

/** Thrown when the desk is held longer than a run waits for it. */
export class SettlementDeskBusyError extends Error {
  override name = "SettlementDeskBusyError";
}

/**
 * The clearing house's settlement desk in this process: one batch at a time goes through the bank
 * (transfer, statement, and the reversal if it rolls back), and the balances a batch starts from
 * are the committed ones plus the nets of the batches settled at the bank whose runs are not
 * recorded yet.
 *
 * Why: the proof shows the bank's statement equal to the balances after (balance before + net), with
 * the balances as the recorded state holds them when the run is proven. So the bank's books and the
 * recorded state must move in the same order: a batch's statement must not include another batch
 * that could still be reversed, and the runs are proven in the order they settled (they reach the
 * state's per-domain lock in the order their executions end: the desk is released at that end). The
 * desk lives in this process's memory, like the order's stock reservations: after a restart, a batch
 * settled before the crash counts only once its run is recorded (resume it first), and another
 * process settling batches of the same institutions is not serialized with this one.
 */
export class SettlementDesk {
  private readonly pending = new Map<string, ReadonlyMap<string, bigint>>();
  private holder?: string;
  private readonly waiting: { runId: string; admit: () => void }[] = [];

  constructor(readonly source: BalanceSource) {}

  /** An institution's balance as the next batch finds it: committed, plus the pending settled nets. */
  balance(institution: string): bigint | undefined {
    const committed = this.source.balance(institution);
    if (committed === undefined) return undefined;
    let balance = committed;
    for (const [runId, nets] of this.pending) {
      if (this.source.settled(runId)) {
        this.pending.delete(runId);
        continue;
      }
      balance += nets.get(institution) ?? 0n;
    }
    return balance;
  }

  /** The run that holds the desk, if any. */
  heldBy(): string | undefined {
    return this.holder;
  }

  /**
   * Takes the desk for `runId` (at once when it holds it already), waiting in turn behind the runs
   * that asked before it; SettlementDeskBusyError after `timeoutMs`.
   */
  acquire(runId: string, timeoutMs: number): Promise<void> {
    if (this.holder === runId) return Promise.resolve();
    if (this.holder === undefined && this.waiting.length === 0) {
      this.holder = runId;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const entry = {
        runId,
        admit: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      const timer = setTimeout(() => {
        const at = this.waiting.indexOf(entry);
        if (at >= 0) this.waiting.splice(at, 1);
        reject(
          new SettlementDeskBusyError(
            `the settlement desk has been held by run ${this.holder ?? "?"} for more than ${timeoutMs} ms ` +
              `(a batch that is not settled or reversed yet: see wesflow status)`,
          ),
        );
      }, timeoutMs);
      this.waiting.push(entry);
    });
  }

  /** Gives the desk up (a no-op unless `runId` holds it); the next waiting run takes it. */
  release(runId: string): void {
    if (this.holder !== runId) return;
    const next = this.waiting.shift();
    this.holder = next?.runId;
    next?.admit();
  }

  /** A batch settled at the bank: its nets count until its run's transition is committed. */
  settled(runId: string, nets: ReadonlyMap<string, bigint>): void {
    if (!this.source.settled(runId)) this.pending.set(runId, nets);
  }
}
