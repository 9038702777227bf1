import fs from "node:fs";
import path from "node:path";
import { IS_PACKAGED, PROJECT_ROOT } from "../project";
import { runSetup } from "../prover";
import { scenario } from "../scenarios";
import { terminalProgress } from "./progress";

/**
 * Builds what a command needs before it loads the chain-dependent stages: the scenario's committed
 * template (circuit, trusted setup, verifier) and the contracts with their typechain bindings. Only
 * what is missing or stale is built; a fresh clone builds it here, with progress.
 */
export async function ensureBuilt(scenarioName: string): Promise<void> {
  const template = scenario(scenarioName).createDefinition().template;
  await runSetup({ ifStale: true, only: [template], progress: terminalProgress() });
}

async function ensureChainBindings(): Promise<void> {
  // The registry's bindings need the contracts compiled, not any circuit built.
  // The installed package ships them compiled (dist/typechain-types).
  if (!IS_PACKAGED && !fs.existsSync(path.join(PROJECT_ROOT, "typechain-types", "index.ts"))) {
    await runSetup({ ifStale: true, only: [], progress: terminalProgress() });
  }
}

/** The pipeline (chain, proving, runs), built first when needed. */
export async function loadPipeline() {
  await ensureChainBindings();
  return import("../pipeline");
}

/** The audit tools, built first when needed. */
export async function loadAudit() {
  await ensureChainBindings();
  return import("../audit");
}

/**
 * The installed package proves only what it ships (the generic template): a scenario whose circuit
 * is not among them is refused before anything runs (in the checkout, setup builds it when needed).
 */
export async function ensureProvable(scenarioOf: {
  createDefinition(): { template: string; rollbackTemplate?: string };
}): Promise<void> {
  if (!IS_PACKAGED) return;
  const { template, rollbackTemplate } = scenarioOf.createDefinition();
  await runSetup({ ifStale: true, only: [...new Set([template, rollbackTemplate ?? template])] });
}
