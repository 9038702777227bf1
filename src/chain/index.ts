/**
 * The chain client: deploys the registry and generated verifiers, registers templates and provider
 * sets, submits proven runs and reads recorded runs back from the registry's events.
 */
export { toPublicSignalValues, toSolidityProof } from "./calldata";
export { deploymentRecordSchema, readDeployment, writeDeployment, type DeploymentRecord } from "./deployment";
export {
  ChainArgumentError,
  ChainError,
  DeploymentNotFoundError,
  ProofFormatError,
  RegistryRevertError,
  RegistrySubmitError,
  TransactionNotMinedError,
  VerifierArtifactError,
} from "./errors";
export {
  deployRegistry,
  deployVerifier,
  queryEntries,
  registerProviderSet,
  registerTemplate,
  submitRun,
  templateIdOf,
} from "./registry";
export * from "./types";
