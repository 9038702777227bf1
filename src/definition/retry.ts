import { z } from "zod";

const MAX_MS = 3_600_000;

/**
 * How often and how patiently a step (or compensation) is attempted: data, checked once. A retry
 * happens only after a retryable error (see `isRetryable` in the executor); the wait before retry n
 * (n = 1, 2, ...) is min(initialBackoffMs × backoffMultiplier^(n-1), maxBackoffMs).
 */
export const RetryPolicySchema = z
  .object({
    /** Attempts in all, including the first; 1 = no retry. */
    maxAttempts: z.number().int().min(1).max(1_000),
    initialBackoffMs: z.number().int().min(0).max(MAX_MS),
    backoffMultiplier: z.number().min(1).max(100),
    maxBackoffMs: z.number().int().min(0).max(MAX_MS),
    /** Timeout of each external call attempt. */
    callTimeoutMs: z.number().int().min(1).max(MAX_MS),
  })
  .strict();
export type RetryPolicy = z.infer<typeof RetryPolicySchema>;

export const PartialRetryPolicySchema = RetryPolicySchema.partial();

export const DEFAULT_RETRY_POLICY: RetryPolicy = Object.freeze({
  maxAttempts: 3,
  initialBackoffMs: 200,
  backoffMultiplier: 2,
  maxBackoffMs: 10_000,
  callTimeoutMs: 10_000,
});

export class RetryPolicyError extends Error {
  override name = "RetryPolicyError";
}

/** The policy made of DEFAULT_RETRY_POLICY overridden by each layer in turn (later layers win). */
export function resolveRetryPolicy(...layers: (Partial<RetryPolicy> | undefined)[]): RetryPolicy {
  const merged: Record<string, unknown> = { ...DEFAULT_RETRY_POLICY };
  for (const layer of layers) {
    for (const [key, value] of Object.entries(layer ?? {})) if (value !== undefined) merged[key] = value;
  }
  const parsed = RetryPolicySchema.safeParse(merged);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new RetryPolicyError(`invalid retry policy: ${issue.path.join(".") || "policy"}: ${issue.message}`);
  }
  return parsed.data;
}

/** The wait before retry `retry` (1 = the first retry). */
export function backoffMs(policy: RetryPolicy, retry: number): number {
  const raw = policy.initialBackoffMs * policy.backoffMultiplier ** Math.max(0, retry - 1);
  return Math.round(Math.min(raw, policy.maxBackoffMs));
}
