import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import { loadFixture } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { expect } from "chai";
import { artifacts, ethers } from "hardhat";

import {
  ChainArgumentError,
  RegistryRevertError,
  RegistrySubmitError,
  VerifierArtifactError,
  deployRegistry,
  deployVerifier,
  queryEntries,
  registerProviderSet,
  registerTemplate,
  submitRun,
  templateIdOf,
  type ConfirmedTransaction,
  type Groth16ProofJson,
} from "../../src/chain";
import { MockWorkflowVerifier__factory } from "../../typechain-types";

const TEMPLATE_ID = templateIdOf("OrderWorkflow_4_3");
const OTHER_TEMPLATE_ID = templateIdOf("RefundWorkflow_4_3");
const PROVIDER_SET_ROOT = 987_654_321n;
const PROVIDERS = [
  { systemCode: 1, pubKeyX: 101n, pubKeyY: 102n },
  { systemCode: 2, pubKeyX: 201n, pubKeyY: 202n },
];

/** The mock verifier accepts anything well-formed; this is how snarkjs writes a proof. */
const PROOF: Groth16ProofJson = {
  pi_a: ["1", "2", "1"],
  pi_b: [
    ["3", "4"],
    ["5", "6"],
    ["1", "0"],
  ],
  pi_c: ["7", "8", "1"],
  protocol: "groth16",
  curve: "bn128",
};

function publicSignalsOf(run: { workflowId: bigint; outcome: bigint; traceRoot: bigint; submitter: string }) {
  return [run.workflowId, run.outcome, run.traceRoot, PROVIDER_SET_ROOT, BigInt(run.submitter)].map(String);
}

async function clientFixture() {
  const [admin, prover, secondProver, outsider] = await ethers.getSigners();
  const registry = await deployRegistry({ signer: admin });
  const verifier = await new MockWorkflowVerifier__factory(admin).deploy();
  const verifierAddress = await verifier.getAddress();
  await registerTemplate({ registry, templateId: TEMPLATE_ID, verifier: verifierAddress });
  await registerTemplate({ registry, templateId: OTHER_TEMPLATE_ID, verifier: verifierAddress });
  await registerProviderSet({ registry, root: PROVIDER_SET_ROOT, providers: PROVIDERS });
  return { registry, verifier, verifierAddress, admin, prover, secondProver, outsider };
}

async function expectRejection<T extends Error>(
  promise: Promise<unknown>,
  errorClass: new (...args: never[]) => T,
) {
  try {
    await promise;
  } catch (error) {
    expect(error).to.be.instanceOf(errorClass);
    return error as T;
  }
  expect.fail(`expected a ${errorClass.name}`);
}

