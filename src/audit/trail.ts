import type { Provider } from "ethers";
import { BundleError, findBundle, providerSetFromBundle, traceFromBundle, type RunBundle } from "../bundle";
import { queryEntries, queryStateAdvances, type RecordedRun, type StateAdvance } from "../chain";
import { toHex32, verifySignature } from "../crypto";
import { attestationMessage, computeTraceRoot } from "../trace";
import type { WorkflowRegistry } from "../../typechain-types";

/** One call as the audit shows it. `evidence` is what was checked, never more. */
export interface AuditCall {
  callSeq: number;
  step: string;
  system: string;
  operation: string;
  evidence: "attested" | "declared";
  /** For attested calls: the signature verified now, under a key of the on-chain provider set. */
  signatureVerified: boolean;
}

export interface AuditStep {
  index: number;
  name: string;
  phase: "FORWARD" | "COMPENSATE";
  status: "OK" | "FAILED";
  callSeq: number;
  /** For a compensation: the forward step it undoes. */
  compensates?: string;
}

/** A run's steps and calls as the bundle holds them, attestations re-verified. */
export interface Trail {
  scenario: string;
  outcome: "COMMITTED" | "ROLLED_BACK";
  /** Problems found (attestations that do not verify, or, against the chain, roots that differ). */
  problems: string[];
  steps: AuditStep[];
  calls: AuditCall[];
}

/** A recorded run: the on-chain entry, and its trail when this machine has the run's bundle. */
export interface AuditEntry {
  workflowId: string;
  templateId: string;
  template?: string;
  outcome: "COMMITTED" | "ROLLED_BACK";
  traceRoot: string;
  providerSetRoot: string;
  submitter: string;
  blockNumber: number;
  txHash: string;
  gasUsed: number;
  /**
   * A run of a state template: the state domain's root it moved, from the registry's
   * StateRootAdvanced event (0x-hex). `domain` is the domain's name, when the run's bundle is at hand.
   */
  state?: AuditState;
  /** Present when the bundle is at hand. `matchesChain` is false if it does not hash to the on-chain root. */
  trail?: {
    scenario: string;
    matchesChain: boolean;
    problems: string[];
    steps: AuditStep[];
    calls: AuditCall[];
  };
  /** The run's bundle is on this machine but cannot be read (e.g. an older format): why. */
  bundleProblem?: string;
}

/** The state root a recorded run moved (rootAfter = rootBefore: the run left the state as it was). */
export interface AuditState {
  domainId: string;
  domain?: string;
  rootBefore: string;
  rootAfter: string;
}

export interface AuditQuery {
  registry: WorkflowRegistry;
  provider: Provider;
  runsDir: string;
  workflowId?: bigint;
  templateId?: string;
  submitter?: string;
  fromBlock?: number;
  toBlock?: number;
  /**
   * The registry's deployment block (DeploymentRecord.deploymentBlock): the queries never start
   * before it. 0 when unknown.
   */
  deploymentBlock?: number;
  /** Not an indexed event field: filtered here, after the query. */
  outcome?: "COMMITTED" | "ROLLED_BACK";
}

/**
 * Reads the registry's WorkflowRecorded events and joins each with its bundle, checked against the
 * chain, and with the StateRootAdvanced event of a state run (read once for the block range).
 */
export async function readAuditTrail(query: AuditQuery): Promise<AuditEntry[]> {
  const { registry, provider, runsDir, outcome, ...filter } = query;
  const runs = (await queryEntries({ registry, ...filter })).filter(
    (run) => outcome === undefined || run.outcome === outcome,
  );
  const advances = new Map<bigint, StateAdvance>();
  if (runs.length > 0) {
    const found = await queryStateAdvances({
      registry,
      workflowId: filter.workflowId,
      deploymentBlock: filter.deploymentBlock,
      fromBlock: filter.fromBlock,
      toBlock: filter.toBlock,
    });
    for (const advance of found) advances.set(advance.workflowId, advance);
  }
  const entries: AuditEntry[] = [];
  for (const run of runs) {
    const receipt = await provider.getTransactionReceipt(run.txHash);
    const workflowIdHex = toHex32(run.workflowId);
    // A bundle that cannot be read (malformed, an older format) leaves this run without its trail,
    // not the whole audit without its entries.
    let bundle: RunBundle | undefined;
    let bundleProblem: string | undefined;
    try {
      bundle = findBundle(runsDir, workflowIdHex);
    } catch (error) {
      if (!(error instanceof BundleError)) throw error;
      bundleProblem = error.message;
    }
    const advance = advances.get(run.workflowId);
    const state: AuditState | undefined = advance && {
      domainId: advance.domainId,
      ...(bundle?.state && bundle.state.domainId === advance.domainId.toLowerCase()
        ? { domain: bundle.state.domain }
        : {}),
      rootBefore: toHex32(advance.rootBefore),
      rootAfter: toHex32(advance.rootAfter),
    };
    entries.push({
      workflowId: workflowIdHex,
      templateId: run.templateId,
      template: bundle?.templateId === run.templateId ? bundle.template : undefined,
      outcome: run.outcome,
      traceRoot: toHex32(run.traceRoot),
      providerSetRoot: toHex32(run.providerSetRoot),
      submitter: run.submitter,
      blockNumber: run.blockNumber,
      txHash: run.txHash,
      gasUsed: receipt ? Number(receipt.gasUsed) : 0,
      ...(state ? { state } : {}),
      trail: bundle ? await checkTrail(bundle, run, advance) : undefined,
      ...(bundleProblem ? { bundleProblem } : {}),
    });
  }
  return entries;
}

