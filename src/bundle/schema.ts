import { z } from "zod";
import { HttpDeclarationSchema } from "../host";

/**
 * Version 4: a state run's `state` lists its writes (`writes[]`, each with its path in the tree as
 * the writes before it left it); uncertain outcomes are settled (SETTLE records, SETTLED evidence)
 * and a definition's layout names each step's status query (its hash covers it). Version 3 (bound
 * run ids, one state leaf), version 2 (salted leaves, random ids) and version 1 (no salts) were made
 * by older versions whose proofs this version's templates do not make: they are refused by name.
 */
export const BUNDLE_FORMAT = "wesflow.run-bundle/4";

/** What each older format version lacks, for the message that refuses it. */
const OLDER_FORMATS: Readonly<Record<number, string>> = {
  1: "before trace leaves were salted",
  2: "before run ids were bound to their submitter and workflow",
  3: "before state moves listed their writes and uncertain outcomes were settled",
};

/**
 * Why a document of another format version than `expected` (e.g. "wesflow.run-bundle/2") is refused,
 * or undefined when its format field is not an older or newer version of the same kind (the schema then
 * says what is wrong).
 */
export function formatVersionProblem(json: unknown, expected: string): string | undefined {
  const format = (json as { format?: unknown } | null)?.format;
  const kind = expected.slice(0, expected.lastIndexOf("/") + 1);
  if (typeof format !== "string" || format === expected || !format.startsWith(kind)) return undefined;
  const version = Number(format.slice(kind.length));
  const current = Number(expected.slice(kind.length));
  return version < current
    ? `is in format ${format}, made by an older wesflow${OLDER_FORMATS[version] ? ` ${OLDER_FORMATS[version]}` : ""}; this version reads ${expected} only`
    : `is in format ${format}, made by a newer wesflow; this version reads ${expected} only`;
}

/**
 * The keys of a JSON document that its schema does not define (parsing drops them), as paths such as
 * `steps.2.note`; `parsed` is what the schema made of `json`. A document shows only what is checked:
 * readers refuse one with such keys rather than show a reader something no check looked at.
 */
export function undefinedKeys(json: unknown, parsed: unknown, path = ""): string[] {
  if (Array.isArray(json) && Array.isArray(parsed)) {
    return json.flatMap((item, i) =>
      i < parsed.length ? undefinedKeys(item, parsed[i], `${path}${i}.`) : [],
    );
  }
  const isObject = (value: unknown): value is Record<string, unknown> =>
    typeof value === "object" && value !== null && !Array.isArray(value);
  if (!isObject(json) || !isObject(parsed)) return [];
  return Object.entries(json).flatMap(([key, value]) => {
    if (value === undefined) return []; // not in the JSON text
    return key in parsed ? undefinedKeys(value, parsed[key], `${path}${key}.`) : [`${path}${key}`];
  });
}

const decimal = z.string().regex(/^\d+$/, "a decimal field element");
const hex32 = z.string().regex(/^0x[0-9a-f]{64}$/, "a 0x-prefixed 32-byte hex value");
const fields = z.array(decimal).length(4);

/** One trace record: fields as decimal strings. */
export const StepSchema = z.object({
  index: z.number().int().nonnegative(),
  stepCode: z.number().int().positive(),
  stepName: z.string(),
  phase: z.enum(["FORWARD", "COMPENSATE", "SETTLE"]),
  status: z.enum(["OK", "FAILED"]),
  callSeq: z.number().int().nonnegative(),
  operation: z.number().int().nonnegative(),
  request: fields,
  response: fields,
  evidence: z.enum(["NONE", "DECLARED", "ATTESTED", "SETTLED"]),
  /** The record's leaf salt (a random field element): required, the leaf cannot be recomputed without it. */
  salt: decimal,
});

export const AttestationSchema = z.object({
  system: z.string(),
  systemCode: z.number().int().positive(),
  publicKey: z.tuple([decimal, decimal]),
  signature: z.object({ R8: z.tuple([decimal, decimal]), S: decimal }),
});

/** One external call with its evidence (the attestation when the system signed). */
export const CallSchema = z.object({
  callSeq: z.number().int().positive(),
  stepIndex: z.number().int().nonnegative(),
  system: z.string(),
  operation: z.number().int().positive(),
  operationName: z.string(),
  idempotencyKey: z.string(),
  requestHash: decimal,
  responseHash: decimal,
  request: z.unknown(),
  response: z.unknown(),
  attestation: AttestationSchema.optional(),
  /**
   * An HTTP call made through the notary (src/host/http.ts): its declaration (method, URL, field
   * mapping), by which `verify` recomputes the call's fields from the JSON shown (the request, and the
   * answer as the notary relayed it: `{url, status, text}`). An optional field of format 4.
   */
  http: HttpDeclarationSchema.optional(),
});

/**
 * A system's receipt of its signed calls in the run (src/trace/receipt.ts): what a template that
 * checks receipts (circuits.json `"receipts": true`) verified in place of each call's signature.
 */
export const ReceiptSchema = z.object({
  system: z.string(),
  systemCode: z.number().int().positive(),
  count: z.number().int().positive(),
  chain: decimal,
  publicKey: z.tuple([decimal, decimal]),
  signature: z.object({ R8: z.tuple([decimal, decimal]), S: decimal }),
});

const ProviderSetSchema = z.object({
  root: decimal,
  depth: z.number().int().positive(),
  providers: z.array(
    z.object({
      system: z.string(),
      systemCode: z.number().int().positive(),
      publicKey: z.tuple([decimal, decimal]),
    }),
  ),
});