describe("chain client", () => {
  it("templateIdOf is keccak256 of the UTF-8 name", () => {
    expect(templateIdOf("OrderWorkflow_4_3")).to.equal(
      ethers.keccak256(ethers.toUtf8Bytes("OrderWorkflow_4_3")),
    );
    expect(() => templateIdOf("")).to.throw(ChainArgumentError);
  });

  it("deploys a registry with the given admin", async () => {
    const { admin, outsider } = await loadFixture(clientFixture);
    const registry = await deployRegistry({ signer: admin, admin: outsider.address });
    expect(await registry.hasRole(await registry.DEFAULT_ADMIN_ROLE(), outsider.address)).to.equal(true);
    expect(await registry.hasRole(await registry.DEFAULT_ADMIN_ROLE(), admin.address)).to.equal(false);
  });

  it("registers templates and provider sets", async () => {
    const { registry, verifierAddress } = await loadFixture(clientFixture);
    expect((await registry.getTemplate(TEMPLATE_ID)).verifier).to.equal(verifierAddress);
    expect(await registry.isProviderSetActive(PROVIDER_SET_ROOT)).to.equal(true);

    const confirmed = await registerProviderSet({ registry, root: 5n, providers: PROVIDERS });
    const receipt = await ethers.provider.getTransactionReceipt(confirmed.txHash);
    expect(receipt?.blockNumber).to.equal(confirmed.blockNumber);
    const [log] = await registry.queryFilter(registry.filters.ProviderSetRegistered(5n));
    expect(log.args.providers.map((p) => [p.systemCode, p.pubKeyX, p.pubKeyY])).to.deep.equal([
      [1n, 101n, 102n],
      [2n, 201n, 202n],
    ]);
  });

  it("submits runs and reads them back by workflow id, template, submitter and block range", async () => {
    const { registry, prover, secondProver } = await loadFixture(clientFixture);
    const runs = [
      { workflowId: 11n, outcome: 1n, traceRoot: 111n, submitter: prover.address, templateId: TEMPLATE_ID },
      {
        workflowId: 22n,
        outcome: 2n,
        traceRoot: 222n,
        submitter: prover.address,
        templateId: OTHER_TEMPLATE_ID,
      },
      {
        workflowId: 33n,
        outcome: 1n,
        traceRoot: 333n,
        submitter: secondProver.address,
        templateId: TEMPLATE_ID,
      },
    ];
    const submitted: ConfirmedTransaction[] = [];
    for (const run of runs) {
      const signer = run.submitter === prover.address ? prover : secondProver;
      submitted.push(
        await submitRun({
          registry: registry.connect(signer),
          templateId: run.templateId,
          proof: PROOF,
          publicSignals: publicSignalsOf(run),
        }),
      );
    }

    const receipt = await ethers.provider.getTransactionReceipt(submitted[0].txHash);
    expect(submitted[0].blockNumber).to.equal(receipt?.blockNumber);
    expect(submitted[0].gasUsed).to.be.a("number").and.to.equal(Number(receipt?.gasUsed));

    const all = await queryEntries({ registry });
    expect(all).to.deep.equal(
      runs.map((run, index) => ({
        workflowId: run.workflowId,
        templateId: run.templateId,
        outcome: run.outcome === 1n ? "COMMITTED" : "ROLLED_BACK",
        traceRoot: run.traceRoot,
        providerSetRoot: PROVIDER_SET_ROOT,
        submitter: run.submitter,
        blockNumber: submitted[index].blockNumber,
        txHash: submitted[index].txHash,
      })),
    );

    const byId = (entries: { workflowId: bigint }[]) => entries.map((entry) => entry.workflowId);
    expect(byId(await queryEntries({ registry, workflowId: 22n }))).to.deep.equal([22n]);
    expect(byId(await queryEntries({ registry, templateId: TEMPLATE_ID }))).to.deep.equal([11n, 33n]);
    expect(byId(await queryEntries({ registry, submitter: prover.address.toLowerCase() }))).to.deep.equal([
      11n,
      22n,
    ]);
    expect(
      byId(await queryEntries({ registry, templateId: TEMPLATE_ID, submitter: prover.address })),
    ).to.deep.equal([11n]);
    expect(
      byId(
        await queryEntries({
          registry,
          fromBlock: submitted[1].blockNumber,
          toBlock: submitted[1].blockNumber,
        }),
      ),
    ).to.deep.equal([22n]);
    expect(await queryEntries({ registry, workflowId: 44n })).to.deep.equal([]);
  });

  it("throws a RegistrySubmitError naming the registry's error and its arguments", async () => {
    const { registry, prover, outsider } = await loadFixture(clientFixture);
    const run = { workflowId: 11n, outcome: 1n, traceRoot: 111n, submitter: prover.address };
    const submission = { templateId: TEMPLATE_ID, proof: PROOF, publicSignals: publicSignalsOf(run) };
    await submitRun({ registry: registry.connect(prover), ...submission });

    const replay = await expectRejection(
      submitRun({ registry: registry.connect(prover), ...submission }),
      RegistrySubmitError,
    );
    expect(replay.name).to.equal("RegistrySubmitError");
    expect(replay.errorName).to.equal("Registry__AlreadyRecorded");
    expect(replay.args).to.deep.equal([11n]);
    expect(replay.workflowId).to.equal(11n);
    expect(replay.templateId).to.equal(TEMPLATE_ID);
    expect(replay.retryable).to.equal(false);
    expect(replay.cause).to.be.instanceOf(Error);

    const fresh = { ...submission, publicSignals: publicSignalsOf({ ...run, workflowId: 12n }) };
    const mismatch = await expectRejection(
      submitRun({ registry: registry.connect(outsider), ...fresh }),
      RegistrySubmitError,
    );
    expect(mismatch.errorName).to.equal("Registry__SubmitterMismatch");
    expect(mismatch.args).to.deep.equal([prover.address, outsider.address]);

    await registry.pause();
    const paused = await expectRejection(
      submitRun({ registry: registry.connect(prover), ...fresh }),
      RegistrySubmitError,
    );
    expect(paused.errorName).to.equal("EnforcedPause");
    expect(paused.retryable).to.equal(true);
  });

  it("throws a RegistryRevertError when an admin call is refused", async () => {
    const { registry, verifierAddress, outsider } = await loadFixture(clientFixture);
    const refused = await expectRejection(
      registerTemplate({
        registry: registry.connect(outsider),
        templateId: templateIdOf("x"),
        verifier: verifierAddress,
      }),
      RegistryRevertError,
    );
    expect(refused.errorName).to.equal("AccessControlUnauthorizedAccount");
    expect(refused.args).to.deep.equal([outsider.address, ethers.id("REGISTRAR_ROLE")]);

    const duplicate = await expectRejection(
      registerProviderSet({ registry, root: PROVIDER_SET_ROOT, providers: PROVIDERS }),
      RegistryRevertError,
    );
    expect(duplicate.errorName).to.equal("Registry__ProviderSetAlreadyRegistered");
    expect(duplicate.args).to.deep.equal([PROVIDER_SET_ROOT]);
  });

  it("rejects malformed arguments before sending anything", async () => {
    const { registry, prover } = await loadFixture(clientFixture);
    const run = { workflowId: 11n, outcome: 1n, traceRoot: 111n, submitter: prover.address };
    await expectRejection(
      submitRun({ registry, templateId: "0x1234", proof: PROOF, publicSignals: publicSignalsOf(run) }),
      ChainArgumentError,
    );
    await expectRejection(queryEntries({ registry, submitter: "not an address" }), ChainArgumentError);
    expect(await registry.isRecorded(11n)).to.equal(false);
  });

  describe("deployVerifier", () => {
    let artifactsDir: string;

    beforeEach(async () => {
      artifactsDir = await mkdtemp(path.join(tmpdir(), "wesflow-artifacts-"));
    });

    afterEach(async () => {
      await rm(artifactsDir, { recursive: true, force: true });
    });

    async function placeArtifact(contractName: string, artifact: object) {
      const folder = path.join(artifactsDir, "contracts", "verifiers", `${contractName}.sol`);
      await mkdir(folder, { recursive: true });
      await writeFile(path.join(folder, `${contractName}.json`), JSON.stringify(artifact));
    }

    it("deploys a verifier from its artifact, usable as a template's verifier", async () => {
      const { registry, admin, prover } = await loadFixture(clientFixture);
      await placeArtifact("Order_4_3Verifier", await artifacts.readArtifact("MockWorkflowVerifier"));

      const address = await deployVerifier({
        signer: admin,
        contractName: "Order_4_3Verifier",
        artifactsDir,
      });
      expect(await ethers.provider.getCode(address)).to.not.equal("0x");

      const templateId = templateIdOf("Order_4_3");
      await registerTemplate({ registry, templateId, verifier: address });
      const run = { workflowId: 77n, outcome: 2n, traceRoot: 777n, submitter: prover.address };
      await submitRun({
        registry: registry.connect(prover),
        templateId,
        proof: PROOF,
        publicSignals: publicSignalsOf(run),
      });
      expect((await registry.getEntry(77n)).traceRoot).to.equal(777n);
      const [recorded] = await queryEntries({ registry, workflowId: 77n });
      expect(recorded.templateId).to.equal(templateId);
    });

    it("says when the artifact is missing, malformed or not a workflow verifier", async () => {
      const { admin } = await loadFixture(clientFixture);
      const missing = await expectRejection(
        deployVerifier({ signer: admin, contractName: "Absent_1Verifier", artifactsDir }),
        VerifierArtifactError,
      );
      expect(missing.reason).to.equal("missing");

      await placeArtifact("Broken", { abi: [], bytecode: "0x" });
      const malformed = await expectRejection(
        deployVerifier({ signer: admin, contractName: "Broken", artifactsDir }),
        VerifierArtifactError,
      );
      expect(malformed.reason).to.equal("malformed");

      await placeArtifact("NotAVerifier", await artifacts.readArtifact("WorkflowRegistry"));
      const wrong = await expectRejection(
        deployVerifier({ signer: admin, contractName: "NotAVerifier", artifactsDir }),
        VerifierArtifactError,
      );
      expect(wrong.reason).to.equal("not-a-workflow-verifier");

      await expectRejection(
        deployVerifier({ signer: admin, contractName: "../escape", artifactsDir }),
        ChainArgumentError,
      );
    });
  });
});
