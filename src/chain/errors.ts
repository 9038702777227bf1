/** The base of the chain client's errors. `retryable` says whether the same call may succeed later. */
export abstract class ChainError extends Error {
  abstract readonly retryable: boolean;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** An argument of a chain client call is malformed (not an address, not bytes32 hex, ...). */
export class ChainArgumentError extends ChainError {
  override name = "ChainArgumentError";
  readonly retryable = false;

  constructor(
    readonly argument: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`invalid ${argument}: ${reason}`, options);
  }
}

/** Where a registry revert happened: on chain, the transaction that was mined with status 0. */
export interface RevertErrorOptions {
  cause?: unknown;
  /**
   * The mined transaction that reverted (status 0), when the revert happened on chain rather than in
   * the estimate or a call: its error was decoded by re-running it as a call at its block.
   */
  txHash?: string;
}

/** The registry reverted with one of its errors (or an inherited OpenZeppelin error). */
export class RegistryRevertError extends ChainError {
  override name = "RegistryRevertError";
  /** Only a paused registry may accept the same call later. */
  readonly retryable: boolean;
  /** The mined transaction that reverted; undefined when nothing was mined (the estimate reverted). */
  readonly txHash?: string;

  constructor(
    readonly operation: string,
    readonly errorName: string,
    readonly args: readonly unknown[],
    options?: RevertErrorOptions,
  ) {
    super(
      `${operation} reverted${options?.txHash === undefined ? "" : ` in transaction ${options.txHash}`}: ` +
        `${errorName}(${args.map(formatArgument).join(", ")})`,
      options,
    );
    this.retryable = errorName === "EnforcedPause";
    if (options?.txHash !== undefined) this.txHash = options.txHash;
  }
}

/** The registry rejected a proven run. */
export class RegistrySubmitError extends RegistryRevertError {
  override name = "RegistrySubmitError";

  constructor(
    readonly templateId: string,
    readonly workflowId: bigint,
    errorName: string,
    args: readonly unknown[],
    options?: RevertErrorOptions,
  ) {
    super(`submit of workflow ${workflowId} (template ${templateId})`, errorName, args, options);
  }
}

/**
 * The registry refused one run of a batch (Registry__BatchRunRejected): `errorName` and `args` are the
 * error its single submission would raise (e.g. Registry__AlreadyRecorded, Registry__StaleStateRoot,
 * Registry__InvalidProof), `runIndex` its place in the batch. The whole batch was reverted.
 */
export class RegistryBatchRunError extends RegistrySubmitError {
  override name = "RegistryBatchRunError";

  constructor(
    templateId: string,
    workflowId: bigint,
    readonly runIndex: number,
    errorName: string,
    args: readonly unknown[],
    options?: RevertErrorOptions,
  ) {
    super(templateId, workflowId, errorName, args, options);
    this.message = `batch run ${runIndex}: ${this.message}`;
  }
}

/** A proof or its public signals are not in the shape snarkjs produces or the registry takes. */
export class ProofFormatError extends ChainError {
  override name = "ProofFormatError";
  readonly retryable = false;

  constructor(
    readonly issues: readonly string[],
    options?: { cause?: unknown },
  ) {
    super(`malformed proof: ${issues.join("; ")}`, options);
  }
}

/**
 * A generated verifier's artifact is missing or not a workflow verifier: a Groth16 verifier of five
 * public signals (IWorkflowVerifier) or of six (IWorkflowDefinitionVerifier, user-defined workflows).
 */
export class VerifierArtifactError extends ChainError {
  override name = "VerifierArtifactError";
  readonly retryable = false;

  constructor(
    readonly contractName: string,
    readonly artifactPath: string,
    readonly reason: "missing" | "malformed" | "not-a-workflow-verifier" | "not-a-batch-verifier",
    options?: { cause?: unknown },
  ) {
    super(
      `verifier artifact ${artifactPath} of ${contractName} is ${reason}` +
        (reason === "missing" ? " (generate the verifier and run `npx hardhat compile`)" : ""),
      options,
    );
  }
}

/**
 * A proof of a user-defined workflow (six public signals) does not fit the template it is submitted
 * for: the template binds another definition hash, or none (a template of its own circuit). The
 * registry would check the proof against the hash it has registered, so it could only reject it.
 */
export class DefinitionMismatchError extends ChainError {
  override name = "DefinitionMismatchError";
  readonly retryable = false;

  constructor(
    readonly templateId: string,
    readonly workflowId: bigint,
    /** The proof's sixth public signal. */
    readonly provenDefinitionHash: bigint,
    /** The template's definition hash; undefined when the template does not bind a definition. */
    readonly registeredDefinitionHash: bigint | undefined,
    options?: { cause?: unknown },
  ) {
    super(
      `submit of workflow ${workflowId} (template ${templateId}): the proof is of definition ` +
        `${provenDefinitionHash}, but ` +
        (registeredDefinitionHash === undefined
          ? "the template does not bind a definition (its verifier takes five public signals)"
          : `the template binds definition ${registeredDefinitionHash}`),
      options,
    );
  }
}

/** No usable deployment record: the file is missing, unreadable or does not match the schema. */
export class DeploymentNotFoundError extends ChainError {
  override name = "DeploymentNotFoundError";
  readonly retryable = false;

  constructor(
    readonly path: string,
    readonly reason: "missing" | "unreadable" | "malformed",
    readonly issues: readonly string[] = [],
    options?: { cause?: unknown },
  ) {
    super(
      `no usable deployment record at ${path}: ${reason}` +
        (issues.length > 0 ? ` (${issues.join("; ")})` : ""),
      options,
    );
  }
}

/** A transaction was sent but no receipt came back. */
export class TransactionNotMinedError extends ChainError {
  override name = "TransactionNotMinedError";
  readonly retryable = true;

  constructor(
    readonly operation: string,
    readonly txHash: string,
    options?: { cause?: unknown },
  ) {
    super(`${operation}: transaction ${txHash} has no receipt`, options);
  }
}

/**
 * A transaction was sent but had no receipt with the confirmations asked for when the wait timed
 * out. It may still be mined: look it up by its hash before sending the same call again.
 */
export class TransactionTimeoutError extends ChainError {
  override name = "TransactionTimeoutError";
  readonly retryable = true;

  constructor(
    readonly operation: string,
    readonly txHash: string,
    readonly confirmations: number,
    readonly timeoutMs: number,
    options?: { cause?: unknown },
  ) {
    super(
      `${operation}: transaction ${txHash} has no receipt with ${confirmations} confirmation` +
        `${confirmations === 1 ? "" : "s"} after ${timeoutMs} ms; it may still be mined ` +
        `(look it up by its hash before sending it again)`,
      options,
    );
  }
}

/** Formats a zod error's issues as `path: message` lines for the errors above. */
export function formatZodIssues(error: {
  issues: readonly { path: readonly PropertyKey[]; message: string }[];
}): string[] {
  return error.issues.map((issue) => `${issue.path.map(String).join(".") || "(root)"}: ${issue.message}`);
}

function formatArgument(argument: unknown): string {
  return typeof argument === "bigint" ? argument.toString() : String(argument);
}
