/**
 * The chain client: deploys the registry and generated verifiers, registers templates (of their own
 * circuit, or bound to a user-defined workflow's definition) and provider sets, submits proven runs and
 * reads recorded runs back from the registry's events.
 */
export {
  splitPublicSignals,
  toPublicSignalValues,
  toSolidityProof,
  toStatePublicSignalValues,
} from "./calldata";
export { deploymentRecordSchema, readDeployment, writeDeployment, type DeploymentRecord } from "./deployment";
export {
  ChainArgumentError,
  ChainError,
  DefinitionMismatchError,
  DeploymentNotFoundError,
  ProofFormatError,
  RegistryBatchRunError,
  RegistryRevertError,
  RegistrySubmitError,
  TransactionNotMinedError,
  TransactionTimeoutError,
  VerifierArtifactError,
  type RevertErrorOptions,
} from "./errors";
export {
  definitionTemplateName,
  deployBatchVerifier,
  deployRegistry,
  deploymentBlockOf,
  deployVerifier,
  estimateBatchVerifierGas,
  estimateVerifierGas,
  queryEntries,
  queryStateAdvances,
  stateAdvancesOf,
  readStateRoot,
  readTemplate,
  readTemplateBatchVerifier,
  recordBatch,
  registerDefinitionTemplate,
  registerProviderSet,
  registerStateDomain,
  registerStateTemplate,
  registerTemplate,
  setTemplateBatchVerifier,
  submitBatch,
  submitRun,
  submitRunWithState,
  templateIdOf,
  transactionWaitOf,
  verifyRegisteredProof,
  waitForTransaction,
} from "./registry";
export * from "./types";
