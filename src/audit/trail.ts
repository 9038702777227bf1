import type { Provider } from "ethers";
import { BundleError, findBundle, type RunBundle } from "../bundle";
import {
  definitionTemplateName,
  queryEntries,
  stateAdvancesOf,
  templateIdOf,
  type DeploymentRecord,
  type StateAdvance,
} from "../chain";
import { toHex32 } from "../crypto";
import { stateDomainId } from "../state";
import type { WorkflowRegistry } from "../../typechain-types";
import type { ChainTarget, RegistryView } from "./onChain";
import {
  verifyBundle,
  type BundleCheck,
  type BundleVerification,
  type CheckStatus,
  type VerifiedCall,
  type VerifiedState,
  type VerifiedStep,
} from "./verify";

/** One call as the audit shows it: verify's own (`evidence` is what was checked now, never more). */
export type AuditCall = VerifiedCall;

/** One trace record as the audit shows it: verify's own. */
export type AuditStep = VerifiedStep;

/**
 * A run's steps and calls as its bundle holds them, checked by `verifyBundle`: the same checks as
 * `wesflow verify`, through the same code. Names, steps and calls are what the bundle states; they
 * are verified only when `verified` (and the step names only when `namesVerified`).
 */
export interface Trail {
  scenario: string;
  outcome: "COMMITTED" | "ROLLED_BACK";
  /** Every check of `wesflow verify` passed (against the registry, for a recorded run). */
  verified: boolean;
  /**
   * The step names were checked against the workflow's definition: false when the bundle is not
   * verified, and for a workflow that is not built in (its names are committed nowhere).
   */
  namesVerified: boolean;
  checks: Record<BundleCheck, CheckStatus>;
  /** Why verify finds the bundle invalid: its findings, as `wesflow verify` gives them. Empty when verified. */
  problems: string[];
  /** verify's notes (what it could not check). */
  notes: string[];
  steps: AuditStep[];
  calls: AuditCall[];
  /** A state run's move as verify checked it (its writes recomputed from the scenario's own changes). */
  state?: VerifiedState;
}

/** A recorded run: the on-chain entry, and its trail when this machine has the run's bundle. */
export interface AuditEntry {
  workflowId: string;
  templateId: string;
  /**
   * The template's name: the deployment's name for the templateId, else the name the bundle gives
   * when it is that id's (templateId = keccak256 of the name); undefined when neither knows it.
   */
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
   * WorkflowRecordedWithState event (0x-hex). `domain` is the domain's name, when the deployment or the
   * run's bundle names the domain whose id it is.
   */
  state?: AuditState;
  /**
   * Present when the bundle is at hand: verify's verdict on it against the registry. `matchesChain`
   * is `verified` (kept for readers of earlier versions, where it meant only the trace root).
   */
  trail?: Trail & { matchesChain: boolean };
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
  /**
   * The network's name and deployment record: what the runs' bundles are verified against, where
   * template and domain names come from, and the registry's deployment block, before which no
   * query starts (0 when the record does not know it).
   */
  network: string;
  deployment: DeploymentRecord;
  runsDir: string;
  workflowId?: bigint;
  templateId?: string;
  submitter?: string;
  fromBlock?: number;
  toBlock?: number;
  /** Not an indexed event field: filtered here, after the query. */
  outcome?: "COMMITTED" | "ROLLED_BACK";
}

/**
 * Reads the registry's recorded runs (queryEntries) and joins each with its bundle, verified against the
 * registry by `verifyBundle` (the checks of `wesflow verify --network`), and with a state run's move
 * (from its WorkflowRecordedWithState event, read with the run).
 */
