/** The groups of checks `verifyBundle` runs, in order. */
export const BUNDLE_CHECKS = [
  "proof",
  "publicSignals",
  "binding",
  "traceRoot",
  "providerSet",
  "calls",
  "labels",
  "state",
  "chain",
] as const;
export type BundleCheck = (typeof BUNDLE_CHECKS)[number];
export type CheckStatus = "passed" | "failed" | "skipped";
