import { expect } from "chai";
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { readStoredLedger } from "../../src/systems";
import { lastLine, ROOT, runCommand, wesflow } from "../fixtures/cli";

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

async function waitForRpc(url: string, node: ChildProcess, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (node.exitCode !== null) throw new Error(`hardhat node exited with ${node.exitCode}`);
    try {
      const response = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
      });
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`no JSON-RPC answer from ${url}`);
}

const HARDHAT_CLI = require.resolve("hardhat/internal/cli/cli.js");

/** A Hardhat script run against the node, as `npx hardhat run <script> --network localhost` does. */
function hardhatScript(script: string, env: NodeJS.ProcessEnv) {
  return runCommand(process.execPath, [HARDHAT_CLI, "run", script, "--network", "localhost"], { env });
}

describe("against a real JSON-RPC node (npx hardhat node): deploy → runs → audit → verify → disclose", function () {
  this.timeout(900_000);
  let node: ChildProcess;
  let dataDir: string;
  let env: NodeJS.ProcessEnv;
  /** The committed run recorded by the first test. */
  let committed: { workflowId: string; bundlePath: string; txHash: string };

  before(async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "wesflow-node-"));
    env = { WESFLOW_RPC_URL: url, WESFLOW_DATA_DIR: dataDir };
    node = spawn(process.execPath, [HARDHAT_CLI, "node", "--hostname", "127.0.0.1", "--port", String(port)], {
      cwd: ROOT,
      stdio: "ignore",
    });
    await waitForRpc(url, node);
  });

  after(() => {
    node?.kill("SIGTERM");
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it("records a run on the node and reads it back with audit", async () => {
    const deploy = await runCommand(
      process.execPath,
      [HARDHAT_CLI, "run", "scripts/deploy.ts", "--network", "localhost"],
      { env },
    );
    expect(deploy.code, deploy.stderr).to.equal(0);
    expect(deploy.stdout).to.match(/registry\s+0x[0-9a-fA-F]{40}/);
    expect(fs.existsSync(path.join(dataDir, "deployments", "localhost.json"))).to.equal(true);

    const run = await wesflow(["run", "order", "--network", "localhost", "--json"], { env });
    expect(run.code, run.stderr).to.equal(0);
    const summary = JSON.parse(lastLine(run.stdout));
    expect(summary.outcome).to.equal("COMMITTED");
    committed = summary;

    const audit = await wesflow(["audit", "--network", "localhost", "--json"], { env });
    expect(audit.code, audit.stderr).to.equal(0);
    const entries = JSON.parse(lastLine(audit.stdout));
    expect(entries).to.have.length(1);
    expect(entries[0]).to.include({
      workflowId: summary.workflowId,
      outcome: "COMMITTED",
      traceRoot: summary.traceRoot,
      txHash: summary.txHash,
      blockNumber: summary.blockNumber,
    });
    expect(entries[0].trail.matchesChain).to.equal(true);

    const one = await wesflow(["audit", "--network", "localhost", "--workflow", summary.workflowId], { env });
    expect(one.code, one.stderr).to.equal(0);
    expect(one.stdout).to.match(/payment\.charge \[attested\]/);

    const unknown = await wesflow(["audit", "--network", "localhost", "--workflow", "0x1234"], { env });
    expect(unknown.code).to.equal(1);
    expect(unknown.stderr).to.match(/is not recorded on localhost/);
  });

  it("verify --network localhost: the recorded bundle is valid and on chain; one from another registry is not", async () => {
    const bundleFile = path.resolve(ROOT, committed.bundlePath);
    const verify = await wesflow(["verify", bundleFile, "--network", "localhost", "--json"], { env });
    expect(verify.code, verify.stderr).to.equal(0);
    const report = JSON.parse(lastLine(verify.stdout));
    expect(report).to.include({ valid: true, onChain: true });
    expect(report.reasons).to.deep.equal([]);
    expect(report.checks.chain).to.equal("passed");

    const readable = await wesflow(["verify", bundleFile, "--network", "localhost"], { env });
    expect(readable.code, readable.stderr).to.equal(0);
    expect(readable.stdout).to.include(`tx ${committed.txHash}`);
    expect(lastLine(readable.stdout)).to.equal("VALID, and recorded on localhost as stated");

    const elsewhere = JSON.parse(fs.readFileSync(bundleFile, "utf8"));
    elsewhere.submission.registry = "0x000000000000000000000000000000000000dEaD";
    const elsewhereFile = path.join(dataDir, "elsewhere.json");
    fs.writeFileSync(elsewhereFile, JSON.stringify(elsewhere));
    const other = await wesflow(["verify", elsewhereFile, "--network", "localhost", "--json"], { env });
    expect(other.code).to.equal(1);
    const otherReport = JSON.parse(lastLine(other.stdout));
    expect(otherReport).to.include({ valid: false, onChain: false });
    expect(otherReport.reasons[0]).to.match(
      /the bundle was recorded on chain 31337 by registry 0x0+dEaD, not on localhost/,
    );
  });

  it("disclose one step of the recorded run and verify the disclosure against the node", async () => {
    const bundleFile = path.resolve(ROOT, committed.bundlePath);
    const disclose = await wesflow(["disclose", bundleFile, "--step", "2", "--json"], { env });
    expect(disclose.code, disclose.stderr).to.equal(0);
    const { file } = JSON.parse(lastLine(disclose.stdout));
    expect(file).to.equal(path.join(path.dirname(bundleFile), "step-2.disclosure.json"));

    const verify = await wesflow(["verify-disclosure", file, "--network", "localhost", "--json"], { env });
    expect(verify.code, verify.stderr).to.equal(0);
    const report = JSON.parse(lastLine(verify.stdout));
    expect(report).to.include({ valid: true, onChain: true });
    expect(report.step).to.include({ index: 2, name: "payment" });
    expect(report.call).to.include({ operation: "payment.charge", evidence: "attested" });

    const tampered = JSON.parse(fs.readFileSync(file, "utf8"));
    tampered.traceRoot = "0x" + "11".repeat(32);
    const tamperedFile = path.join(dataDir, "tampered.disclosure.json");
    fs.writeFileSync(tamperedFile, JSON.stringify(tampered));
    const rejected = await wesflow(["verify-disclosure", tamperedFile, "--network", "localhost", "--json"], {
      env,
    });
    expect(rejected.code).to.equal(1);
    expect(JSON.parse(lastLine(rejected.stdout)).reasons.join("\n")).to.match(
      /the chain recorded trace root/,
    );
  });

  it("audit says no less than verify: a bundle renamed after the fact fails there with verify's findings; a run without its bundle shows its template's name", async () => {
    const bundleFile = path.resolve(ROOT, committed.bundlePath);
    const original = fs.readFileSync(bundleFile, "utf8");
    const renamed = JSON.parse(original);
    const step = renamed.steps.find((s: { stepName: string }) => s.stepName === "payment");
    step.stepName = "refund";
    renamed.calls.find((c: { stepIndex: number }) => c.stepIndex === step.index).operationName =
      "payment.refund";
    const audit = (...extra: string[]) =>
      wesflow(["audit", "--network", "localhost", "--workflow", committed.workflowId, ...extra], { env });
    try {
      fs.writeFileSync(bundleFile, JSON.stringify(renamed, null, 2));
      const verify = await wesflow(["verify", bundleFile, "--network", "localhost", "--json"], { env });
      expect(verify.code, verify.stderr).to.equal(1);
      const { reasons } = JSON.parse(lastLine(verify.stdout));
      expect(reasons).to.include.members([
        `step ${step.index} is named refund, its code ${step.stepCode} is payment`,
        "call 1 is named payment.refund, its operation code 101 is payment.charge",
      ]);

      const text = await audit();
      expect(text.code, text.stderr).to.equal(0);
      expect(text.stdout).not.to.include("bundle matches the on-chain trace root");
      expect(text.stdout).not.to.include("bundle verified");
      expect(text.stdout).to.include(
        "    trail        BUNDLE FAILS VERIFICATION (wesflow verify finds it invalid against the registry):",
      );
      for (const reason of reasons) expect(text.stdout).to.include(`  - ${reason}`);
      expect(text.stdout).to.include("steps, names and calls as the bundle states them, NOT verified:");
      const json = await audit("--json");
      expect(json.code, json.stderr).to.equal(0);
      const [entry] = JSON.parse(lastLine(json.stdout));
      expect(entry.trail).to.deep.include({ verified: false, matchesChain: false, problems: reasons });

      fs.rmSync(bundleFile);
      const absent = await audit();
      expect(absent.code, absent.stderr).to.equal(0);
      const deployment = JSON.parse(
        fs.readFileSync(path.join(dataDir, "deployments", "localhost.json"), "utf8"),
      );
      const templateId = deployment.templates.OrderStateWorkflow_4_3_10.templateId;
      expect(absent.stdout).to.include(`    template     OrderStateWorkflow_4_3_10 (${templateId})`);
      expect(absent.stdout).to.include("bundle not on this machine");
    } finally {
      fs.writeFileSync(bundleFile, original);
    }
    const restored = await audit("--json");
    expect(JSON.parse(lastLine(restored.stdout))[0].trail).to.include({
      verified: true,
      namesVerified: true,
    });
  });

  it("records a rolled-back run: verify shows the failed call declared; scripts/audit.ts filters by outcome", async () => {
    const run = await wesflow(
      [
        "run",
        "order",
        "--network",
        "localhost",
        "--fail",
        "logistics:error",
        "--call-timeout",
        "500",
        "--json",
      ],
      { env },
    );
    expect(run.code, run.stderr).to.equal(0);
    const summary = JSON.parse(lastLine(run.stdout));
    expect(summary.outcome).to.equal("ROLLED_BACK");

    const verify = await wesflow(
      ["verify", path.resolve(ROOT, summary.bundlePath), "--network", "localhost", "--json"],
      { env },
    );
    expect(verify.code, verify.stderr).to.equal(0);
    const report = JSON.parse(lastLine(verify.stdout));
    expect(report).to.include({ valid: true, onChain: true, outcome: "ROLLED_BACK" });
    expect(
      report.calls.map((c: { operation: string; evidence: string }) => `${c.operation} ${c.evidence}`),
    ).to.deep.equal([
      "payment.charge attested",
      "logistics.ship declared",
      "logistics.status attested",
      "payment.refund attested",
    ]);

    const rolledBack = await hardhatScript("scripts/audit.ts", { ...env, OUTCOME: "ROLLED_BACK" });
    expect(rolledBack.code, rolledBack.stderr).to.equal(0);
    const entries = JSON.parse(rolledBack.stdout);
    expect(entries).to.have.length(1);
    expect(entries[0]).to.include({
      workflowId: summary.workflowId,
      template: "OrderStateSaga_4_3_10",
      outcome: "ROLLED_BACK",
    });

    const byTemplate = await hardhatScript("scripts/audit.ts", {
      ...env,
      TEMPLATE: "OrderStateWorkflow_4_3_10",
    });
    expect(byTemplate.code, byTemplate.stderr).to.equal(0);
    expect(JSON.parse(byTemplate.stdout).map((e: { workflowId: string }) => e.workflowId)).to.deep.equal([
      committed.workflowId,
    ]);

    const badFilter = await hardhatScript("scripts/audit.ts", { ...env, OUTCOME: "MAYBE" });
    expect(badFilter.code).to.equal(1);
    expect(badFilter.stderr).to.match(/^audit: OUTCOME: /);
  });

  it("an uncertain payment (the charge performed, its answer lost): settled by its status query, refunded once, recorded; audit shows the settling query", async () => {
    const run = await wesflow(
      [
        "run",
        "order",
        "--network",
        "localhost",
        "--fail",
        "payment:timeout-after-effect",
        "--call-timeout",
        "500",
        "--json",
      ],
      { env },
    );
    expect(run.code, run.stderr).to.equal(0);
    const summary = JSON.parse(lastLine(run.stdout));
    expect(summary.outcome).to.equal("ROLLED_BACK");
    expect(summary.failure).to.deep.include({
      step: "payment",
      evidence: "SETTLED",
      settlement: "TOOK_EFFECT",
    });
    const payments = readStoredLedger(path.join(dataDir, "systems", "payment.sqlite"))
      .filter((e) => e.workflowId === summary.workflowId)
      .map((e) => e.operation);
    expect(payments).to.deep.equal(["payment.charge", "payment.status", "payment.refund"]);

    const audit = await wesflow(["audit", "--network", "localhost", "--workflow", summary.workflowId], {
      env,
    });
    expect(audit.code, audit.stderr).to.equal(0);
    expect(audit.stdout).to.match(/bundle verified against the registry/);
    expect(audit.stdout).to.match(
      /✗ payment +FORWARD +FAILED → payment payment\.charge \[settled: its status query, call 2, is attested\]/,
    );
    expect(audit.stdout).to.match(
      /\? payment\.settle +SETTLE +OK +→ payment payment\.status \[attested\] +settles payment's payment\.charge \(call 1\): TOOK_EFFECT/,
    );
    expect(audit.stdout).to.match(
      /↺ refund_payment +COMPENSATE OK +→ payment payment\.refund \[attested\] +undoes payment/,
    );
    const json = JSON.parse(
      lastLine(
        (
          await wesflow(["audit", "--network", "localhost", "--workflow", summary.workflowId, "--json"], {
            env,
          })
        ).stdout,
      ),
    );
    const calls = json[0].trail.calls as {
      operation: string;
      evidence: string;
      settles?: unknown;
      settledBy?: number;
    }[];
    expect(calls.map((c) => `${c.operation} ${c.evidence}`)).to.deep.equal([
      "payment.charge settled",
      "payment.status attested",
      "payment.refund attested",
    ]);
    expect(calls[1].settles).to.deep.equal({
      callSeq: 1,
      operation: "payment.charge",
      outcome: "TOOK_EFFECT",
    });
  });

  it("scripts/submit.ts records a bundle proven elsewhere; verify knows it only afterwards", async () => {
    // Proven and recorded on the in-process chain (same keys, same submitter account), not on the node.
    const run = await wesflow(["run", "order", "--json"], { env });
    expect(run.code, run.stderr).to.equal(0);
    const summary = JSON.parse(lastLine(run.stdout));
    const bundleFile = path.resolve(ROOT, summary.bundlePath);

    const before = await wesflow(["verify", bundleFile, "--network", "localhost", "--json"], { env });
    const deployment = JSON.parse(
      fs.readFileSync(path.join(dataDir, "deployments", "localhost.json"), "utf8"),
    );
    const inProcessRegistry = JSON.parse(fs.readFileSync(bundleFile, "utf8")).submission.registry;
    if (inProcessRegistry.toLowerCase() === deployment.registry.toLowerCase()) {
      // Same chain id, same deployer nonce: same address. The node has no entry for the id: bad input.
      expect(before.code, before.stdout).to.equal(2);
      expect(before.stderr).to.match(/workflow 0x[0-9a-f]{64} is not recorded on localhost/);
    } else {
      expect(before.code, before.stdout).to.equal(1);
      expect(JSON.parse(lastLine(before.stdout)).reasons[0]).to.match(/the bundle was recorded on chain/);
    }

    const submit = await hardhatScript("scripts/submit.ts", { ...env, BUNDLE: bundleFile });
    expect(submit.code, submit.stderr).to.equal(0);
    expect(submit.stdout).to.match(/tx\s+0x[0-9a-f]{64}/);
    expect(submit.stdout).to.match(/block\s+\d+/);
    expect(submit.stdout).to.match(/gas\s+\d+/);

    const after = await wesflow(["verify", bundleFile, "--network", "localhost", "--json"], { env });
    expect(after.code, after.stderr).to.equal(0);
    expect(JSON.parse(lastLine(after.stdout))).to.include({ valid: true, onChain: true });

    const again = await hardhatScript("scripts/submit.ts", { ...env, BUNDLE: bundleFile });
    expect(again.code).to.equal(1);
    expect(again.stderr).to.match(/^submit: .*Registry__AlreadyRecorded/);

    const all = await hardhatScript("scripts/audit.ts", env);
    expect(all.code, all.stderr).to.equal(0);
    expect(JSON.parse(all.stdout)).to.have.length(4);
  });

  it("says clearly when the node cannot be reached", async () => {
    const port = await freePort();
    const result = await wesflow(["audit", "--network", "localhost"], {
      env: { ...env, WESFLOW_RPC_URL: `http://127.0.0.1:${port}` },
    });
    expect(result.code).to.equal(1);
    expect(result.stderr).to.match(/cannot reach network localhost at http:\/\/127\.0\.0\.1/);
    expect(result.stderr).not.to.match(/\n\s+at /);
  });
});
