/**
 * Numeric codes that appear in trace records and that the circuits check against constants.
 * Changing a code changes every trace root and needs a new circuit build: codes are only added.
 */
export const SYSTEM_CODES = {
  payment: 1,
  logistics: 2,
  invoicing: 3,
} as const;
export type SystemName = keyof typeof SYSTEM_CODES;

export const OPERATION_CODES = {
  "payment.charge": 101,
  "payment.refund": 102,
  // Each system's status query: settles the outcome of one of its calls under that call's key.
  "payment.status": 103,
  "logistics.ship": 201,
  "logistics.cancel": 202,
  "logistics.status": 203,
  "invoice.issue": 301,
  "invoice.void": 302,
  "invoice.status": 303,
} as const;
export type OperationName = keyof typeof OPERATION_CODES;

export function systemNameOf(code: number): SystemName {
  const entry = Object.entries(SYSTEM_CODES).find(([, c]) => c === code);
  if (!entry) throw new RangeError(`unknown system code ${code}`);
  return entry[0] as SystemName;
}

export function operationNameOf(code: number): OperationName {
  const entry = Object.entries(OPERATION_CODES).find(([, c]) => c === code);
  if (!entry) throw new RangeError(`unknown operation code ${code}`);
  return entry[0] as OperationName;
}
