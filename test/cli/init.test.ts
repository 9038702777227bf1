import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { initProject } from "../../src/cli/initCommand";
import { UsageError } from "../../src/cli/errors";

describe("wesflow init: a workflow project in a new or empty folder", () => {
  let tmp: string;
  let tarball: string;

  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "wesflow-init-"));
    tarball = path.join(tmp, "wesflow-9.9.9.tgz");
    fs.writeFileSync(tarball, "not really a tarball: init only copies it");
  });
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it("writes package.json on the tarball (file: in vendor/), tsconfig, the example workflow, README and .gitignore", async () => {
    const dir = path.join(tmp, "My Project");
    const result = await initProject({ dir, tarball });
    expect(result.source).to.equal("copied");
    expect(result.tarball).to.equal("vendor/wesflow-9.9.9.tgz");
    expect(result.files).to.deep.equal([
      ".gitignore",
      "README.md",
      "package.json",
      "tsconfig.json",
      "vendor/wesflow-9.9.9.tgz",
      "workflows/purchase.workflow.ts",
    ]);
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8")) as Record<
      string,
      never
    >;
    expect(manifest).to.deep.include({
      name: "my-project",
      private: true,
      scripts: { start: "wesflow run ./workflows/purchase.workflow.ts", typecheck: "tsc --noEmit" },
      dependencies: { wesflow: "file:vendor/wesflow-9.9.9.tgz", zod: "^3.25.76" },
    });
    expect(fs.readFileSync(path.join(dir, "vendor", "wesflow-9.9.9.tgz"), "utf8")).to.include("not really");
    expect(fs.readFileSync(path.join(dir, "workflows", "purchase.workflow.ts"), "utf8")).to.include(
      "export const exampleInput",
    );
  });

  it("writes into an empty folder, refuses one that holds anything, or a file, naming what is there", async () => {
    const empty = path.join(tmp, "empty");
    fs.mkdirSync(empty);
    await initProject({ dir: empty, tarball });
    const again = await initProject({ dir: empty, tarball }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(again).to.be.instanceOf(UsageError);
    expect((again as Error).message).to.match(
      /empty is not empty \(6 entries: \.gitignore, README\.md, package\.json, tsconfig\.json, vendor, …\): wesflow init writes a new project into a new or empty folder/,
    );
    const file = path.join(tmp, "file.txt");
    fs.writeFileSync(file, "x");
    const onFile = await initProject({ dir: file, tarball }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((onFile as Error).message).to.match(/file\.txt exists and is not a folder/);
    const missing = await initProject({
      dir: path.join(tmp, "new"),
      tarball: path.join(tmp, "none.tgz"),
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((missing as Error).message).to.match(/no tarball at .*none\.tgz/);
    expect(fs.existsSync(path.join(tmp, "new"))).to.equal(false);
  });
});
