import { createHash, randomBytes } from "node:crypto";
import { execFile } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import * as snarkjs from "snarkjs";
import { DEFAULT_PTAU, IS_PACKAGED, PROJECT_ROOT } from "../project";
import {
  batchVerifierContractOf,
  batchVerifierPathOf,
  exportBatchVerifier,
  isBatchVerifierCurrent,
} from "./batchVerifier";
import {
  BUILD_DIR,
  circuitInstance,
  loadCircuitInstances,
  VERIFIERS_DIR,
  type CircuitInstance,
} from "./instances";
import { silentProgress, type ProgressReporter } from "./progress";

const run = promisify(execFile);

export interface SetupRecord {
  instance: string;
  sourceHash: string;
  constraints: number;
  publicInputs: number;
  ptau: { file: string; sha256: string; devCeremony: boolean };
  phase2: "dev single contribution (random entropy, not for production)";
  createdAt: string;
}

export interface SetupOptions {
  /** Only rebuild instances whose circuit sources changed (or whose outputs are missing). */
  ifStale?: boolean;
  /** A powers-of-tau ceremony file to import; forces phase 2 again for every instance. */
  ptauPath?: string;
  /** Only these instances of circuits.json (default: all). */
  only?: readonly string[];
  progress?: ProgressReporter;
}

export interface SetupResult {
  built: SetupRecord[];
  upToDate: string[];
}

export class SetupError extends Error {
  override name = "SetupError";
}

/**
 * The build pipeline: for each instance of circuits.json, compile the circuit (circom2), run the
 * Groth16 setup (phase 2 on the powers of tau, one dev contribution with fresh random entropy),
 * export the verification key, snarkjs's Solidity verifier (single proofs) and the batch verifier
 * generated from the same key (src/prover/batchVerifier.ts), then compile the contracts. An instance
 * whose circuit is up to date but whose batch verifier is missing or was made from another key gets
 * its batch verifier written again (no circuit build).
 */
export async function runSetup(options: SetupOptions = {}): Promise<SetupResult> {
  const progress = options.progress ?? silentProgress;
  if (IS_PACKAGED) {
    const names = options.only ?? loadCircuitInstances().map((i) => i.name);
    return packagedSetup(
      names.map((name) => circuitInstance(name)),
      progress,
    );
  }
  const ptauFile = path.resolve(options.ptauPath ?? DEFAULT_PTAU);
  if (!fs.existsSync(ptauFile)) {
    throw new SetupError(`powers-of-tau file not found: ${ptauFile}`);
  }
  const allInstances = loadCircuitInstances();
  const unknown = (options.only ?? []).filter((name) => !allInstances.some((i) => i.name === name));
  if (unknown.length > 0) {
    throw new SetupError(
      `not in circuits.json: ${unknown.join(", ")} (instances: ${allInstances.map((i) => i.name).join(", ")})`,
    );
  }
  const instances = options.only ? allInstances.filter((i) => options.only!.includes(i.name)) : allInstances;
  const built: SetupRecord[] = [];
  const upToDate: string[] = [];
  let regenerated = 0;
  for (const instance of instances) {
    const sourceHash = circuitSourceHash(instance);
    if (!options.ptauPath && options.ifStale && isUpToDate(instance, sourceHash)) {
      upToDate.push(instance.name);
      if (!isBatchVerifierCurrent(instance)) {
        exportBatchVerifier(instance);
        regenerated += 1;
        progress.note(`${instance.name}: up to date; batch verifier written from its verification key`);
      } else progress.note(`${instance.name}: up to date`);
      continue;
    }
    built.push(await buildInstance({ instance, sourceHash, ptauFile, progress }));
  }
  removeStaleVerifiers(allInstances);
  if (built.length > 0 || regenerated > 0 || !contractsCompiled(instances)) {
    progress.start("compiling contracts (hardhat, solc 0.8.28)", "~30 s");
    await compileContracts();
    progress.done();
  }
  return { built, upToDate };
}

/**
 * The installed package builds nothing: it ships the generic template's proving key, verification
 * key, verifiers and compiled contracts, made at pack time from the checkout's build (`npm pack`).
 * An instance whose build is not in the package is refused with what to do instead.
 */
