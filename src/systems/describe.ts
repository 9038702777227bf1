import { z } from "zod";
import type { AnyOperationSpec } from "../host";
import { RECORD_FIELDS } from "../trace";
import { SYSTEMS } from "./catalog";
import type { SystemModule } from "./module";
import { FAULT_KINDS } from "./server";

/**
 * What `wesflow operations` shows: every registered system's operations, read from the system
 * modules themselves (their zod schemas, encoders, compensation and status-query links, named
 * refusals), never from a hand-kept list. Where each JSON key goes among the record's field
 * elements is found by encoding: a sample request (response) the schema accepts is encoded, then
 * each key is changed alone and the elements that change are that key's.
 */

export interface FieldDescription {
  name: string;
  /** "text", "integer", "one of A | B", "list", ... from the key's zod schema. */
  type: string;
  /** The record's field elements this key is encoded into (0-based); empty when not found by probing. */
  elements: number[];
  /** For an enumeration: each value's field element (e.g. { CAPTURED: "1", DECLINED: "2" }). */
  codes?: Record<string, string>;
  optional?: boolean;
}

export interface MessageDescription {
  fields: FieldDescription[];
  /**
   * Per field element (RECORD_FIELDS of them): the keys encoded into it, `constant N` when no key
   * changes it, `?` when no sample of the schema could be encoded (see the system's README).
   */
  elements: string[];
}

export interface OperationDescription {
  name: string;
  code: number;
  /** "call" (a step calls it), "compensation" (undoes another), "status query" (settles a call). */
  role: "call" | "compensation" | "status query";
  /** The system's forward call: what `--fail <system>:<kind>` targets. */
  forward: boolean;
  compensates?: string;
  compensatedBy: string[];
  settledBy?: string;
  request: MessageDescription;
  response: MessageDescription;
  /** Named refusals `--fail <operation>:<name>` can ask for. */
  refusals: Record<string, string>;
  /** Why the system answers each refusal status. */
  refusalReasons: Record<string, string>;
}

export interface SystemDescription {
  system: string;
  code: number;
  forward: string;
  statusQuery: string;
  /** What `--fail <system>:<kind>` or `--fail <operation>:<kind>` takes. */
  faultKinds: string[];
  operations: OperationDescription[];
}

export function describeSystems(systems: readonly SystemModule[] = SYSTEMS): SystemDescription[] {
  return systems.map((system) => ({
    system: system.name,
    code: system.code,
    forward: system.forward,
    statusQuery: system.status.name,
    faultKinds: [...FAULT_KINDS],
    operations: system.operations.map((operation) => describeOperation(system, operation)),
  }));
}

function describeOperation(system: SystemModule, operation: AnyOperationSpec): OperationDescription {
  // Texts a schema may insist on: its system's operation names (a status query names the call it settles).
  const names = system.operations.map((o) => o.name);
  const role: OperationDescription["role"] =
    operation === system.status ? "status query" : operation.compensates ? "compensation" : "call";
  return {
    name: operation.name,
    code: operation.code,
    role,
    forward: operation.name === system.forward,
    ...(operation.compensates ? { compensates: operation.compensates } : {}),
    compensatedBy: system.operations.filter((o) => o.compensates === operation.name).map((o) => o.name),
    ...(operation.settle ? { settledBy: operation.settle.statusQuery.name } : {}),
    request: describeMessage(operation.requestSchema, (value) => operation.encodeRequest(value), names),
    response: describeMessage(operation.responseSchema, (value) => operation.encodeResponse(value), names),
    refusals: { ...(operation.refusals ?? {}) },
    refusalReasons: { ...(operation.refusalReasons ?? {}) },
  };
}

type Shape = Record<string, z.ZodTypeAny>;

function describeMessage(
  schema: z.ZodTypeAny,
  encode: (value: unknown) => bigint[],
  texts: readonly string[],
): MessageDescription {
  const shape = shapeOf(schema);
  const keys = Object.keys(shape);
  const fields: FieldDescription[] = keys.map((name) => ({
    name,
    type: typeOf(shape[name]),
    elements: [],
    ...(shape[name].isOptional() ? { optional: true } : {}),
  }));
  const samples = Object.fromEntries(keys.map((key) => [key, samplesOf(shape[key], texts)]));
  const base = baseSample(schema, keys, samples);
  if (base) {
    const baseFields = tryEncode(encode, base);
    for (const field of fields) {
      const changed = new Set<number>();
      for (const value of samples[field.name].slice(1)) {
        const variant = { ...base, [field.name]: value };
        if (!accepts(schema, variant)) continue;
        const encoded = tryEncode(encode, variant);
        if (!encoded || !baseFields) continue;
        encoded.forEach((element, i) => element !== baseFields[i] && changed.add(i));
      }
      field.elements = [...changed].sort((a, b) => a - b);
      const options = enumOptions(shape[field.name]);
      if (options && field.elements.length === 1) {
        const codes: Record<string, string> = {};
        for (const option of options) {
          // A union's option may take fewer keys (a status query's NO_EFFECT has no responseHash).
          const variant = [{ ...base, [field.name]: option }, { [field.name]: option }].find((v) =>
            accepts(schema, v),
          );
          const encoded = variant ? tryEncode(encode, variant) : undefined;
          if (encoded) codes[option] = encoded[field.elements[0]].toString();
        }
        field.codes = codes;
      }
    }
  }
  const baseFields = base ? tryEncode(encode, base) : undefined;
  const elements = Array.from({ length: RECORD_FIELDS }, (_, i) => {
    const names = fields.filter((f) => f.elements.includes(i)).map((f) => f.name);
    if (names.length > 0) return names.join(" + ");
    return baseFields ? `constant ${baseFields[i]}` : "?";
  });
  return { fields, elements };
}

