import { execFile } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import type { Command } from "commander";
import { INVOCATION_DIR, IS_PACKAGED, PROJECT_ROOT } from "../project";
import { UsageError } from "./errors";

const run = promisify(execFile);

/** The files of a new project (templates/project/ of the package); `gitignore` is written as `.gitignore` (npm drops dotfiles named so from tarballs). */
const TEMPLATE_DIR = path.join(PROJECT_ROOT, "templates", "project");
const EXAMPLE_WORKFLOW = "./workflows/purchase.workflow.ts";
/** Where the new project keeps the wesflow tarball it depends on (the package is on no registry). */
const VENDOR_DIR = "vendor";

export interface InitResult {
  dir: string;
  /** The tarball the project depends on, relative to its folder (`file:` dependency). */
  tarball: string;
  /** How the tarball came to be: packed from the checkout or the installed package, or copied. */
  source: "packed-checkout" | "packed-installed" | "copied";
  files: string[];
}

/**
 * Writes a new workflow project into `dir` (new or empty): package.json depending on wesflow through
 * a `file:` tarball kept in the project's vendor/ folder (packed here from this checkout with its
 * prepack build, or from the installed package as it is, or copied from `tarball`), zod and
 * TypeScript, a tsconfig, one example workflow that commits with its example input, a README and a
 * .gitignore. Refuses a folder that holds anything.
 */
export async function initProject(args: {
  dir: string;
  tarball?: string;
  onProgress?: (text: string) => void;
}): Promise<InitResult> {
  const dir = path.resolve(args.dir);
  const note = args.onProgress ?? (() => undefined);
  if (fs.existsSync(dir)) {
    if (!fs.statSync(dir).isDirectory()) throw new UsageError(`${args.dir} exists and is not a folder`);
    const entries = fs.readdirSync(dir);
    if (entries.length > 0) {
      const shown = entries.slice(0, 5).join(", ") + (entries.length > 5 ? ", …" : "");
      throw new UsageError(
        `${args.dir} is not empty (${entries.length} entr${entries.length === 1 ? "y" : "ies"}: ${shown}): ` +
          "wesflow init writes a new project into a new or empty folder",
      );
    }
  }
  if (!fs.existsSync(TEMPLATE_DIR)) throw new UsageError(`the project template is missing: ${TEMPLATE_DIR}`);
  if (args.tarball && !fs.existsSync(args.tarball)) throw new UsageError(`no tarball at ${args.tarball}`);
  fs.mkdirSync(path.join(dir, VENDOR_DIR), { recursive: true });

  const files: string[] = [];
  const copy = (from: string, to: string) => {
    fs.mkdirSync(path.dirname(path.join(dir, to)), { recursive: true });
    fs.copyFileSync(path.join(TEMPLATE_DIR, from), path.join(dir, to));
    files.push(to);
  };
  for (const entry of fs.readdirSync(TEMPLATE_DIR, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const from = path.relative(TEMPLATE_DIR, path.join(entry.parentPath, entry.name));
    copy(from, from === "gitignore" ? ".gitignore" : from);
  }

  let tarballFile: string;
  let source: InitResult["source"];
  const vendor = path.join(dir, VENDOR_DIR);
  if (args.tarball) {
    tarballFile = path.join(vendor, path.basename(args.tarball));
    fs.copyFileSync(args.tarball, tarballFile);
    source = "copied";
  } else {
    note(
      IS_PACKAGED
        ? "packing the installed wesflow package into the project"
        : "packing wesflow from this checkout (npm pack: builds dist/ first, about a minute)",
    );
    tarballFile = await packInto(vendor);
    source = IS_PACKAGED ? "packed-installed" : "packed-checkout";
  }
  const tarball = path.relative(dir, tarballFile).split(path.sep).join("/");
  files.push(tarball);

  const projectPackage = {
    name: projectName(dir),
    version: "0.1.0",
    private: true,
    description: "A wesflow workflow project: proven workflows recorded on an audit registry",
    scripts: {
      start: `wesflow run ${EXAMPLE_WORKFLOW}`,
      typecheck: "tsc --noEmit",
    },
    dependencies: {
      // The package is on no registry: the project depends on its tarball, kept in vendor/.
      wesflow: `file:${tarball}`,
      zod: "^3.25.76",
    },
    devDependencies: {
      "@types/node": "^20.19.43",
      typescript: "~5.9.3",
    },
    engines: { node: ">=20" },
  };
  fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify(projectPackage, null, 2) + "\n");
  files.push("package.json");
  return { dir, tarball, source, files: files.sort() };
}

/** `npm pack` of wesflow into `destination`; returns the tarball's path. */
async function packInto(destination: string): Promise<string> {
  const npm = process.platform === "win32" ? "npm.cmd" : "npm";
  // The installed package holds no sources to build: pack it as it is (no prepack).
  const flags = IS_PACKAGED ? ["--ignore-scripts"] : [];
  let stdout: string;
  try {
    ({ stdout } = await run(npm, ["pack", "--json", "--pack-destination", destination, ...flags], {
      cwd: PROJECT_ROOT,
      maxBuffer: 256 * 1024 * 1024,
    }));
  } catch (cause) {
    const err = cause as { stderr?: string; message: string };
    throw new UsageError(`npm pack of ${PROJECT_ROOT} failed: ${(err.stderr || err.message).trim()}`, {
      cause,
    });
  }
  // prepack's own output may precede npm's JSON array.
  const json = stdout.slice(stdout.lastIndexOf("\n[") + 1 || stdout.indexOf("["));
  const [packed] = JSON.parse(json) as { filename: string }[];
  return path.join(destination, packed.filename);
}

/** A folder as the user would type it from where they ran wesflow. */
function shortPath(dir: string): string {
  const relative = path.relative(INVOCATION_DIR, dir);
  return relative === ""
    ? "."
    : relative.split(path.sep).filter((p) => p === "..").length > 1
      ? dir
      : relative;
}

/** An npm package name from the folder's name. */
function projectName(dir: string): string {
  const name = path
    .basename(dir)
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, "-")
    .replace(/^[._-]+|[-]+$/g, "");
  return name || "wesflow-project";
}

export function registerInitCommand(program: Command, userPath: (file: string) => string): void {
  program
    .command("init")
    .description(
      "create a workflow project in DIR (new or empty): package.json depending on wesflow, tsconfig, an example workflow, README, .gitignore",
    )
    .argument("<dir>", "the project's folder")
    .option(
      "--tarball <file>",
      "depend on this wesflow tarball (copied into the project) instead of packing one",
    )
    .option("--json", "print what was written as JSON")
    .action(async (dir: string, opts: { tarball?: string; json?: boolean }) => {
      const started = performance.now();
      const result = await initProject({
        dir: userPath(dir),
        tarball: opts.tarball && userPath(opts.tarball),
        onProgress: (text) => process.stderr.write(`• ${text}\n`),
      });
      if (opts.json) {
        process.stdout.write(
          JSON.stringify({ ...result, ms: Math.round(performance.now() - started) }) + "\n",
        );
        return;
      }
      const lines = [
        `wrote a wesflow project to ${result.dir}:`,
        ...result.files.map((file) => `  ${file}`),
        "",
        `wesflow comes from ${result.tarball} (the package is on no registry; a file: dependency).`,
        "next:",
        `  cd ${shortPath(result.dir)}`,
        "  npm install",
        `  npm start        # runs ${EXAMPLE_WORKFLOW}: proves the run and records it`,
      ];
      process.stdout.write(lines.join("\n") + "\n");
    });
}
