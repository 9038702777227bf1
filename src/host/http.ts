import { createHash } from "node:crypto";
import { z } from "zod";
import { encodeString, MAX_STRING_BYTES } from "../crypto";
import { CALL_SUCCEEDED, RECORD_FIELDS, type OperationName } from "../trace";
import { defineOperation, OperationDecodingError, OperationSpecError } from "./operation";
import { defineStatusOperation } from "./status";
import type { AnyOperationSpec, OperationSpec, StatusOperationSpec } from "./types";

/**
 * HTTP operations: a call to any REST endpoint, declared in a workflow file (method, URL, a zod schema
 * of the JSON answer, a mapping of request and answer fields into the record's field elements), made
 * through the signing notary (`wesflow notary --upstream URL`, src/systems/notary/). An upstream that
 * signs nothing is attested by the notary: it forwards the request to the upstream and signs, with its
 * own registered key (system `notary`), what passed through it.
 *
 * The record's fields (RECORD_FIELDS = 4 each), computed identically by the host (before sending, and
 * from the notary's answer) and by the notary (from the bytes it forwarded and received):
 * - request  [mapped 0, mapped 1, mapped 2, requestDigest]
 *   requestDigest = sha256("wesflow/notary/request/1", declarationHash, method, target URL, body bytes)
 *   as a 248-bit field element: the exact bytes the notary sent, and the declaration (URL, mapping,
 *   code) the fields were mapped by;
 * - response [outcome, mapped 0, mapped 1, responseDigest]
 *   outcome 1 (CALL_SUCCEEDED) for a 2xx answer that meets the declaration's `success` rule, 2 for a
 *   business refusal (another 4xx, or a 2xx the rule refuses); mapped fields only for outcome 1 (else
 *   0); responseDigest = sha256("wesflow/notary/response/1", URL, HTTP status, exact body text).
 * The notary signs the ordinary Poseidon(workflowId, callSeq, operation, requestHash, responseHash)
 * over those fields, so the generic circuit checks it as any call: under the provider-set key of the
 * definition's system for the step, the notary's.
 */

/** The notary's system name and code (src/systems/notary/: its module registers both). */
export const NOTARY_SYSTEM = "notary";
export const NOTARY_SYSTEM_CODE = 8;
/** The operation codes of HTTP operations start here (codes below are the built-in systems'). */
export const MIN_HTTP_OPERATION_CODE = 1000;
export const HTTP_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];
/** Methods that send the request as a JSON body (the others send it as the URL's query). */
const BODY_METHODS: readonly HttpMethod[] = ["POST", "PUT", "PATCH"];

/** Mapped fields per record: request 3 (+ its digest), response 2 (+ the outcome and its digest). */
export const HTTP_REQUEST_MAPPED = RECORD_FIELDS - 1;
export const HTTP_RESPONSE_MAPPED = RECORD_FIELDS - 2;

/** How one JSON value becomes a field element: text (≤ 31 UTF-8 bytes, encodeString) or uint (a safe integer ≥ 0). */
const FieldMappingSchema = z
  .object({
    /** A dot path into the JSON object: `creditNote.id`, `items.0.sku`. */
    from: z.string().regex(/^[A-Za-z0-9_$-]+(\.[A-Za-z0-9_$-]+)*$/, "a dot path such as creditNote.id"),
    as: z.enum(["text", "uint"]),
  })
  .strict();
export type HttpFieldMapping = z.infer<typeof FieldMappingSchema>;

const Scalar = z.union([z.string(), z.number(), z.boolean()]);

/**
 * What an HTTP operation is, as data: it travels to the notary with every call (which maps the fields
 * by it), is hashed into the request digest (so the signature covers it) and is kept in the run's
 * bundle (so `verify` recomputes the fields without the workflow file).
 */
