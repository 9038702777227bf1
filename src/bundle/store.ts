import fs from "node:fs";
import path from "node:path";
import {
  BUNDLE_FORMAT,
  formatVersionProblem,
  RunBundleSchema,
  undefinedKeys,
  type RunBundle,
} from "./schema";

export class BundleError extends Error {
  override name = "BundleError";
  constructor(
    message: string,
    readonly file: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Where a run's bundle lives: <runsDir>/<workflowId hex>/bundle.json. */
export function bundlePath(runsDir: string, workflowIdHex: string): string {
  return path.join(runsDir, workflowIdHex, "bundle.json");
}

/** Writes a bundle atomically (temporary file, fsync, rename): a crash leaves the old or the new file. */
export function writeBundle(runsDir: string, bundle: RunBundle): string {
  return writeBundleFile(bundlePath(runsDir, bundle.workflowId), bundle);
}

/** Writes a bundle to a given file, atomically as {@link writeBundle} does. */
export function writeBundleFile(file: string, bundle: RunBundle): string {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  const fd = fs.openSync(temporary, "w");
  try {
    fs.writeSync(fd, JSON.stringify(RunBundleSchema.parse(bundle), null, 2) + "\n");
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(temporary, file);
  return file;
}

/** Reads and validates a bundle; any problem is a BundleError with a one-line reason. */
export function readBundle(file: string): RunBundle {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (cause) {
    throw new BundleError(
      `cannot read bundle ${file}: ${(cause as NodeJS.ErrnoException).code ?? cause}`,
      file,
      { cause },
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new BundleError(`bundle ${file} is not valid JSON (truncated?)`, file, { cause });
  }
  const versionProblem = formatVersionProblem(json, BUNDLE_FORMAT);
  if (versionProblem) throw new BundleError(`bundle ${file} ${versionProblem}`, file);
  const parsed = RunBundleSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new BundleError(
      `bundle ${file} is malformed at ${issue.path.join(".") || "top level"}: ${issue.message}`,
      file,
    );
  }
  const extra = undefinedKeys(json, parsed.data);
  if (extra.length > 0) {
    throw new BundleError(
      `bundle ${file} has keys that ${BUNDLE_FORMAT} does not define: ${extra.join(", ")} (a bundle shows nothing that is not checked)`,
      file,
    );
  }
  return parsed.data;
}

/** The bundle of a workflow id if this machine has it. */
export function findBundle(runsDir: string, workflowIdHex: string): RunBundle | undefined {
  const file = bundlePath(runsDir, workflowIdHex);
  return fs.existsSync(file) ? readBundle(file) : undefined;
}
