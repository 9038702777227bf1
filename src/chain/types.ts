import type { Signer } from "ethers";

import type { WorkflowRegistry } from "../../typechain-types";

/** A run's outcome as the circuit encodes it in its run claim (see `encodeRunClaim`). */
export type Outcome = "COMMITTED" | "ROLLED_BACK";

export const OUTCOME_CODES: Readonly<Record<Outcome, bigint>> = { COMMITTED: 1n, ROLLED_BACK: 2n };

/** The order of BN254's scalar field: public signals and provider fields are below it. */
export const SNARK_SCALAR_FIELD =
  21888242871839275222246405745257275088548364400416034343698204186575808495617n;

/** The order of BN254's base field: proof point coordinates are below it. */
export const BN254_BASE_FIELD =
  21888242871839275222246405745257275088696311157297823662689037894645226208583n;

/**
 * Public signals in circuit order, as the registry and every template's verifier take them: the run's
 * claim (the circuit's output: submitter + outcome * 2^160, see `encodeRunClaim`), then its public
 * inputs workflowId, traceRoot, providerSetRoot.
 */
export const PUBLIC_SIGNAL_NAMES = ["runClaim", "workflowId", "traceRoot", "providerSetRoot"] as const;

/**
 * The public signals of the generic circuit for user-defined workflows: the four above, then the
 * definition's hash. Its verifier (IWorkflowDefinitionVerifier) takes all five; the registry takes the
 * first four and appends the hash registered for the template.
 */
export const DEFINITION_PUBLIC_SIGNAL_NAMES = [...PUBLIC_SIGNAL_NAMES, "definitionHash"] as const;

/**
 * The public signals of a template that moves a state domain (e.g. the order's stock): the four
 * above, then the domain's root before and after the run. Its verifier (IWorkflowStateVerifier) and
 * the registry's `submitWithState` take all six.
 */
export const STATE_PUBLIC_SIGNAL_NAMES = [
  ...PUBLIC_SIGNAL_NAMES,
  "stateRootBefore",
  "stateRootAfter",
] as const;

/** Where each public signal is in a proof's list (the definition hash, when there is one, at 4). */
export const SIGNAL_INDEX = {
  runClaim: 0,
  workflowId: 1,
  traceRoot: 2,
  providerSetRoot: 3,
  stateRootBefore: 4,
  stateRootAfter: 5,
} as const;

/** A run claim's low bits are the submitter's address, the bits above them the outcome. */
export const RUN_CLAIM_SUBMITTER_BITS = 160n;
const SUBMITTER_MASK = (1n << RUN_CLAIM_SUBMITTER_BITS) - 1n;

/**
 * A run's claim, the one public signal that carries its submitter and its outcome:
 * submitter + outcome * 2^160 (circuits/lib/trace.circom's RunClaim, which range-checks both).
 */
export function encodeRunClaim(submitter: bigint, outcome: bigint): bigint {
  if (submitter < 0n || submitter > SUBMITTER_MASK)
    throw new RangeError(`submitter ${submitter} is not 160 bits`);
  if (outcome !== 1n && outcome !== 2n) throw new RangeError(`outcome ${outcome} is neither 1 nor 2`);
  return submitter + (outcome << RUN_CLAIM_SUBMITTER_BITS);
}

/**
 * The submitter and outcome of a run claim, as the registry reads them (claim mod 2^160, claim >> 160);
 * the outcome is whatever the bits say (the registry refuses any but 1 and 2).
 */
export function decodeRunClaim(claim: bigint | string): { submitter: bigint; outcome: bigint } {
  const value = BigInt(claim);
  return { submitter: value & SUBMITTER_MASK, outcome: value >> RUN_CLAIM_SUBMITTER_BITS };
}

/** The submitter a proof's public signals bind (its run claim's low 160 bits). */
export function submitterOfSignals(publicSignals: readonly (string | bigint)[]): bigint {
  return decodeRunClaim(publicSignals[SIGNAL_INDEX.runClaim]).submitter;
}

/** A Groth16 proof as snarkjs produces it (`groth16.fullProve`, `proof.json`): decimal strings. */
export interface Groth16ProofJson {
  readonly pi_a: readonly string[];
  readonly pi_b: readonly (readonly string[])[];
  readonly pi_c: readonly string[];
  readonly protocol?: string;
  readonly curve?: string;
}

/** A Groth16 proof in the verifier's calldata order (pi_b's coordinate pairs swapped). */
export interface SolidityProof {
  a: [bigint, bigint];
  b: [[bigint, bigint], [bigint, bigint]];
  c: [bigint, bigint];
}

/** The four public signals: runClaim, workflowId, traceRoot, providerSetRoot. */
export type PublicSignalValues = [bigint, bigint, bigint, bigint];

