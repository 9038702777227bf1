import fs from "node:fs";
import { z } from "zod";
import {
  AttestationSchema,
  CallSchema,
  callRecordOf,
  formatVersionProblem,
  providerSetFromBundle,
  StepSchema,
  stepRecordOf,
  undefinedKeys,
  type RunBundle,
} from "../bundle";
import { definitionTemplateName, templateIdOf, type RecordedRun } from "../chain";
import { rootFromPath, toHex32, type MerklePath } from "../crypto";
import {
  hashFields,
  Outcome,
  providerLeaf,
  stepLeaf,
  stepsTree,
  traceRootOf,
  type Attestation,
} from "../trace";
import { attestationProblem, attestedLevel } from "./evidence";
import { checkLabels } from "./labels";
import {
  notRecordedProblem,
  openRegistryView,
  otherChainProblem,
  recordedRunOf,
  type ChainTarget,
} from "./onChain";
import type { CheckStatus } from "./verify";

/** Version 2: the disclosed step carries its leaf salt (version 1, unsalted, is refused by name). */
export const DISCLOSURE_FORMAT = "wesflow.step-disclosure/2";

const decimal = z.string().regex(/^\d+$/, "a decimal field element");
const hex32 = z.string().regex(/^0x[0-9a-f]{64}$/, "a 0x-prefixed 32-byte hex value");
const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/, "an address");
/** Trees of the trace and the provider set are at most this deep (2^32 leaves). */
const MAX_DEPTH = 32;

const MerklePathSchema = z
  .object({
    pathElements: z.array(decimal).max(MAX_DEPTH),
    pathIndices: z.array(z.union([z.literal(0), z.literal(1)])).max(MAX_DEPTH),
  })
  .refine(
    (p) => p.pathElements.length === p.pathIndices.length,
    "pathElements and pathIndices differ in length",
  );

/**
 * One step of a recorded run, shown without the others: the step record (with its leaf salt, the
 * only salt disclosed: the other leaves on the path stay salted hashes that cannot be brute-forced
 * back to their records), its call with the evidence, and the Merkle path from its leaf to the run's trace root, which the registry holds.
 * With an attested call, the key's Merkle path in the provider set, whose root the registry also
 * holds, so the signature can be checked against the registered key.
 */
export const StepDisclosureSchema = z.object({
  format: z.literal(DISCLOSURE_FORMAT),
  workflowId: hex32,
  scenario: z.string(),
  template: z.string(),
  templateId: hex32,
  /**
   * A run of a generic template: its definition's hash, which names the template the registry holds
   * for it (`<instance>/<hash>`); absent for a template of its own and in older disclosures.
   */
  definitionHash: decimal.optional(),
  outcome: z.enum(["COMMITTED", "ROLLED_BACK"]),
  stepCount: z.number().int().positive(),
  traceDepth: z.number().int().positive().max(MAX_DEPTH),
  step: StepSchema,
  call: CallSchema.optional(),
  leaf: decimal,
  merklePath: MerklePathSchema,
  traceRoot: hex32,
  provider: z
    .object({
      providerSetRoot: decimal,
      key: AttestationSchema.pick({ system: true, systemCode: true, publicKey: true }),
      merklePath: MerklePathSchema,
    })
    .optional(),
  chain: z
    .object({
      network: z.string(),
      chainId: z.number().int().positive(),
      registry: address,
      txHash: hex32,
      blockNumber: z.number().int().nonnegative(),
    })
    .optional(),
});

export type StepDisclosure = z.infer<typeof StepDisclosureSchema>;

/** A disclosure cannot be made (no such step, a bundle inconsistent with itself) or read. */
export class DisclosureError extends Error {
  override name = "DisclosureError";
}

const dec = (x: bigint | number) => x.toString();
const pathJson = (path: MerklePath) => ({
  pathElements: path.pathElements.map(dec),
  pathIndices: path.pathIndices.map((i) => (i ? 1 : 0) as 0 | 1),
});

/**
 * The disclosure of one step (by its index in the trace, the record's `index`). Refuses a bundle
 * whose steps do not hash to its trace root: its disclosures could not match the chain.
 */
