import path from "node:path";

/** The project's root folder (where package.json, circuits.json and hardhat.config.ts are). */
export const PROJECT_ROOT = path.resolve(__dirname, "..", "..");

/** Where runs, keys and deployments live unless WESFLOW_DATA_DIR says otherwise. */
export function defaultDataDir(): string {
  return path.resolve(process.env.WESFLOW_DATA_DIR ?? path.join(PROJECT_ROOT, ".wesflow"));
}

export const DEFAULT_PTAU = path.join(PROJECT_ROOT, "ptau", "dev-pot16.ptau");
