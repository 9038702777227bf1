import { z } from "zod";
import { codeLimb, limbCode, shortCode } from "../erp/packing";

/**
 * A batch of trades as the trade venue confirms it, and how it packs into the RECORD_FIELDS (4)
 * field elements of venue.confirmBatch's request (circuits/clearing/rules.circom's ClearingBatch
 * reads the same bits). The four fields are one bit string, field f holding bits 253f .. 253f + 252
 * (so each is below 2^253, a canonical field element), lowest bit first:
 *
 *   bits         what
 *   [0, 56)      batch id: a short code (1-8 of A-Z, 0-9, '-'), 7 bits a character
 *   [56, 58)     number of institutions - 1 (1..4)
 *   [58, 61)     number of trades - 1 (1..8)
 *   [61, 285)    institutions 0..3: short codes, 56 bits each (0 after the last)
 *   [285, 997)   trades 0..7, 89 bits each (0 after the last): payer slot (2 bits), payee slot (2),
 *                amount in cents (53: a JSON safe integer), trade id (32)
 *   [997, 1012)  0
 *
 * A slot is an institution's index in `institutions`. A short code's bytes are ASCII (below 128),
 * so 7 bits a byte keep it: byte i (from the end) is bits 7i..7i+6 of its 56, and its value as a
 * state key (encodeString, big-endian) is Σ byte_i · 2^(8i).
 */

export const MAX_BATCH_INSTITUTIONS = 4;
export const MAX_BATCH_TRADES = 8;
const FIELD_BITS = 253n;
const FIELDS = 4;
const CODE_BITS = 56n;
const SLOT_BITS = 2n;
const AMOUNT_BITS = 53n;
const TRADE_ID_BITS = 32n;
const TRADE_BITS = SLOT_BITS * 2n + AMOUNT_BITS + TRADE_ID_BITS;
const INSTITUTIONS_AT = 61n;
const TRADES_AT = INSTITUTIONS_AT + CODE_BITS * BigInt(MAX_BATCH_INSTITUTIONS);
const USED_BITS = TRADES_AT + TRADE_BITS * BigInt(MAX_BATCH_TRADES);
/** Largest trade id: an unsigned 32-bit number. */
export const MAX_TRADE_ID = 2 ** 32 - 1;

export const TradeSchema = z
  .object({
    /** The venue's number of the trade (1 .. 2^32 - 1). */
    tradeId: z
      .number({ invalid_type_error: "tradeId must be a number" })
      .int("tradeId must be a whole number")
      .min(1, "tradeId must be at least 1")
      .max(MAX_TRADE_ID, `tradeId must be at most ${MAX_TRADE_ID} (32 bits)`),
    /** The institution that pays (one of the batch's institutions). */
    payer: shortCode("payer"),
    /** The institution that receives. */
    payee: shortCode("payee"),
    /** Cents, at least 1, a JSON safe integer (below 2^53). */
    amountCents: z
      .number({ invalid_type_error: "amountCents must be a number" })
      .int("amountCents must be whole cents")
      .min(1, "amountCents must be at least 1")
      .max(Number.MAX_SAFE_INTEGER, "amountCents must be a safe integer (below 2^53)"),
  })
  .strict();
export type Trade = z.infer<typeof TradeSchema>;

export const TradeBatchSchema = z
  .object({
    batchId: shortCode("batchId"),
    /** The batch's institutions, in slot order: every payer and payee, each once (2..4). */
    institutions: z
      .array(shortCode("institution"))
      .min(2, "a batch is among at least 2 institutions")
      .max(MAX_BATCH_INSTITUTIONS, `a batch is among at most ${MAX_BATCH_INSTITUTIONS} institutions`),
    trades: z
      .array(TradeSchema)
      .min(1, "a batch has at least one trade")
      .max(MAX_BATCH_TRADES, `a batch has at most ${MAX_BATCH_TRADES} trades`),
  })
  .strict()
  .superRefine((batch, ctx) => {
    if (new Set(batch.institutions).size !== batch.institutions.length) {
      ctx.addIssue({ code: "custom", path: ["institutions"], message: "an institution is listed once" });
    }
    const ids = new Set<number>();
    batch.trades.forEach((trade, t) => {
      for (const side of ["payer", "payee"] as const) {
        if (!batch.institutions.includes(trade[side])) {
          ctx.addIssue({
            code: "custom",
            path: ["trades", t, side],
            message: `${trade[side]} is not one of the batch's institutions (${batch.institutions.join(", ")})`,
          });
        }
      }
      if (trade.payer === trade.payee) {
        ctx.addIssue({ code: "custom", path: ["trades", t], message: "a trade's payer and payee differ" });
      }
      if (ids.has(trade.tradeId)) {
        ctx.addIssue({ code: "custom", path: ["trades", t, "tradeId"], message: "trade ids are distinct" });
      }
      ids.add(trade.tradeId);
    });
  });
