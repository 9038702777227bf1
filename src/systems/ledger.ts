import type { OperationSpec } from "../host";
import type { LedgerEntry } from "./types";

/** `PREFIX-000042`: references are numbered per system, for successful effects only. */
export function numbered(prefix: string, n: number): string {
  return `${prefix}-${String(n).padStart(6, "0")}`;
}

/**
 * `CF000042`: a two-letter prefix and a six-digit number, 8 characters (one short code, a 64-bit
 * limb); for successful effects only.
 */
export function shortNumbered(prefix: string, n: number): string {
  const id = `${prefix}${String(n).padStart(6, "0")}`;
  if (!/^[A-Z]{2}$/.test(prefix) || id.length > 8) throw new RangeError(`no short id ${prefix} number ${n}`);
  return id;
}

/** The ledger entries of one operation whose answer had the given status. */
export function effectsOf<Req, Res extends { status: string }>(
  ledger: readonly LedgerEntry[],
  operation: OperationSpec<Req, Res>,
  status: Res["status"],
): { request: Req; response: Res }[] {
  return ledger
    .filter((e) => e.operation === operation.name && (e.response as Res).status === status)
    .map((e) => ({ request: e.request as Req, response: e.response as Res }));
}