export const HttpDeclarationSchema = z
  .object({
    name: z
      .string()
      .regex(
        /^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$/,
        "an HTTP operation is named <api>.<verb> in snake_case, e.g. refunds.issue_credit_note",
      ),
    code: z
      .number()
      .int()
      .min(MIN_HTTP_OPERATION_CODE, `an HTTP operation's code is at least ${MIN_HTTP_OPERATION_CODE}`)
      .max(2 ** 31 - 1),
    method: z.enum(HTTP_METHODS),
    url: z.string().superRefine((url, ctx) => {
      let parsed: URL | undefined;
      try {
        parsed = new URL(url);
      } catch {
        parsed = undefined;
      }
      if (!parsed || (parsed.protocol !== "http:" && parsed.protocol !== "https:"))
        ctx.addIssue({ code: z.ZodIssueCode.custom, message: "url must be an absolute http(s) URL" });
      else if (parsed.search || parsed.hash)
        ctx.addIssue({ code: z.ZodIssueCode.custom, message: "url carries no query or fragment" });
    }),
    request: z
      .array(FieldMappingSchema)
      .max(HTTP_REQUEST_MAPPED, `at most ${HTTP_REQUEST_MAPPED} request fields`),
    response: z
      .array(FieldMappingSchema)
      .max(HTTP_RESPONSE_MAPPED, `at most ${HTTP_RESPONSE_MAPPED} response fields`),
    /** A 2xx answer succeeds only when the value at `from` is one of `equals` (else: a signed refusal). */
    success: z
      .object({ from: FieldMappingSchema.shape.from, equals: z.array(Scalar).min(1) })
      .strict()
      .optional(),
  })
  .strict();
export type HttpDeclaration = z.infer<typeof HttpDeclarationSchema>;

/**
 * What the notary answered for the upstream, and what a step gets from `ctx.call`: the URL it called,
 * the HTTP status, the exact body text, whether it succeeded (outcome 1) and, when it did, the body
 * parsed by the declaration's schema.
 */
export interface HttpAnswer<Body> {
  url: string;
  status: number;
  text: string;
  ok: boolean;
  body?: Body;
}

export class HttpMappingError extends Error {
  override name = "HttpMappingError";
}

const FIELD_BITS_MASK = (1n << 248n) - 1n;

/** sha256 of the parts (each length-prefixed, so no two part lists collide), as a 248-bit field element. */
export function digestField(parts: readonly string[]): bigint {
  const hash = createHash("sha256");
  for (const part of parts) {
    const bytes = Buffer.from(part, "utf8");
    hash.update(`${bytes.length}:`);
    hash.update(bytes);
  }
  return BigInt("0x" + hash.digest("hex")) & FIELD_BITS_MASK;
}

/** The declaration's canonical JSON (its schema's key order) and its hash. */
export function declarationHash(declaration: HttpDeclaration): string {
  const canonical = HttpDeclarationSchema.parse(declaration);
  return createHash("sha256").update(JSON.stringify(canonical)).digest("hex");
}

