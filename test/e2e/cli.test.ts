import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { lastLine, wesflow } from "../fixtures/cli";
import { encodeString } from "../../src/crypto";
import { stateSlotOf } from "../../src/state";

describe("wesflow command line", function () {
  this.timeout(300_000);
  let dataDir: string;

  before(() => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "wesflow-cli-"));
  });
  after(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  it("run order --json ends stdout with one JSON object describing the recorded run", async () => {
    const result = await wesflow(["run", "order", "--json", "--data-dir", dataDir]);
    expect(result.code, result.stderr).to.equal(0);
    const summary = JSON.parse(lastLine(result.stdout));
    expect(summary).to.have.keys([
      "workflowId",
      "scenario",
      "outcome",
      "traceRoot",
      "txHash",
      "blockNumber",
      "gasUsed",
      "bundlePath",
      "timings",
      "state",
    ]);
    expect(summary.scenario).to.equal("order");
    // The order moves its stock: the domain's root before and after the run.
    expect(summary.state.domain).to.equal("order/stock");
    expect(summary.state.rootBefore).to.match(/^0x[0-9a-f]{64}$/);
    expect(summary.state.rootAfter).to.match(/^0x[0-9a-f]{64}$/);
    expect(summary.state.rootAfter).to.not.equal(summary.state.rootBefore);
    expect(summary.outcome).to.equal("COMMITTED");
    expect(summary.workflowId).to.match(/^0x[0-9a-f]{64}$/);
    expect(summary.traceRoot).to.match(/^0x[0-9a-f]{64}$/);
    expect(summary.txHash).to.match(/^0x[0-9a-f]{64}$/);
    expect(summary.gasUsed).to.be.a("number").greaterThan(0);
    expect(summary.timings).to.have.keys(["executeMs", "proveMs", "submitMs"]);
    expect(fs.existsSync(path.resolve(path.join(__dirname, "..", ".."), summary.bundlePath))).to.equal(true);
  });

  it("state shows the stock the recorded run took, at the root its proof ended on", async () => {
    // The run above (demo order: 3 × SKU-COFFEE-1KG) moved the stock domain from its genesis.
    const result = await wesflow(["state", "--json", "--data-dir", dataDir]);
    expect(result.code, result.stderr).to.equal(0);
    const [domain] = JSON.parse(lastLine(result.stdout));
    expect(domain.domain).to.equal("order/stock");
    expect(domain.version).to.equal(1);
    expect(domain.pending).to.deep.equal([]);
    // each key at the slot its key fixes (the low 10 bits of Poseidon(key))
    const slot = (key: string) => stateSlotOf(encodeString(key));
    expect(domain.entries).to.deep.include({
      key: "SKU-COFFEE-1KG",
      slot: slot("SKU-COFFEE-1KG"),
      value: "497",
    });
    expect(domain.entries).to.deep.include({
      key: "SKU-MUG-CERAMIC",
      slot: slot("SKU-MUG-CERAMIC"),
      value: "120",
    });
    expect(domain.root).to.not.equal(domain.genesisRoot);

    const text = await wesflow(["state", "--data-dir", dataDir]);
    expect(text.stdout).to.match(new RegExp(`SKU-COFFEE-1KG\\s+497\\s+slot ${slot("SKU-COFFEE-1KG")}`));
    const unknown = await wesflow(["state", "--domain", "clearing/balances", "--data-dir", dataDir]);
    expect(unknown.code).to.equal(1);
    expect(unknown.stderr.trim()).to.match(/^wesflow: no state domain "clearing\/balances" in /);
  });

  it("rejects an invalid --input order with a one-line error, before anything runs", async () => {
    const input = path.join(dataDir, "bad-order.json");
    fs.writeFileSync(input, JSON.stringify({ orderId: "ORD-1", quantity: -3 }));
    const result = await wesflow(["run", "order", "--input", input, "--data-dir", dataDir]);
    expect(result.code).to.equal(1);
    expect(result.stderr).to.match(/invalid order input/);
    expect(result.stderr).not.to.match(/\n\s+at /); // no stack trace for an expected error
    expect(fs.readdirSync(path.join(dataDir, "runs")).length).to.equal(1); // nothing new was run
  });

  it("rejects an unknown scenario and an unreadable input file", async () => {
    const unknown = await wesflow(["run", "shipping", "--data-dir", dataDir]);
    expect(unknown.code).to.equal(1);
    expect(unknown.stderr).to.match(/unknown scenario "shipping"/);
    const missing = await wesflow(["run", "order", "--input", "no-such-file.json", "--data-dir", dataDir]);
    expect(missing.code).to.equal(1);
    expect(missing.stderr).to.match(/cannot read input/);
  });

  it("audit on the in-process network explains that it lives only inside one command", async () => {
    const result = await wesflow(["audit", "--network", "hardhat", "--data-dir", dataDir]);
    expect(result.code).to.equal(1);
    expect(result.stderr).to.match(/in-process Hardhat network lives only inside one command/);
  });
});