async function checkTrail(
  bundle: RunBundle,
  run: RecordedRun,
  advance: StateAdvance | undefined,
): Promise<NonNullable<AuditEntry["trail"]>> {
  const trace = traceFromBundle(bundle);
  const trail = await trailOfBundle(bundle);
  const problems: string[] = [];
  if (computeTraceRoot(trace, bundle.traceDepth) !== run.traceRoot) {
    problems.push("the bundle's steps do not hash to the on-chain trace root");
  }
  if (providerSetFromBundle(bundle).root !== run.providerSetRoot) {
    problems.push("the bundle's provider set is not the one the proof was checked against");
  }
  if (trace.outcome !== run.outcome)
    problems.push(`the bundle says ${trace.outcome}, the chain ${run.outcome}`);
  problems.push(...stateProblems(bundle, advance));
  problems.push(...trail.problems);
  return {
    scenario: trail.scenario,
    matchesChain: problems.length === 0,
    problems,
    steps: trail.steps,
    calls: trail.calls,
  };
}

/** How the bundle's state differs from the run's StateRootAdvanced event (none when they agree). */
function stateProblems(bundle: RunBundle, advance: StateAdvance | undefined): string[] {
  const state = bundle.state;
  if (!state && !advance) return [];
  if (!state) return ["the chain moved a state root for this run, the bundle states no state"];
  if (!advance)
    return [`the bundle moves state domain "${state.domain}", the chain recorded no state root move`];
  const problems: string[] = [];
  if (state.domainId !== advance.domainId.toLowerCase()) {
    problems.push(`the bundle's state domain is ${state.domainId}, the chain's ${advance.domainId}`);
  }
  if (BigInt(state.rootBefore) !== advance.rootBefore || BigInt(state.rootAfter) !== advance.rootAfter) {
    problems.push("the bundle's state roots are not the ones the chain recorded");
  }
  return problems;
}

/**
 * The steps and calls of a run's bundle. A call is shown as attested only when its signature
 * verifies now, under the key the bundle's provider set registers for that system; a call without
 * one (e.g. a timeout) is declared.
 */
export async function trailOfBundle(bundle: RunBundle): Promise<Trail> {
  const trace = traceFromBundle(bundle);
  const providers = providerSetFromBundle(bundle);
  const problems: string[] = [];
  const stepName = new Map(trace.steps.map((s) => [s.index, s.stepName]));
  const forwardName = new Map(
    trace.steps.filter((s) => s.phase === "FORWARD").map((s) => [s.stepCode, s.stepName]),
  );
  const calls: AuditCall[] = [];
  for (const call of trace.calls) {
    let signatureVerified = false;
    if (call.attestation) {
      const registered = providers.keyOf(call.system);
      const sameKey =
        registered?.publicKey[0] === call.attestation.publicKey[0] &&
        registered?.publicKey[1] === call.attestation.publicKey[1];
      const message = attestationMessage({
        workflowId: trace.workflowId,
        callSeq: call.callSeq,
        operation: call.operation,
        requestHash: call.requestHash,
        responseHash: call.responseHash,
      });
      signatureVerified =
        sameKey && (await verifySignature(message, call.attestation.signature, call.attestation.publicKey));
      if (!signatureVerified)
        problems.push(`call ${call.callSeq} (${call.operationName}): attestation does not verify`);
    }
    calls.push({
      callSeq: call.callSeq,
      step: stepName.get(call.stepIndex) ?? `#${call.stepIndex}`,
      system: call.system,
      operation: call.operationName,
      evidence: call.attestation && signatureVerified ? "attested" : "declared",
      signatureVerified,
    });
  }
  return {
    scenario: bundle.scenario,
    outcome: trace.outcome,
    problems,
    steps: trace.steps.map((s) => ({
      index: s.index,
      name: s.stepName,
      phase: s.phase,
      status: s.status,
      callSeq: s.callSeq,
      ...(s.phase === "COMPENSATE" ? { compensates: forwardName.get(s.stepCode) } : {}),
    })),
    calls,
  };
}