/** The value at a dot path of a JSON value, or undefined. */
function valueAt(json: unknown, from: string): unknown {
  let value: unknown = json;
  for (const key of from.split(".")) {
    if (typeof value !== "object" || value === null || !Object.hasOwn(value, key)) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

function mappedField(json: unknown, mapping: HttpFieldMapping, what: string): bigint {
  const value = valueAt(json, mapping.from);
  if (mapping.as === "text") {
    if (typeof value !== "string")
      throw new HttpMappingError(`${what}.${mapping.from} is ${describe(value)}, not text`);
    if (Buffer.byteLength(value, "utf8") > MAX_STRING_BYTES)
      throw new HttpMappingError(`${what}.${mapping.from} is longer than ${MAX_STRING_BYTES} UTF-8 bytes`);
    return encodeString(value);
  }
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0)
    throw new HttpMappingError(
      `${what}.${mapping.from} is ${describe(value)}, not a non-negative safe integer`,
    );
  return BigInt(value);
}

function describe(value: unknown): string {
  return value === undefined ? "missing" : JSON.stringify(value);
}

/** The URL the notary calls for a request (its query, for a method without a body) and the body it sends. */
export function httpTarget(
  declaration: HttpDeclaration,
  request: unknown,
): { url: string; body: string | undefined } {
  if (BODY_METHODS.includes(declaration.method))
    return { url: declaration.url, body: JSON.stringify(request) };
  const url = new URL(declaration.url);
  if (typeof request !== "object" || request === null || Array.isArray(request))
    throw new HttpMappingError(`a ${declaration.method} request is an object of query parameters`);
  for (const [key, value] of Object.entries(request)) {
    if (!["string", "number", "boolean"].includes(typeof value))
      throw new HttpMappingError(
        `query parameter ${key} of a ${declaration.method} request must be a scalar`,
      );
    url.searchParams.append(key, String(value));
  }
  return { url: url.href, body: undefined };
}

/** The request's record fields: the mapped values and the digest of what the notary sends. */
export function httpRequestFields(declaration: HttpDeclaration, request: unknown): bigint[] {
  const target = httpTarget(declaration, request);
  const mapped = declaration.request.map((m) => mappedField(request, m, "request"));
  while (mapped.length < HTTP_REQUEST_MAPPED) mapped.push(0n);
  const digest = digestField([
    "wesflow/notary/request/1",
    declarationHash(declaration),
    declaration.method,
    target.url,
    target.body ?? "",
  ]);
  return [...mapped, digest];
}

/** Whether an answer (its status and body text) is the upstream's success, by the declaration. */
export function httpSucceeded(declaration: HttpDeclaration, status: number, text: string): boolean {
  if (status < 200 || status > 299) return false;
  if (!declaration.success) return true;
  const value = valueAt(parseJsonOrUndefined(text), declaration.success.from);
  return declaration.success.equals.some((expected) => expected === value);
}

/** The answer's record fields: outcome, the mapped values (success only) and the digest of the exact answer. */
export function httpResponseFields(
  declaration: HttpDeclaration,
  answer: Pick<HttpAnswer<unknown>, "url" | "status" | "text">,
): bigint[] {
  const ok = httpSucceeded(declaration, answer.status, answer.text);
  const json = ok ? parseJsonOrUndefined(answer.text) : undefined;
  if (ok && json === undefined && declaration.response.length > 0)
    throw new HttpMappingError("the answer's body is not JSON");
  const mapped = ok ? declaration.response.map((m) => mappedField(json, m, "answer")) : [];
  while (mapped.length < HTTP_RESPONSE_MAPPED) mapped.push(0n);
  const digest = digestField(["wesflow/notary/response/1", answer.url, String(answer.status), answer.text]);
  return [ok ? CALL_SUCCEEDED : 2n, ...mapped, digest];
}

export function parseJsonOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** An HTTP operation spec: an OperationSpec of the notary, with its declaration. */
export type HttpOperationSpec<Req, Body> = OperationSpec<Req, HttpAnswer<Body>> & {
  http: HttpDeclaration;
};

/** Whether a spec is an HTTP operation (defineHttpOperation's, or rebuilt from a bundle's declaration). */
export function isHttpOperation(spec: AnyOperationSpec): spec is HttpOperationSpec<unknown, unknown> {
  return typeof (spec as { http?: unknown }).http === "object" && (spec as { http?: unknown }).http !== null;
}

/** The HTTP operations defined in this process, by code: what the notary's status query settles. */
const registered = new Map<number, HttpOperationSpec<unknown, unknown>>();

/**
 * The notary's status query: what it signed under a call's idempotency key (TOOK_EFFECT, REFUSED),
 * or NO_EFFECT when it never forwarded the call (the key is then fenced). It settles every HTTP
 * operation defined in the process.
 */
export const notaryStatus: StatusOperationSpec = defineStatusOperation({
  name: "notary.status",
  code: 801,
  system: NOTARY_SYSTEM,
  settles: () => [...registered.values()],
});

/** The registered HTTP operation of a code, if any. */
export function httpOperationByCode(code: number): HttpOperationSpec<unknown, unknown> | undefined {
  return registered.get(code);
}

export interface HttpOperationInput<Req, Body> {
  name: OperationName;
  code: number;
  method: HttpMethod;
  /** The upstream endpoint (the notary forwards only to its own `--upstream`). */
  url: string;
  /** The request the step gives `ctx.call` (sent as the JSON body, or as the query of GET/DELETE). */
  requestSchema: z.ZodType<Req>;
  /** The JSON body of a successful answer; an answer it refuses is a named refusal (InvalidResponseError). */
  answerSchema: z.ZodType<Body>;
  /** Which request and answer values go into the record's field elements (3 and 2 at most). */
  fields: { request: HttpFieldMapping[]; response: HttpFieldMapping[] };
  success?: HttpDeclaration["success"];
}

/**
 * Declares a REST call a step may make through the notary (its system is `notary`, its status query
 * `notary.status`). The request is typed by `requestSchema`, the success answer's body by
 * `answerSchema`; `fields` say which values the trace commits to (beside the digests of the exact
 * request and answer). Registered in the process, one declaration per code.
 */
export function defineHttpOperation<Req, Body>(
  input: HttpOperationInput<Req, Body>,
): HttpOperationSpec<Req, Body> {
  const declared = HttpDeclarationSchema.safeParse({
    name: input.name,
    code: input.code,
    method: input.method,
    url: input.url,
    request: input.fields?.request ?? [],
    response: input.fields?.response ?? [],
    ...(input.success ? { success: input.success } : {}),
  });
  if (!declared.success) {
    const issue = declared.error.issues[0];
    throw new OperationSpecError(
      `HTTP operation ${input.name}: ${issue.path.join(".") || "declaration"}: ${issue.message}`,
    );
  }
  return registerHttpOperation(
    httpOperationOf(declared.data, input.requestSchema, input.answerSchema) as HttpOperationSpec<
      unknown,
      unknown
    >,
  ) as HttpOperationSpec<Req, Body>;
}

/**
 * The spec of a declaration as a bundle keeps it (no schemas: any JSON request, any answer body),
 * registered so the notary's status query settles it; what `verify` recomputes a call's fields with.
 */
export function httpOperationFromDeclaration(declaration: unknown): HttpOperationSpec<unknown, unknown> {
  const parsed = HttpDeclarationSchema.safeParse(declaration);
  if (!parsed.success)
    throw new OperationSpecError(`not an HTTP operation's declaration: ${parsed.error.issues[0].message}`);
  const held = registered.get(parsed.data.code);
  if (held && declarationHash(held.http) === declarationHash(parsed.data)) return held;
  return registerHttpOperation(httpOperationOf(parsed.data, z.unknown(), z.unknown()));
}

function registerHttpOperation(
  spec: HttpOperationSpec<unknown, unknown>,
): HttpOperationSpec<unknown, unknown> {
  const held = registered.get(spec.code);
  if (held && declarationHash(held.http) !== declarationHash(spec.http)) {
    throw new OperationSpecError(
      `HTTP operation code ${spec.code} is declared twice (${held.name} and ${spec.name}), differently`,
    );
  }
  registered.set(spec.code, spec);
  return spec;
}

const AnswerWireSchema = z.object({
  url: z.string().url(),
  status: z.number().int().min(100).max(599),
  text: z.string(),
});

function httpOperationOf<Req, Body>(
  declaration: HttpDeclaration,
  requestSchema: z.ZodType<Req>,
  answerSchema: z.ZodType<Body>,
): HttpOperationSpec<Req, Body> {
  // The answer as the notary relays it; `ok` and `body` are derived from it (so parsing a journaled
  // answer again gives the same value), the body checked by the declaration's schema on success.
  const responseSchema = AnswerWireSchema.transform((answer, ctx): HttpAnswer<Body> => {
    const ok = httpSucceeded(declaration, answer.status, answer.text);
    if (!ok) return { ...answer, ok };
    const json = parseJsonOrUndefined(answer.text);
    const body = answerSchema.safeParse(json);
    if (!body.success) {
      for (const issue of body.error.issues) ctx.addIssue({ ...issue, path: ["body", ...issue.path] });
      return z.NEVER;
    }
    return { ...answer, ok, body: body.data };
  }) as unknown as z.ZodType<HttpAnswer<Body>>;
  const refuseDecode = (): never => {
    throw new OperationDecodingError(
      `${declaration.name}'s fields hold digests: they are checked by encoding the JSON shown, not decoded`,
    );
  };
  const spec = defineOperation<Req, HttpAnswer<Body>>({
    name: declaration.name,
    code: declaration.code,
    system: NOTARY_SYSTEM,
    settle: { statusQuery: notaryStatus },
    requestSchema,
    responseSchema,
    encodeRequest: (request) => httpRequestFields(declaration, request),
    encodeResponse: (answer) => httpResponseFields(declaration, answer),
    decodeRequest: refuseDecode,
    decodeResponse: refuseDecode,
    describe: () => `${declaration.method} ${declaration.url}`,
  });
  return { ...spec, http: declaration };
}

/** The exact fields check of verify for an HTTP call: the JSON shown must encode to the committed fields. */
export function httpFieldsProblem(
  spec: HttpOperationSpec<unknown, unknown>,
  what: "request" | "response",
  json: unknown,
  fields: readonly bigint[],
): string | undefined {
  let encoded: bigint[];
  try {
    if (what === "request") encoded = spec.encodeRequest(json);
    else {
      const answer = AnswerWireSchema.strict().safeParse(json);
      if (!answer.success)
        return `the JSON is not a notarised answer {url, status, text}: ${answer.error.issues[0].message}`;
      encoded = httpResponseFields(spec.http, answer.data);
    }
  } catch (error) {
    return `the JSON cannot be encoded by ${spec.name}'s declaration: ${(error as Error).message}`;
  }
  const differs = encoded.findIndex((element, i) => element !== fields[i]);
  return differs < 0
    ? undefined
    : `field ${differs} of the JSON shown is ${encoded[differs]}, the committed field is ${fields[differs]}`;
}
