import { expect } from "chai";
import { ethers } from "hardhat";
import { benchmarkProver, gasChartSvg } from "../../src/pipeline";
import { circuitInstance, ProofGenerationError, Prover, readSetupRecord } from "../../src/prover";
import { ORDER_INSTANCE, orderProofs, type OrderProofs } from "../fixtures/batchProofs";

describe("the prover's two halves and the bench's prover figures", function () {
  this.timeout(600_000);
  let proofs: OrderProofs;

  before(async function () {
    this.timeout(20 * 60_000);
    const [signer, other] = await ethers.getSigners();
    proofs = await orderProofs({ submitter: signer.address, foreignSubmitter: other.address });
  });

  it("witness then proveWitness proves what prove proved; a failed witness leaves the prover usable", async () => {
    const instance = circuitInstance(ORDER_INSTANCE);
    const prover = new Prover(instance);
    const [run] = proofs.chain.runs;
    const { witness, witnessMs } = await prover.witness(run.input);
    expect(witnessMs).to.be.at.least(0);
    const proven = await prover.proveWitness(witness, witnessMs);
    expect(proven.publicSignals).to.deep.equal(run.publicSignals);
    expect(proven.witnessMs).to.equal(witnessMs);
    expect(proven.proveMs).to.be.at.least(witnessMs);
    expect(await prover.verify(proven)).to.equal(true);

    // Another submitter than the one the run's id commits to: no witness (RunBinding's constraint).
    const tampered = { ...run.input, submitter: BigInt(run.input.submitter as bigint) + 1n };
    let refused: unknown;
    await prover.witness(tampered).catch((error: unknown) => (refused = error));
    expect(refused).to.be.instanceOf(ProofGenerationError);
    expect((refused as Error).message).to.match(/does not satisfy circuit OrderStateWorkflow_4_3_10/);

    // The same (compiled once) witness calculator then computes the next run's witness correctly,
    // and two witnesses asked for at once come out each of its own input.
    const [a, b] = await Promise.all([prover.prove(proofs.chain.runs[1].input), prover.prove(run.input)]);
    expect(a.publicSignals).to.deep.equal(proofs.chain.runs[1].publicSignals);
    expect(b.publicSignals).to.deep.equal(run.publicSignals);
  });

  it("measures the warm prover against a fresh snarkjs CLI process on the same input", async () => {
    const instance = circuitInstance(ORDER_INSTANCE);
    const seen: string[] = [];
    const figures = await benchmarkProver({
      instance,
      input: proofs.chain.runs[0].input,
      warmRuns: 1,
      cliRuns: 1,
      onProof: (what) => seen.push(what),
    });
    // The CLI's proof was checked against the verification key inside (it would have thrown).
    expect(seen).to.deep.equal(["warm", "cli"]);
    expect(figures.instance).to.equal(ORDER_INSTANCE);
    expect(figures.constraints).to.equal(readSetupRecord(instance)!.constraints);
    expect(figures.warmMs).to.equal(figures.witnessMs + figures.proofMs);
    expect(figures.cliMs).to.be.greaterThan(0);
    expect(figures.ratio).to.equal(Math.round((figures.cliMs / figures.warmMs) * 100) / 100);
    expect(figures.runs).to.deep.equal({ warm: 1, cli: 1 });
  });

  it("charts gas per run by batch size, one bar per scenario and size, with the budgets", () => {
    const svg = gasChartSvg(
      [
        { scenario: "order", instance: "A", single: 300_000, batch: { "4": 140_000, "16": 97_000 } },
        { scenario: "clearing", instance: "B", single: 304_000, batch: { "4": 141_000, "16": 98_000 } },
      ],
      { single: 285_000, "batch 16": 100_000 },
    );
    // 2 legend swatches + 2 scenarios × 3 sizes.
    expect(svg.match(/<rect /g)).to.have.length(8);
    for (const label of ["single", "batch 4", "batch 16", "order (A)", "clearing (B)", "300k", "98k"]) {
      expect(svg).to.include(`>${label}<`);
    }
    expect(svg.match(/stroke-dasharray/g)).to.have.length(2);
  });
});
