import { readFile } from "node:fs/promises";
import path from "node:path";

import { ContractFactory, Interface, ZeroHash, getAddress, id, isAddress, isHexString } from "ethers";
import type { ContractTransactionResponse } from "ethers";
import { z } from "zod";

import { WorkflowRegistry__factory, type WorkflowRegistry } from "../../typechain-types";
import { toPublicSignalValues, toSolidityProof } from "./calldata";
import {
  ChainArgumentError,
  RegistryRevertError,
  RegistrySubmitError,
  TransactionNotMinedError,
  VerifierArtifactError,
} from "./errors";
import {
  OUTCOME_CODES,
  type ConfirmedTransaction,
  type DeployRegistryOptions,
  type DeployVerifierOptions,
  type Outcome,
  type QueryEntriesOptions,
  type RecordedRun,
  type RegisterProviderSetOptions,
  type RegisterTemplateOptions,
  type SubmitRunOptions,
} from "./types";

const PROJECT_ARTIFACTS_DIR = path.resolve(__dirname, "..", "..", "artifacts");

/** The signature every template's verifier exposes (snarkjs' generated verifier, five public signals). */
const VERIFY_PROOF_SIGNATURE = "verifyProof(uint256[2],uint256[2][2],uint256[2],uint256[5])";

const verifierArtifactSchema = z.object({
  abi: z.array(z.unknown()),
  bytecode: z.string().regex(/^0x(?:[0-9a-fA-F]{2})+$/, "expected deployable bytecode"),
});

/** The id under which a template is registered: keccak256 of its UTF-8 name, as bytes32 hex. */
export function templateIdOf(name: string): string {
  if (name.length === 0) throw new ChainArgumentError("name", "a template name must not be empty");
  return id(name);
}

/** Deploys a WorkflowRegistry whose admin and registrar is `admin` (the signer by default). */
export async function deployRegistry({ signer, admin }: DeployRegistryOptions): Promise<WorkflowRegistry> {
  const adminAddress = admin === undefined ? await signer.getAddress() : checkedAddress("admin", admin);
  const registry = await new WorkflowRegistry__factory(signer).deploy(adminAddress);
  await registry.waitForDeployment();
  return registry;
}

/**
 * Deploys a generated Groth16 verifier from its Hardhat artifact
 * (`<artifactsDir>/contracts/verifiers/<Name>.sol/<Name>.json`), read at run time since generated
 * verifiers have no typechain factory in a fresh tree. Returns its address.
 */
export async function deployVerifier({
  signer,
  contractName,
  artifactsDir = PROJECT_ARTIFACTS_DIR,
}: DeployVerifierOptions): Promise<string> {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(contractName)) {
    throw new ChainArgumentError("contractName", `${JSON.stringify(contractName)} is not a contract name`);
  }
  const artifactPath = path.join(
    artifactsDir,
    "contracts",
    "verifiers",
    `${contractName}.sol`,
    `${contractName}.json`,
  );
  const { verifierInterface, bytecode } = await readVerifierArtifact(contractName, artifactPath);
  const verifier = await new ContractFactory(verifierInterface, bytecode, signer).deploy();
  await verifier.waitForDeployment();
  return verifier.getAddress();
}

/** Registers a template and its verifier. Needs the registrar role. */
export async function registerTemplate({
  registry,
  templateId,
  verifier,
  metadataHash = ZeroHash,
}: RegisterTemplateOptions): Promise<ConfirmedTransaction> {
  checkBytes32("templateId", templateId);
  checkBytes32("metadataHash", metadataHash);
  const verifierAddress = checkedAddress("verifier", verifier);
  return sendRegistryTransaction({
    registry,
    operation: `registerTemplate(${templateId})`,
    send: () => registry.registerTemplate(templateId, verifierAddress, metadataHash),
  });
}

/**
 * Registers a provider set by its Poseidon root. The registry cannot recompute the root: it records
 * the root as known and emits the providers so that anyone can. Needs the registrar role.
 */
export async function registerProviderSet({
  registry,
  root,
  providers,
}: RegisterProviderSetOptions): Promise<ConfirmedTransaction> {
  const providerStructs = providers.map(({ systemCode, pubKeyX, pubKeyY }) => ({
    systemCode: BigInt(systemCode),
    pubKeyX,
    pubKeyY,
  }));
  return sendRegistryTransaction({
    registry,
    operation: `registerProviderSet(${root})`,
    send: () => registry.registerProviderSet(root, providerStructs),
  });
}

/**
 * Submits a proven run. The registry must be connected to the signer whose address is the proof's
 * submitter signal. A rejection by the registry is thrown as a RegistrySubmitError.
 */
