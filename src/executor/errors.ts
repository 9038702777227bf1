export class WorkflowInputError extends Error {
  override name = "WorkflowInputError";
}

/** A step failed; the run did not commit. */
export class StepFailedError extends Error {
  override name = "StepFailedError";
  constructor(
    readonly workflow: string,
    readonly stepName: string,
    readonly stepIndex: number,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${workflow}: step ${stepIndex} (${stepName}) failed: ${message}`, options);
  }
}
