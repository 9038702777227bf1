import { z } from "zod";
import { toHex32 } from "../../crypto";
import {
  defineWorkflow,
  StepError,
  type StepOutcome,
  type WorkflowDefinition,
  type WorkflowStateEffect,
} from "../../definition";
import {
  bankReverseBatch,
  bankStatement,
  bankTransferBatch,
  BANK_ACCOUNTS,
  codeLimb,
  decodeTradeBatch,
  legOf,
  netField,
  netPositions,
  TradeBatchSchema,
  TradeSchema,
  venueConfirmBatch,
  type BankTransferBatchResponse,
  type TradeBatch,
} from "../../systems";
import { shortCode } from "../../systems/erp/packing";
import { RECORD_FIELDS, type Trace } from "../../trace";
import { CLEARING_BALANCES_DOMAIN, SettlementDesk, SettlementDeskBusyError } from "./desk";
import { clearingWitness } from "./witness";

export const CLEARING_TEMPLATE = "ClearingWorkflow_4_3_10";
export const CLEARING_ROLLBACK_TEMPLATE = "ClearingSaga_4_3_10";

/** The step codes: circuits/clearing/clearing.circom's STEP_CODE. */
export const CLEARING_STEP_CODES = {
  confirm_trades: 1,
  compute_clearing: 2,
  transfer_funds: 3,
  reconcile: 4,
  settle_1: 5,
  settle_2: 6,
  settle_3: 7,
  settle_4: 8,
} as const;

/** Institution slots of a batch: one settle record each (settle_1 … settle_4). */
export const CLEARING_SLOTS = 4;

/** How long a batch waits for the settlement desk (another batch at the bank) by default. */
export const DESK_TIMEOUT_MS = 120_000;

/** A clearing run's input: the batch of trades to clear (`wesflow run clearing --input trades.json`). */
export const ClearingInputSchema = z
  .object({
    batchId: shortCode("batchId"),
    trades: z
      .array(TradeSchema)
      .min(1, "a batch has at least one trade")
      .max(8, "a batch has at most 8 trades"),
  })
  .strict()
  .superRefine((input, ctx) => {
    const batch = batchOf(input);
    const parsed = TradeBatchSchema.safeParse(batch);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) ctx.addIssue({ ...issue, code: "custom", params: {} });
      return;
    }
    if (netPositions(batch).some((net) => (net < 0n ? -net : net) > BigInt(Number.MAX_SAFE_INTEGER))) {
      ctx.addIssue({
        code: "custom",
        message: "a net position exceeds 2^53 - 1 cents (what a JSON amount holds)",
      });
    }
  });
export type ClearingInput = z.infer<typeof ClearingInputSchema>;

/** The batch the venue confirms: the input's trades, its institutions in order of first appearance. */
export function batchOf(input: ClearingInput): TradeBatch {
  const institutions: string[] = [];
  for (const trade of input.trades) {
    for (const code of [trade.payer, trade.payee]) if (!institutions.includes(code)) institutions.push(code);
  }
  return { batchId: input.batchId, institutions, trades: input.trades };
}

/** What compute_clearing found: per institution of the batch (its order), the net and the balances. */
export interface ClearingPositions {
  institutions: string[];
  nets: bigint[];
  before: bigint[];
  after: bigint[];
}

const zeros = (): bigint[] => new Array<bigint>(RECORD_FIELDS).fill(0n);
const padded = (values: readonly bigint[]): bigint[] => [...values, ...zeros()].slice(0, RECORD_FIELDS);

function thousands(cents: bigint): string {
  const sign = cents < 0n ? "-" : "";
  const abs = cents < 0n ? -cents : cents;
  return `${sign}${(abs / 100n).toLocaleString("en-US")}.${String(abs % 100n).padStart(2, "0")}`;
}

/**
 * Why a batch cannot settle against these balances (undefined: it can): an institution the domain
 * does not hold, or a balance that would go below zero.
 */
export function positionsProblem(desk: SettlementDesk, batch: TradeBatch): string | undefined {
  const nets = netPositions(batch);
  for (const [j, code] of batch.institutions.entries()) {
    const balance = desk.balance(code);
    if (balance === undefined) {
      return `${code} is not a registered institution of ${CLEARING_BALANCES_DOMAIN} (registered: ${desk.source.institutions().join(", ")})`;
    }
    if (balance + nets[j] < 0n) {
      return `${code}'s balance would go negative: ${thousands(balance)} ${nets[j] < 0n ? "-" : "+"} ${thousands(nets[j] < 0n ? -nets[j] : nets[j])} = ${thousands(balance + nets[j])}`;
    }
  }
  return undefined;
}