function packagedSetup(instances: CircuitInstance[], progress: ProgressReporter): SetupResult {
  const missing = instances.filter((instance) => !isInstanceBuilt(instance));
  if (missing.length > 0) {
    throw new SetupError(
      `the wesflow package ships the build of ${packagedInstances().join(", ") || "no circuit instance"} only; ` +
        `${missing.map((i) => i.name).join(", ")} ${missing.length === 1 ? "is" : "are"} not built here (${path.relative(process.cwd(), missing[0].paths.dir) || missing[0].paths.dir}): ` +
        "circuits are compiled and set up in a wesflow checkout (`npx wesflow setup --only NAME`, which needs circom2, circomkit, circomlib and a powers-of-tau file), " +
        "then packed with `npm pack` (the tarball ships the generic template WorkflowTrace_8_4)",
    );
  }
  for (const instance of instances) progress.note(`${instance.name}: shipped with the package`);
  return { built: [], upToDate: instances.map((i) => i.name) };
}

/** The instances whose build the installed package holds. */
function packagedInstances(): string[] {
  return loadCircuitInstances()
    .filter((instance) => isInstanceBuilt(instance))
    .map((instance) => instance.name);
}

/** Hash of everything a circuit build depends on: circom sources, the instance's entry, tool versions. */
export function circuitSourceHash(instance: CircuitInstance): string {
  const hash = createHash("sha256");
  const circuitsDir = path.join(PROJECT_ROOT, "circuits");
  // Only the instance's own sources: its main file and what it includes, transitively (a new
  // template elsewhere does not make this instance stale). circomlib is covered by its version.
  for (const file of includedSources(path.join(circuitsDir, `${instance.file}.circom`))) {
    hash.update(path.relative(circuitsDir, file)).update("\0").update(fs.readFileSync(file)).update("\0");
  }
  const { name, file, template, params, pubs } = instance;
  hash.update(JSON.stringify({ name, file, template, params, pubs }));
  for (const pkg of ["circomlib", "circom2", "snarkjs", "circomkit"]) {
    const manifest = JSON.parse(fs.readFileSync(packageFile(pkg, "package.json"), "utf8")) as {
      version: string;
    };
    hash.update(`${pkg}@${manifest.version}`);
  }
  return hash.digest("hex");
}

/**
 * A circom file and the project files it includes, transitively, sorted. Includes of packages
 * (`circomlib/...`, resolved through node_modules) are left out: their version is hashed instead.
 */
export function includedSources(mainFile: string): string[] {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    if (!fs.existsSync(file)) throw new Error(`circuit source ${file} does not exist`);
    seen.add(file);
    const text = fs.readFileSync(file, "utf8").replace(/\/\*[\s\S]*?\*\/|\/\/[^\n]*/g, "");
    for (const match of text.matchAll(/\binclude\s+"([^"]+)"\s*;/g)) {
      const target = path.resolve(path.dirname(file), match[1]);
      if (fs.existsSync(target)) visit(target);
      else if (!fs.existsSync(packageFile(match[1]))) {
        throw new Error(`${path.relative(PROJECT_ROOT, file)} includes "${match[1]}", which does not exist`);
      }
    }
  };
  visit(mainFile);
  return [...seen].sort();
}

/**
 * A file inside an installed package (some packages' `exports` hide files from require.resolve):
 * in the project's node_modules, or in one above it (an installed wesflow's dependencies are
 * hoisted into the user's node_modules).
 */
function packageFile(pkg: string, ...parts: string[]): string {
  for (let dir = PROJECT_ROOT; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, "node_modules", pkg);
    if (fs.existsSync(candidate)) return path.join(candidate, ...parts);
    if (path.dirname(dir) === dir) return path.join(PROJECT_ROOT, "node_modules", pkg, ...parts);
  }
}

/**
 * Whether an instance's build outputs exist and match its current circuit sources, its batch
 * verifier included (made from its current verification key).
 */
export function isInstanceBuilt(instance: CircuitInstance): boolean {
  if (IS_PACKAGED) return isShipped(instance) && isBatchVerifierCurrent(instance);
  return isUpToDate(instance, circuitSourceHash(instance)) && isBatchVerifierCurrent(instance);
}

