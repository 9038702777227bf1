import { expect } from "chai";
import type { WitnessTester } from "circomkit";
import { PoseidonMerkleTree, rootFromPath } from "../../src/crypto";
import { stepLeaf, stepsTree, traceRootOf, type StepRecord } from "../../src/trace";
import { circomkit } from "../fixtures/circomkit";
import { providerFixtures, signedOrderTrace, TRACE_DEPTH } from "../fixtures/orderTrace";

const str = (x: bigint | number) => x.toString();

describe("trace commitment: TypeScript and circuit agree", function () {
  this.timeout(300_000);
  let steps: StepRecord[];

  before(async () => {
    steps = (await signedOrderTrace({ providers: await providerFixtures() })).steps;
  });

  describe("StepLeaf(4)", () => {
    let circuit: WitnessTester<string[], string[]>;
    before(async () => {
      circuit = await circomkit.WitnessTester("StepLeaf_4", { file: "lib/trace", template: "StepLeaf", params: [4] });
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
          request: step.request.map(str),
          response: step.response.map(str),
        });
        const output = await circuit.readWitnessSignals(witness, ["leaf"]);
        expect(BigInt(output.leaf as string)).to.equal(stepLeaf(step));
      }
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
        { workflowId: str(workflowId), outcome: "1", stepCount: str(steps.length), leaves: tree.leaves.map(str) },
        {
          traceRoot: str(traceRootOf({ workflowId, outcome: 1, stepCount: steps.length, stepsRoot: tree.root })),
        },
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
          { leaf: str(tree.leaves[i]), pathElements: path.pathElements.map(str), pathIndices: path.pathIndices.map(str) },
          { root: str(tree.root) },
        );
      }
    });

    it("rejects a path index that is not a bit", async () => {
      const path = tree.path(2);
      await circuit.expectFail({
        leaf: str(tree.leaves[2]),
        pathElements: path.pathElements.map(str),
        pathIndices: ["2", ...path.pathIndices.slice(1).map(str)],
      });
    });
  });
});
