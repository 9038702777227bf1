import fs from "node:fs";
import path from "node:path";

/**
 * The package's root folder (where package.json and circuits.json are): the nearest folder above
 * this file whose package.json is wesflow's. The same in the checkout (src/project/paths.ts, run
 * through ts-node) and in the installed package (dist/src/project/paths.js).
 */
export const PROJECT_ROOT = findPackageRoot(__dirname);

/**
 * Whether this is the compiled package (dist/, as `npm pack` builds it and a user installs it)
 * rather than the checkout's TypeScript sources. The compiled package keeps the user's data in the
 * user's folder, loads Hardhat with its own compiled config and builds no circuits or contracts
 * unless told to: it ships what it needs (see package.json's `files`).
 */
export const IS_PACKAGED = path.extname(__filename) === ".js";

/** The folder the process was started in (before the CLI moves to PROJECT_ROOT). */
export const INVOCATION_DIR = process.cwd();

/**
 * Where runs, keys and deployments live unless WESFLOW_DATA_DIR says otherwise: `.wesflow/` of the
 * checkout, or for the installed package `.wesflow/` of the folder wesflow was started in (the
 * user's project), never inside node_modules.
 */
export function defaultDataDir(): string {
  const base = IS_PACKAGED ? INVOCATION_DIR : PROJECT_ROOT;
  return path.resolve(process.env.WESFLOW_DATA_DIR ?? path.join(base, ".wesflow"));
}

export const DEFAULT_PTAU = path.join(PROJECT_ROOT, "ptau", "dev-pot16.ptau");

/** The Hardhat config the compiled package loads its networks with (no hardhat.config of the user's needed). */
export const PACKAGED_HARDHAT_CONFIG = path.join(PROJECT_ROOT, "dist", "hardhat.runtime.config.js");

/** The compiled contracts' artifacts (the generated verifiers are deployed from them at run time). */
export const ARTIFACTS_DIR = path.join(PROJECT_ROOT, "artifacts");

function findPackageRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const manifest = path.join(dir, "package.json");
    if (fs.existsSync(manifest)) {
      try {
        if ((JSON.parse(fs.readFileSync(manifest, "utf8")) as { name?: string }).name === "wesflow")
          return dir;
      } catch {
        // not a readable manifest: keep looking upwards
      }
    }
    if (path.dirname(dir) === dir) return path.resolve(from, "..", "..");
  }
}

/** The package's manifest (name, version, description). */
export function packageManifest(): { name: string; version: string; description: string } {
  return JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, "package.json"), "utf8")) as {
    name: string;
    version: string;
    description: string;
  };
}
