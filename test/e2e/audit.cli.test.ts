import { expect } from "chai";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { lastLine, ROOT, wesflow, type CliResult } from "../fixtures/cli";

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.on("error", reject);
  });
}

/** A bad-input failure: exit 2, one line on stderr, no stack trace. */
function expectBadInput(result: CliResult, message: RegExp): void {
  expect(result.code, result.stdout + result.stderr).to.equal(2);
  expect(result.stderr.trim()).to.match(message);
  expect(result.stderr.trim().split("\n")).to.have.length(1);
  expect(result.stderr).not.to.match(/\n\s+at /);
}

describe("wesflow verify, disclose and verify-disclosure (command line, offline)", function () {
  this.timeout(600_000);
  let dataDir: string;
  let bundleFile: string;
  let bundle: Record<string, unknown> & { steps: { response: string[] }[]; calls: unknown[] };

  before(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "wesflow-audit-cli-"));
    const run = await wesflow(["run", "order", "--json", "--data-dir", dataDir]);
    expect(run.code, run.stderr).to.equal(0);
    bundleFile = path.resolve(ROOT, JSON.parse(lastLine(run.stdout)).bundlePath);
    bundle = JSON.parse(fs.readFileSync(bundleFile, "utf8"));
  });

  after(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  const writeCopy = (name: string, text: string) => {
    const file = path.join(dataDir, name);
    fs.writeFileSync(file, text);
    return file;
  };

  it("verify --json: valid, not on chain (the in-process chain is gone), every call attested; exit 0", async () => {
    const result = await wesflow(["verify", bundleFile, "--json"]);
    expect(result.code, result.stderr).to.equal(0);
    const report = JSON.parse(lastLine(result.stdout));
    expect(report).to.include({ valid: true, onChain: false });
    expect(report.reasons).to.deep.equal(["not checked on chain (no network given)"]);
    expect(report.calls.map((c: { evidence: string }) => c.evidence)).to.deep.equal([
      "attested",
      "attested",
      "attested",
    ]);
  });

  it("verify prints a readable report; a tampered bundle is invalid with its reason, exit 1", async () => {
    const readable = await wesflow(["verify", bundleFile]);
    expect(readable.code, readable.stderr).to.equal(0);
    expect(readable.stdout).to.match(/✓ Groth16 proof\s+passed/);
    expect(readable.stdout).to.match(/payment\.charge \[attested\]/);
    expect(lastLine(readable.stdout)).to.equal("VALID (not checked on chain)");

    const tampered = JSON.parse(JSON.stringify(bundle));
    tampered.steps[2].response[2] = "1"; // the amount captured
    const file = writeCopy("tampered.json", JSON.stringify(tampered));
    const json = await wesflow(["verify", file, "--json"]);
    expect(json.code).to.equal(1);
    const report = JSON.parse(lastLine(json.stdout));
    expect(report.valid).to.equal(false);
    expect(report.reasons.join("\n")).to.match(/the steps hash to trace root/);
    const text = await wesflow(["verify", file]);
    expect(text.code).to.equal(1);
    expect(lastLine(text.stdout)).to.equal("INVALID");
  });

  it("verify: a bundle whose payment response shows a key its fields do not encode is invalid, naming it; exit 1", async () => {
    const tampered = JSON.parse(JSON.stringify(bundle));
    const charge = tampered.calls.find(
      (c: { operationName: string }) => c.operationName === "payment.charge",
    );
    charge.response.refundedCents = 6779;
    const file = writeCopy("refunded.json", JSON.stringify(tampered, null, 2));
    const json = await wesflow(["verify", file, "--json"]);
    expect(json.code, json.stderr).to.equal(1);
    const report = JSON.parse(lastLine(json.stdout));
    expect(report).to.include({ valid: false });
    expect(report.checks).to.include({
      proof: "passed",
      traceRoot: "passed",
      calls: "passed",
      labels: "failed",
    });
    expect(report.reasons.join("\n")).to.match(
      /^step 2 \(payment\), call 1 \(payment\.charge\) response: key refundedCents \(6779\) is not one the committed fields encode/m,
    );
    const text = await wesflow(["verify", file]);
    expect(text.code).to.equal(1);
    expect(text.stdout).to.match(/✗ names and JSON +failed/);
    expect(lastLine(text.stdout)).to.equal("INVALID");

    // A key the bundle format does not define, outside any call's JSON: the file is not a bundle.
    const noted = JSON.parse(JSON.stringify(bundle));
    noted.steps[2].note = "refunded";
    expectBadInput(
      await wesflow(["verify", writeCopy("noted.json", JSON.stringify(noted))]),
      /has keys that wesflow\.run-bundle\/4 does not define: steps\.2\.note/,
    );
  });

  it("bad input exits 2 with one line: missing, truncated or malformed bundle, unknown network, unreachable node", async () => {
    expectBadInput(await wesflow(["verify", path.join(dataDir, "nope.json")]), /cannot read bundle .*ENOENT/);
    const text = fs.readFileSync(bundleFile, "utf8");
    const truncated = writeCopy("truncated.json", text.slice(0, text.length / 2));
    expectBadInput(await wesflow(["verify", truncated, "--json"]), /is not valid JSON \(truncated\?\)/);
    const malformed = writeCopy("malformed.json", JSON.stringify({ ...bundle, steps: "none" }));
    expectBadInput(await wesflow(["verify", malformed]), /is malformed at steps/);
    const unsalted = { ...bundle, format: "wesflow.run-bundle/1" } as Record<string, unknown>;
    expectBadInput(
      await wesflow(["verify", writeCopy("v1.json", JSON.stringify(unsalted))]),
      /is in format wesflow\.run-bundle\/1, made by an older wesflow before trace leaves were salted; this version reads wesflow\.run-bundle\/4 only/,
    );
    const unbound = { ...bundle, format: "wesflow.run-bundle/2" } as Record<string, unknown>;
    expectBadInput(
      await wesflow(["verify", writeCopy("v2.json", JSON.stringify(unbound))]),
      /is in format wesflow\.run-bundle\/2, made by an older wesflow before run ids were bound to their submitter and workflow; this version reads wesflow\.run-bundle\/4 only/,
    );
    const oneLeaf = { ...bundle, format: "wesflow.run-bundle/3" } as Record<string, unknown>;
    expectBadInput(
      await wesflow(["verify", writeCopy("v3.json", JSON.stringify(oneLeaf))]),
      /is in format wesflow\.run-bundle\/3, made by an older wesflow before state moves listed their writes and uncertain outcomes were settled; this version reads wesflow\.run-bundle\/4 only/,
    );
    expectBadInput(
      await wesflow(["verify", bundleFile, "--network", "mainnet-please"]),
      /cannot load network "mainnet-please"/,
    );
    const port = await freePort();
    expectBadInput(
      await wesflow(["verify", bundleFile, "--network", "localhost", "--data-dir", dataDir], {
        env: { WESFLOW_RPC_URL: `http://127.0.0.1:${port}` },
      }),
      /cannot reach network localhost at http:\/\/127\.0\.0\.1/,
    );
    const usage = await wesflow(["verify"]);
    expect(usage.code).to.equal(2);
  });

  it("disclose writes one step next to the bundle; verify-disclosure accepts it and rejects a tampered copy", async () => {
    const disclose = await wesflow(["disclose", bundleFile, "--step", "2"]);
    expect(disclose.code, disclose.stderr).to.equal(0);
    const file = path.join(path.dirname(bundleFile), "step-2.disclosure.json");
    expect(disclose.stdout).to.include(`wrote ${file}`);
    const doc = JSON.parse(fs.readFileSync(file, "utf8"));
    expect(doc).to.include({ format: "wesflow.step-disclosure/2", stepCount: 6 });
    expect(doc.step.stepName).to.equal("payment");

    const ok = await wesflow(["verify-disclosure", file, "--json"]);
    expect(ok.code, ok.stderr).to.equal(0);
    const report = JSON.parse(lastLine(ok.stdout));
    expect(report).to.include({ valid: true, onChain: false });
    expect(report.call).to.deep.include({ operation: "payment.charge", evidence: "attested" });

    doc.step.response[2] = "1";
    const tampered = writeCopy("tampered.disclosure.json", JSON.stringify(doc));
    const bad = await wesflow(["verify-disclosure", tampered, "--json"]);
    expect(bad.code).to.equal(1);
    expect(JSON.parse(lastLine(bad.stdout)).valid).to.equal(false);

    const out = path.join(dataDir, "chosen", "payment.json");
    const byName = await wesflow(["disclose", bundleFile, "--step", "payment", "--out", out, "--json"]);
    expect(byName.code, byName.stderr).to.equal(0);
    expect(JSON.parse(lastLine(byName.stdout))).to.include({ file: out, step: 2, stepName: "payment" });
  });

  it("disclose and verify-disclosure: bad input exits 2", async () => {
    expectBadInput(await wesflow(["disclose", bundleFile, "--step", "6"]), /there is no step 6/);
    expectBadInput(
      await wesflow(["disclose", bundleFile, "--step", "shipping"]),
      /has no step named shipping/,
    );
    expectBadInput(
      await wesflow(["verify-disclosure", writeCopy("cut.disclosure.json", '{"format": "wesflow.step-')]),
      /is not valid JSON \(truncated\?\)/,
    );
    expectBadInput(
      await wesflow([
        "verify-disclosure",
        writeCopy("wrong.disclosure.json", JSON.stringify({ format: "x" })),
      ]),
      /is malformed at format/,
    );
  });
});