/**
 * The installed package's build of an instance: what proving, verifying and deploying need (the
 * setup record, witness wasm, proving and verification keys, both verifiers' sources and compiled
 * artifacts), made at pack time from a build whose sources were current. The package holds no
 * circuit sources' toolchain to re-hash them with, and its files change only with the package.
 */
function isShipped(instance: CircuitInstance): boolean {
  const { wasm, zkey, vkey, verifierSol } = instance.paths;
  const artifact = (name: string) =>
    path.join(PROJECT_ROOT, "artifacts", "contracts", "verifiers", `${name}.sol`, `${name}.json`);
  return (
    readSetupRecord(instance)?.instance === instance.name &&
    [
      wasm,
      zkey,
      vkey,
      verifierSol,
      artifact(instance.verifierContract),
      artifact(batchVerifierContractOf(instance)),
    ].every((f) => fs.existsSync(f))
  );
}

export function readSetupRecord(instance: CircuitInstance): SetupRecord | undefined {
  try {
    return JSON.parse(fs.readFileSync(instance.paths.meta, "utf8")) as SetupRecord;
  } catch {
    return undefined;
  }
}

function isUpToDate(instance: CircuitInstance, sourceHash: string): boolean {
  const record = readSetupRecord(instance);
  const { r1cs, wasm, zkey, vkey, verifierSol } = instance.paths;
  return (
    record?.sourceHash === sourceHash && [r1cs, wasm, zkey, vkey, verifierSol].every((f) => fs.existsSync(f))
  );
}

async function buildInstance(args: {
  instance: CircuitInstance;
  sourceHash: string;
  ptauFile: string;
  progress: ProgressReporter;
}): Promise<SetupRecord> {
  const { instance, sourceHash, ptauFile, progress } = args;
  // Loaded here: the circuit toolchain is the checkout's (a dev dependency), not the installed package's.
  const { Circomkit } = await import("circomkit");
  const circomkit = new Circomkit({
    circuits: path.join(PROJECT_ROOT, "circuits.json"),
    dirCircuits: "./circuits",
    dirBuild: "./build/circuits",
    dirPtau: "./ptau",
    include: ["./node_modules"],
    version: "2.1.9",
    optimization: 2,
    circomPath: `"${process.execPath}" "${packageFile("circom2", "cli.js")}"`,
    inspect: false,
    verbose: false,
    logLevel: "WARN",
  });
  const cwd = process.cwd();
  process.chdir(PROJECT_ROOT); // circomkit and circom2 work with paths relative to the project
  try {
    fs.rmSync(instance.paths.meta, { force: true });
    progress.start(`${instance.name}: compiling circuit (circom2 as WebAssembly)`, "~20 s");
    await circomkit.compile(instance.name, instance);
    const info = await circomkit.info(instance.name);
    progress.done(`${info.constraints} constraints`);

    progress.start(
      `${instance.name}: Groth16 setup and dev phase-2 contribution`,
      // measured on 2 cores: about 2.6 ms per constraint (30.6k: 75-81 s, 46.3k: 139 s, 53.9k: 133 s)
      `about ${Math.max(10, Math.round((info.constraints * 0.0026) / 10) * 10)} s on 2 cores`,
    );
    await groth16Setup({ instance, ptauFile });
    progress.done();

    progress.start(`${instance.name}: exporting verification key, Solidity verifier and batch verifier`);
    const vkey = await snarkjs.zKey.exportVerificationKey(instance.paths.zkey);
    fs.writeFileSync(instance.paths.vkey, JSON.stringify(vkey, null, 2));
    await exportVerifier(instance);
    exportBatchVerifier(instance);
    progress.done();

    const record: SetupRecord = {
      instance: instance.name,
      sourceHash,
      constraints: info.constraints,
      publicInputs: info.publicInputs,
      ptau: {
        file: path.relative(PROJECT_ROOT, ptauFile),
        sha256: await sha256File(ptauFile),
        devCeremony: ptauFile === DEFAULT_PTAU,
      },
      phase2: "dev single contribution (random entropy, not for production)",
      createdAt: new Date().toISOString(),
    };
    fs.writeFileSync(instance.paths.meta, JSON.stringify(record, null, 2));
    return record;
  } finally {
    process.chdir(cwd);
  }
}

