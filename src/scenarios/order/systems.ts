import type { Logger } from "../../project";
import { loadProviderSet, startSystems, type SimulatedSystem } from "../../systems";
import type { ProviderSet, SystemName } from "../../trace";

export { etaDaysFor, SIM_CARRIER } from "../../systems";

/** The systems the order calls (src/systems/<name>/). */
export const ORDER_SYSTEMS = ["payment", "logistics", "invoicing"] as const satisfies readonly SystemName[];
export type OrderSystemName = (typeof ORDER_SYSTEMS)[number];

export interface OrderSystems {
  endpoints: Record<OrderSystemName, string>;
  /** Every registered system's key with its code, in a provider set of the requested depth. */
  providers: ProviderSet;
  systems: Record<OrderSystemName, SimulatedSystem>;
  stop(): Promise<void>;
}

/** The provider set (every registered system's key) from the keys alone, without starting anything. */
export function loadOrderProviderSet(args: {
  dataDir: string;
  providerSetDepth: number;
  logger?: Logger;
}): Promise<ProviderSet> {
  return loadProviderSet(args);
}

/**
 * Starts the payment, logistics and invoicing systems of the order scenario on loopback, each
 * signing with its key from `${dataDir}/keys` (or WESFLOW_KEY_<SYSTEM>; generated on first use).
 */
export async function startOrderSystems(args: {
  dataDir: string;
  providerSetDepth: number;
  logger?: Logger;
  /** How long a `timeout` fault holds an answer (default 60 s). */
  timeoutHoldMs?: number;
  /** A folder where each system keeps its effects (`<system>.sqlite`); default: in memory. */
  storeDir?: string;
}): Promise<OrderSystems> {
  const started = await startSystems({ ...args, systems: ORDER_SYSTEMS });
  return {
    endpoints: started.endpoints as Record<OrderSystemName, string>,
    providers: started.providers,
    systems: started.systems as Record<OrderSystemName, SimulatedSystem>,
    stop: started.stop,
  };
}
