import { effectsOf } from "../ledger";
import type { LedgerEntry } from "../types";
import {
  bankReverseBatch,
  bankTransferBatch,
  legNet,
  type BankTransferBatchRequest,
  type BankTransferBatchResponse,
} from "./operations";

/**
 * The settlement accounts the simulated bank holds, with their opening balances in cents: the
 * clearing's institutions (a clearing's state domain starts from the same table, so the bank's books
 * and the proven balances agree from the first run).
 */
export const BANK_ACCOUNTS: Readonly<Record<string, number>> = Object.freeze({
  NORDBANK: 40_000_000,
  ALPBANK: 25_000_000,
  IBERBANK: 30_000_000,
  BALTBANK: 12_000_000,
  LUSOBANK: 18_000_000,
});

/** One executed transfer of the bank's books, and whether it was reversed. */
export interface BookedTransfer {
  request: BankTransferBatchRequest;
  response: BankTransferBatchResponse;
  reversed: boolean;
}

/**
 * The bank's books, rebuilt from its ledger (its durable store when it keeps its effects in a file):
 * the opening balances plus every executed transfer, minus every reversed one.
 */
export class BankBooks {
  readonly balances = new Map<string, bigint>();
  readonly transfers = new Map<string, BookedTransfer>();

  constructor(ledger: readonly LedgerEntry[], accounts: Readonly<Record<string, number>> = BANK_ACCOUNTS) {
    for (const [code, cents] of Object.entries(accounts)) this.balances.set(code, BigInt(cents));
    for (const { request, response } of effectsOf(ledger, bankTransferBatch, "EXECUTED")) {
      this.transfers.set(response.transfer, { request, response, reversed: false });
      this.post(request, 1n);
    }
    for (const { request } of effectsOf(ledger, bankReverseBatch, "REVERSED")) {
      const transfer = this.transfers.get(request.transfer)!;
      transfer.reversed = true;
      this.post(transfer.request, -1n);
    }
  }

  /** The balances after posting a transfer's legs (sign 1) or reversing them (−1); undefined: an account is unknown. */
  after(request: BankTransferBatchRequest, sign: bigint): Map<string, bigint> | undefined {
    const result = new Map<string, bigint>();
    for (const leg of request.legs) {
      const balance = this.balances.get(leg.institution);
      if (balance === undefined) return undefined;
      result.set(leg.institution, balance + sign * legNet(leg));
    }
    return result;
  }

  /** The open (executed, not reversed) transfer of a batch, if any. */
  openTransferOf(batchId: string): BookedTransfer | undefined {
    return [...this.transfers.values()].find((t) => t.request.batchId === batchId && !t.reversed);
  }

  private post(request: BankTransferBatchRequest, sign: bigint): void {
    for (const [code, balance] of this.after(request, sign) ?? []) this.balances.set(code, balance);
  }
}

/** The bank's balances as its ledger (e.g. readStoredLedger of its store file) shows them. */
export function bankBalances(ledger: readonly LedgerEntry[]): Record<string, bigint> {
  return Object.fromEntries(new BankBooks(ledger).balances);
}