/** The netting record's fields: [batch id, institutions, trades, gross] and the nets (p − |net| when negative). */
function computeRecord(
  batch: TradeBatch,
  nets: readonly bigint[],
): { request: bigint[]; response: bigint[] } {
  const gross = batch.trades.reduce((sum, trade) => sum + BigInt(trade.amountCents), 0n);
  return {
    request: [codeLimb(batch.batchId), BigInt(batch.institutions.length), BigInt(batch.trades.length), gross],
    response: padded(nets.map(netField)),
  };
}

/** settle_j's record: institution j's code, net and balances before and after; zeros for an empty slot. */
function settleRecord(positions: ClearingPositions, j: number): StepOutcome {
  const code = positions.institutions[j];
  if (code === undefined) {
    return { result: { institution: null }, request: zeros(), response: zeros() };
  }
  return {
    result: {
      institution: code,
      netCents: positions.nets[j],
      balanceBefore: positions.before[j],
      balanceAfter: positions.after[j],
    },
    request: [codeLimb(code), netField(positions.nets[j]), positions.before[j], positions.after[j]],
    response: [1n, 0n, 0n, 0n],
  };
}

/**
 * Cross-institution clearing: confirm trades (the venue) → compute clearing (netting) → transfer
 * funds (the bank executes the net legs) → reconcile (the bank's statement) → settle, one record
 * per institution. Transfer funds is compensated by the bank's reversal; compute clearing's
 * compensation voids the netting (and frees the settlement desk).
 */
export function clearingWorkflow(
  desk: SettlementDesk,
  options: { retry?: WorkflowDefinition<ClearingInput>["retry"]; deskTimeoutMs?: number } = {},
): WorkflowDefinition<ClearingInput> {
  const deskTimeoutMs = options.deskTimeoutMs ?? DESK_TIMEOUT_MS;
  const settle = (j: number) => ({
    name: `settle_${j + 1}`,
    code: CLEARING_STEP_CODES.settle_1 + j,
    async run({ results, workflowId }: { results: Readonly<Record<string, unknown>>; workflowId: bigint }) {
      const positions = results.compute_clearing as ClearingPositions;
      if (j === CLEARING_SLOTS - 1) {
        // The batch is settled at the bank: its nets count for the next batch until it is recorded.
        const runId = toHex32(workflowId);
        desk.settled(runId, new Map(positions.institutions.map((code, i) => [code, positions.nets[i]])));
        desk.release(runId);
      }
      return settleRecord(positions, j);
    },
  });
  return defineWorkflow<ClearingInput>({
    name: "clearing",
    description:
      "Cross-institution clearing: confirm trades, net them, transfer the net legs at the bank, reconcile, settle",
    template: CLEARING_TEMPLATE,
    rollbackTemplate: CLEARING_ROLLBACK_TEMPLATE,
    inputSchema: ClearingInputSchema,
    retry: options.retry,
    admit: (input) => positionsProblem(desk, batchOf(input)),
    steps: [
      {
        name: "confirm_trades",
        code: CLEARING_STEP_CODES.confirm_trades,
        operation: venueConfirmBatch,
        async run({ input, call }) {
          return { result: await call(venueConfirmBatch, batchOf(input)) };
        },
      },
      {
        name: "compute_clearing",
        code: CLEARING_STEP_CODES.compute_clearing,
        async run({ input, workflowId }) {
          const batch = batchOf(input);
          const runId = toHex32(workflowId);
          try {
            await desk.acquire(runId, deskTimeoutMs);
          } catch (error) {
            if (error instanceof SettlementDeskBusyError) throw StepError.final(error.message, error);
            throw error;
          }
          const problem = positionsProblem(desk, batch);
          if (problem) {
            desk.release(runId);
            throw StepError.final(problem);
          }
          const nets = netPositions(batch);
          const before = batch.institutions.map((code) => desk.balance(code)!);
          const positions: ClearingPositions = {
            institutions: batch.institutions,
            nets,
            before,
            after: before.map((balance, j) => balance + nets[j]),
          };
          return { result: positions, ...computeRecord(batch, nets) };
        },
        compensation: {
          name: "void_clearing",
          async run({ input, workflowId }) {
            const batch = batchOf(input);
            desk.release(toHex32(workflowId));
            const { request } = computeRecord(batch, netPositions(batch));
            return { result: { voided: true }, request, response: [1n, 0n, 0n, 0n] };
          },
        },
      },
      {
        name: "transfer_funds",
        code: CLEARING_STEP_CODES.transfer_funds,
        operation: bankTransferBatch,
        async run({ input, results, call }) {
          const positions = results.compute_clearing as ClearingPositions;
          const legs = positions.institutions.map((code, j) => legOf(code, positions.nets[j]));
          return { result: await call(bankTransferBatch, { batchId: input.batchId, legs }) };
        },
        compensation: {
          name: "reverse_transfer",
          operation: bankReverseBatch,
          async run({ input, forward, call }) {
            const transfer = forward as BankTransferBatchResponse;
            return {
              result: await call(bankReverseBatch, {
                batchId: input.batchId,
                transfer: transfer.transfer,
                legsHash: transfer.legsHash,
              }),
            };
          },
        },
      },
      {
        name: "reconcile",
        code: CLEARING_STEP_CODES.reconcile,
        operation: bankStatement,
        async run({ input, results, call }) {
          const positions = results.compute_clearing as ClearingPositions;
          const statement = await call(bankStatement, {
            batchId: input.batchId,
            balances: positions.institutions.map((institution, j) => ({
              institution,
              expectedCents: Number(positions.after[j]),
            })),
          });
          return { result: statement };
        },
      },
      settle(0),
      settle(1),
      settle(2),
      settle(3),
    ],
    state: CLEARING_BALANCES_EFFECT,
    witness: clearingWitness,
  });
}

