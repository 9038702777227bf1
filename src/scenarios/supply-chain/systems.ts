import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {
  erpPlan,
  erpProduce,
  LAB_FAULT_KINDS,
  SimulatedLab,
  SQL_URL_ENV,
  sqlSourceOf,
  startSystems,
  type ErpPlanResponse,
  type ErpProduceRequest,
  type ErpProduceResponse,
  type LabFaultKind,
  type LedgerEntry,
} from "../../systems";
import type { SystemName } from "../../trace";
import { UnknownScenarioError, type RunningSystems, type Scenario } from "../types";

/** The systems the supply chain calls (src/systems/<name>/). */
export const SUPPLY_CHAIN_SYSTEMS = ["erp", "sql", "logistics"] as const satisfies readonly SystemName[];

/** The scenario's simulated actors that are not systems, and the faults they take. */
export const SUPPLY_CHAIN_ACTORS: Readonly<Record<string, readonly string[]>> = { lab: LAB_FAULT_KINDS };

/**
 * Starts the ERP, the SQL gateway and logistics on loopback, and the quality lab on the gateway's
 * database (WESFLOW_SQL_URL, else `<dataDir>/lab/lab.sqlite` when the systems keep a store, else a
 * scratch database of this start, as new as the systems' in-memory world). The lab is the physical world: when
 * the ERP produces a lot, the lab inspects it against the plan's spec and writes its result before
 * the ERP's answer leaves, so the workflow's inspection step reads it through the gateway.
 */
export const startSupplyChainSystems: Scenario["startSystems"] = async (args) => {
  // Systems without a store start a new world each time (the ERP numbers its lots from 1 again): so
  // does the lab's database then, in a scratch folder removed at stop, unless WESFLOW_SQL_URL names one.
  const scratch =
    args.storeDir === undefined && !process.env[SQL_URL_ENV]?.trim()
      ? fs.mkdtempSync(path.join(os.tmpdir(), "wesflow-lab-"))
      : undefined;
  const sqlUrl = scratch && `file:${path.join(scratch, "lab.sqlite")}`;
  const removeScratch = () => scratch && fs.rmSync(scratch, { recursive: true, force: true });
  const lab = await SimulatedLab.open(
    sqlUrl ? { source: sqlSourceOf({ dataDir: args.dataDir, url: sqlUrl }) } : { dataDir: args.dataDir },
  ).catch((error: unknown) => {
    removeScratch();
    throw error;
  });
  let erpLedger: () => LedgerEntry[] = () => [];
  try {
    const running = await startSystems({
      ...args,
      ...(sqlUrl ? { sqlUrl } : {}),
      systems: SUPPLY_CHAIN_SYSTEMS,
      onEffect: {
        erp: async (entry) => {
          if (entry.operation !== erpProduce.name) return;
          const produced = entry.response as ErpProduceResponse;
          if (produced.status !== "PRODUCED") return;
          const { planId } = entry.request as ErpProduceRequest;
          const plan = erpLedger().find(
            (e) => e.operation === erpPlan.name && (e.response as ErpPlanResponse).planId === planId,
          );
          if (!plan)
            throw new Error(
              `the ERP produced lot ${produced.lotId} of plan ${planId}, which it never planned`,
            );
          const { specMin, specMax } = plan.response as ErpPlanResponse;
          await lab.inspect({ lot: produced.lotId, specMin, specMax });
        },
      },
    });
    erpLedger = () => running.systems.erp!.ledger();
    const system = (name: SystemName) => {
      const found = running.systems[name];
      if (!found) {
        throw new UnknownScenarioError(
          `no ${name} system runs here (only ${SUPPLY_CHAIN_SYSTEMS.join(", ")})`,
        );
      }
      return found;
    };
    const started: RunningSystems = {
      endpoints: running.endpoints,
      providers: running.providers,
      injectFault: (name, fault) => system(name).injectFault(fault),
      injectActorFault: (actor, kind, times) => {
        if (actor !== "lab")
          throw new UnknownScenarioError(`the supply chain has no actor "${actor}" (only lab)`);
        lab.injectFault({ kind: kind as LabFaultKind, ...(times !== undefined ? { times } : {}) });
      },
      ledger: (name) => system(name).ledger(),
      stop: async () => {
        await running.stop();
        await lab.close();
        removeScratch();
      },
    };
    return started;
  } catch (error) {
    await lab.close();
    removeScratch();
    throw error;
  }
};
