import pLimit from "p-limit";
import type { ChainContext } from "./network";

/**
 * Where the runs of one process wait for the two resources they share:
 *  - the prover: at most `provingConcurrency` Groth16 proofs at once (default 1: snarkjs already
 *    spreads one proof over every core, and each proof in flight holds its witness and the zkey's
 *    working memory), the other runs wait in FIFO order with their traces already on disk;
 *  - the submitter: one transaction at a time per signer, so nonces never collide.
 * Execution (the external calls) is not queued: it is I/O-bound and journaled per run.
 */
export interface RunQueues {
  readonly provingConcurrency: number;
  prove<T>(work: () => Promise<T>): Promise<T>;
  submit<T>(work: () => Promise<T>): Promise<T>;
  /** Proofs in progress and runs waiting for the prover. */
  provingLoad(): { active: number; waiting: number };
}

export function createRunQueues(options: { provingConcurrency?: number } = {}): RunQueues {
  const provingConcurrency = options.provingConcurrency ?? 1;
  if (!Number.isInteger(provingConcurrency) || provingConcurrency < 1) {
    throw new RangeError(`proving concurrency must be a positive integer, got ${provingConcurrency}`);
  }
  const proving = pLimit(provingConcurrency);
  const submitting = pLimit(1);
  return {
    provingConcurrency,
    prove: (work) => proving(work),
    submit: (work) => submitting(work),
    provingLoad: () => ({ active: proving.activeCount, waiting: proving.pendingCount }),
  };
}

/** Each chain connection's queues: runs that share a signer share its submission queue. */
const chainQueues = new WeakMap<ChainContext, RunQueues>();

export function queuesOf(chain: ChainContext): RunQueues {
  let queues = chainQueues.get(chain);
  if (!queues) {
    queues = createRunQueues();
    chainQueues.set(chain, queues);
  }
  return queues;
}

/** Runs `work` once per key while it is in flight: concurrent callers share its promise. */
export function onceInFlight<T>(
  inFlight: Map<string, Promise<T>>,
  key: string,
  work: () => Promise<T>,
): Promise<T> {
  const running = inFlight.get(key);
  if (running) return running;
  const started = work().finally(() => inFlight.delete(key));
  inFlight.set(key, started);
  return started;
}