export type TradeBatch = z.infer<typeof TradeBatchSchema>;

/** A short code in 56 bits (7 a byte); its value as a field (codeLimb) keeps 8 bits a byte. */
export function packCode7(code: string): bigint {
  const limb = codeLimb(code);
  let packed = 0n;
  for (let i = 0n; i < 8n; i++) {
    const byte = (limb >> (8n * i)) & 0xffn;
    if (byte >= 0x80n) throw new RangeError(`code ${code} is not ASCII`);
    packed |= byte << (7n * i);
  }
  return packed;
}

/** The inverse of packCode7. */
export function unpackCode7(packed: bigint): string {
  let limb = 0n;
  for (let i = 0n; i < 8n; i++) limb |= ((packed >> (7n * i)) & 0x7fn) << (8n * i);
  return limbCode(limb);
}

function bitsAt(stream: bigint, at: bigint, width: bigint): bigint {
  return (stream >> at) & ((1n << width) - 1n);
}

/** The batch's four request fields. The batch must be a valid TradeBatch (slots are looked up in it). */
export function encodeTradeBatch(batch: TradeBatch): bigint[] {
  const slot = (code: string) => {
    const at = batch.institutions.indexOf(code);
    if (at < 0) throw new RangeError(`${code} is not one of the batch's institutions`);
    return BigInt(at);
  };
  let stream = packCode7(batch.batchId);
  stream |= BigInt(batch.institutions.length - 1) << CODE_BITS;
  stream |= BigInt(batch.trades.length - 1) << (CODE_BITS + 2n);
  batch.institutions.forEach((code, j) => {
    stream |= packCode7(code) << (INSTITUTIONS_AT + CODE_BITS * BigInt(j));
  });
  batch.trades.forEach((trade, t) => {
    const at = TRADES_AT + TRADE_BITS * BigInt(t);
    stream |= slot(trade.payer) << at;
    stream |= slot(trade.payee) << (at + SLOT_BITS);
    stream |= BigInt(trade.amountCents) << (at + 2n * SLOT_BITS);
    stream |= BigInt(trade.tradeId) << (at + 2n * SLOT_BITS + AMOUNT_BITS);
  });
  return Array.from({ length: FIELDS }, (_, f) => bitsAt(stream, FIELD_BITS * BigInt(f), FIELD_BITS));
}

/**
 * The batch that four fields encode (checked by the operation: schema and re-encoding); throws on
 * fields that hold bits outside the layout.
 */
export function decodeTradeBatch(fields: readonly bigint[]): TradeBatch {
  let stream = 0n;
  fields.forEach((field, f) => {
    if (field < 0n || field >= 1n << FIELD_BITS) throw new RangeError(`field ${f} holds more than 253 bits`);
    stream |= field << (FIELD_BITS * BigInt(f));
  });
  if (stream >> USED_BITS !== 0n) throw new RangeError("bits after the last trade are set");
  const institutions = Number(bitsAt(stream, CODE_BITS, 2n)) + 1;
  const trades = Number(bitsAt(stream, CODE_BITS + 2n, 3n)) + 1;
  const codes = Array.from({ length: institutions }, (_, j) =>
    unpackCode7(bitsAt(stream, INSTITUTIONS_AT + CODE_BITS * BigInt(j), CODE_BITS)),
  );
  return {
    batchId: unpackCode7(bitsAt(stream, 0n, CODE_BITS)),
    institutions: codes,
    trades: Array.from({ length: trades }, (_, t) => {
      const at = TRADES_AT + TRADE_BITS * BigInt(t);
      const code = (slot: bigint) => codes[Number(slot)] ?? `slot ${slot}`;
      return {
        tradeId: Number(bitsAt(stream, at + 2n * SLOT_BITS + AMOUNT_BITS, TRADE_ID_BITS)),
        payer: code(bitsAt(stream, at, SLOT_BITS)),
        payee: code(bitsAt(stream, at + SLOT_BITS, SLOT_BITS)),
        amountCents: Number(bitsAt(stream, at + 2n * SLOT_BITS, AMOUNT_BITS)),
      };
    }),
  };
}

/**
 * Each institution's net position over a batch: Σ amounts received − Σ amounts paid, in the
 * batch's institution order (they sum to zero). Cents as bigints.
 */
export function netPositions(batch: TradeBatch): bigint[] {
  const nets = batch.institutions.map(() => 0n);
  for (const trade of batch.trades) {
    nets[batch.institutions.indexOf(trade.payer)] -= BigInt(trade.amountCents);
    nets[batch.institutions.indexOf(trade.payee)] += BigInt(trade.amountCents);
  }
  return nets;
}
