/** A command used wrongly or asking for something that does not exist: a one-line message. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** One line for an expected failure; the stack only when WESFLOW_DEBUG is set or the error is unexpected. */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const expected = error.name !== "Error" && error.name !== "TypeError" && error.name !== "ReferenceError";
  if (process.env.WESFLOW_DEBUG || !expected) {
    return `${error.name}: ${error.message}\n${error.stack ?? ""}`;
  }
  return error.message;
}
