import { readFile } from "node:fs/promises";
import path from "node:path";

import {
  ContractFactory,
  Interface,
  ZeroAddress,
  ZeroHash,
  getAddress,
  id,
  isAddress,
  isError,
  isHexString,
} from "ethers";
import type {
  ContractTransactionReceipt,
  ContractTransactionResponse,
  Provider,
  TransactionReceipt,
} from "ethers";
import { z } from "zod";
import { ARTIFACTS_DIR } from "../project";

import {
  IWorkflowBatchVerifier__factory,
  IWorkflowDefinitionBatchVerifier__factory,
  IWorkflowDefinitionVerifier__factory,
  IWorkflowStateBatchVerifier__factory,
  IWorkflowStateVerifier__factory,
  IWorkflowVerifier__factory,
  WorkflowRegistry__factory,
  type WorkflowRegistry,
} from "../../typechain-types";
import type {
  WorkflowRecordedEvent,
  WorkflowRecordedWithStateEvent,
} from "../../typechain-types/contracts/WorkflowRegistry";
import { splitPublicSignals, toSolidityProof, toStatePublicSignalValues } from "./calldata";
import {
  ChainArgumentError,
  DefinitionMismatchError,
  RegistryBatchRunError,
  RegistryRevertError,
  RegistrySubmitError,
  TransactionNotMinedError,
  TransactionTimeoutError,
  VerifierArtifactError,
  type RevertErrorOptions,
} from "./errors";
import {
  DEFAULT_CONFIRMATIONS,
  DEFAULT_TX_TIMEOUT_MS,
  MAX_BATCH_SIZE,
  OUTCOME_CODES,
  SIGNAL_INDEX,
  STATE_PUBLIC_SIGNAL_NAMES,
  type BatchRun,
  type BatchRunOutcome,
  type ConfirmedTransaction,
  type DefinitionPublicSignalValues,
  type DeployBatchVerifierOptions,
  type DeployRegistryOptions,
  type DeployVerifierOptions,
  type EventRangeOptions,
  type Outcome,
  type QueryEntriesOptions,
  type QueryStateAdvancesOptions,
  type ReadTemplateOptions,
  type RecordedRun,
  type RegisterDefinitionTemplateOptions,
  type RegisteredTemplate,
  type RegisterProviderSetOptions,
  type RegisterStateDomainOptions,
  type RegisterStateTemplateOptions,
  type RegisterTemplateOptions,
  type SetTemplateBatchVerifierOptions,
  type StateAdvance,
  type SubmitBatchOptions,
  type SubmitRunOptions,
  type SubmitRunWithStateOptions,
  type TransactionWaitOptions,
  type VerifyRegisteredProofOptions,
} from "./types";

const PROJECT_ARTIFACTS_DIR = ARTIFACTS_DIR;

/**
 * The signatures a template's verifier may expose (snarkjs' generated verifier): four public signals
 * for a template of its own circuit, five for the generic circuit of user-defined workflows.
 */
const VERIFY_PROOF_SIGNATURES = [
  "verifyProof(uint256[2],uint256[2][2],uint256[2],uint256[4])",
  "verifyProof(uint256[2],uint256[2][2],uint256[2],uint256[5])",
  "verifyProof(uint256[2],uint256[2][2],uint256[2],uint256[6])",
] as const;

/** The signatures a template's batch verifier exposes (generated at setup: src/prover/batchVerifier.ts). */
const VERIFY_BATCH_SIGNATURES = [
  "verifyBatch((uint256[2],uint256[2][2],uint256[2])[],uint256[4][])",
  "verifyBatch((uint256[2],uint256[2][2],uint256[2])[],uint256[4][],uint256)",
  "verifyBatch((uint256[2],uint256[2][2],uint256[2])[],uint256[6][])",
] as const;

const UINT256_LIMIT = 1n << 256n;

const verifierArtifactSchema = z.object({
  abi: z.array(z.unknown()),
  bytecode: z.string().regex(/^0x(?:[0-9a-fA-F]{2})+$/, "expected deployable bytecode"),
});

/** The id under which a template is registered: keccak256 of its UTF-8 name, as bytes32 hex. */
export function templateIdOf(name: string): string {
  if (name.length === 0) throw new ChainArgumentError("name", "a template name must not be empty");
  return id(name);
}

/**
 * The name under which a user-defined workflow's template is registered: the generic instance and
 * the definition's hash (so a changed definition is a new template, never a silent rebinding).
 */
export function definitionTemplateName(instance: string, definitionHash: bigint): string {
  return `${instance}/0x${definitionHash.toString(16).padStart(64, "0")}`;
}

/** Deploys a WorkflowRegistry whose admin and registrar is `admin` (the signer by default). */
export async function deployRegistry({ signer, admin }: DeployRegistryOptions): Promise<WorkflowRegistry> {
  const adminAddress = admin === undefined ? await signer.getAddress() : checkedAddress("admin", admin);
  const registry = await new WorkflowRegistry__factory(signer).deploy(adminAddress);
  await registry.waitForDeployment();
  return registry;
}