export async function readAuditTrail(query: AuditQuery): Promise<AuditEntry[]> {
  const { registry, provider, runsDir, outcome, network, deployment, ...filter } = query;
  const view: RegistryView = { network, chainId: deployment.chainId, registry, deployment };
  const { deploymentBlock } = deployment;
  const runs = (await queryEntries({ registry, deploymentBlock, ...filter })).filter(
    (run) => outcome === undefined || run.outcome === outcome,
  );
  const advances = new Map<bigint, StateAdvance>();
  for (const advance of await stateAdvancesOf(registry, runs)) advances.set(advance.workflowId, advance);
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
    const domain = advance && domainNameOf(advance.domainId, deployment, bundle);
    const state: AuditState | undefined = advance && {
      domainId: advance.domainId,
      ...(domain !== undefined ? { domain } : {}),
      rootBefore: toHex32(advance.rootBefore),
      rootAfter: toHex32(advance.rootAfter),
    };
    const trail = bundle ? await trailOfBundle(bundle, { registry: view }) : undefined;
    entries.push({
      workflowId: workflowIdHex,
      templateId: run.templateId,
      template: templateNameOf(run.templateId, deployment, bundle),
      outcome: run.outcome,
      traceRoot: toHex32(run.traceRoot),
      providerSetRoot: toHex32(run.providerSetRoot),
      submitter: run.submitter,
      blockNumber: run.blockNumber,
      txHash: run.txHash,
      gasUsed: receipt ? Number(receipt.gasUsed) : 0,
      ...(state ? { state } : {}),
      ...(trail ? { trail: { ...trail, matchesChain: trail.verified } } : {}),
      ...(bundleProblem ? { bundleProblem } : {}),
    });
  }
  return entries;
}

/**
 * A templateId's name: the deployment's (which registered it), else the bundle's. Either counts only
 * when the id is that name's (templateIdOf), so a stale deployment file or an edited bundle cannot
 * name a template that is not the one recorded.
 */
function templateNameOf(
  templateId: string,
  deployment: DeploymentRecord,
  bundle: RunBundle | undefined,
): string | undefined {
  const isIt = (name: string) => templateIdOf(name).toLowerCase() === templateId.toLowerCase();
  const deployed = Object.keys(deployment.templates).find(
    (name) => deployment.templates[name].templateId.toLowerCase() === templateId.toLowerCase() && isIt(name),
  );
  if (deployed !== undefined) return deployed;
  if (!bundle) return undefined;
  let named: string;
  try {
    named = bundle.definition
      ? definitionTemplateName(bundle.template, BigInt(bundle.definition.hash))
      : bundle.template;
  } catch {
    return undefined; // a definition hash that is no number names nothing
  }
  return named.length > 0 && isIt(named) ? named : undefined;
}

/** A state domain's name from the deployment, else from the bundle; each only when the id is that name's. */
function domainNameOf(
  domainId: string,
  deployment: DeploymentRecord,
  bundle: RunBundle | undefined,
): string | undefined {
  const isIt = (name: string) => stateDomainId(name).toLowerCase() === domainId.toLowerCase();
  const deployed = Object.keys(deployment.stateDomains ?? {}).find(isIt);
  if (deployed !== undefined) return deployed;
  const named = bundle?.state?.domain;
  return named !== undefined && isIt(named) ? named : undefined;
}

/**
 * The steps and calls of a run's bundle, checked by `verifyBundle` (offline unless `target` names a
 * registry): a call is shown as attested only when its signature verifies now, under the key the
 * bundle's provider set registers for that system; a bundle that fails a check is shown as such,
 * with verify's findings. Throws as verify does (VerificationKeyError: the project is not set up).
 */
export async function trailOfBundle(bundle: RunBundle, target: ChainTarget = {}): Promise<Trail> {
  return trailOf(await verifyBundle({ bundle, ...target }));
}

/** A trail from verify's result. */
export function trailOf(result: BundleVerification): Trail {
  return {
    scenario: result.scenario,
    outcome: result.outcome,
    verified: result.valid,
    namesVerified: result.valid && result.checks.labels === "passed",
    checks: result.checks,
    problems: result.failures,
    notes: result.notes,
    steps: result.steps,
    calls: result.calls,
    ...(result.state ? { state: result.state } : {}),
  };
}
