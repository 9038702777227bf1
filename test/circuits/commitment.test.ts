import { expect } from "chai";
import type { WitnessTester } from "circomkit";
import { decodeRunClaim, encodeRunClaim } from "../../src/chain";
import { PoseidonMerkleTree, rootFromPath } from "../../src/crypto";
import { stepLeaf, stepsTree, traceRootOf, type StepRecord } from "../../src/trace";
import { circomkit } from "../fixtures/circomkit";
import { providerFixtures, signedOrderTrace, TRACE_DEPTH } from "../fixtures/orderTrace";

describe("trace commitment: TypeScript and circuit agree", function () {
  this.timeout(300_000);
  let steps: StepRecord[];

  before(async () => {
    steps = (await signedOrderTrace({ providers: await providerFixtures() })).steps;
  });

  describe("StepLeaf(4)", () => {
    let circuit: WitnessTester<string[], string[]>;
    before(async () => {
      circuit = await circomkit.WitnessTester("StepLeaf_4", {
        file: "lib/trace",
        template: "StepLeaf",
        params: [4],
      });
    });

    it("hashes every step record of an order run to the leaf src/trace computes", async () => {
      for (const step of steps) {
        const witness = await circuit.calculateWitness({
          index: step.index,
          stepCode: step.stepCode,
          phase: step.phase === "FORWARD" ? 1 : 2,
          status: step.status === "OK" ? 1 : 2,
          callSeq: step.callSeq,
          operation: step.operation,
          evidence: step.evidence === "ATTESTED" ? 2 : step.evidence === "DECLARED" ? 1 : 0,
          salt: step.salt,
          request: step.request,
          response: step.response,
        });
        const output = await circuit.readWitnessSignals(witness, ["leaf"]);
        expect(output.leaf).to.equal(stepLeaf(step));
      }
    });

    it("salts the leaf: records equal but for their salt have unrelated leaves", async () => {
      const step = steps[2];
      expect(step.salt > 0n).to.equal(true);
      const other = { ...step, salt: step.salt + 1n };
      expect(stepLeaf(other)).to.not.equal(stepLeaf(step));
      expect(stepLeaf({ ...step })).to.equal(stepLeaf(step));
      // every record of a run gets its own salt
      expect(new Set(steps.map((s) => s.salt)).size).to.equal(steps.length);
    });
  });

  describe("TraceCommitment(4)", () => {
    let circuit: WitnessTester<string[], string[]>;
    before(async () => {
      circuit = await circomkit.WitnessTester("TraceCommitment_4", {
        file: "lib/trace",
        template: "TraceCommitment",
        params: [TRACE_DEPTH],
      });
    });

    it("computes the traceRoot that src/trace computes, unused slots 0", async () => {
      const tree = stepsTree(steps, TRACE_DEPTH);
      const workflowId = 987654321n;
      await circuit.expectPass(
        { workflowId, outcome: 1, stepCount: steps.length, leaves: [...tree.leaves] },
        { traceRoot: traceRootOf({ workflowId, outcome: 1, stepCount: steps.length, stepsRoot: tree.root }) },
      );
    });
  });

  describe("MerkleInclusionRoot(3)", () => {
    let circuit: WitnessTester<string[], string[]>;
    const tree = new PoseidonMerkleTree(3, [11n, 22n, 33n, 44n, 55n]);
    before(async () => {
      circuit = await circomkit.WitnessTester("MerkleInclusionRoot_3", {
        file: "lib/merkle",
        template: "MerkleInclusionRoot",
        params: [3],
      });
    });

    it("recomputes the root for every leaf position", async () => {
      for (let i = 0; i < 8; i++) {
        const path = tree.path(i);
        expect(rootFromPath(tree.leaves[i], path)).to.equal(tree.root);
        await circuit.expectPass(
          { leaf: tree.leaves[i], pathElements: path.pathElements, pathIndices: path.pathIndices },
          { root: tree.root },
        );
      }
    });

    it("rejects a path index that is not a bit", async () => {
      const path = tree.path(2);
      await circuit.expectFail({
        leaf: tree.leaves[2],
        pathElements: path.pathElements,
        pathIndices: [2, ...path.pathIndices.slice(1)],
      });
    });
  });
  describe("RunClaim()", () => {
    // runClaim = submitter + outcome * 2^160, the one public signal of both; the registry splits it.
    const SUBMITTER = 0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266n;
    let circuit: WitnessTester<["submitter", "outcome"], ["runClaim"]>;
    before(async () => {
      circuit = await circomkit.WitnessTester("RunClaim", { file: "lib/trace", template: "RunClaim" });
    });

    it("packs a 160-bit submitter and outcome 1 or 2 as src/chain encodes them, and they split back", async () => {
      for (const [submitter, outcome] of [
        [SUBMITTER, 1n],
        [SUBMITTER, 2n],
        [0n, 1n],
        [(1n << 160n) - 1n, 2n],
      ]) {
        const runClaim = encodeRunClaim(submitter, outcome);
        await circuit.expectPass({ submitter, outcome }, { runClaim });
        expect(decodeRunClaim(runClaim)).to.deep.equal({ submitter, outcome });
      }
    });

    it("refuses a submitter of 160 bits or more: S + 2^160 with outcome 1 would read as S with outcome 2", async () => {
      await circuit.expectFail({ submitter: (1n << 160n) + SUBMITTER, outcome: 1n });
      await circuit.expectFail({ submitter: 1n << 160n, outcome: 1n });
    });

    it("refuses any outcome but 1 and 2", async () => {
      for (const outcome of [0n, 3n, 1n << 100n]) await circuit.expectFail({ submitter: SUBMITTER, outcome });
    });

    it("a witness whose claim is changed alone violates the constraints", async () => {
      const witness = await circuit.calculateWitness({ submitter: SUBMITTER, outcome: 1n });
      await circuit.expectConstraintPass(witness);
      const tampered = await circuit.editWitness(witness, { "main.runClaim": encodeRunClaim(SUBMITTER, 2n) });
      await circuit.expectConstraintFail(tampered);
    });
  });
});
