import path from "node:path";
import type { AnyOperationSpec } from "../host";
import type { Logger } from "../project";
import { ProviderSet, type ProviderKey, type SystemName } from "../trace";
import { erpSystem } from "./erp";
import { invoicingSystem } from "./invoicing";
import { loadOrCreateProviderKey } from "./keys";
import { logisticsSystem } from "./logistics";
import type { SystemModule } from "./module";
import { bankSystem } from "./bank";
import { venueSystem } from "./venue";
import { notarySystem } from "./notary";
import { paymentSystem } from "./payment";
import { startSimulatedSystem } from "./server";
import { sqlSystem } from "./sql";
import type { SimulatedSystem, SimulatedSystemOptions } from "./types";

/**
 * Every external system the product knows, one module per folder (src/systems/<name>/). A new
 * system is a folder and one line here; its codes are checked unique when this module loads.
 */
export const SYSTEMS: readonly SystemModule[] = [
  paymentSystem,
  logisticsSystem,
  invoicingSystem,
  erpSystem,
  sqlSystem,
  bankSystem,
  venueSystem,
  notarySystem,
];

export class SystemCatalogError extends Error {
  override name = "SystemCatalogError";
}

/**
 * Names and codes unique (systems among systems, operations among all operations); each operation's
 * system is its module's and its name is <system>.<verb> (the older invoicing names say "invoice.");
 * the forward operation is one of the module's own.
 */
export function checkSystemCatalog(systems: readonly SystemModule[]): void {
  const names = new Set<string>();
  const codes = new Map<number, string>();
  const operations = new Map<number, string>();
  const operationNames = new Set<string>();
  for (const system of systems) {
    if (names.has(system.name)) throw new SystemCatalogError(`system ${system.name} is registered twice`);
    names.add(system.name);
    if (!Number.isSafeInteger(system.code) || system.code <= 0) {
      throw new SystemCatalogError(
        `system ${system.name}'s code ${String(system.code)} is not a positive integer`,
      );
    }
    const codeHolder = codes.get(system.code);
    if (codeHolder !== undefined) {
      throw new SystemCatalogError(`system code ${system.code} is used by ${codeHolder} and ${system.name}`);
    }
    codes.set(system.code, system.name);
    for (const operation of system.operations) {
      if (operation.system !== system.name) {
        throw new SystemCatalogError(
          `operation ${operation.name} is ${operation.system}'s, not ${system.name}'s`,
        );
      }
      if (!/^[a-z][a-z0-9]*\.[a-zA-Z][a-zA-Z0-9_]*$/.test(operation.name)) {
        throw new SystemCatalogError(
          `operation ${operation.name} of ${system.name} is not named <system>.<verb> (e.g. ${system.name}.${system.forward.split(".")[1] ?? "act"})`,
        );
      }
      const holder = operations.get(operation.code);
      if (holder !== undefined) {
        throw new SystemCatalogError(
          `operation code ${operation.code} is used by ${holder} and ${operation.name}`,
        );
      }
      if (operationNames.has(operation.name)) {
        throw new SystemCatalogError(`operation ${operation.name} is registered twice`);
      }
      operations.set(operation.code, operation.name);
      operationNames.add(operation.name);
    }
    if (!system.operations.some((o) => o.name === system.forward)) {
      throw new SystemCatalogError(
        `system ${system.name}'s forward operation ${system.forward} is not one of its own`,
      );
    }
    if (!system.operations.includes(system.status)) {
      throw new SystemCatalogError(`system ${system.name}'s status query is not one of its operations`);
    }
    for (const operation of system.operations) {
      if (operation === system.status) continue;
      // Every operation says how a call of it without a usable answer is settled: the status query.
      if (operation.settle?.statusQuery !== system.status) {
        throw new SystemCatalogError(
          `operation ${operation.name} does not name ${system.status.name} as its status query`,
        );
      }
      if (!system.status.settles().includes(operation)) {
        throw new SystemCatalogError(`${system.status.name} does not settle ${operation.name}`);
      }
      if (
        operation.compensates !== undefined &&
        !system.operations.some((o) => o.name === operation.compensates && o !== operation)
      ) {
        throw new SystemCatalogError(
          `operation ${operation.name} compensates ${operation.compensates}, which is not another operation of ${system.name}`,
        );
      }
    }
  }
}
checkSystemCatalog(SYSTEMS);

export function systemModule(name: string): SystemModule {
  const found = SYSTEMS.find((s) => s.name === name);
  if (!found) {
    throw new SystemCatalogError(
      `unknown system "${name}"; registered: ${SYSTEMS.map((s) => s.name).join(", ")}`,
    );
  }
  return found;
}

/** A registered system's code: what its trace records and the circuits' constant arrays carry. */
export function systemCodeOf(name: string): number {
  return systemModule(name).code;
}

/** Every registered system's code, by name. */
export const SYSTEM_CODES: Readonly<Record<SystemName, number>> = Object.freeze(
  Object.fromEntries(SYSTEMS.map((s) => [s.name, s.code])),
);

/** Every registered operation's code, by name. */
export const OPERATION_CODES: Readonly<Record<string, number>> = Object.freeze(
  Object.fromEntries(SYSTEMS.flatMap((s) => s.operations.map((o) => [o.name, o.code]))),
);