export async function submitRun({
  registry,
  templateId,
  proof,
  publicSignals,
}: SubmitRunOptions): Promise<ConfirmedTransaction> {
  checkBytes32("templateId", templateId);
  const { a, b, c } = toSolidityProof(proof);
  const signals = toPublicSignalValues(publicSignals);
  const workflowId = signals[0];
  return sendRegistryTransaction({
    registry,
    operation: `submit(${workflowId})`,
    send: () => registry.submit(templateId, a, b, c, signals),
    toRevertError: (errorName, args, cause) =>
      new RegistrySubmitError(templateId, workflowId, errorName, args, { cause }),
  });
}

/** Reads recorded runs from the registry's WorkflowRecorded events, filtered by the indexed fields. */
export async function queryEntries({
  registry,
  workflowId,
  templateId,
  submitter,
  fromBlock = 0,
  toBlock,
}: QueryEntriesOptions): Promise<RecordedRun[]> {
  if (templateId !== undefined) checkBytes32("templateId", templateId);
  const submitterAddress = submitter === undefined ? undefined : checkedAddress("submitter", submitter);
  const filter = registry.filters.WorkflowRecorded(workflowId, templateId, submitterAddress);
  const logs = await registry.queryFilter(filter, fromBlock, toBlock ?? "latest");
  return logs.map((log) => ({
    workflowId: log.args.workflowId,
    templateId: log.args.templateId,
    outcome: outcomeOf(log.args.outcome),
    traceRoot: log.args.traceRoot,
    providerSetRoot: log.args.providerSetRoot,
    submitter: getAddress(log.args.submitter),
    blockNumber: log.blockNumber,
    txHash: log.transactionHash,
  }));
}

interface RegistryTransaction {
  registry: WorkflowRegistry;
  /** Names the call in errors. */
  operation: string;
  send: () => Promise<ContractTransactionResponse>;
  toRevertError?: (errorName: string, args: readonly unknown[], cause: unknown) => RegistryRevertError;
}

/** Sends a registry transaction, waits for its receipt and turns the registry's reverts into errors. */
async function sendRegistryTransaction({
  registry,
  operation,
  send,
  toRevertError = (errorName, args, cause) => new RegistryRevertError(operation, errorName, args, { cause }),
}: RegistryTransaction): Promise<ConfirmedTransaction> {
  try {
    const response = await send();
    const receipt = await response.wait();
    if (receipt === null) throw new TransactionNotMinedError(operation, response.hash);
    return { txHash: receipt.hash, blockNumber: receipt.blockNumber, gasUsed: Number(receipt.gasUsed) };
  } catch (error) {
    const revertData = findRevertData(error);
    const description = revertData === undefined ? null : registry.interface.parseError(revertData);
    if (description === null) throw error;
    throw toRevertError(description.name, description.args.toArray(), error);
  }
}

/**
 * Finds the revert data in an error. Its place depends on the provider: ethers' CALL_EXCEPTION has
 * it in `data`, JSON-RPC and Hardhat errors nest it under `error`, `info` or `cause`.
 */
function findRevertData(error: unknown, depth = 0): string | undefined {
  if (depth > 5 || typeof error !== "object" || error === null) return undefined;
  const fields = error as Record<string, unknown>;
  if (typeof fields.data === "string" && isHexString(fields.data) && fields.data.length >= 10) {
    return fields.data;
  }
  for (const key of ["data", "error", "info", "cause"]) {
    const found = findRevertData(fields[key], depth + 1);
    if (found !== undefined) return found;
  }
  return undefined;
}

async function readVerifierArtifact(
  contractName: string,
  artifactPath: string,
): Promise<{ verifierInterface: Interface; bytecode: string }> {
  let text: string;
  try {
    text = await readFile(artifactPath, "utf8");
  } catch (error) {
    throw new VerifierArtifactError(contractName, artifactPath, "missing", { cause: error });
  }
  let verifierInterface: Interface;
  let bytecode: string;
  try {
    const artifact = verifierArtifactSchema.parse(JSON.parse(text));
    verifierInterface = new Interface(JSON.stringify(artifact.abi));
    bytecode = artifact.bytecode;
  } catch (error) {
    throw new VerifierArtifactError(contractName, artifactPath, "malformed", { cause: error });
  }
  if (verifierInterface.getFunction(VERIFY_PROOF_SIGNATURE) === null) {
    throw new VerifierArtifactError(contractName, artifactPath, "not-a-workflow-verifier");
  }
  return { verifierInterface, bytecode };
}

function outcomeOf(code: bigint): Outcome {
  if (code === OUTCOME_CODES.COMMITTED) return "COMMITTED";
  if (code === OUTCOME_CODES.ROLLED_BACK) return "ROLLED_BACK";
  throw new RangeError(`outcome code ${code} is neither COMMITTED nor ROLLED_BACK`);
}

function checkBytes32(argument: string, value: string): void {
  if (!isHexString(value, 32))
    throw new ChainArgumentError(argument, `${value} is not 0x-prefixed bytes32 hex`);
}

function checkedAddress(argument: string, value: string): string {
  if (!isAddress(value)) throw new ChainArgumentError(argument, `${value} is not an address`);
  return getAddress(value);
}
