import path from "node:path";
import type { Signer } from "ethers";
import type { HardhatRuntimeEnvironment } from "hardhat/types";
import { readDeployment, transactionWaitOf, type DeploymentRecord } from "../chain";
import { WorkflowRegistry__factory, type WorkflowRegistry } from "../../typechain-types";
import type { ProviderSet } from "../trace";
import { deployWesflow } from "./deployment";
import { IS_PACKAGED, PACKAGED_HARDHAT_CONFIG } from "../project";

export const IN_PROCESS_NETWORK = "hardhat";

export class NetworkError extends Error {
  override name = "NetworkError";
}

export interface ChainContext {
  network: string;
  chainId: number;
  signer: Signer;
  submitter: string;
  registry: WorkflowRegistry;
  deployment: DeploymentRecord;
  /** Where the deployment record lives (not for the in-process network, whose chain dies with it). */
  deploymentPath?: string;
  /**
   * The confirmations a submission's receipt must have before the run counts as recorded (and its
   * state transition is applied to the journal); 1 = the block that includes it.
   */
  confirmations: number;
  /** How long a submission's receipt (with those confirmations) is waited for, in milliseconds. */
  txTimeoutMs: number;
}

export function deploymentFile(dataDir: string, network: string): string {
  return path.join(dataDir, "deployments", `${network}.json`);
}

/**
 * Loads Hardhat for a network of hardhat.config.ts, or in the installed package of its compiled
 * hardhat.runtime.config (once per process: Hardhat fixes its network at load).
 */
export function loadHardhat(network: string): HardhatRuntimeEnvironment {
  const current = process.env.HARDHAT_NETWORK;
  if (current && current !== network) {
    throw new NetworkError(`this process already uses network ${current}; start another for ${network}`);
  }
  process.env.HARDHAT_NETWORK = network;
  // The installed package has no hardhat.config in the user's folder: it loads its own compiled one.
  if (IS_PACKAGED) process.env.HARDHAT_CONFIG ??= PACKAGED_HARDHAT_CONFIG;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require("hardhat") as HardhatRuntimeEnvironment;
  } catch (cause) {
    throw new NetworkError(`cannot load network "${network}": ${(cause as Error).message.split("\n")[0]}`, {
      cause,
    });
  }
}

/**
 * Connects to a network and its wesflow registry. On the in-process Hardhat network the chain is
 * new in every process, so the registry is deployed here; elsewhere it is read from the deployment
 * file that scripts/deploy.ts wrote, and checked against the chain and the provider set.
 * `confirmations` (default 1, an integer ≥ 1) and `txTimeoutMs` (default 120 s) say how the
 * submissions' receipts are waited for: a ChainArgumentError when malformed. The in-process network
 * mines a block only for a transaction, so it refuses more than 1 confirmation (they would never come).
 */
export async function openChain(args: {
  network: string;
  dataDir: string;
  providers: ProviderSet;
  /**
   * The in-process network's registry registers these state domains with these roots (the
   * journal's state: a new chain starts from it). Elsewhere the deployment has them already.
   */
  stateRoots?: Readonly<Record<string, bigint>>;
  /** Confirmations a submission's receipt must have before the run counts as recorded (default 1). */
  confirmations?: number;
  /** How long a submission's receipt is waited for, in milliseconds (default 120 000). */
  txTimeoutMs?: number;
}): Promise<ChainContext> {
  const { network, dataDir, providers } = args;
  const wait = transactionWaitOf({ confirmations: args.confirmations, timeoutMs: args.txTimeoutMs });
  if (network === IN_PROCESS_NETWORK && wait.confirmations > 1) {
    throw new NetworkError(
      `the in-process network mines a block only when a transaction is sent: a receipt would never get ${wait.confirmations} confirmations ` +
        "(use 1, or a network whose node keeps mining blocks)",
    );
  }
  const hre = loadHardhat(network);
  const { signer, chainId } = await reach(hre, network);
  let deployment: DeploymentRecord;
  if (network === IN_PROCESS_NETWORK) {
    deployment = await deployWesflow({ signer, providers, stateRoots: args.stateRoots });
  } else {
    deployment = await checkedDeployment({ hre, network, dataDir, chainId });
    if (deployment.providerSetRoot !== providers.root) {
      throw new NetworkError(
        `the provider keys in ${dataDir}/keys are not the set deployed on ${network}: redeploy with the same data directory`,
      );
    }
  }
  return {
    network,
    chainId,
    signer,
    submitter: await signer.getAddress(),
    registry: WorkflowRegistry__factory.connect(deployment.registry, signer),
    deployment,
    deploymentPath: network === IN_PROCESS_NETWORK ? undefined : deploymentFile(dataDir, network),
    confirmations: wait.confirmations,
    txTimeoutMs: wait.timeoutMs,
  };
}

async function reach(
  hre: HardhatRuntimeEnvironment,
  network: string,
): Promise<{ signer: Signer; chainId: number }> {
  try {
    const [signer] = await hre.ethers.getSigners();
    const chainId = Number((await hre.ethers.provider.getNetwork()).chainId);
    if (!signer) throw new Error("the node has no account to submit from");
    return { signer, chainId };
  } catch (cause) {
    const url = "url" in hre.network.config ? ` at ${hre.network.config.url}` : "";
    throw new NetworkError(
      `cannot reach network ${network}${url}: ${(cause as Error).message.split("\n")[0]}`,
      { cause },
    );
  }
}

async function checkedDeployment(args: {
  hre: HardhatRuntimeEnvironment;
  network: string;
  dataDir: string;
  chainId: number;
}): Promise<DeploymentRecord> {
  const { hre, network, dataDir, chainId } = args;
  const deployment = await readDeployment(deploymentFile(dataDir, network));
  if (deployment.chainId !== chainId) {
    throw new NetworkError(
      `the deployment file for ${network} is for chain ${deployment.chainId}, but the node is chain ${chainId}: redeploy`,
    );
  }
  if ((await hre.ethers.provider.getCode(deployment.registry)) === "0x") {
    throw new NetworkError(
      `no registry at ${deployment.registry} on ${network} (node restarted?): run npx hardhat run scripts/deploy.ts --network ${network}`,
    );
  }
  return deployment;
}

/** A read-only view of a network's deployed registry (for `wesflow audit`). */
export async function openRegistryReader(args: { network: string; dataDir: string }): Promise<{
  registry: WorkflowRegistry;
  provider: HardhatRuntimeEnvironment["ethers"]["provider"];
  deployment: DeploymentRecord;
}> {
  const { network, dataDir } = args;
  if (network === IN_PROCESS_NETWORK) {
    throw new NetworkError(
      "the in-process Hardhat network lives only inside one command (wesflow demo and wesflow run print their audit trail); for a chain that persists, start `npx hardhat node` and use --network localhost",
    );
  }
  const hre = loadHardhat(network);
  const { chainId } = await reach(hre, network);
  const deployment = await checkedDeployment({ hre, network, dataDir, chainId });
  return {
    registry: WorkflowRegistry__factory.connect(deployment.registry, hre.ethers.provider),
    provider: hre.ethers.provider,
    deployment,
  };
}
