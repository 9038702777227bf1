import { forwardOperations, loadProviderSet, operationSystems, startSystems } from "../systems";
import type { SystemName } from "../trace";
import { UnknownScenarioError, type Scenario } from "./types";

/**
 * A scenario's simulated systems (src/systems/<name>/ modules) as the Scenario interface takes them:
 * started on loopback on demand, the provider set over every registered system (one set, one root).
 */
export function simulatedSystems(
  names: readonly SystemName[],
): Pick<Scenario, "startSystems" | "loadProviderSet" | "operationSystems" | "forwardOperations"> {
  const served = new Set<string>(names);
  return {
    operationSystems: Object.fromEntries(
      Object.entries(operationSystems()).filter(([, system]) => served.has(system)),
    ) as Record<string, SystemName>,
    forwardOperations: Object.fromEntries(
      Object.entries(forwardOperations()).filter(([system]) => served.has(system)),
    ) as Partial<Record<SystemName, string>>,
    startSystems: async (args) => {
      const running = await startSystems({ ...args, systems: names });
      const system = (name: SystemName) => {
        const found = running.systems[name];
        if (!found) throw new UnknownScenarioError(`no ${name} system runs here (only ${names.join(", ")})`);
        return found;
      };
      return {
        endpoints: running.endpoints,
        providers: running.providers,
        injectFault: (name, fault) => system(name).injectFault(fault),
        ledger: (name) => system(name).ledger(),
        stop: () => running.stop(),
      };
    },
    loadProviderSet: (args) => loadProviderSet(args),
  };
}