/**
 * The block a registry deployed by {@link deployRegistry} in this process was mined in (its
 * deployment transaction's receipt): the first block with its events, recorded in the deployment
 * file so that event queries start there.
 */
export async function deploymentBlockOf(registry: WorkflowRegistry): Promise<number> {
  const deployment = registry.deploymentTransaction();
  if (deployment === null) {
    throw new ChainArgumentError(
      "registry",
      "not deployed by this process: its deployment transaction is unknown",
    );
  }
  const receipt = await deployment.wait();
  if (receipt === null) throw new TransactionNotMinedError("deploy WorkflowRegistry", deployment.hash);
  return receipt.blockNumber;
}

/**
 * Checks how a transaction is to be waited for (confirmations: an integer ≥ 1; timeout: an integer
 * number of milliseconds ≥ 1) and fills in the defaults. A ChainArgumentError names what is wrong.
 */
export function transactionWaitOf(options: TransactionWaitOptions = {}): Required<TransactionWaitOptions> {
  const { confirmations = DEFAULT_CONFIRMATIONS, timeoutMs = DEFAULT_TX_TIMEOUT_MS } = options;
  if (!Number.isSafeInteger(confirmations) || confirmations < 1) {
    throw new ChainArgumentError(
      "confirmations",
      `${String(confirmations)} is not a number of blocks (an integer ≥ 1)`,
    );
  }
  if (!Number.isSafeInteger(timeoutMs) || timeoutMs < 1) {
    throw new ChainArgumentError(
      "timeoutMs",
      `${String(timeoutMs)} is not a number of milliseconds (an integer ≥ 1)`,
    );
  }
  return { confirmations, timeoutMs };
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
  const { verifierInterface, bytecode } = await readVerifierArtifact(
    contractName,
    artifactPath,
    VERIFY_PROOF_SIGNATURES,
    "not-a-workflow-verifier",
  );
  const verifier = await new ContractFactory(verifierInterface, bytecode, signer).deploy();
  await verifier.waitForDeployment();
  return verifier.getAddress();
}

/**
 * Deploys a generated batch verifier (`<artifactsDir>/contracts/verifiers/<Name>.sol/<Name>.json`,
 * written by setup beside snarkjs's verifier) from its Hardhat artifact. Returns its address.
 */
export async function deployBatchVerifier({
  signer,
  contractName,
  artifactsDir = PROJECT_ARTIFACTS_DIR,
}: DeployBatchVerifierOptions): Promise<string> {
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
  const { verifierInterface, bytecode } = await readVerifierArtifact(
    contractName,
    artifactPath,
    VERIFY_BATCH_SIGNATURES,
    "not-a-batch-verifier",
  );
  const verifier = await new ContractFactory(verifierInterface, bytecode, signer).deploy();
  await verifier.waitForDeployment();
  return verifier.getAddress();
}

/**
 * Gives a registered template its batch verifier (once; the registry refuses a second). Needs the
 * registrar role. The batch verifier must be made from the verification key of the template's verifier:
 * the registry cannot tell, it records the verifier's code hash in TemplateBatchVerifierSet.
 */
export async function setTemplateBatchVerifier({
  registry,
  templateId,
  batchVerifier,
}: SetTemplateBatchVerifierOptions): Promise<ConfirmedTransaction> {
  checkBytes32("templateId", templateId);
  const batchVerifierAddress = checkedAddress("batchVerifier", batchVerifier);
  return sendRegistryTransaction({
    registry,
    operation: `setTemplateBatchVerifier(${templateId})`,
    send: () => registry.setTemplateBatchVerifier(templateId, batchVerifierAddress),
  });
}