export function discloseStep(bundle: RunBundle, stepIndex: number): StepDisclosure {
  const steps = bundle.steps.map(stepRecordOf);
  const step = steps[stepIndex];
  if (!Number.isInteger(stepIndex) || !step) {
    throw new DisclosureError(
      `the run has steps 0 to ${steps.length - 1} (${steps.map((s) => s.stepName).join(", ")}); there is no step ${stepIndex}`,
    );
  }
  const tree = stepsTree(steps, bundle.traceDepth);
  const traceRoot = traceRootOf({
    workflowId: BigInt(bundle.workflowId),
    outcome: Outcome[bundle.outcome],
    stepCount: steps.length,
    stepsRoot: tree.root,
  });
  if (toHex32(traceRoot) !== bundle.traceRoot) {
    throw new DisclosureError(
      "the bundle's steps do not hash to its trace root (run wesflow verify on it): nothing to disclose",
    );
  }
  const call = bundle.calls.find((c) => c.callSeq === step.callSeq && step.callSeq > 0);
  let provider: StepDisclosure["provider"];
  if (call?.attestation) {
    const providers = providerSetFromBundle(bundle);
    const { system, systemCode, publicKey } = call.attestation;
    const key = callRecordOf(call).attestation!.publicKey;
    const registered = providers.providers.some(
      (p) => p.systemCode === systemCode && p.publicKey[0] === key[0] && p.publicKey[1] === key[1],
    );
    if (registered) {
      provider = {
        providerSetRoot: dec(providers.root),
        key: { system, systemCode, publicKey },
        merklePath: pathJson(providers.pathOf(systemCode, key)),
      };
    }
  }
  const submission = bundle.submission;
  return {
    format: DISCLOSURE_FORMAT,
    workflowId: bundle.workflowId,
    scenario: bundle.scenario,
    template: bundle.template,
    templateId: bundle.templateId,
    ...(bundle.definition ? { definitionHash: bundle.definition.hash } : {}),
    outcome: bundle.outcome,
    stepCount: steps.length,
    traceDepth: bundle.traceDepth,
    step: bundle.steps[stepIndex],
    ...(call ? { call } : {}),
    leaf: dec(stepLeaf(step)),
    merklePath: pathJson(tree.path(stepIndex)),
    traceRoot: bundle.traceRoot,
    ...(provider ? { provider } : {}),
    ...(submission
      ? {
          chain: {
            network: submission.network,
            chainId: submission.chainId,
            registry: submission.registry,
            txHash: submission.txHash,
            blockNumber: submission.blockNumber,
          },
        }
      : {}),
  };
}

/** Parses a disclosure document; any problem is a DisclosureError with a one-line reason. */
export function parseDisclosure(json: unknown, source = "the disclosure"): StepDisclosure {
  const versionProblem = formatVersionProblem(json, DISCLOSURE_FORMAT);
  if (versionProblem) throw new DisclosureError(`${source} ${versionProblem}`);
  const parsed = StepDisclosureSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new DisclosureError(
      `${source} is malformed at ${issue.path.join(".") || "top level"}: ${issue.message}`,
    );
  }
  const extra = undefinedKeys(json, parsed.data);
  if (extra.length > 0) {
    throw new DisclosureError(
      `${source} has keys that ${DISCLOSURE_FORMAT} does not define: ${extra.join(", ")} (a disclosure shows nothing that is not checked)`,
    );
  }
  return parsed.data;
}

