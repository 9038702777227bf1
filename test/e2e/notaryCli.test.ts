import { expect } from "chai";
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { startRefundsApi, type RefundsApi } from "../../examples/refunds-api";
import { lastLine, ROOT, wesflow } from "../fixtures/cli";

/** Starts `wesflow notary … --json` and resolves with its first line (where it listens) once it listens. */
function startNotaryCli(args: string[]): Promise<{ child: ChildProcessWithoutNullStreams; url: string }> {
  const child = spawn(process.execPath, [path.join(ROOT, "bin", "wesflow.js"), "notary", ...args], {
    cwd: ROOT,
    stdio: ["pipe", "pipe", "pipe"],
  });
  return new Promise((resolve, reject) => {
    let stdout = "";
    let stderr = "";
    const timer = setTimeout(() => reject(new Error(`wesflow notary did not start\n${stderr}`)), 120_000);
    child.stderr.on("data", (d) => (stderr += d));
    child.stdout.on("data", (d) => {
      stdout += d;
      const line = stdout.split("\n").find((l) => l.startsWith("{"));
      if (line) {
        clearTimeout(timer);
        resolve({ child, url: (JSON.parse(line) as { url: string }).url });
      }
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`wesflow notary exited with ${code}\n${stderr}`));
    });
  });
}

describe("`wesflow notary` and `wesflow run` of a workflow calling a plain REST API through it", function () {
  this.timeout(900_000);
  let api: RefundsApi;
  let dataDir: string;
  let notary: { child: ChildProcessWithoutNullStreams; url: string } | undefined;

  before(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "wesflow-notary-cli-"));
    api = await startRefundsApi();
  });

  after(async () => {
    if (notary && notary.child.exitCode === null) {
      const exited = new Promise((resolve) => notary!.child.once("exit", resolve));
      notary.child.kill("SIGTERM");
      await exited;
    }
    await api?.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it("refuses a bad upstream URL by name", async () => {
    const result = await wesflow(["notary", "--upstream", "ftp://example.com", "--data-dir", dataDir], {
      timeoutMs: 120_000,
    });
    expect(result.code).to.not.equal(0);
    expect(result.stderr).to.match(/--upstream must be an http\(s\) URL, got "ftp:\/\/example.com"/);
  });

  it("a refund run from the command line commits through the notary, is recorded, and its bundle verifies", async () => {
    notary = await startNotaryCli(["--upstream", api.url, "--port", "0", "--json", "--data-dir", dataDir]);
    const env = { WESFLOW_NOTARY_URL: notary.url, REFUNDS_API_URL: api.url };
    const run = await wesflow(["run", "./examples/refund.workflow.ts", "--data-dir", dataDir, "--json"], {
      env,
      timeoutMs: 600_000,
    });
    expect(run.code, run.stderr).to.equal(0);
    const summary = JSON.parse(lastLine(run.stdout)) as {
      outcome: string;
      gasUsed: number;
      bundlePath: string;
    };
    expect(summary.outcome).to.equal("COMMITTED");
    expect(api.performed).to.deep.equal({ "POST /credit-notes": 1, "POST /payouts": 1 });
    process.stdout.write(
      `      gas of the recorded run (wesflow run --json, 2 notarised calls): ${summary.gasUsed}\n`,
    );

    const verified = await wesflow(["verify", summary.bundlePath, "--json"], { timeoutMs: 300_000 });
    expect(verified.code, verified.stderr).to.equal(0);
    const result = JSON.parse(lastLine(verified.stdout)) as { valid: boolean; calls: { evidence: string }[] };
    expect(result.valid).to.equal(true);
    expect(result.calls.map((c) => c.evidence)).to.deep.equal(["attested-by-notary", "attested-by-notary"]);
  });
});
