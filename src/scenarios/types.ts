import type { WorkflowDefinition } from "../definition";
import type { Logger } from "../project";
import type { StateStore } from "../state";
import type { Fault, LedgerEntry } from "../systems";
import type { ProviderSet, SystemName } from "../trace";

/** The external systems a scenario talks to, running as simulated HTTP servers on loopback. */
export interface RunningSystems {
  endpoints: Partial<Record<SystemName, string>>;
  providers: ProviderSet;
  /** Tells one system to fail (see Fault); throws for a system the scenario does not run. */
  injectFault(system: SystemName, fault: Fault): void;
  /**
   * Tells one of the scenario's simulated actors that is not a system behind the host interface
   * (the supply chain's quality lab) to fail `times` times; throws for an actor or kind the scenario
   * does not have (see Scenario.actorFaults).
   */
  injectActorFault?(actor: string, kind: string, times?: number): void;
  /** The effects a system performed. */
  ledger(system: SystemName): LedgerEntry[];
  stop(): Promise<void>;
}

export interface Scenario {
  name: string;
  description: string;
  /**
   * A fresh definition for one process. With `state` (the journal's state store), the steps read
   * the committed business state (the order's stock) from it; without, a fixed demo table.
   */
  createDefinition(context?: { state?: StateStore }): WorkflowDefinition<unknown>;
  /** The demo's n-th input. */
  demoInput(n: number): unknown;
  /** The operation of each system that the scenario's forward steps call (what `--fail system:kind` targets). */
  forwardOperations: Partial<Record<SystemName, string>>;
  /** Every operation the scenario's systems serve, and which system serves it. */
  operationSystems: Record<string, SystemName>;
  /**
   * The scenario's simulated actors that are not systems (their effects reach a run through a
   * system: the lab writes the database the SQL gateway reads), with the fault kinds each takes
   * (`--fail lab:fail-inspection`; RunningSystems.injectActorFault).
   */
  actorFaults?: Readonly<Record<string, readonly string[]>>;
  startSystems(args: {
    dataDir: string;
    providerSetDepth: number;
    logger?: Logger;
    /** Where the systems keep their effects across restarts; default: in memory. */
    storeDir?: string;
    timeoutHoldMs?: number;
  }): Promise<RunningSystems>;
  /** The provider set of the scenario's systems, from their keys alone (for deployment). */
  loadProviderSet(args: { dataDir: string; providerSetDepth: number; logger?: Logger }): Promise<ProviderSet>;
  /** What `wesflow demo` shows of a built-in scenario (a workflow file has none). */
  demo?: ScenarioDemo;
}

/** A built-in scenario's demo: what a run is called, and the fault that shows a rollback. */
export interface ScenarioDemo {
  /** One run, in words: "e-commerce order". */
  runNoun: string;
  /** How many committed runs `wesflow demo` shows when `--runs` is not given (default 2). */
  runs?: number;
  /**
   * The rollback shown after the committed runs: the system (or actor, see Scenario.actorFaults)
   * told to fail, once, and why in words.
   */
  rollback:
    | { system: SystemName; fault: Fault; description: string }
    | { actor: string; kind: string; description: string };
}

export class UnknownScenarioError extends Error {
  override name = "UnknownScenarioError";
}