/** A template's batch verifier on the registry; undefined when it has none. */
export async function readTemplateBatchVerifier({
  registry,
  templateId,
}: ReadTemplateOptions): Promise<string | undefined> {
  checkBytes32("templateId", templateId);
  const address = await callRegistry(registry, `templateBatchVerifier(${templateId})`, () =>
    registry.templateBatchVerifier(templateId),
  );
  return address === ZeroAddress ? undefined : getAddress(address);
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
 * Registers a template bound to one user-defined workflow: its verifier is the generic circuit's
 * (five public signals, shared by every such template), and the registry appends `definitionHash` as
 * the fifth signal of every run submitted for it. Needs the registrar role. A hash that is 0 or not
 * below the scalar field is refused by the registry (Registry__InvalidDefinitionHash).
 */
export async function registerDefinitionTemplate({
  registry,
  templateId,
  verifier,
  definitionHash,
}: RegisterDefinitionTemplateOptions): Promise<ConfirmedTransaction> {
  checkBytes32("templateId", templateId);
  const verifierAddress = checkedAddress("verifier", verifier);
  if (typeof definitionHash !== "bigint" || definitionHash < 0n || definitionHash >= UINT256_LIMIT) {
    throw new ChainArgumentError("definitionHash", `${String(definitionHash)} is not a uint256 bigint`);
  }
  return sendRegistryTransaction({
    registry,
    operation: `registerDefinitionTemplate(${templateId})`,
    send: () => registry.registerDefinitionTemplate(templateId, verifierAddress, definitionHash),
  });
}

/** Reads a registered template; an unknown one is a RegistryRevertError (Registry__UnknownTemplate). */
export async function readTemplate({
  registry,
  templateId,
}: ReadTemplateOptions): Promise<RegisteredTemplate> {
  checkBytes32("templateId", templateId);
  return fetchTemplate(registry, templateId);
}

/**
 * The call `submit` makes to a template's registered verifier for this proof: the first four public
 * signals, then, for a definition-bound template, its registered definition hash; a state template's
 * six signals as they are.
 */
async function registeredVerifierCall({
  registry,
  templateId,
  proof,
  publicSignals,
}: VerifyRegisteredProofOptions) {
  const { a, b, c } = toSolidityProof(proof);
  const template = await readTemplate({ registry, templateId });
  if (template.stateDomain !== undefined) {
    const verifier = IWorkflowStateVerifier__factory.connect(template.verifier, registry.runner);
    const signals = toStatePublicSignalValues(publicSignals);
    return {
      verify: () => verifier.verifyProof(a, b, c, signals),
      estimateGas: () => verifier.verifyProof.estimateGas(a, b, c, signals),
    };
  }
  const { signals } = splitPublicSignals(publicSignals);
  if (template.definitionHash === undefined) {
    const verifier = IWorkflowVerifier__factory.connect(template.verifier, registry.runner);
    return {
      verify: () => verifier.verifyProof(a, b, c, signals),
      estimateGas: () => verifier.verifyProof.estimateGas(a, b, c, signals),
    };
  }
  const verifier = IWorkflowDefinitionVerifier__factory.connect(template.verifier, registry.runner);
  const withDefinition: DefinitionPublicSignalValues = [...signals, template.definitionHash];
  return {
    verify: () => verifier.verifyProof(a, b, c, withDefinition),
    estimateGas: () => verifier.verifyProof.estimateGas(a, b, c, withDefinition),
  };
}

/**
 * Asks the verifier the registry has registered for a template whether it accepts a proof, exactly
 * as `submit` would (a view call, no transaction). The registry's other checks (replay, submitter,
 * provider set, state root, ...) are not made. A proof the verifier cannot even take is refused.
 */
export async function verifyRegisteredProof(options: VerifyRegisteredProofOptions): Promise<boolean> {
  const call = await registeredVerifierCall(options);
  try {
    return await call.verify();
  } catch (error) {
    // A generated verifier answers false rather than reverting: a revert means the proof cannot even be
    // taken (or the registered verifier is not of the template's kind). Other failures are rethrown.
    if (isRevert(error)) return false;
    throw error;
  }
}

/**
 * The gas a transaction calling only the template's registered verifier with this proof would use
 * (21k base and calldata included): what a recorded run costs beyond it is the registry's own work.
 */
export async function estimateVerifierGas(options: VerifyRegisteredProofOptions): Promise<number> {
  const call = await registeredVerifierCall(options);
  return Number(await call.estimateGas());
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
 *
 * The public signals are four, or five for a proof of a user-defined workflow (definitionHash last).
 * Only the first four are sent: the registry appends the hash registered for the template. For a
 * five-signal proof, the template is read first and a DefinitionMismatchError is thrown, before any
 * transaction, unless the template binds exactly the proof's definition hash.
 */
export async function submitRun({
  registry,
  templateId,
  proof,
  publicSignals,
  gasLimit,
  ...waitOptions
}: SubmitRunOptions): Promise<ConfirmedTransaction> {
  checkBytes32("templateId", templateId);
  const wait = transactionWaitOf(waitOptions);
  const overrides = gasOverrides(gasLimit);
  const { a, b, c } = toSolidityProof(proof);
  const { signals, definitionHash } = splitPublicSignals(publicSignals);
  const workflowId = signals[SIGNAL_INDEX.workflowId];
  const toRevertError: ToRevertError = (errorName, args, options) =>
    new RegistrySubmitError(templateId, workflowId, errorName, args, options);
  if (definitionHash !== undefined) {
    const template = await fetchTemplate(registry, templateId, toRevertError);
    if (template.definitionHash !== definitionHash) {
      throw new DefinitionMismatchError(templateId, workflowId, definitionHash, template.definitionHash);
    }
  }
  return sendRegistryTransaction({
    registry,
    operation: `submit(${workflowId})`,
    send: () => registry.submit(templateId, a, b, c, signals, overrides),
    toRevertError,
    wait,
  });
}

/**
 * Registers a state domain (by id, `stateDomainId(name)`) and the root it starts from. Needs the
 * registrar role; a domain registered before is refused (Registry__StateDomainExists).
 */
export async function registerStateDomain({
  registry,
  domainId,
  root,
}: RegisterStateDomainOptions): Promise<ConfirmedTransaction> {
  checkBytes32("domainId", domainId);
  if (typeof root !== "bigint" || root < 0n || root >= UINT256_LIMIT) {
    throw new ChainArgumentError("root", `${String(root)} is not a uint256 bigint`);
  }
  return sendRegistryTransaction({
    registry,
    operation: `registerStateDomain(${domainId})`,
    send: () => registry.registerStateDomain(domainId, root),
  });
}

/**
 * Registers a template whose runs move a state domain: its verifier takes six public signals and its
 * runs are submitted with {@link submitRunWithState}. The domain must be registered. Needs the
 * registrar role.
 */
export async function registerStateTemplate({
  registry,
  templateId,
  verifier,
  metadataHash = ZeroHash,
  domainId,
}: RegisterStateTemplateOptions): Promise<ConfirmedTransaction> {
  checkBytes32("templateId", templateId);
  checkBytes32("metadataHash", metadataHash);
  checkBytes32("domainId", domainId);
  const verifierAddress = checkedAddress("verifier", verifier);
  return sendRegistryTransaction({
    registry,
    operation: `registerStateTemplate(${templateId})`,
    send: () => registry.registerStateTemplate(templateId, verifierAddress, metadataHash, domainId),
  });
}

/** A state domain's current root on the registry; undefined when the domain is not registered. */
export async function readStateRoot({
  registry,
  domainId,
}: {
  registry: WorkflowRegistry;
  domainId: string;
}): Promise<bigint | undefined> {
  checkBytes32("domainId", domainId);
  try {
    return await callRegistry(registry, `currentStateRoot(${domainId})`, () =>
      registry.currentStateRoot(domainId),
    );
  } catch (error) {
    if (error instanceof RegistryRevertError && error.errorName === "Registry__UnknownStateDomain") {
      return undefined;
    }
    throw error;
  }
}

/**
 * Submits a proven run of a state template: all six public signals are sent, and the registry
 * refuses a proof whose stateRootBefore is not the domain's current root
 * (Registry__StaleStateRoot(expected, given)), then moves the domain to stateRootAfter. Rejections
 * are thrown as RegistrySubmitErrors, also when the root moved between the estimate and the
 * transaction's block (the transaction reverted on chain).
 */
export async function submitRunWithState({
  registry,
  templateId,
  proof,
  publicSignals,
  gasLimit,
  ...waitOptions
}: SubmitRunWithStateOptions): Promise<ConfirmedTransaction> {
  checkBytes32("templateId", templateId);
  const wait = transactionWaitOf(waitOptions);
  const overrides = gasOverrides(gasLimit);
  const { a, b, c } = toSolidityProof(proof);
  const signals = toStatePublicSignalValues(publicSignals);
  const workflowId = signals[SIGNAL_INDEX.workflowId];
  return sendRegistryTransaction({
    registry,
    operation: `submitWithState(${workflowId})`,
    send: () => registry.submitWithState(templateId, a, b, c, signals, overrides),
    toRevertError: (errorName, args, options) =>
      new RegistrySubmitError(templateId, workflowId, errorName, args, options),
    wait,
  });
}

/** A batch's runs in the registry's calldata: the proofs, and the signals of the kind the runs share. */
async function batchCalldata(registry: WorkflowRegistry, templateId: string, runs: readonly BatchRun[]) {
  if (!Array.isArray(runs) || runs.length < 1 || runs.length > MAX_BATCH_SIZE) {
    throw new ChainArgumentError(
      "runs",
      `a batch has 1 to ${MAX_BATCH_SIZE} runs, got ${Array.isArray(runs) ? runs.length : String(runs)}`,
    );
  }
  const proofs = runs.map((run) => toSolidityProof(run.proof));
  const stateful = runs[0].publicSignals.length === STATE_PUBLIC_SIGNAL_NAMES.length;
  if (runs.some((run) => (run.publicSignals.length === STATE_PUBLIC_SIGNAL_NAMES.length) !== stateful)) {
    throw new ChainArgumentError("runs", "a batch's runs are all of a state template (six signals) or none");
  }
  if (stateful) {
    const signals = runs.map((run) => toStatePublicSignalValues(run.publicSignals));
    return {
      stateful,
      proofs,
      signals,
      workflowIds: signals.map((s) => s[SIGNAL_INDEX.workflowId]),
    } as const;
  }
  const split = runs.map((run) => splitPublicSignals(run.publicSignals));
  const hashes = new Set(split.map((s) => s.definitionHash));
  if (hashes.size !== 1) {
    throw new ChainArgumentError(
      "runs",
      "a batch's runs are proofs of one definition (the same fifth signal)",
    );
  }
  const [definitionHash] = hashes;
  const workflowIds = split.map((s) => s.signals[SIGNAL_INDEX.workflowId]);
  if (definitionHash !== undefined) {
    const template = await fetchTemplate(registry, templateId);
    if (template.definitionHash !== definitionHash) {
      throw new DefinitionMismatchError(templateId, workflowIds[0], definitionHash, template.definitionHash);
    }
  }
  return { stateful, proofs, signals: split.map((s) => s.signals), workflowIds } as const;
}

/**
 * Submits up to MAX_BATCH_SIZE proven runs of one template in one transaction (`submitBatch`, or
 * `submitBatchWithState` for a state template's runs, whose roots must chain), verified together by
 * the template's batch verifier. The registry records each run as its single submission would, or
 * none: a run it refuses is thrown as a RegistryBatchRunError naming the run (its index and workflow
 * id, and the error its single submission would raise); a refusal of the whole batch (no batch
 * verifier, paused, ...) as a RegistryRevertError.
 */
export async function submitBatch({
  registry,
  templateId,
  runs,
  gasLimit,
  ...waitOptions
}: SubmitBatchOptions): Promise<ConfirmedTransaction> {
  checkBytes32("templateId", templateId);
  const wait = transactionWaitOf(waitOptions);
  const overrides = gasOverrides(gasLimit);
  const calldata = await batchCalldata(registry, templateId, runs);
  const operation = `submitBatch(${templateId}, ${runs.length} runs)`;
  return sendRegistryTransaction({
    registry,
    operation,
    send: () =>
      calldata.stateful
        ? registry.submitBatchWithState(templateId, calldata.proofs, calldata.signals, overrides)
        : registry.submitBatch(templateId, calldata.proofs, calldata.signals, overrides),
    toRevertError: (errorName, args, options) => {
      if (errorName !== "Registry__BatchRunRejected") {
        return new RegistryRevertError(operation, errorName, args, options);
      }
      const runIndex = Number(args[0]);
      const reason = registry.interface.parseError(String(args[1]));
      return new RegistryBatchRunError(
        templateId,
        calldata.workflowIds[runIndex] ?? 0n,
        runIndex,
        reason?.name ?? "unknown error",
        reason ? reason.args.toArray() : [args[1]],
        options,
      );
    },
    wait,
  });
}

/**
 * Records runs of one template with as few transactions as it can: one batch (`submitBatch`), and
 * when the registry refuses a run of it, that run is reported and the others are sent again as a
 * batch (a state template's runs after it, whose chain it broke, are then refused too, each with
 * Registry__StaleStateRoot). A single run left, a template without a batch verifier, or a batch
 * verifier that refuses a batch whose every proof the template's verifier accepts: the runs are
 * submitted one by one. Returns what became of each run, in order; a failure that concerns every run
 * (paused registry, a transaction whose fate is unknown, ...) is reported for each of them.
 */
export async function recordBatch(options: SubmitBatchOptions): Promise<BatchRunOutcome[]> {
  const { runs } = options;
  const workflowIds = runs.map((run) => splitWorkflowId(run.publicSignals));
  const outcomes: BatchRunOutcome[] = [];
  const settle = (index: number, result: { tx: ConfirmedTransaction } | { error: Error }) => {
    outcomes[index] = { index, workflowId: workflowIds[index], ...result } as BatchRunOutcome;
  };
  let pending = runs.map((_, index) => index);
  let batched = runs.length > 1;
  while (pending.length > 0) {
    if (!batched || pending.length === 1) {
      for (const index of pending) {
        try {
          settle(index, { tx: await submitOne({ ...options, run: runs[index] }) });
        } catch (error) {
          settle(index, { error: error as Error });
        }
      }
      break;
    }
    try {
      const tx = await submitBatch({ ...options, runs: pending.map((index) => runs[index]) });
      for (const index of pending) settle(index, { tx });
      break;
    } catch (error) {
      if (error instanceof RegistryBatchRunError && pending[error.runIndex] !== undefined) {
        const refused = pending[error.runIndex];
        settle(refused, { error });
        pending = pending.filter((index) => index !== refused);
        continue;
      }
      if (
        error instanceof RegistryRevertError &&
        ["Registry__NoBatchVerifier", "Registry__BatchVerifierRejected"].includes(error.errorName)
      ) {
        batched = false;
        continue;
      }
      for (const index of pending) settle(index, { error: error as Error });
      break;
    }
  }
  return outcomes;
}

/** A batch's run submitted on its own (submitRun, or submitRunWithState for six signals). */
function submitOne({ run, runs: _runs, ...options }: SubmitBatchOptions & { run: BatchRun }) {
  const single = { ...options, proof: run.proof, publicSignals: run.publicSignals };
  return run.publicSignals.length === STATE_PUBLIC_SIGNAL_NAMES.length
    ? submitRunWithState(single)
    : submitRun(single);
}

function splitWorkflowId(publicSignals: readonly (string | bigint)[]): bigint {
  const workflowId = publicSignals[SIGNAL_INDEX.workflowId];
  return typeof workflowId === "bigint" ? workflowId : BigInt(String(workflowId));
}

/**
 * The gas a transaction calling only the template's batch verifier with these runs would use (21k base
 * and calldata included): the verification share of a batch submission.
 */
export async function estimateBatchVerifierGas({
  registry,
  templateId,
  runs,
}: Pick<SubmitBatchOptions, "registry" | "templateId" | "runs">): Promise<number> {
  const calldata = await batchCalldata(registry, templateId, runs);
  const batchVerifier = await readTemplateBatchVerifier({ registry, templateId });
  if (batchVerifier === undefined) {
    throw new ChainArgumentError("templateId", `template ${templateId} has no batch verifier`);
  }
  if (calldata.stateful) {
    const verifier = IWorkflowStateBatchVerifier__factory.connect(batchVerifier, registry.runner);
    return Number(await verifier.verifyBatch.estimateGas(calldata.proofs, calldata.signals));
  }
  const template = await fetchTemplate(registry, templateId);
  if (template.definitionHash !== undefined) {
    const verifier = IWorkflowDefinitionBatchVerifier__factory.connect(batchVerifier, registry.runner);
    return Number(
      await verifier.verifyBatch.estimateGas(calldata.proofs, calldata.signals, template.definitionHash),
    );
  }
  const verifier = IWorkflowBatchVerifier__factory.connect(batchVerifier, registry.runner);
  return Number(await verifier.verifyBatch.estimateGas(calldata.proofs, calldata.signals));
}

/**
 * Waits until a transaction sent before (e.g. by a process that crashed after sending it) has a
 * receipt with the confirmations asked for. Undefined when the node does not know the transaction;
 * a TransactionTimeoutError when the confirmations do not come in time.
 */
export async function waitForTransaction({
  provider,
  txHash,
  operation = `wait for ${txHash}`,
  ...waitOptions
}: TransactionWaitOptions & {
  provider: Provider;
  txHash: string;
  /** Names the wait in errors. */
  operation?: string;
}): Promise<ConfirmedTransaction | undefined> {
  if (!isHexString(txHash, 32)) throw new ChainArgumentError("txHash", `${txHash} is not a transaction hash`);
  const wait = transactionWaitOf(waitOptions);
  const response = await provider.getTransaction(txHash);
  if (response === null) return undefined;
  let receipt: TransactionReceipt | null;
  try {
    receipt = await response.wait(wait.confirmations, wait.timeoutMs);
  } catch (error) {
    if (isError(error, "TIMEOUT")) {
      throw new TransactionTimeoutError(operation, txHash, wait.confirmations, wait.timeoutMs, {
        cause: error,
      });
    }
    throw error;
  }
  if (receipt === null) throw new TransactionNotMinedError(operation, txHash);
  return { txHash: receipt.hash, blockNumber: receipt.blockNumber, gasUsed: Number(receipt.gasUsed) };
}

/**
 * Reads the state roots recorded runs moved, from the registry's WorkflowRecordedWithState events
 * (from the registry's deployment block on), as {@link stateAdvancesOf} gives them.
 */
export async function queryStateAdvances({
  registry,
  domainId,
  workflowId,
  ...range
}: QueryStateAdvancesOptions): Promise<StateAdvance[]> {
  if (domainId !== undefined) checkBytes32("domainId", domainId);
  const blocks = eventRange(range);
  if (blocks === undefined) return [];
  const filter = registry.filters.WorkflowRecordedWithState(workflowId);
  const logs = await registry.queryFilter(filter, blocks.fromBlock, blocks.toBlock);
  const advances = await stateAdvancesOf(registry, logs.map(recordedRunOfLog));
  return domainId === undefined
    ? advances
    : advances.filter((advance) => advance.domainId.toLowerCase() === domainId.toLowerCase());
}

/**
 * The state moves of recorded runs (those with a `stateMove`, read by {@link queryEntries}), in their
 * order. The registry's event names the run's template, not its domain: a template's domain is fixed
 * at its registration, read once per template (templateStateDomain).
 */
export async function stateAdvancesOf(
  registry: WorkflowRegistry,
  runs: readonly RecordedRun[],
): Promise<StateAdvance[]> {
  const domains = new Map<string, Promise<string>>();
  const domainOf = (templateId: string) => {
    let domain = domains.get(templateId);
    if (domain === undefined) {
      domain = callRegistry(registry, `templateStateDomain(${templateId})`, () =>
        registry.templateStateDomain(templateId),
      );
      domains.set(templateId, domain);
    }
    return domain;
  };
  const moved = runs.filter((run) => run.stateMove !== undefined);
  return Promise.all(
    moved.map(async (run) => ({
      domainId: await domainOf(run.templateId),
      workflowId: run.workflowId,
      rootBefore: run.stateMove!.rootBefore,
      rootAfter: run.stateMove!.rootAfter,
      blockNumber: run.blockNumber,
      txHash: run.txHash,
    })),
  );
}

/**
 * Reads recorded runs from the registry's WorkflowRecorded events (runs without state) and
 * WorkflowRecordedWithState events (runs that moved a state domain: with their `stateMove`), from the
 * registry's deployment block on, filtered by the indexed fields, in the order the chain recorded them.
 */
export async function queryEntries({
  registry,
  workflowId,
  templateId,
  submitter,
  ...range
}: QueryEntriesOptions): Promise<RecordedRun[]> {
  if (templateId !== undefined) checkBytes32("templateId", templateId);
  const submitterAddress = submitter === undefined ? undefined : checkedAddress("submitter", submitter);
  const blocks = eventRange(range);
  if (blocks === undefined) return [];
  const [plain, withState] = await Promise.all([
    registry.queryFilter(
      registry.filters.WorkflowRecorded(workflowId, templateId, submitterAddress),
      blocks.fromBlock,
      blocks.toBlock,
    ),
    registry.queryFilter(
      registry.filters.WorkflowRecordedWithState(workflowId, templateId, submitterAddress),
      blocks.fromBlock,
      blocks.toBlock,
    ),
  ]);
  return [...plain, ...withState]
    .sort((a, b) => a.blockNumber - b.blockNumber || a.index - b.index)
    .map(recordedRunOfLog);
}

/** A run's record from its WorkflowRecorded or WorkflowRecordedWithState event. */
function recordedRunOfLog(log: WorkflowRecordedEvent.Log | WorkflowRecordedWithStateEvent.Log): RecordedRun {
  const { args } = log;
  const withState = log.eventName === "WorkflowRecordedWithState";
  const moved = args as WorkflowRecordedWithStateEvent.OutputObject;
  return {
    workflowId: args.workflowId,
    templateId: args.templateId,
    outcome: outcomeOf(args.outcome),
    traceRoot: args.traceRoot,
    providerSetRoot: args.providerSetRoot,
    submitter: getAddress(args.submitter),
    blockNumber: log.blockNumber,
    txHash: log.transactionHash,
    ...(withState
      ? { stateMove: { rootBefore: moved.stateRootBefore, rootAfter: moved.stateRootAfter } }
      : {}),
  };
}

type ToRevertError = (
  errorName: string,
  args: readonly unknown[],
  options: RevertErrorOptions & { cause: unknown },
) => RegistryRevertError;

interface RegistryTransaction {
  registry: WorkflowRegistry;
  /** Names the call in errors. */
  operation: string;
  send: () => Promise<ContractTransactionResponse>;
  toRevertError?: ToRevertError;
  /** How the receipt is waited for; the defaults of {@link transactionWaitOf} when absent. */
  wait?: Required<TransactionWaitOptions>;
}

/** The gas limit override of a transaction: none (estimated) unless a positive integer is given. */
function gasOverrides(gasLimit: bigint | undefined): { gasLimit?: bigint } {
  if (gasLimit === undefined) return {};
  if (typeof gasLimit !== "bigint" || gasLimit < 1n) {
    throw new ChainArgumentError("gasLimit", `${String(gasLimit)} is not a gas amount (a bigint ≥ 1)`);
  }
  return { gasLimit };
}

/**
 * A transaction that was mined with status 0: its receipt carries no revert data, so it was re-run
 * as a call at its block (`replay` is what that call threw, or undefined if it did not revert).
 */
class MinedRevert extends Error {
  constructor(
    readonly txHash: string,
    readonly replay: unknown,
    /** The error the wait threw (ethers' CALL_EXCEPTION with the receipt). */
    readonly failure: unknown,
  ) {
    super(`transaction ${txHash} reverted`, { cause: failure });
  }
}

/**
 * Sends a registry transaction, waits for its receipt (with the confirmations asked for, for at most
 * the timeout) and turns the registry's reverts into errors: those of the estimate, and those of a
 * transaction mined with status 0 (the state moved between the estimate and its block), which is
 * re-run as a call at its block to read its error.
 */
async function sendRegistryTransaction({
  registry,
  operation,
  send,
  toRevertError,
  wait = transactionWaitOf(),
}: RegistryTransaction): Promise<ConfirmedTransaction> {
  return callRegistry(
    registry,
    operation,
    async () => {
      const response = await send();
      let receipt: ContractTransactionReceipt | null;
      try {
        receipt = await response.wait(wait.confirmations, wait.timeoutMs);
      } catch (error) {
        if (isError(error, "TIMEOUT")) {
          throw new TransactionTimeoutError(operation, response.hash, wait.confirmations, wait.timeoutMs, {
            cause: error,
          });
        }
        if (isError(error, "CALL_EXCEPTION") && error.receipt) {
          throw new MinedRevert(response.hash, await replayAt(response, error.receipt.blockNumber), error);
        }
        throw error;
      }
      if (receipt === null) throw new TransactionNotMinedError(operation, response.hash);
      return { txHash: receipt.hash, blockNumber: receipt.blockNumber, gasUsed: Number(receipt.gasUsed) };
    },
    toRevertError,
  );
}

/**
 * Re-runs a mined transaction as a call (eth_call) on the state of its block, and returns the error
 * it reverts with there: the error the transaction reverted with, unless the state changed within
 * the block after it. Undefined when the call does not revert (e.g. the transaction ran out of gas).
 */
async function replayAt(response: ContractTransactionResponse, blockNumber: number): Promise<unknown> {
  try {
    await response.provider.call({
      from: response.from,
      to: response.to,
      data: response.data,
      value: response.value,
      gasLimit: response.gasLimit,
      blockTag: blockNumber,
    });
    return undefined;
  } catch (error) {
    return error;
  }
}

/**
 * Runs a registry call and turns the registry's reverts (its custom errors, parsed with its ABI, or
 * OpenZeppelin's it inherits) into RegistryRevertErrors, or what `toRevertError` makes of them. A
 * transaction mined with status 0 is decoded from its replay; if that tells nothing, the wait's
 * error is rethrown.
 */
async function callRegistry<T>(
  registry: WorkflowRegistry,
  operation: string,
  call: () => Promise<T>,
  toRevertError: ToRevertError = (errorName, args, options) =>
    new RegistryRevertError(operation, errorName, args, options),
): Promise<T> {
  try {
    return await call();
  } catch (error) {
    const mined = error instanceof MinedRevert ? error : undefined;
    const revertData = findRevertData(mined ? mined.replay : error);
    const description = revertData === undefined ? null : registry.interface.parseError(revertData);
    if (description === null) throw mined ? mined.failure : error;
    throw toRevertError(
      description.name,
      description.args.toArray(),
      mined ? { cause: mined.failure, txHash: mined.txHash } : { cause: error },
    );
  }
}

/**
 * The blocks a query of the registry's events reads: from `fromBlock`, but never before the
 * registry's deployment block, to `toBlock` (the latest by default). Undefined when the range ends
 * before it starts (no event can be in it).
 */
function eventRange({
  deploymentBlock = 0,
  fromBlock,
  toBlock,
}: EventRangeOptions): { fromBlock: number; toBlock: number | "latest" } | undefined {
  for (const [argument, value] of Object.entries({ deploymentBlock, fromBlock, toBlock })) {
    if (value !== undefined && (!Number.isSafeInteger(value) || value < 0)) {
      throw new ChainArgumentError(argument, `${String(value)} is not a block number`);
    }
  }
  const from = Math.max(fromBlock ?? 0, deploymentBlock);
  if (toBlock !== undefined && toBlock < from) return undefined;
  return { fromBlock: from, toBlock: toBlock ?? "latest" };
}

/** Reads a template (getTemplate) into a RegisteredTemplate; the definition hash only when bound. */
async function fetchTemplate(
  registry: WorkflowRegistry,
  templateId: string,
  toRevertError?: ToRevertError,
): Promise<RegisteredTemplate> {
  const template = await callRegistry(
    registry,
    `getTemplate(${templateId})`,
    () => registry.getTemplate(templateId),
    toRevertError,
  );
  const stateDomain = await callRegistry(
    registry,
    `templateStateDomain(${templateId})`,
    () => registry.templateStateDomain(templateId),
    toRevertError,
  );
  return {
    templateId,
    verifier: getAddress(template.verifier),
    active: template.active,
    metadataHash: template.metadataHash,
    definitionHash: template.bindsDefinition ? BigInt(template.metadataHash) : undefined,
    ...(stateDomain === ZeroHash ? {} : { stateDomain }),
  };
}

/**
 * Tells a reverted call from a failure to make it: ethers' CALL_EXCEPTION over JSON-RPC; Hardhat's
 * in-process network throws its own error carrying the revert data, "0x" when there is none.
 */
function isRevert(error: unknown): boolean {
  if (isError(error, "CALL_EXCEPTION")) return true;
  const data = typeof error === "object" && error !== null ? (error as { data?: unknown }).data : undefined;
  return typeof data === "string" && isHexString(data);
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
  signatures: readonly string[],
  notAVerifier: "not-a-workflow-verifier" | "not-a-batch-verifier",
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
  if (signatures.every((signature) => verifierInterface.getFunction(signature) === null)) {
    throw new VerifierArtifactError(contractName, artifactPath, notAVerifier);
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
