import { expect } from "chai";
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
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

describe("against a real JSON-RPC node (npx hardhat node): deploy → run → audit", function () {
  this.timeout(600_000);
  let node: ChildProcess;
  let dataDir: string;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "wesflow-node-"));
    env = { WESFLOW_RPC_URL: url, WESFLOW_DATA_DIR: dataDir };
    node = spawn(
      process.execPath,
      [
        require.resolve("hardhat/internal/cli/cli.js"),
        "node",
        "--hostname",
        "127.0.0.1",
        "--port",
        String(port),
      ],
      { cwd: ROOT, stdio: "ignore" },
    );
    await waitForRpc(url, node);
  });

  after(() => {
    node?.kill("SIGTERM");
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it("records a run on the node and reads it back with audit", async () => {
    const deploy = await runCommand(
      process.execPath,
      [require.resolve("hardhat/internal/cli/cli.js"), "run", "scripts/deploy.ts", "--network", "localhost"],
      { env },
    );
    expect(deploy.code, deploy.stderr).to.equal(0);
    expect(deploy.stdout).to.match(/registry\s+0x[0-9a-fA-F]{40}/);
    expect(fs.existsSync(path.join(dataDir, "deployments", "localhost.json"))).to.equal(true);

    const run = await wesflow(["run", "order", "--network", "localhost", "--json"], { env });
    expect(run.code, run.stderr).to.equal(0);
    const summary = JSON.parse(lastLine(run.stdout));
    expect(summary.outcome).to.equal("COMMITTED");

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
