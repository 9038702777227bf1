import { queryEntries, type DeploymentRecord, type RecordedRun } from "../chain";
import { toHex32 } from "../crypto";
import type { WorkflowRegistry } from "../../typechain-types";

/** The in-process Hardhat network: its chain lives only inside one process. */
const IN_PROCESS_NETWORK = "hardhat";

/**
 * A network's deployed registry, read-only: what the on-chain checks of `verify` and
 * `verify-disclosure` compare a bundle or a disclosure with. `openRegistryView` opens one from a
 * deployment file; an in-process session's `chain` (ScenarioSession) is one too.
 */
export interface RegistryView {
  network: string;
  chainId: number;
  registry: WorkflowRegistry;
  deployment: DeploymentRecord;
}

/** Where a bundle or a disclosure says its run was recorded. */
export interface RecordedAt {
  chainId: number;
  registry: string;
}

/** How to reach the chain for the on-chain checks: an open view, or a network name and data dir. */
export interface ChainTarget {
  /** A network of hardhat.config.ts whose deployment file is `<dataDir>/deployments/<network>.json`. */
  network?: string;
  dataDir?: string;
  /** An already open registry (wins over `network`). */
  registry?: RegistryView;
}

/**
 * Opens the registry the checks run against. Undefined, with the reason, when nothing is to be
 * checked on chain: no network given, or the in-process network (a new chain in every process).
 * A network that cannot be reached, or has no usable deployment file, throws (NetworkError,
 * DeploymentNotFoundError): bad input, not an invalid bundle.
 */
export async function openRegistryView(
  target: ChainTarget,
): Promise<{ view: RegistryView; skipped?: undefined } | { view?: undefined; skipped: string }> {
  if (target.registry) return { view: target.registry };
  if (target.network === undefined) return { skipped: "not checked on chain (no network given)" };
  if (target.network === IN_PROCESS_NETWORK) {
    return {
      skipped:
        "not checked on chain: the in-process Hardhat network lives only inside one command (record on npx hardhat node and use --network localhost)",
    };
  }
  if (target.dataDir === undefined)
    throw new TypeError("a network needs the data dir of its deployment file");
  // Loaded on use: it loads Hardhat for the network, which fixes the network for the process.
  const { openRegistryReader } = await import("../pipeline/network");
  const reader = await openRegistryReader({ network: target.network, dataDir: target.dataDir });
  return {
    view: {
      network: target.network,
      chainId: reader.deployment.chainId,
      registry: reader.registry,
      deployment: reader.deployment,
    },
  };
}

/** Says how `recordedAt` differs from the view's chain and registry, or undefined when they agree. */
export function otherChainProblem(
  what: string,
  recordedAt: RecordedAt,
  view: RegistryView,
): string | undefined {
  const sameChain = recordedAt.chainId === view.chainId;
  const sameRegistry = recordedAt.registry.toLowerCase() === view.deployment.registry.toLowerCase();
  if (sameChain && sameRegistry) return undefined;
  return (
    `${what} was recorded on chain ${recordedAt.chainId} by registry ${recordedAt.registry}, ` +
    `not on ${view.network} (chain ${view.chainId}, registry ${view.deployment.registry})`
  );
}

/**
 * The run's WorkflowRecorded event on the view's registry, or undefined when it is not recorded. The
 * query starts at the registry's deployment block (0 for a deployment file that does not record it).
 */
export async function recordedRunOf(
  view: RegistryView,
  workflowId: bigint,
): Promise<RecordedRun | undefined> {
  const [run] = await queryEntries({
    registry: view.registry,
    workflowId,
    deploymentBlock: view.deployment.deploymentBlock,
  });
  return run;
}

export function notRecordedProblem(view: RegistryView, workflowId: bigint): string {
  return `workflow ${toHex32(workflowId)} is not recorded on ${view.network} (registry ${view.deployment.registry})`;
}