/** The generic circuit's five public signals: the four above, then definitionHash. */
export type DefinitionPublicSignalValues = [...PublicSignalValues, bigint];

/** The six public signals of a state template: the four above, then stateRootBefore and stateRootAfter. */
export type StatePublicSignalValues = [...PublicSignalValues, bigint, bigint];

/**
 * Public signals as the registry takes them (always four), and the definition hash when the proof
 * has a fifth signal (a proof of the generic circuit for user-defined workflows).
 */
export interface SubmittedPublicSignals {
  signals: PublicSignalValues;
  definitionHash?: bigint;
}

/** One attested external system as the registry records it. */
export interface ProviderRecord {
  systemCode: bigint | number;
  pubKeyX: bigint;
  pubKeyY: bigint;
}

/** A template as the registry has it. */
export interface RegisteredTemplate {
  /** 0x-prefixed bytes32 hex. */
  templateId: string;
  /** Checksummed address of the template's verifier. */
  verifier: string;
  active: boolean;
  /** 0x-prefixed bytes32 hex; for a definition-bound template, its definition hash. */
  metadataHash: string;
  /**
   * The definition hash a definition-bound template appends as its proofs' fifth public signal;
   * undefined for a template of its own circuit (four public signals).
   */
  definitionHash: bigint | undefined;
  /** For a state template (registerStateTemplate): the bytes32 id of the state domain its runs move. */
  stateDomain?: string;
}

/** How long a transaction is waited for by default: its receipt, with the confirmations asked for. */
export const DEFAULT_TX_TIMEOUT_MS = 120_000;

/** The confirmations a receipt needs by default: the block that includes the transaction. */
export const DEFAULT_CONFIRMATIONS = 1;

/** How a sent transaction is waited for. */
export interface TransactionWaitOptions {
  /**
   * The blocks, counting the one that includes the transaction, its receipt must have before the
   * call returns: an integer ≥ 1, {@link DEFAULT_CONFIRMATIONS} by default.
   */
  confirmations?: number;
  /**
   * How long to wait for that, in milliseconds (an integer ≥ 1, {@link DEFAULT_TX_TIMEOUT_MS} by
   * default); then a TransactionTimeoutError is thrown (the transaction may still be mined).
   */
  timeoutMs?: number;
}

/** A mined transaction. */
export interface ConfirmedTransaction {
  txHash: string;
  blockNumber: number;
  gasUsed: number;
}

/** A run recorded by the registry, read from its WorkflowRecorded (or, for a state run, WorkflowRecordedWithState) event. */
export interface RecordedRun {
  workflowId: bigint;
  /** 0x-prefixed bytes32 hex. */
  templateId: string;
  outcome: Outcome;
  traceRoot: bigint;
  providerSetRoot: bigint;
  /** Checksummed address. */
  submitter: string;
  blockNumber: number;
  txHash: string;
  /** A run of a state template: its domain's roots before and after it, from its event. */
  stateMove?: { rootBefore: bigint; rootAfter: bigint };
}

export interface DeployRegistryOptions {
  signer: Signer;
  /** Receives the admin and registrar roles; the signer's address by default. */
  admin?: string;
}

export interface DeployVerifierOptions {
  signer: Signer;
  /** The generated verifier's contract name, e.g. `OrderStateWorkflow_4_3_10Verifier`. */
  contractName: string;
  /** Hardhat's artifacts folder; the project's `artifacts/` by default. */
  artifactsDir?: string;
}

export interface RegisterTemplateOptions {
  registry: WorkflowRegistry;
  templateId: string;
  verifier: string;
  /** A hash of the template's off-chain metadata; zero by default. */
  metadataHash?: string;
}

export interface RegisterDefinitionTemplateOptions {
  registry: WorkflowRegistry;
  templateId: string;
  /** The generic circuit's verifier (six public signals), shared by every definition-bound template. */
  verifier: string;
  /** The Poseidon hash of the workflow definition: the registry requires 0 < hash < SNARK_SCALAR_FIELD. */
  definitionHash: bigint;
}

export interface ReadTemplateOptions {
  registry: WorkflowRegistry;
  templateId: string;
}

export interface RegisterProviderSetOptions {
  registry: WorkflowRegistry;
  root: bigint;
  providers: readonly ProviderRecord[];
}

export interface SubmitRunOptions extends TransactionWaitOptions {
  /** The registry, connected to the signer bound in the proof's submitter signal. */
  registry: WorkflowRegistry;
  templateId: string;
  proof: Groth16ProofJson;
  /**
   * The proof's public signals as snarkjs gives them: five, or six for a proof of the generic
   * circuit (definitionHash last). Only the first five are sent: the registry appends the hash
   * registered for the template, and submitRun checks beforehand that it is the proof's.
   */
  publicSignals: readonly (string | bigint)[];
  /**
   * The transaction's gas limit; estimated by default. With one, the transaction is sent without an
   * estimate (which would run the registry's checks first): a revert happens on chain.
   */
  gasLimit?: bigint;
}

