import { BUNDLE_CHECKS, type BundleCheck, type CheckStatus } from "./checks";

/** Collects the problems of each group of checks. */
export class Findings {
  readonly problems = new Map<BundleCheck, string[]>(BUNDLE_CHECKS.map((c) => [c, []]));
  readonly skipped = new Set<BundleCheck>();
  readonly notes: string[] = [];

  fail(check: BundleCheck, problem: string): void {
    this.problems.get(check)!.push(problem);
  }

  /** Runs a computation; a throw (a value outside the field, a tree too small) is a problem of `check`. */
  attempt<T>(check: BundleCheck, what: string, compute: () => T): T | undefined {
    try {
      return compute();
    } catch (error) {
      this.fail(check, `${what}: ${(error as Error).message}`);
      return undefined;
    }
  }

  status(check: BundleCheck): CheckStatus {
    if (this.problems.get(check)!.length > 0) return "failed";
    return this.skipped.has(check) ? "skipped" : "passed";
  }
}

/** A decimal value of the bundle as a bigint, or undefined (and a problem of `check`) when it is none. */
export function numberOf(
  findings: Findings,
  check: BundleCheck,
  what: string,
  text: string,
): bigint | undefined {
  return findings.attempt(check, what, () => {
    if (typeof text !== "string" || !/^\d+$/.test(text)) {
      throw new TypeError(`${JSON.stringify(text)} is not a number`);
    }
    return BigInt(text);
  });
}
