import { expect } from "chai";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { lastLine, runCommand, wesflow, type CliResult } from "../fixtures/cli";

/**
 * The package as a user gets it: `wesflow init` packs this checkout (npm pack: dist/ built by
 * prepack) into a new project, which is installed from the tarball (npm install, the registry's
 * packages from the local cache when it has them) and then type-checks and runs its example with
 * the installed package alone: no ts-node of the checkout, no hardhat.config of its own, no solc or
 * circom at the user's side. One pack and one install for every case below (better-sqlite3 from a
 * local prebuild of the checkout's binary, see localSqlitePrebuild: compiling it from source took
 * about a minute and a half of this suite's time).
 */
describe("the installed package: wesflow init, npm install, type-check and run in a project of its own", function () {
  this.timeout(900_000);

  let tmp: string;
  let project: string;
  let tarball: string;
  const figures: Record<string, number> = {};

  /** The project's environment: nothing of the checkout's npm run, Hardhat network, ts-node or data dir. */
  const env = (): NodeJS.ProcessEnv => {
    const clean: NodeJS.ProcessEnv = {};
    for (const [key, value] of Object.entries(process.env)) {
      if (/^(npm_|INIT_CWD$|HARDHAT_|WESFLOW_|TS_NODE_)/i.test(key)) continue;
      clean[key] = value;
    }
    return clean;
  };
  const inProject = (command: string, args: string[], timeoutMs = 300_000): Promise<CliResult> =>
    runCommand(command, args, { cwd: project, env: env(), timeoutMs });
  const installedWesflow = (args: string[], timeoutMs?: number) =>
    inProject(
      process.execPath,
      [path.join(project, "node_modules", "wesflow", "bin", "wesflow.js"), ...args],
      timeoutMs,
    );
  const timed = async <T>(name: string, work: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    try {
      return await work();
    } finally {
      figures[name] = Math.round(performance.now() - started);
    }
  };

  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "wesflow-package-"));
    project = path.join(tmp, "demo");
    const init = await timed("initMs", () =>
      wesflow(["init", project, "--json"], { env: env(), timeoutMs: 600_000 }),
    );
    expect(init.code, init.stderr).to.equal(0);
    const written = JSON.parse(lastLine(init.stdout)) as { tarball: string; source: string; files: string[] };
    expect(written.source).to.equal("packed-checkout");
    tarball = path.join(project, written.tarball);
    // better-sqlite3's install looks for a prebuilt binary (GitHub, unreachable here) and else
    // compiles from source (~1.5 min on 2 cores). Its documented offline source, a local prebuild
    // (prebuild-install's npm_config_<package>_local_prebuilds), is made from the checkout's own build
    // of the same version: a project that installs another version compiles it as a user's would.
    const prebuilds = localSqlitePrebuild(tmp);
    const install = await timed("installMs", () =>
      runCommand("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund"], {
        cwd: project,
        env: { ...env(), ...(prebuilds ? { npm_config_better_sqlite3_local_prebuilds: prebuilds } : {}) },
        timeoutMs: 600_000,
      }),
    );
    expect(install.code, install.stderr).to.equal(0);
  });

  after(() => {
    process.stderr.write(
      `      package figures: ${JSON.stringify({ ...figures, tarballBytes: tarball && fs.existsSync(tarball) ? fs.statSync(tarball).size : undefined })}\n`,
    );
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it("init wrote a project: package.json on the packed tarball (file:), tsconfig, an example workflow, README, .gitignore", () => {
    const manifest = JSON.parse(fs.readFileSync(path.join(project, "package.json"), "utf8")) as {
      scripts: Record<string, string>;
      dependencies: Record<string, string>;
    };
    expect(manifest.dependencies.wesflow).to.match(/^file:vendor\/wesflow-\d+\.\d+\.\d+\.tgz$/);
    expect(manifest.dependencies).to.have.property("zod");
    expect(manifest.scripts.start).to.equal("wesflow run ./workflows/purchase.workflow.ts");
    for (const file of ["tsconfig.json", "README.md", ".gitignore", "workflows/purchase.workflow.ts"]) {
      expect(fs.existsSync(path.join(project, file)), file).to.equal(true);
    }
    expect(fs.readFileSync(path.join(project, ".gitignore"), "utf8")).to.include(".wesflow/");
  });

  it("the tarball holds compiled JavaScript with .d.ts types and the generic template's keys, no TypeScript sources", () => {
    const entries = execFileSync("tar", ["-tzf", tarball], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 })
      .trim()
      .split("\n")
      .map((entry) => entry.replace(/^package\//, ""));
    for (const file of [
      "bin/wesflow.js",
      "index.js",
      "dist/src/index.js",
      "dist/src/index.d.ts",
      "dist/src/cli/main.js",
      "dist/hardhat.runtime.config.js",
      "dist/typechain-types/index.js",
      "build/circuits/WorkflowTrace_8_4/groth16_pkey.zkey",
      "build/circuits/WorkflowTrace_8_4/groth16_vkey.json",
      "build/circuits/WorkflowTrace_8_4/WorkflowTrace_8_4_js/WorkflowTrace_8_4.wasm",
      "artifacts/contracts/verifiers/WorkflowTrace_8_4Verifier.sol/WorkflowTrace_8_4Verifier.json",
      "templates/project/workflows/purchase.workflow.ts",
    ]) {
      expect(entries, file).to.include(file);
    }
    expect(
      entries.filter((e) => e.startsWith("src/") || e.startsWith("test/") || e.endsWith(".ptau")),
    ).to.deep.equal([]);
    expect(entries.filter((e) => e.endsWith(".r1cs") || e.endsWith(".sym"))).to.deep.equal([]);
  });

  it("the example workflow type-checks against the installed package with tsc --noEmit: 0 errors (also with wesflow's z)", async () => {
    const example = fs.readFileSync(path.join(project, "workflows", "purchase.workflow.ts"), "utf8");
    const withWesflowZod = example
      .replace('import { z } from "zod";\n', "")
      .replace("import { defineWorkflow,", "import { z, defineWorkflow,");
    expect(withWesflowZod).not.to.equal(example);
    fs.writeFileSync(path.join(project, "workflows", "reexported-zod.workflow.ts"), withWesflowZod);
    const result = await timed("typecheckMs", () =>
      inProject(process.execPath, [
        path.join(project, "node_modules", "typescript", "bin", "tsc"),
        "--noEmit",
      ]),
    );
    expect(result.code, result.stdout + result.stderr).to.equal(0);
    expect(result.stdout.trim()).to.equal("");
  });

  it("npm start runs the example: executed, proven and recorded on the in-process chain, data in the project's .wesflow/", async () => {
    const result = await timed("startMs", () => inProject("npm", ["start", "--", "--json"]));
    expect(result.code, result.stderr).to.equal(0);
    const run = JSON.parse(lastLine(result.stdout)) as {
      outcome: string;
      txHash: string;
      gasUsed: number;
      bundlePath: string;
      workflowId: string;
    };
    expect(run.outcome).to.equal("COMMITTED");
    expect(run.txHash).to.match(/^0x[0-9a-f]{64}$/);
    expect(run.gasUsed).to.be.greaterThan(200_000);
    expect(path.resolve(project, run.bundlePath)).to.equal(
      path.join(project, ".wesflow", "runs", run.workflowId, "bundle.json"),
    );
    expect(fs.existsSync(path.join(project, ".wesflow", "keys"))).to.equal(true);
    // Nothing of the user's goes into the installed package.
    expect(fs.existsSync(path.join(project, "node_modules", "wesflow", ".wesflow"))).to.equal(false);
    figures.initToFirstRecordedRunMs = figures.initMs + figures.installMs + figures.startMs;

    const verified = await installedWesflow(["verify", run.bundlePath, "--json"]);
    expect(verified.code, verified.stdout + verified.stderr).to.equal(0);
    expect(JSON.parse(lastLine(verified.stdout))).to.deep.include({ valid: true });
  });

  it("a refused call rolls the run back and names the system, its status and the reason", async () => {
    const result = await installedWesflow([
      "run",
      "./workflows/purchase.workflow.ts",
      "--fail",
      "invoicing:decline",
    ]);
    expect(result.code, result.stderr).to.equal(0);
    expect(result.stdout).to.include(": ROLLED_BACK");
    expect(result.stdout).to.include(
      "invoice.issue (call 2) was refused by the invoicing system: status REJECTED (2): the invoicing system rejected the invoice",
    );
  });

  it("a definition error names the rule, the field and the value; a scenario the package cannot prove is refused; init refuses a folder that is not empty", async () => {
    const bad = fs
      .readFileSync(path.join(project, "workflows", "purchase.workflow.ts"), "utf8")
      .replace('name: "refund",', 'name: "Refund",');
    fs.writeFileSync(path.join(project, "workflows", "bad.workflow.ts"), bad);
    const result = await installedWesflow(["run", "./workflows/bad.workflow.ts"]);
    expect(result.code).to.equal(1);
    expect(result.stderr).to.include(
      'invalid workflow definition at steps.1.compensation.name (step "charge"): compensation names are snake_case',
    );
    expect(result.stderr).to.include('got "Refund"');

    // A built-in scenario needs its own circuit's build, which the package does not ship: refused before it runs.
    const order = await installedWesflow(["run", "order"]);
    expect(order.code).to.equal(1);
    expect(order.stderr).to.include("the wesflow package ships the build of WorkflowTrace_8_4 only");
    expect(order.stdout).not.to.include("executing");

    const again = await installedWesflow(["init", project]);
    expect(again.code).to.equal(1);
    expect(again.stderr).to.match(
      /demo is not empty \(\d+ entries: .*\): wesflow init writes a new project into a new or empty folder/,
    );
  });
});

/**
 * A prebuild-install tarball of the checkout's better-sqlite3 binary (build/Release/better_sqlite3.node),
 * named as its download would be for this Node and platform; undefined when the checkout has no build.
 */
function localSqlitePrebuild(dir: string): string | undefined {
  const checkout = path.dirname(require.resolve("better-sqlite3/package.json"));
  const binary = path.join(checkout, "build", "Release", "better_sqlite3.node");
  if (!fs.existsSync(binary)) return undefined;
  const { version } = JSON.parse(fs.readFileSync(path.join(checkout, "package.json"), "utf8")) as {
    version: string;
  };
  const prebuilds = path.join(dir, "prebuilds");
  const staging = path.join(dir, "prebuild-staging");
  fs.mkdirSync(path.join(staging, "build", "Release"), { recursive: true });
  fs.mkdirSync(prebuilds, { recursive: true });
  fs.copyFileSync(binary, path.join(staging, "build", "Release", "better_sqlite3.node"));
  const name = `better-sqlite3-v${version}-node-v${process.versions.modules}-${process.platform}-${process.arch}.tar.gz`;
  execFileSync("tar", ["-czf", path.join(prebuilds, name), "-C", staging, "build"]);
  return prebuilds;
}