/** The keys of an object schema (through refinements; a union's options' keys merged). */
function shapeOf(schema: z.ZodTypeAny): Shape {
  const inner = unwrap(schema);
  if (inner instanceof z.ZodObject) return inner.shape as Shape;
  if (inner instanceof z.ZodUnion || inner instanceof z.ZodDiscriminatedUnion) {
    // The options' keys merged; a key that is a literal or enumeration in several options is the
    // enumeration of all their values (a discriminator such as a status query's `outcome`).
    const merged: Shape = {};
    for (const option of inner.options as Iterable<z.ZodTypeAny>) {
      for (const [key, schema] of Object.entries(shapeOf(option))) {
        const held = merged[key] && enumOptions(merged[key]);
        const more = enumOptions(schema);
        merged[key] =
          held && more
            ? z.enum([...new Set([...held, ...more])] as [string, ...string[]])
            : (merged[key] ?? schema);
      }
    }
    return merged;
  }
  return {};
}

function unwrap(schema: z.ZodTypeAny): z.ZodTypeAny {
  let current = schema;
  for (;;) {
    if (current instanceof z.ZodEffects) current = current.innerType() as z.ZodTypeAny;
    else if (current instanceof z.ZodOptional || current instanceof z.ZodNullable)
      current = current.unwrap() as z.ZodTypeAny;
    else if (current instanceof z.ZodDefault) current = current.removeDefault() as z.ZodTypeAny;
    else return current;
  }
}

function enumOptions(schema: z.ZodTypeAny): string[] | undefined {
  const inner = unwrap(schema);
  if (inner instanceof z.ZodEnum) return [...(inner.options as string[])];
  if (inner instanceof z.ZodLiteral && typeof inner.value === "string") return [inner.value];
  return undefined;
}

function typeOf(schema: z.ZodTypeAny): string {
  const inner = unwrap(schema);
  const options = enumOptions(schema);
  if (options) return options.join(" | ");
  if (inner instanceof z.ZodString) {
    const regex = inner._def.checks.find((c) => c.kind === "regex");
    const packed = accepts(schema, "a".repeat(31)) && !accepts(schema, "a".repeat(32));
    return regex && "regex" in regex
      ? `text ${String(regex.regex)}`
      : packed
        ? "text (≤ 31 UTF-8 bytes, one field element)"
        : "text";
  }
  if (inner instanceof z.ZodNumber) {
    const min = inner.minValue;
    const max = inner.maxValue;
    const kind = inner.isInt ? "integer" : "number";
    if (min !== null && max !== null && max < Number.MAX_SAFE_INTEGER) return `${kind} ${min}…${max}`;
    if (min !== null) return `${kind} ≥ ${min}`;
    return kind;
  }
  if (inner instanceof z.ZodBigInt) return "integer (bigint)";
  if (inner instanceof z.ZodBoolean) return "boolean";
  if (inner instanceof z.ZodArray) return `list of ${typeOf(inner.element as z.ZodTypeAny)}`;
  if (inner instanceof z.ZodObject) return `{ ${Object.keys(inner.shape as Shape).join(", ")} }`;
  return inner.constructor.name.replace(/^Zod/, "").toLowerCase();
}

/** Values a key's schema accepts, distinct, the first being the base sample's. */
function samplesOf(schema: z.ZodTypeAny, texts: readonly string[]): unknown[] {
  const inner = unwrap(schema);
  const options = enumOptions(schema);
  let candidates: unknown[];
  if (options) candidates = options;
  else if (inner instanceof z.ZodString)
    candidates = ["A", "B", "EUR", "USD", "ABC", "XYZ", "a", "b", "1", "2", "A1", "B2", ...texts];
  else if (inner instanceof z.ZodNumber) candidates = [2, 3, 1, 4, 10, 100, 1_000];
  else if (inner instanceof z.ZodBigInt) candidates = [2n, 3n, 1n];
  else if (inner instanceof z.ZodBoolean) candidates = [true, false];
  else if (inner instanceof z.ZodArray) candidates = [[]];
  else candidates = [];
  return candidates.filter((value) => accepts(schema, value));
}

/** A value of the whole schema made of the keys' first samples (or undefined when it is refused). */
function baseSample(
  schema: z.ZodTypeAny,
  keys: string[],
  samples: Record<string, unknown[]>,
): Record<string, unknown> | undefined {
  if (keys.length === 0 || keys.some((key) => samples[key].length === 0)) return undefined;
  const base = Object.fromEntries(keys.map((key) => [key, samples[key][0]]));
  return accepts(schema, base) ? base : undefined;
}

function tryEncode(encode: (value: unknown) => bigint[], value: unknown): bigint[] | undefined {
  try {
    return encode(value);
  } catch {
    return undefined;
  }
}

/** Whether a schema accepts a value (a refinement that throws on a sample counts as refusing it). */
function accepts(schema: z.ZodTypeAny, value: unknown): boolean {
  try {
    return schema.safeParse(value).success;
  } catch {
    return false;
  }
}
