/**
 * What a step's or compensation's own code throws to say whether trying again may help. Any other
 * thrown Error is final (no retry) unless it carries `retryable: true`; errors of the host interface
 * say it themselves (a timeout or a 5xx is retryable, a refusal or a bad signature is not).
 */
export class StepError extends Error {
  override name = "StepError";
  readonly retryable: boolean;

  constructor(message: string, options: { retryable?: boolean; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.retryable = options.retryable ?? false;
  }

  static retryable(message: string, cause?: unknown): StepError {
    return new StepError(message, { retryable: true, cause });
  }

  static final(message: string, cause?: unknown): StepError {
    return new StepError(message, { retryable: false, cause });
  }
}