const ProofSchema = z.object({
  instance: z.string(),
  proof: z.object({
    pi_a: z.array(decimal),
    pi_b: z.array(z.array(decimal)),
    pi_c: z.array(decimal),
    protocol: z.literal("groth16"),
    curve: z.string(),
  }),
  /**
   * Five signals; a definition-bound (generic) template's proof has the definition hash sixth; a state
   * template's proof has stateRootBefore and stateRootAfter sixth and seventh.
   */
  publicSignals: z.array(decimal).min(5).max(7),
  proveMs: z.number().nonnegative(),
  /** Of proveMs, the witness's computation; absent in bundles of older versions. */
  witnessMs: z.number().nonnegative().optional(),
  /** sha256 of the verification key (see verificationKeyHash); absent in bundles of older versions. */
  vkeyHash: z
    .string()
    .regex(/^[0-9a-f]{64}$/, "a sha256 hex digest")
    .optional(),
});

const LayoutCallSchema = z.object({
  operation: z.number().int().nonnegative(),
  system: z.number().int().nonnegative(),
});

/**
 * For a run proven by a generic template: the workflow definition as its circuit sees it, and its
 * hash, which the registry holds for the template and the proof takes as its sixth public signal.
 */
const DefinitionSchema = z.object({
  name: z.string(),
  hash: decimal,
  layout: z.object({
    steps: z
      .array(
        z.object({
          code: z.number().int().positive(),
          operation: z.number().int().nonnegative(),
          system: z.number().int().nonnegative(),
          /** The status query that settles the step's call (a calling step whose operation has one). */
          settle: z.object({ operation: z.number().int().positive() }).optional(),
          compensation: LayoutCallSchema.optional(),
        }),
      )
      .min(1),
  }),
});

/**
 * One write of a state run: the key (its name and field element), its slot, its values before and
 * after, whether it adds the key, and its path in the tree as the writes before it left it.
 */
const StateWriteSchema = z.object({
  key: z.string(),
  keyField: decimal,
  slot: z.number().int().nonnegative(),
  inserted: z.boolean(),
  valueBefore: decimal,
  valueAfter: decimal,
  pathElements: z.array(decimal).min(1),
  pathIndices: z.array(z.number().int().min(0).max(1)).min(1),
});

/**
 * For a run proven by a state template: the state domain's move the proof shows, as the writes
 * applied one after the other from rootBefore to rootAfter, so that anyone can recompute every root
 * from the bundle. A rolled-back run leaves the state as it was (no writes, rootAfter = rootBefore).
 */
const StateSchema = z.object({
  domain: z.string().min(1),
  domainId: hex32,
  rootBefore: decimal,
  rootAfter: decimal,
  writes: z.array(StateWriteSchema),
});

const SubmissionSchema = z.object({
  network: z.string(),
  chainId: z.number().int().positive(),
  registry: z.string().regex(/^0x[0-9a-fA-F]{40}$/),
  submitter: z.string().regex(/^0x[0-9a-fA-F]{40}$/),
  txHash: hex32,
  blockNumber: z.number().int().nonnegative(),
  gasUsed: z.number().int().positive(),
  submitMs: z.number().nonnegative(),
});

/**
 * A run's bundle: the trace, its evidence, the proof and where it was recorded. Written after
 * proving (so a failed submission loses nothing) and completed after the submission.
 */
/**
 * What the run's id commits to: workflowId = Poseidon(submitter, workflowTag, runNonce). The nonce is
 * part of the witness (like the salts): whoever holds the bundle can prove the run, but only for this
 * submitter (the id and every signature over it are bound to it).
 */
const BindingSchema = z.object({
  submitter: z.string().regex(/^0x[0-9a-fA-F]{40}$/),
  workflowTag: decimal,
  runNonce: decimal,
});

export const RunBundleSchema = z.object({
  format: z.literal(BUNDLE_FORMAT),
  workflowId: hex32,
  binding: BindingSchema,
  scenario: z.string(),
  template: z.string(),
  templateId: hex32,
  outcome: z.enum(["COMMITTED", "ROLLED_BACK"]),
  traceRoot: hex32,
  traceDepth: z.number().int().positive(),
  steps: z.array(StepSchema).min(1),
  calls: z.array(CallSchema),
  /**
   * Present for a run of a template that checks receipts (an optional field added to format 4 without
   * a version bump: older readers refuse a bundle that has it, as an unknown key; absent otherwise).
   */
  receipts: z.array(ReceiptSchema).optional(),
  providerSet: ProviderSetSchema,
  definition: DefinitionSchema.optional(),
  state: StateSchema.optional(),
  proof: ProofSchema.optional(),
  submission: SubmissionSchema.optional(),
  timings: z.object({ executeMs: z.number().nonnegative() }),
  createdAt: z.string(),
});

export type RunBundle = z.infer<typeof RunBundleSchema>;
export type BundleProof = z.infer<typeof ProofSchema>;
export type BundleDefinition = z.infer<typeof DefinitionSchema>;
export type BundleState = z.infer<typeof StateSchema>;
export type BundleStateWrite = z.infer<typeof StateWriteSchema>;
export type BundleSubmission = z.infer<typeof SubmissionSchema>;
export type BundleStep = z.infer<typeof StepSchema>;
export type BundleCall = z.infer<typeof CallSchema>;
export type BundleReceipt = z.infer<typeof ReceiptSchema>;