/** The batch a clearing trace nets: the venue's signed batch (record 0's request fields). */
export function tradeBatchOf(trace: Trace): TradeBatch {
  const confirm = trace.steps[0];
  if (!confirm) throw new Error("the clearing's trace has no confirm_trades record");
  return decodeTradeBatch(confirm.request);
}

/**
 * The clearing's effect on the balances: a committed batch adds each institution's net position
 * to its balance, in the batch's institution order (the circuit proves leaf(institution j) goes
 * from v to v + net j ≥ 0); a rolled-back batch leaves them as they were (its transfer was
 * reversed: stateRootAfter = stateRootBefore).
 */
/** The balances at genesis: the simulated bank's opening accounts, in cents. */
export const CLEARING_GENESIS: Readonly<Record<string, bigint>> = Object.fromEntries(
  Object.entries(BANK_ACCOUNTS).map(([code, cents]) => [code, BigInt(cents)]),
);

export const CLEARING_BALANCES_EFFECT: WorkflowStateEffect = {
  domain: CLEARING_BALANCES_DOMAIN,
  genesis: CLEARING_GENESIS,
  changes: (trace: Trace) => {
    if (trace.outcome !== "COMMITTED") return [];
    const batch = tradeBatchOf(trace);
    const nets = netPositions(batch);
    return batch.institutions.map((key, j) => ({ key, delta: nets[j] }));
  },
  valueName: "balance",
};

/** The registered institutions in the order the demo rotates through them. */
const DEMO_INSTITUTIONS = Object.keys(BANK_ACCOUNTS);

/**
 * The demo's n-th batch: 8 trades among 4 of the 5 registered institutions (rotating, so each
 * institution's nets over five batches sum to zero and repeated demos do not drain an account).
 */
export function demoClearingInput(n: number): ClearingInput {
  const slots = [0, 1, 2, 3].map((s) => DEMO_INSTITUTIONS[(n - 1 + s) % DEMO_INSTITUTIONS.length]);
  const pattern: [number, number, number][] = [
    [0, 1, 1_200_000],
    [1, 2, 850_000],
    [2, 3, 430_000],
    [3, 0, 990_000],
    [0, 2, 310_000],
    [1, 3, 275_000],
    [2, 0, 640_000],
    [3, 1, 505_000],
  ];
  return {
    batchId: `CB${String(n % 1_000_000).padStart(6, "0")}`,
    trades: pattern.map(([payer, payee, amountCents], t) => ({
      tradeId: (n % 100_000) * 10 + t + 1,
      payer: slots[payer],
      payee: slots[payee],
      amountCents,
    })),
  };
}
