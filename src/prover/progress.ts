/** Receives the stages of long work (setup, proving) so a CLI can show them; the library never prints. */
export interface ProgressReporter {
  /** A stage begins; `estimate` says roughly how long it takes, for the person waiting. */
  start(stage: string, estimate?: string): void;
  /** The current stage ended. */
  done(detail?: string): void;
  /** A one-line note (e.g. "up to date"). */
  note(message: string): void;
}

export const silentProgress: ProgressReporter = { start() {}, done() {}, note() {} };
