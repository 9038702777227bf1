import { effectsOf, shortNumbered } from "../ledger";
import { operationHandler, type OperationHandler } from "../types";
import { BANK_ACCOUNTS, BankBooks } from "./accounts";
import {
  bankReverseBatch,
  bankStatement,
  bankTransferBatch,
  legNet,
  legsHashOf,
  type BankReverseBatchResponse,
  type BankStatementResponse,
  type BankTransferBatchResponse,
} from "./operations";

const MAX_BALANCE = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * The simulated settlement bank's business logic. Its books (./accounts.ts) are rebuilt from its
 * ledger on every call: the opening balances (`accounts`, default BANK_ACCOUNTS) plus the executed
 * transfers, minus the reversed ones. Refused (signed, status 2 or 3), as is every call a `decline`
 * fault hits:
 *   - a transfer whose legs do not sum to zero, that names an account the bank does not hold, or
 *     that would take a balance below zero (or above 2^53 − 1 cents);
 *   - a reversal of a transfer it does not hold, of another batch, with another legs hash, already
 *     reversed, or one that would take a balance below zero;
 *   - a statement of a batch without an open transfer, or of an account it does not hold.
 * A statement answers MATCHED when its balances are the expected ones, else MISMATCH with its own;
 * the refusal `mismatch` makes the first account's balance one cent more than its books (a posting
 * the clearing does not know of).
 */
export function bankHandlers(
  options: { accounts?: Readonly<Record<string, number>> } = {},
): Record<string, OperationHandler> {
  const accounts = options.accounts ?? BANK_ACCOUNTS;
  return {
    [bankTransferBatch.name]: operationHandler(
      bankTransferBatch,
      (request, ctx): BankTransferBatchResponse => {
        const refused: BankTransferBatchResponse = { status: "REFUSED", transfer: "", legsHash: "0" };
        if (ctx.decline) return refused;
        if (request.legs.reduce((sum, leg) => sum + legNet(leg), 0n) !== 0n) return refused;
        const books = new BankBooks(ctx.ledger, accounts);
        const after = books.after(request, 1n);
        if (!after || [...after.values()].some((b) => b < 0n || b > MAX_BALANCE)) return refused;
        return {
          status: "EXECUTED",
          transfer: shortNumbered("TR", books.transfers.size + 1),
          legsHash: legsHashOf(request.legs).toString(),
        };
      },
    ),

    [bankReverseBatch.name]: operationHandler(bankReverseBatch, (request, ctx): BankReverseBatchResponse => {
      const refused: BankReverseBatchResponse = { status: "REFUSED", reversal: "", legsHash: "0" };
      if (ctx.decline) return refused;
      const books = new BankBooks(ctx.ledger, accounts);
      const transfer = books.transfers.get(request.transfer);
      if (
        !transfer ||
        transfer.reversed ||
        transfer.request.batchId !== request.batchId ||
        transfer.response.legsHash !== request.legsHash
      ) {
        return refused;
      }
      const after = books.after(transfer.request, -1n);
      if (!after || [...after.values()].some((b) => b < 0n)) return refused;
      const reversals = effectsOf(ctx.ledger, bankReverseBatch, "REVERSED").length;
      return { status: "REVERSED", reversal: shortNumbered("RV", reversals + 1), legsHash: request.legsHash };
    }),

    [bankStatement.name]: operationHandler(bankStatement, (request, ctx): BankStatementResponse => {
      const refused: BankStatementResponse = { status: "REFUSED", balances: [], statement: "" };
      if (ctx.decline && ctx.refusal !== "mismatch") return refused;
      const books = new BankBooks(ctx.ledger, accounts);
      if (!books.openTransferOf(request.batchId)) return refused;
      const balances: bigint[] = [];
      for (const { institution } of request.balances) {
        const balance = books.balances.get(institution);
        if (balance === undefined) return refused;
        balances.push(balance);
      }
      if (ctx.refusal === "mismatch") balances[0] += 1n;
      const matched = balances.every((b, j) => b === BigInt(request.balances[j].expectedCents));
      const issued =
        effectsOf(ctx.ledger, bankStatement, "MATCHED").length +
        effectsOf(ctx.ledger, bankStatement, "MISMATCH").length;
      return {
        status: matched ? "MATCHED" : "MISMATCH",
        balances: balances.map(Number),
        statement: shortNumbered("ST", issued + 1),
      };
    }),
  };
}