/** Reads and validates a disclosure file. */
export function readDisclosure(file: string): StepDisclosure {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (cause) {
    throw new DisclosureError(
      `cannot read disclosure ${file}: ${(cause as NodeJS.ErrnoException).code ?? cause}`,
      {
        cause,
      },
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new DisclosureError(`disclosure ${file} is not valid JSON (truncated?)`, { cause });
  }
  return parseDisclosure(json, `disclosure ${file}`);
}

export interface DisclosureVerification {
  /** The step is in the run whose trace root the disclosure states (and, with a network, the chain's). */
  valid: boolean;
  onChain: boolean;
  reasons: string[];
  workflowId: string;
  step: { index: number; name: string; phase: string; status: string };
  /** The disclosed call's evidence: attested only when its signature verified under a registered key. */
  call?: {
    callSeq: number;
    system: string;
    operation: string;
    evidence: "attested" | "attested-by-notary" | "declared";
  };
  /** disclosure: the document against itself; chain: against the registry's entry. */
  checks: { disclosure: CheckStatus; chain: CheckStatus };
  /** Against a network: whether the registry has an entry for the workflow id at all. */
  recorded?: boolean;
}

/**
 * Checks a step disclosure: recomputes the step's leaf from its record and salt, the steps root from the
 * Merkle path, and the trace root from (workflowId, outcome, stepCount, stepsRoot); checks that the
 * path leads to the step's own position; checks the call against the step's fields and its
 * attestation against the provider key, whose path must lead to the provider set root. With a
 * network, the registry's WorkflowRecorded event must carry that trace root, outcome, template and
 * provider set root. Throws only for a network that cannot be used.
 */
export async function verifyDisclosure(
  disclosure: StepDisclosure,
  target: ChainTarget = {},
): Promise<DisclosureVerification> {
  const problems: string[] = [];
  const notes: string[] = [];
  const doc = disclosure;
  const step = stepRecordOf(doc.step);
  const workflowId = BigInt(doc.workflowId);
  const attempt = <T>(what: string, compute: () => T): T | undefined => {
    try {
      return compute();
    } catch (error) {
      problems.push(`${what}: ${(error as Error).message}`);
      return undefined;
    }
  };

  const templateName =
    doc.definitionHash === undefined
      ? doc.template
      : definitionTemplateName(doc.template, BigInt(doc.definitionHash));
  if (doc.templateId !== templateIdOf(templateName)) {
    problems.push(`templateId ${doc.templateId} is not the id of template ${templateName}`);
  }

  // The step's place in the trace.
  const path: MerklePath = {
    pathElements: doc.merklePath.pathElements.map(BigInt),
    pathIndices: doc.merklePath.pathIndices,
  };
  if (path.pathElements.length !== doc.traceDepth) {
    problems.push(
      `the Merkle path has ${path.pathElements.length} levels, the trace is ${doc.traceDepth} deep`,
    );
  }
  const position = path.pathIndices.reduce((sum, bit, level) => sum + bit * 2 ** level, 0);
  if (position !== step.index) {
    problems.push(`the Merkle path leads to position ${position}, the step's index is ${step.index}`);
  }
  if (step.index >= doc.stepCount) {
    problems.push(`step index ${step.index} is not below the step count ${doc.stepCount}`);
  }
  if (doc.stepCount > 2 ** doc.traceDepth) {
    problems.push(
      `a trace of depth ${doc.traceDepth} holds ${2 ** doc.traceDepth} steps, not ${doc.stepCount}`,
    );
  }

  // Leaf → steps root → trace root.
  const leaf = attempt("the step's leaf cannot be computed", () => stepLeaf(step));
  if (leaf !== undefined && leaf !== BigInt(doc.leaf)) {
    problems.push("the stated leaf is not the hash of the step record");
  }
  if (leaf !== undefined) {
    const traceRoot = attempt("the trace root cannot be recomputed", () =>
      traceRootOf({
        workflowId,
        outcome: Outcome[doc.outcome],
        stepCount: doc.stepCount,
        stepsRoot: rootFromPath(leaf, path),
      }),
    );
    if (traceRoot !== undefined && traceRoot !== BigInt(doc.traceRoot)) {
      problems.push(
        `the step and its Merkle path lead to trace root ${toHex32(traceRoot)}, the disclosure states ${doc.traceRoot}`,
      );
    }
  }

  // The call and its evidence.
  let call: DisclosureVerification["call"];
  if (doc.call) {
    const record = callRecordOf(doc.call);
    const label = `call ${record.callSeq} (${record.operationName})`;
    if (record.callSeq !== step.callSeq || record.stepIndex !== step.index) {
      problems.push(`${label} is not the call of step ${step.index} (which records call ${step.callSeq})`);
    }
    if (record.operation !== step.operation) {
      problems.push(`${label}: operation ${record.operation}, the step records ${step.operation}`);
    }
    const requestHash = attempt(`${label}: request fields`, () => hashFields(step.request));
    const responseHash = attempt(`${label}: response fields`, () => hashFields(step.response));
    if (requestHash !== undefined && requestHash !== record.requestHash) {
      problems.push(`${label}: requestHash is not the hash of the step's request fields`);
    }
    if (responseHash !== undefined && responseHash !== record.responseHash) {
      problems.push(`${label}: responseHash is not the hash of the step's response fields`);
    }
    let verified = false;
    if (record.attestation && requestHash !== undefined && responseHash !== undefined) {
      const problem = await attestationProblem({
        workflowId,
        call: record,
        attestation: record.attestation,
        requestHash,
        responseHash,
        registered: registeredKey(doc, record.attestation, problems),
      });
      verified = problem === undefined;
      if (problem) problems.push(`${label}: ${problem}`);
    }
    if (step.evidence === "ATTESTED" && !record.attestation) {
      problems.push(`${label}: the step claims attested evidence, the call carries no attestation`);
    }
    call = {
      callSeq: record.callSeq,
      system: record.system,
      operation: record.operationName,
      evidence: verified && step.evidence === "ATTESTED" ? attestedLevel(record.system) : "declared",
    };
  } else if (step.callSeq > 0) {
    notes.push(`the step's call ${step.callSeq} is not disclosed: only its request and response fields are`);
  }

  // What people read: the step's name, the call's names, key and JSON.
  const labels = checkLabels({
    scenario: doc.scenario,
    template: doc.template,
    outcome: doc.outcome,
    workflowId,
    steps: [doc.step],
    calls: doc.call ? [doc.call] : [],
  });
  problems.push(...labels.problems);
  const parsed = StepDisclosureSchema.safeParse(doc);
  if (parsed.success) {
    for (const key of undefinedKeys(doc, parsed.data)) {
      problems.push(`the disclosure has key ${key}, which ${DISCLOSURE_FORMAT} does not define`);
    }
  }
  if (labels.skipped) notes.push(labels.skipped);

  // The registry.
  const chainProblems: string[] = [];
  let recorded: boolean | undefined;
  const opened = await openRegistryView(target);
  if (!opened.view) {
    notes.push(opened.skipped);
  } else {
    const view = opened.view;
    const elsewhere = doc.chain && otherChainProblem("the run", doc.chain, view);
    const run = elsewhere ? undefined : await recordedRunOf(view, workflowId);
    if (elsewhere) chainProblems.push(elsewhere);
    else if (!run) chainProblems.push(notRecordedProblem(view, workflowId));
    else chainProblems.push(...entryProblems(doc, run));
    recorded = elsewhere ? undefined : run !== undefined;
  }

  const chainStatus: CheckStatus = !opened.view ? "skipped" : chainProblems.length > 0 ? "failed" : "passed";
  return {
    valid: problems.length === 0 && chainProblems.length === 0,
    onChain: chainStatus === "passed",
    reasons: [...problems, ...chainProblems, ...notes],
    workflowId: doc.workflowId,
    checks: { disclosure: problems.length > 0 ? "failed" : "passed", chain: chainStatus },
    step: { index: step.index, name: step.stepName, phase: step.phase, status: step.status },
    ...(call ? { call } : {}),
    ...(recorded !== undefined ? { recorded } : {}),
  };
}

/** How the disclosure differs from the run's WorkflowRecorded event. */
function entryProblems(doc: StepDisclosure, run: RecordedRun): string[] {
  const problems: string[] = [];
  if (run.traceRoot !== BigInt(doc.traceRoot)) {
    problems.push(
      `the chain recorded trace root ${toHex32(run.traceRoot)}, the disclosure states ${doc.traceRoot}`,
    );
  }
  if (run.outcome !== doc.outcome) {
    problems.push(`the chain recorded outcome ${run.outcome}, the disclosure states ${doc.outcome}`);
  }
  if (run.templateId.toLowerCase() !== doc.templateId) {
    problems.push(`the chain recorded template ${run.templateId}, the disclosure states ${doc.templateId}`);
  }
  if (doc.provider && run.providerSetRoot !== BigInt(doc.provider.providerSetRoot)) {
    problems.push(
      `the attestation's key is in provider set ${doc.provider.providerSetRoot}, the run was proven against ${run.providerSetRoot}`,
    );
  }
  if (doc.chain && doc.chain.txHash !== run.txHash) {
    problems.push(
      `the chain recorded the run in transaction ${run.txHash}, the disclosure states ${doc.chain.txHash}`,
    );
  }
  return problems;
}

/**
 * The key a disclosure's provider section proves registered: the Merkle path of
 * providerLeaf(systemCode, key) must lead to the stated provider set root (which, on chain, must be
 * the run's). Undefined (and a problem) when it does not.
 */
function registeredKey(
  doc: StepDisclosure,
  attestation: Attestation,
  problems: string[],
): { systemCode: number; publicKey: readonly [bigint, bigint] } | undefined {
  const provider = doc.provider;
  if (!provider) {
    problems.push("the attestation comes without the key's path in the provider set");
    return undefined;
  }
  const publicKey = [BigInt(provider.key.publicKey[0]), BigInt(provider.key.publicKey[1])] as const;
  try {
    const root = rootFromPath(providerLeaf({ systemCode: provider.key.systemCode, publicKey }), {
      pathElements: provider.merklePath.pathElements.map(BigInt),
      pathIndices: provider.merklePath.pathIndices,
    });
    if (root !== BigInt(provider.providerSetRoot)) {
      problems.push("the provider key's Merkle path does not lead to the stated provider set root");
      return undefined;
    }
  } catch (error) {
    problems.push(`the provider key's Merkle path: ${(error as Error).message}`);
    return undefined;
  }
  if (provider.key.system !== attestation.system) {
    problems.push(
      `the disclosed provider key is ${provider.key.system}'s, the attestation is ${attestation.system}'s`,
    );
    return undefined;
  }
  return { systemCode: provider.key.systemCode, publicKey };
}
