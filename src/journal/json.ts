/**
 * JSON for journal columns: bigints survive the round trip as `{"$bigint":"<decimal>"}`, so step
 * results and requests may hold field elements. (Tagged before stringifying: a library may have
 * given BigInt a toJSON that turns it into a plain string before any replacer sees it.)
 */
export function toJournalJson(value: unknown): string {
  return JSON.stringify(tagBigints(value === undefined ? null : value, new Set()));
}

function tagBigints(value: unknown, seen: Set<object>): unknown {
  if (typeof value === "bigint") return { $bigint: value.toString() };
  if (value === null || typeof value !== "object") return value;
  if (seen.has(value)) throw new TypeError("cannot journal a value with a cycle");
  seen.add(value);
  try {
    if (Array.isArray(value)) return value.map((item) => tagBigints(item, seen));
    if (typeof (value as { toJSON?: unknown }).toJSON === "function") return value; // Date, ...
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>).map(([key, item]) => [key, tagBigints(item, seen)]),
    );
  } finally {
    seen.delete(value);
  }
}

export function fromJournalJson(text: string | null | undefined): unknown {
  if (text === null || text === undefined) return undefined;
  return JSON.parse(text, (_key, v: unknown) => {
    if (v !== null && typeof v === "object" && !Array.isArray(v)) {
      const keys = Object.keys(v);
      const tagged = (v as { $bigint?: unknown }).$bigint;
      if (keys.length === 1 && typeof tagged === "string" && /^-?\d+$/.test(tagged)) return BigInt(tagged);
    }
    return v;
  });
}

export function fieldsToJson(fields: readonly bigint[]): string {
  return JSON.stringify(fields.map((f) => f.toString()));
}

export function fieldsFromJson(text: string | null | undefined): bigint[] | undefined {
  if (text === null || text === undefined) return undefined;
  return (JSON.parse(text) as string[]).map((f) => BigInt(f));
}
