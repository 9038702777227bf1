import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { circuitInstance, circuitSourceHash, includedSources } from "../../src/prover";
import { ROOT } from "../fixtures/cli";

const rel = (files: string[]) => files.map((f) => path.relative(path.join(ROOT, "circuits"), f));

describe("setup's staleness check: an instance's hash covers its own sources only", () => {
  it("follows includes transitively from the instance's main file, leaving package includes to their version", () => {
    expect(rel(includedSources(path.join(ROOT, "circuits", "order", "order.circom")))).to.deep.equal([
      "lib/attestation.circom",
      "lib/merkle.circom",
      "lib/saga.circom",
      "lib/trace.circom",
      "order/order.circom",
    ]);
    expect(rel(includedSources(path.join(ROOT, "circuits", "workflow.circom")))).to.include.members([
      "lib/workflowTrace.circom",
      "lib/trace.circom",
    ]);
  });

  it("ignores commented-out includes, follows relative ones, and names a missing include", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "wesflow-includes-"));
    try {
      fs.mkdirSync(path.join(dir, "lib"));
      fs.writeFileSync(path.join(dir, "lib", "a.circom"), 'include "circomlib/circuits/poseidon.circom";\n');
      fs.writeFileSync(
        path.join(dir, "main.circom"),
        '// include "gone.circom";\n/* include "gone2.circom"; */\ninclude "./lib/a.circom";\n',
      );
      expect(includedSources(path.join(dir, "main.circom")).map((f) => path.relative(dir, f))).to.deep.equal([
        "lib/a.circom",
        "main.circom",
      ]);
      fs.writeFileSync(path.join(dir, "bad.circom"), 'include "./missing.circom";\n');
      expect(() => includedSources(path.join(dir, "bad.circom"))).to.throw(
        /includes "\.\/missing\.circom", which does not exist/,
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("differs between instances of the same file (template and parameters are hashed)", () => {
    expect(circuitSourceHash(circuitInstance("OrderStateWorkflow_4_3_10"))).to.not.equal(
      circuitSourceHash(circuitInstance("OrderStateSaga_4_3_10")),
    );
  });
});
