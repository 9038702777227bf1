import type { AnyOperationSpec, StatusOperationSpec } from "../host";
import type { Logger } from "../project";
import type { SystemName } from "../trace";
import type { OperationHandler } from "./types";

/**
 * One external system (src/systems/<name>/): its operations (zod-typed requests and responses with
 * their field encodings), and the handlers of its simulated server, which runs on the shared
 * signing server (src/systems/server.ts: idempotency keys, durable ledger, signed answers, the status
 * query that settles a call without a usable answer, the fault kinds of FaultKind). A real system
 * replaces the simulated one at the same endpoint (signing itself, or behind the notary proxy), and
 * answers its status query as src/host/status.ts describes.
 */
export interface SystemModule {
  name: SystemName;
  /**
   * The system's code in trace records, attestations and provider sets (what the circuits' constant
   * arrays carry). Codes are only added: changing one changes every trace root and needs new circuits.
   */
  code: number;
  /** Every operation the system serves (forward ones, compensations and its status query). */
  operations: readonly AnyOperationSpec[];
  /**
   * Its status query (one of `operations`): settles a call of any of its other operations that got
   * no usable answer; each of them names it as its `settle.statusQuery`. The shared server answers
   * it from the system's ledger: no handler.
   */
  status: StatusOperationSpec;
  /** The operation a workflow's forward step calls (what `--fail <system>:<kind>` targets). */
  forward: string;
  /** The simulated server's business logic, by operation name (every operation but `status`). */
  handlers(context?: SystemContext): Record<string, OperationHandler>;
  /**
   * A system that is not simulated (the notary, which runs as its own process): where it answers, if
   * configured; startSystems starts no server for it and gives runs this endpoint.
   */
  endpoint?(): string | undefined;
}

/** Where a system runs: what a module that keeps data of its own (the SQL gateway's database) needs to find it. */
export interface SystemContext {
  /** The data directory (keys, runs, the lab's database, ...). */
  dataDir: string;
  /** Where the systems keep their effects; undefined: in memory. */
  storeDir?: string;
  /**
   * The database the SQL gateway reads (and a scenario's simulated actors write), as WESFLOW_SQL_URL
   * takes it (postgres://… or file:PATH); default: WESFLOW_SQL_URL, else `<dataDir>/lab/lab.sqlite`.
   */
  sqlUrl?: string;
  logger?: Logger;
}