/** The registered system of a code; RangeError for a code no system has. */
export function systemNameOf(code: number): SystemName {
  const found = SYSTEMS.find((s) => s.code === code);
  if (!found) throw new RangeError(`unknown system code ${code}`);
  return found.name;
}

/** The registered operation of a code, if any: its spec (what its fields are). */
export function operationSpecOf(code: number): AnyOperationSpec | undefined {
  return SYSTEMS.flatMap((s) => s.operations).find((spec) => spec.code === code);
}

/** The registered operation's name of a code; RangeError for a code no operation has. */
export function operationNameOf(code: number): string {
  const spec = operationSpecOf(code);
  if (!spec) throw new RangeError(`unknown operation code ${code}`);
  return spec.name;
}

/** Every registered operation and the system that serves it. */
export function operationSystems(): Record<string, SystemName> {
  return Object.fromEntries(
    SYSTEMS.flatMap((s) => s.operations.map((o: AnyOperationSpec) => [o.name, s.name])),
  );
}

/** The forward operation of each registered system (what `--fail system:kind` targets). */
export function forwardOperations(): Partial<Record<SystemName, string>> {
  return Object.fromEntries(SYSTEMS.map((s) => [s.name, s.forward]));
}

function checkProviderSetDepth(providerSetDepth: number): void {
  if (
    !Number.isInteger(providerSetDepth) ||
    1 << providerSetDepth < SYSTEMS.length ||
    providerSetDepth > 20
  ) {
    throw new RangeError(
      `providerSetDepth ${providerSetDepth} cannot hold the ${SYSTEMS.length} systems' keys`,
    );
  }
}

/**
 * The provider set: every registered system's key with its code, in catalog order. One set covers
 * every system, so every scenario (and every workflow file) runs under the one root the registry
 * holds; a scenario that calls only some systems leaves the others' keys unused.
 */
export async function loadProviderSet(args: {
  dataDir: string;
  providerSetDepth: number;
  logger?: Logger;
}): Promise<ProviderSet> {
  checkProviderSetDepth(args.providerSetDepth);
  const keys: ProviderKey[] = [];
  for (const system of SYSTEMS) {
    const key = await loadOrCreateProviderKey({
      dataDir: args.dataDir,
      system: system.name,
      logger: args.logger,
    });
    keys.push({ system: system.name, systemCode: system.code, publicKey: key.publicKey });
  }
  return new ProviderSet(args.providerSetDepth, keys);
}

export interface StartedSystems {
  endpoints: Partial<Record<SystemName, string>>;
  /** Every registered system's key (loadProviderSet): the started ones sign with theirs. */
  providers: ProviderSet;
  systems: Partial<Record<SystemName, SimulatedSystem>>;
  stop(): Promise<void>;
}

/**
 * Starts the simulated servers of `systems` on loopback, each signing with its key from
 * `${dataDir}/keys` (or WESFLOW_KEY_<SYSTEM>; generated on first use).
 */
export async function startSystems(args: {
  systems: readonly SystemName[];
  dataDir: string;
  providerSetDepth: number;
  logger?: Logger;
  /** How long a `timeout` fault holds an answer (default 60 s). */
  timeoutHoldMs?: number;
  /** A folder where each system keeps its effects (`<system>.sqlite`); default: in memory. */
  storeDir?: string;
  /** Per system, what the simulated world does after each of its effects (SimulatedSystemOptions.onEffect). */
  onEffect?: Partial<Record<SystemName, SimulatedSystemOptions["onEffect"]>>;
  /** The SQL gateway's database (SystemContext.sqlUrl). */
  sqlUrl?: string;
}): Promise<StartedSystems> {
  const { dataDir, providerSetDepth, logger, timeoutHoldMs, storeDir, sqlUrl } = args;
  const providers = await loadProviderSet({ dataDir, providerSetDepth, logger });
  const started: SimulatedSystem[] = [];
  try {
    const systems: Partial<Record<SystemName, SimulatedSystem>> = {};
    const external: Partial<Record<SystemName, string>> = {};
    for (const name of args.systems) {
      const module = systemModule(name);
      if (module.endpoint) {
        // Not simulated (the notary): its own process, found where it is configured.
        const url = module.endpoint();
        if (url !== undefined) external[name] = url;
        continue;
      }
      const key = await loadOrCreateProviderKey({ dataDir, system: name, logger });
      const running = await startSimulatedSystem({
        system: name,
        systemCode: module.code,
        privateKey: key.privateKey,
        operations: module.handlers({ dataDir, storeDir, logger, ...(sqlUrl ? { sqlUrl } : {}) }),
        specs: module.operations,
        status: module.status,
        timeoutHoldMs,
        storeFile: storeDir && path.join(storeDir, `${name}.sqlite`),
        logger,
        onEffect: args.onEffect?.[name],
      });
      started.push(running);
      systems[name] = running;
    }
    return {
      endpoints: {
        ...external,
        ...Object.fromEntries(Object.keys(systems).map((s) => [s, systems[s]!.url])),
      },
      providers,
      systems,
      stop: async () => {
        await Promise.all(started.map((s) => s.close()));
      },
    };
  } catch (error) {
    await Promise.all(started.map((s) => s.close()));
    throw error;
  }
}