export interface VerifyRegisteredProofOptions {
  registry: WorkflowRegistry;
  templateId: string;
  proof: Groth16ProofJson;
  /** Five public signals, or six for a proof of a user-defined workflow (as for SubmitRunOptions). */
  publicSignals: readonly (string | bigint)[];
}

export interface RegisterStateDomainOptions {
  registry: WorkflowRegistry;
  /** bytes32 hex: keccak256 of the domain's name (`stateDomainId`). */
  domainId: string;
  /** The domain's root to start from: 0 < root < SNARK_SCALAR_FIELD. */
  root: bigint;
}

export interface RegisterStateTemplateOptions {
  registry: WorkflowRegistry;
  templateId: string;
  /** The template's verifier (seven public signals: the five, then stateRootBefore, stateRootAfter). */
  verifier: string;
  metadataHash?: string;
  /** The state domain (registered before) whose root the template's runs move. */
  domainId: string;
}

export interface SubmitRunWithStateOptions extends TransactionWaitOptions {
  /** The registry, connected to the signer bound in the proof's submitter signal. */
  registry: WorkflowRegistry;
  templateId: string;
  proof: Groth16ProofJson;
  /** The seven public signals as snarkjs gives them (decimal strings) or as bigints. */
  publicSignals: readonly (string | bigint)[];
  /** The transaction's gas limit; estimated by default (as for SubmitRunOptions). */
  gasLimit?: bigint;
}

/** The most runs one batch submission records (the registry's MAX_BATCH_SIZE). */
export const MAX_BATCH_SIZE = 32;

/** One run of a batch: its proof and public signals, as for a single submission. */
export interface BatchRun {
  proof: Groth16ProofJson;
  /**
   * Five public signals, six for a proof of the generic circuit (its definition hash, which the
   * template binds, last), or seven for a state template's (stateRootBefore, stateRootAfter last).
   */
  publicSignals: readonly (string | bigint)[];
}

export interface SubmitBatchOptions extends TransactionWaitOptions {
  /** The registry, connected to the signer bound in every run's submitter signal. */
  registry: WorkflowRegistry;
  /** The template every run belongs to. */
  templateId: string;
  /**
   * 1 to {@link MAX_BATCH_SIZE} runs of one kind, in the order they are recorded; a state template's
   * runs chain their roots (each run's stateRootBefore is the previous run's stateRootAfter, the
   * first the domain's current root).
   */
  runs: readonly BatchRun[];
  /** The transaction's gas limit; estimated by default (as for SubmitRunOptions). */
  gasLimit?: bigint;
}

/** What became of one run handed to {@link recordBatch}: recorded in `tx`, or refused with `error`. */
export type BatchRunOutcome =
  | { index: number; workflowId: bigint; tx: ConfirmedTransaction; error?: undefined }
  | { index: number; workflowId: bigint; tx?: undefined; error: Error };

export interface DeployBatchVerifierOptions {
  signer: Signer;
  /** The generated batch verifier's contract name, e.g. `OrderStateWorkflow_4_3_10BatchVerifier`. */
  contractName: string;
  /** Hardhat's artifacts folder; the project's `artifacts/` by default. */
  artifactsDir?: string;
}

export interface SetTemplateBatchVerifierOptions {
  registry: WorkflowRegistry;
  templateId: string;
  /** The template's batch verifier, generated from the verification key of its verifier. */
  batchVerifier: string;
}

/** A state domain's root moved by a recorded run, read from the registry's WorkflowRecordedWithState event. */
export interface StateAdvance {
  /** bytes32 hex. */
  domainId: string;
  workflowId: bigint;
  rootBefore: bigint;
  rootAfter: bigint;
  blockNumber: number;
  txHash: string;
}

/** The block range of a query of the registry's events. */
export interface EventRangeOptions {
  /**
   * The block the registry was deployed in (DeploymentRecord.deploymentBlock): it has no older
   * events, so a query never starts before it, whatever `fromBlock` says. 0 when unknown.
   */
  deploymentBlock?: number;
  /** The first block to read; the deployment block by default. */
  fromBlock?: number;
  /** The last block to read; the latest by default. */
  toBlock?: number;
}

export interface QueryEntriesOptions extends EventRangeOptions {
  registry: WorkflowRegistry;
  workflowId?: bigint;
  templateId?: string;
  submitter?: string;
}

export interface QueryStateAdvancesOptions extends EventRangeOptions {
  registry: WorkflowRegistry;
  /** bytes32 hex. */
  domainId?: string;
  workflowId?: bigint;
}
