import pLimit from "p-limit";
import type { ChainContext } from "./network";

/** How the runs of a session that share a template are submitted together (`wesflow run --batch N`). */
export interface BatchSettings {
  /** The most runs one batch transaction records: 2 to 32 (the registry's MAX_BATCH_SIZE). */
  size: number;
  /**
   * How long a proven run waits for others to join its batch, in milliseconds, at most; a batch is sent
   * earlier when it is full or when no other run is being proven or waiting for the prover.
   */
  windowMs: number;
}

/** The default of `--batch-window`: long enough for a few proofs to join a batch. */
export const DEFAULT_BATCH_WINDOW_MS = 30_000;

/** What became of one item of a batch: its value, or the error that concerns it alone. */
export type BatchItemOutcome<T> = { value: T; error?: undefined } | { value?: undefined; error: Error };

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
  /** Set when the session submits runs in batches. */
  readonly batch?: BatchSettings;
  /**
   * Submits `item` with the others of the same `key` (a template) that are waiting, in one work of
   * the submission queue: `send` gets the batch's items in order and says what became of each. The
   * batch is sent when it holds `batch.size` items, when the prover is idle (no more proofs are
   * coming soon), or `batch.windowMs` after its first item. Without batch settings, `item` is sent alone.
   */
  submitBatched<I, T>(key: string, item: I, send: (items: I[]) => Promise<BatchItemOutcome<T>[]>): Promise<T>;
}

export function createRunQueues(
  options: { provingConcurrency?: number; batch?: BatchSettings } = {},
): RunQueues {
  const provingConcurrency = options.provingConcurrency ?? 1;
  if (!Number.isInteger(provingConcurrency) || provingConcurrency < 1) {
    throw new RangeError(`proving concurrency must be a positive integer, got ${provingConcurrency}`);
  }
  const { batch } = options;
  if (batch !== undefined) {
    if (!Number.isInteger(batch.size) || batch.size < 2 || batch.size > 32) {
      throw new RangeError(`a batch holds 2 to 32 runs, got ${batch.size}`);
    }
    if (!Number.isInteger(batch.windowMs) || batch.windowMs < 1) {
      throw new RangeError(`a batch window is a positive number of milliseconds, got ${batch.windowMs}`);
    }
  }
  const proving = pLimit(provingConcurrency);
  const submitting = pLimit(1);
  const provingLoad = () => ({ active: proving.activeCount, waiting: proving.pendingCount });
  const batcher = new SubmissionBatcher(
    batch,
    (work) => submitting(work),
    () => {
      const { active, waiting } = provingLoad();
      return active + waiting === 0;
    },
  );
  return {
    provingConcurrency,
    prove: (work) => proving(work),
    submit: (work) => submitting(work),
    provingLoad,
    ...(batch ? { batch } : {}),
    submitBatched: (key, item, send) => batcher.add(key, item, send),
  };
}

interface Waiting<I, T> {
  item: I;
  resolve(value: T): void;
  reject(error: unknown): void;
}

interface Group<I, T> {
  waiting: Waiting<I, T>[];
  send: (items: I[]) => Promise<BatchItemOutcome<T>[]>;
  timer?: ReturnType<typeof setTimeout>;
}

/** Collects items per key into batches (see RunQueues.submitBatched). */
class SubmissionBatcher {
  private readonly groups = new Map<string, Group<unknown, unknown>>();

  constructor(
    private readonly settings: BatchSettings | undefined,
    private readonly submitting: <T>(work: () => Promise<T>) => Promise<T>,
    private readonly proverIdle: () => boolean,
  ) {}

  add<I, T>(key: string, item: I, send: (items: I[]) => Promise<BatchItemOutcome<T>[]>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let group = this.groups.get(key) as Group<I, T> | undefined;
      if (!group) {
        group = { waiting: [], send };
        this.groups.set(key, group as Group<unknown, unknown>);
      }
      group.waiting.push({ item, resolve, reject });
      const size = this.settings?.size ?? 1;
      if (group.waiting.length >= size || this.proverIdle()) this.flush(key);
      else group.timer ??= setTimeout(() => this.flush(key), this.settings!.windowMs);
    });
  }

  private flush(key: string): void {
    const group = this.groups.get(key);
    if (!group) return;
    this.groups.delete(key);
    if (group.timer) clearTimeout(group.timer);
    const { waiting, send } = group;
    void this.submitting(async () => {
      try {
        const outcomes = await send(waiting.map((w) => w.item));
        waiting.forEach((w, index) => {
          const outcome = outcomes[index];
          if (outcome === undefined) w.reject(new Error(`the batch gave no outcome for its item ${index}`));
          else if (outcome.error) w.reject(outcome.error);
          else w.resolve(outcome.value);
        });
      } catch (error) {
        for (const w of waiting) w.reject(error);
      }
    });
  }
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