async function groth16Setup(args: { instance: CircuitInstance; ptauFile: string }): Promise<void> {
  const { instance, ptauFile } = args;
  const initial = path.join(instance.paths.dir, `${instance.name}_0.zkey`);
  await snarkjs.zKey.newZKey(instance.paths.r1cs, ptauFile, initial);
  // Phase 2: one contribution with 64 bytes of fresh OS randomness that are never stored.
  await snarkjs.zKey.contribute(
    initial,
    instance.paths.zkey,
    "wesflow dev phase-2 contribution",
    randomBytes(64).toString("hex"),
  );
  fs.rmSync(initial, { force: true });
}

async function exportVerifier(instance: CircuitInstance): Promise<void> {
  const template = fs.readFileSync(packageFile("snarkjs", "templates", "verifier_groth16.sol.ejs"), "utf8");
  const code: string = await snarkjs.zKey.exportSolidityVerifier(instance.paths.zkey, { groth16: template });
  if (!/contract Groth16Verifier\b/.test(code)) {
    throw new SetupError("snarkjs verifier template changed: contract Groth16Verifier not found");
  }
  // Keep snarkjs's generated header; give each instance's verifier its own contract name.
  const renamed = code.replace(/contract Groth16Verifier\b/, `contract ${instance.verifierContract}`);
  fs.mkdirSync(VERIFIERS_DIR, { recursive: true });
  fs.writeFileSync(instance.paths.verifierSol, renamed);
}

/**
 * Verifiers of instances no longer in circuits.json would still be compiled: remove them. An
 * instance with a build of its own (`build/circuits/<name>/setup.json`) keeps its verifiers: a
 * scenario folder's, registered only while that folder is in use, is not rebuilt (compile and zkey)
 * the next time because a setup ran without it.
 */
function removeStaleVerifiers(instances: CircuitInstance[]): void {
  if (!fs.existsSync(VERIFIERS_DIR)) return;
  const built = fs.existsSync(BUILD_DIR)
    ? fs.readdirSync(BUILD_DIR).filter((name) => fs.existsSync(path.join(BUILD_DIR, name, "setup.json")))
    : [];
  const wanted = new Set([
    ...instances.flatMap((i) => [path.basename(i.paths.verifierSol), path.basename(batchVerifierPathOf(i))]),
    ...built.flatMap((name) => [`${name}Verifier.sol`, `${name}BatchVerifier.sol`]),
  ]);
  for (const file of fs.readdirSync(VERIFIERS_DIR)) {
    if (file.endsWith(".sol") && !wanted.has(file)) fs.rmSync(path.join(VERIFIERS_DIR, file));
  }
}

function contractsCompiled(instances: CircuitInstance[]): boolean {
  const artifact = (name: string, dir: string) =>
    path.join(PROJECT_ROOT, "artifacts", "contracts", dir, `${name}.sol`, `${name}.json`);
  const compileCache = path.join(PROJECT_ROOT, "cache", "solidity-files-cache.json");
  const outputs = [
    compileCache,
    artifact("WorkflowRegistry", ""),
    ...instances.flatMap((i) => [
      artifact(i.verifierContract, "verifiers"),
      artifact(batchVerifierContractOf(i), "verifiers"),
    ]),
  ];
  if (!outputs.every((f) => fs.existsSync(f))) return false;
  const newestSource = Math.max(
    ...fs
      .readdirSync(path.join(PROJECT_ROOT, "contracts"), { withFileTypes: true, recursive: true })
      .filter((e) => e.isFile() && e.name.endsWith(".sol"))
      .map((e) => fs.statSync(path.join(e.parentPath, e.name)).mtimeMs),
  );
  return fs.statSync(compileCache).mtimeMs >= newestSource;
}

async function compileContracts(): Promise<void> {
  try {
    await run(process.execPath, [require.resolve("hardhat/internal/cli/cli.js"), "compile", "--quiet"], {
      cwd: PROJECT_ROOT,
      maxBuffer: 64 * 1024 * 1024,
    });
  } catch (cause) {
    const err = cause as { stderr?: string; stdout?: string; message: string };
    throw new SetupError(`contract compilation failed:\n${err.stderr || err.stdout || err.message}`, {
      cause,
    });
  }
}

async function sha256File(file: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of fs.createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}
