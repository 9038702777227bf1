import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { loadCircuitInstances } from "../../src/prover";
import { SCENARIOS } from "../../src/scenarios";
import { lastLine, wesflow } from "../fixtures/cli";

describe("wesflow scenarios: every registered scenario with its systems, instances and state domains", function () {
  this.timeout(120_000);

  it("lists each built-in scenario as the registry holds it (--json), each instance declared in circuits.json", async () => {
    const result = await wesflow(["scenarios", "--json"]);
    expect(result.code, result.stderr).to.equal(0);
    const listed = JSON.parse(lastLine(result.stdout)) as {
      name: string;
      systems: string[];
      instances: { committed: string; rolledBack: string };
      stateDomains: string[];
    }[];
    expect(listed.map((s) => s.name)).to.deep.equal(Object.keys(SCENARIOS));
    const declared = new Set(loadCircuitInstances().map((i) => i.name));
    for (const s of listed) {
      expect(s.systems, s.name).to.have.length.greaterThan(0);
      expect(declared.has(s.instances.committed), s.instances.committed).to.equal(true);
      expect(declared.has(s.instances.rolledBack), s.instances.rolledBack).to.equal(true);
    }
    const order = listed.find((s) => s.name === "order")!;
    expect(order).to.deep.include({
      systems: ["invoicing", "logistics", "payment"],
      instances: { committed: "OrderStateWorkflow_4_3_10", rolledBack: "OrderStateSaga_4_3_10" },
      stateDomains: ["order/stock"],
    });
  });

  it("--scenario-folder registers a scenario kept in a folder of its own: listed with its instance and domain", async () => {
    const result = await wesflow([
      "--scenario-folder",
      "test/fixtures/scenarios/tally",
      "scenarios",
      "--json",
    ]);
    expect(result.code, result.stderr).to.equal(0);
    const listed = JSON.parse(lastLine(result.stdout)) as { name: string }[];
    expect(listed.map((s) => s.name)).to.deep.equal([...Object.keys(SCENARIOS), "tally"]);
    expect(listed.at(-1)).to.deep.include({
      systems: ["payment"],
      instances: { committed: "TallySaga_3_3_10", rolledBack: "TallySaga_3_3_10" },
      stateDomains: ["tally/pledged"],
    });
    const refused = await wesflow(["--scenario-folder", "test/fixtures", "scenarios"]);
    expect(refused.code).to.not.equal(0);
    expect(refused.stderr).to.match(/test\/fixtures is not a scenario folder/);
  });

  it("prints them for people without --json", async () => {
    const result = await wesflow(["scenarios"]);
    expect(result.code, result.stderr).to.equal(0);
    expect(result.stdout).to.match(/^order: E-commerce order/m);
    expect(result.stdout).to.match(/state\s+order\/stock/);
  });

  it("demo, run, bench and bench-journal refuse an unknown scenario by name, listing the built-in ones", async () => {
    for (const args of [
      ["demo", "--scenario", "nope"],
      ["bench", "--scenario", "nope"],
      ["bench-journal", "--scenario", "nope"],
      ["run", "nope"],
    ]) {
      const result = await wesflow(args);
      expect(result.code, args.join(" ")).to.not.equal(0);
      expect(result.stderr, args.join(" ")).to.match(/unknown scenario "nope"; built in: order/);
    }
  });

  it("wesflow run <folder> runs, proves and records a folder's scenario; another process verifies its bundle with --scenario-folder", async function () {
    // The first run builds the folder's circuit (about a minute alone, longer on a busy machine).
    this.timeout(1_200_000);
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "wesflow-cli-folder-"));
    try {
      const run = await wesflow(["run", "test/fixtures/scenarios/tally", "--data-dir", dataDir, "--json"], {
        timeoutMs: 1_100_000,
      });
      expect(run.code, run.stderr).to.equal(0);
      const summary = JSON.parse(lastLine(run.stdout)) as {
        outcome: string;
        bundlePath: string;
        state?: { domain: string };
      };
      expect(summary).to.deep.include({ outcome: "COMMITTED", state: summary.state });
      expect(summary.state?.domain).to.equal("tally/pledged");
      // Another process knows the scenario only when told where it is.
      const unknown = await wesflow(["verify", summary.bundlePath, "--json"]);
      expect(unknown.code).to.equal(1);
      expect(JSON.parse(lastLine(unknown.stdout)).reasons.join("\n")).to.match(
        /no registered scenario "tally" moves state/,
      );
      const known = await wesflow([
        "--scenario-folder",
        "test/fixtures/scenarios/tally",
        "verify",
        summary.bundlePath,
        "--json",
      ]);
      expect(known.code, known.stdout + known.stderr).to.equal(0);
      expect(JSON.parse(lastLine(known.stdout))).to.deep.include({ valid: true });
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
