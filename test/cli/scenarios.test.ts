import { expect } from "chai";
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
});
