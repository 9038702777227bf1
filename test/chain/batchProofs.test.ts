import { loadFixture } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { expect } from "chai";
import fs from "node:fs";
import { ethers } from "hardhat";
import type { Log } from "ethers";

import {
  deployBatchVerifier,
  deployRegistry,
  deployVerifier,
  recordBatch,
  RegistryBatchRunError,
  registerProviderSet,
  registerStateDomain,
  registerStateTemplate,
  setTemplateBatchVerifier,
  submitBatch,
  submitRunWithState,
  templateIdOf,
  toSolidityProof,
  toStatePublicSignalValues,
  type BatchRun,
  type SolidityProof,
  type StatePublicSignalValues,
} from "../../src/chain";
import {
  batchVerifierContractOf,
  circuitInstance,
  readVerificationKey,
  verifyingKeyHash,
} from "../../src/prover";
import { stateDomainId } from "../../src/state";
import { IWorkflowStateBatchVerifier__factory, type WorkflowRegistry } from "../../typechain-types";
import {
  BASE_FIELD,
  ORDER_INSTANCE,
  orderProofs,
  rerandomised,
  type OrderProofs,
} from "../fixtures/batchProofs";

// Real proofs of the order circuit (OrderStateWorkflow_4_3_10, six public signals) through the
// batch verifier generated at setup and the registry's submitBatchWithState. The proofs are made once
// (test/fixtures/batchProofs.ts) and shared by every test here.

const SNARK_SCALAR_FIELD = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;
const TEMPLATE_ID = templateIdOf(ORDER_INSTANCE);
const DOMAIN_ID = stateDomainId("order/stock");

let proofs: OrderProofs;
let runs: OrderProofs["chain"]["runs"];

function calldataOf(batch: readonly BatchRun[]): {
  proofs: SolidityProof[];
  signals: StatePublicSignalValues[];
} {
  return {
    proofs: batch.map((run) => toSolidityProof(run.proof)),
    signals: batch.map((run) => toStatePublicSignalValues(run.publicSignals)),
  };
}

/** A registry with the order template (its verifier and batch verifier), its domain at the chain's genesis. */
async function registryFixture() {
  const [signer, other] = await ethers.getSigners();
  const instance = circuitInstance(ORDER_INSTANCE);
  const registry = await deployRegistry({ signer });
  const providers = proofs.chain.providers;
  await registerProviderSet({
    registry,
    root: providers.root,
    providers: providers.providers.map((p) => ({
      systemCode: p.systemCode,
      pubKeyX: p.publicKey[0],
      pubKeyY: p.publicKey[1],
    })),
  });
  await registerStateDomain({ registry, domainId: DOMAIN_ID, root: proofs.chain.state!.initialRoot });
  const verifier = await deployVerifier({ signer, contractName: instance.verifierContract });
  await registerStateTemplate({ registry, templateId: TEMPLATE_ID, verifier, domainId: DOMAIN_ID });
  const batchVerifierAddress = await deployBatchVerifier({
    signer,
    contractName: batchVerifierContractOf(instance),
  });
  await setTemplateBatchVerifier({ registry, templateId: TEMPLATE_ID, batchVerifier: batchVerifierAddress });
  const batchVerifier = IWorkflowStateBatchVerifier__factory.connect(batchVerifierAddress, signer);
  return { registry, batchVerifier, signer, other };
}

/** Same fixture, a second registry: for comparing a batch with single submissions of the same runs. */
async function twoRegistriesFixture() {
  const first = await registryFixture();
  const second = await registryFixture();
  return { first, second };
}

/** The registry error a batch run's rejection carries, ABI-encoded. */
const reason = (registry: WorkflowRegistry, error: string, args: unknown[]) =>
  registry.interface.encodeErrorResult(error, args);

const logContents = (logs: readonly Log[]) => logs.map(({ topics, data }) => ({ topics, data }));

describe("batch verification with real proofs (order circuit)", function () {
  before(async function () {
    this.timeout(20 * 60_000);
    const [signer, other] = await ethers.getSigners();
    proofs = await orderProofs({ submitter: signer.address, foreignSubmitter: other.address });
    runs = proofs.chain.runs;
  });

  after(() => {
    if (proofs) fs.rmSync(proofs.dataDir, { recursive: true, force: true });
  });

  describe("the generated batch verifier", () => {
    it("commits to its verification key and takes six signals per proof", async () => {
      const { batchVerifier } = await loadFixture(registryFixture);
      const verifier = new ethers.Contract(
        await batchVerifier.getAddress(),
        [
          "function VERIFYING_KEY_HASH() view returns (bytes32)",
          "function PUBLIC_SIGNALS() view returns (uint256)",
        ],
        ethers.provider,
      );
      const vkey = readVerificationKey(circuitInstance(ORDER_INSTANCE).paths.vkey);
      expect(await verifier.VERIFYING_KEY_HASH()).to.equal(verifyingKeyHash(vkey));
      expect(await verifier.PUBLIC_SIGNALS()).to.equal(6n);
    });

    it("accepts batches of valid proofs (1, 2, 16) and a re-randomised proof among them", async () => {
      const { batchVerifier } = await loadFixture(registryFixture);
      for (const size of [1, 2, 16]) {
        const { proofs: p, signals } = calldataOf(runs.slice(0, size));
        expect(await batchVerifier.verifyBatch(p, signals), `batch of ${size}`).to.equal(true);
      }
      const again = await rerandomised(runs[1]);
      expect(again.proof.pi_a).to.not.deep.equal(runs[1].proof.pi_a);
      const { proofs: p, signals } = calldataOf([runs[0], again, runs[2]]);
      expect(await batchVerifier.verifyBatch(p, signals)).to.equal(true);
    });

    it("refuses a batch with one bad proof, swapped signals, or errors that cancel under equal weights", async () => {
      const { batchVerifier } = await loadFixture(registryFixture);
      const { proofs: p, signals } = calldataOf(runs.slice(0, 4));
      // run 2's C from run 3: a valid point, not run 2's proof
      const tampered = p.map((proof, i) => (i === 2 ? { ...proof, c: p[3].c } : proof));
      expect(await batchVerifier.verifyBatch(tampered, signals)).to.equal(false);
      const swapped = [signals[0], signals[2], signals[1], signals[3]];
      expect(await batchVerifier.verifyBatch(p, swapped)).to.equal(false);
      // C_1 += C_3 and C_2 -= C_3: the sum of the Cs is unchanged, so with every coefficient 1 the
      // check would pass; the Fiat-Shamir coefficients make it fail.
      const add = async (x: [bigint, bigint], y: [bigint, bigint]) => ecAdd(x, y);
      const minus = (point: [bigint, bigint]): [bigint, bigint] => [
        point[0],
        (BASE_FIELD - point[1]) % BASE_FIELD,
      ];
      const cancelling = [...p];
      cancelling[1] = { ...p[1], c: await add(p[1].c, p[3].c) };
      cancelling[2] = { ...p[2], c: await add(p[2].c, minus(p[3].c)) };
      expect(await batchVerifier.verifyBatch(cancelling, signals)).to.equal(false);
    });

    it("refuses a signal at or above the scalar field (an alias of a valid one) and invalid coordinates", async () => {
      const { batchVerifier } = await loadFixture(registryFixture);
      const { proofs: p, signals } = calldataOf(runs.slice(0, 3));
      const aliased = signals.map((s, i) =>
        i === 1 ? (s.map((x, j) => (j === 0 ? x + SNARK_SCALAR_FIELD : x)) as StatePublicSignalValues) : s,
      );
      expect(await batchVerifier.verifyBatch(p, aliased)).to.equal(false);
      const plusQ = (point: [bigint, bigint], k: 0 | 1): [bigint, bigint] =>
        k === 0 ? [point[0] + BASE_FIELD, point[1]] : [point[0], point[1] + BASE_FIELD];
      const cases: [string, SolidityProof[]][] = [
        ["A_0.y + Q", p.map((x, i) => (i === 0 ? { ...x, a: plusQ(x.a, 1) } : x))],
        ["A_1.x + Q", p.map((x, i) => (i === 1 ? { ...x, a: plusQ(x.a, 0) } : x))],
        ["C_0.y + Q", p.map((x, i) => (i === 0 ? { ...x, c: plusQ(x.c, 1) } : x))],
        ["C_2.x + Q", p.map((x, i) => (i === 2 ? { ...x, c: plusQ(x.c, 0) } : x))],
        ["B_1 + Q", p.map((x, i) => (i === 1 ? { ...x, b: [plusQ(x.b[0], 0), x.b[1]] } : x))],
        ["A_1 off the curve", p.map((x, i) => (i === 1 ? { ...x, a: [x.a[0], x.a[1] + 1n] } : x))],
        [
          "B_0 off the twist",
          p.map((x, i) => (i === 0 ? { ...x, b: [x.b[0], [x.b[1][0], x.b[1][1] + 1n]] } : x)),
        ],
      ];
      for (const [name, bad] of cases) {
        expect(await batchVerifier.verifyBatch(bad, signals), name).to.equal(false);
      }
      expect(await batchVerifier.verifyBatch([], [])).to.equal(false);
      expect(await batchVerifier.verifyBatch(p, signals.slice(0, 2))).to.equal(false);
    });
  });

  describe("submitBatchWithState", () => {
    it("a batch of 16 records 16 entries and 16 events identical to 16 single submissions", async () => {
      const { first, second } = await loadFixture(twoRegistriesFixture);
      const batch = await submitBatch({ registry: first.registry, templateId: TEMPLATE_ID, runs });
      const batchLogs = (await ethers.provider.getTransactionReceipt(batch.txHash))!.logs;
      const singleLogs: Log[] = [];
      const singleGas: number[] = [];
      for (const run of runs) {
        const single = await submitRunWithState({
          registry: second.registry,
          templateId: TEMPLATE_ID,
          ...run,
        });
        singleGas.push(single.gasUsed);
        singleLogs.push(...(await ethers.provider.getTransactionReceipt(single.txHash))!.logs);
      }
      // One WorkflowRecordedWithState event per run (its state move included).
      expect(batchLogs).to.have.length(16);
      expect(logContents(batchLogs)).to.deep.equal(logContents(singleLogs));
      for (const run of runs) {
        const [mine, theirs] = await Promise.all([
          first.registry.getEntry(run.workflowId),
          second.registry.getEntry(run.workflowId),
        ]);
        expect([mine.outcome, mine.traceRoot]).to.deep.equal([theirs.outcome, theirs.traceRoot]);
      }
      const last = BigInt(runs[15].publicSignals[5]);
      expect(await first.registry.currentStateRoot(DOMAIN_ID)).to.equal(last);
      expect(await second.registry.currentStateRoot(DOMAIN_ID)).to.equal(last);
      // Not a timed figure (npm run bench prints them): the batch shares the pairings.
      expect(batch.gasUsed / 16).to.be.lessThan(Math.min(...singleGas) / 2);
    });

    it("one bad proof reverts the whole batch, naming its run", async () => {
      const { registry } = await loadFixture(registryFixture);
      const { proofs: p, signals } = calldataOf(runs.slice(0, 4));
      const tampered = p.map((proof, i) => (i === 2 ? { ...proof, c: p[3].c } : proof));
      await expect(registry.submitBatchWithState(TEMPLATE_ID, tampered, signals))
        .to.be.revertedWithCustomError(registry, "Registry__BatchRunRejected")
        .withArgs(2, reason(registry, "Registry__InvalidProof", [TEMPLATE_ID]));
      expect(await registry.isRecorded(runs[0].workflowId)).to.equal(false);
      expect(await registry.currentStateRoot(DOMAIN_ID)).to.equal(proofs.chain.state!.initialRoot);
    });

    it("a replayed id reverts the whole batch, also as a re-randomised proof", async () => {
      const { registry } = await loadFixture(registryFixture);
      await submitBatch({ registry, templateId: TEMPLATE_ID, runs: runs.slice(0, 2) });
      const again = await rerandomised(runs[1]);
      for (const batch of [
        [again, runs[2]],
        [runs[2], again],
      ]) {
        const { proofs: p, signals } = calldataOf(batch);
        await expect(registry.submitBatchWithState(TEMPLATE_ID, p, signals))
          .to.be.revertedWithCustomError(registry, "Registry__BatchRunRejected")
          .withArgs(
            batch.indexOf(again),
            reason(registry, "Registry__AlreadyRecorded", [runs[1].workflowId]),
          );
      }
      expect(await registry.isRecorded(runs[2].workflowId)).to.equal(false);
    });

    it("a foreign submitter's run reverts the whole batch, naming it", async () => {
      const { registry, signer, other } = await loadFixture(registryFixture);
      const { proofs: p, signals } = calldataOf([runs[0], runs[1], proofs.foreign]);
      await expect(registry.submitBatchWithState(TEMPLATE_ID, p, signals))
        .to.be.revertedWithCustomError(registry, "Registry__BatchRunRejected")
        .withArgs(2, reason(registry, "Registry__SubmitterMismatch", [other.address, signer.address]));
      // Nor may its own submitter slip it into someone else's batch, or send theirs.
      await expect(registry.connect(other).submitBatchWithState(TEMPLATE_ID, p, signals))
        .to.be.revertedWithCustomError(registry, "Registry__BatchRunRejected")
        .withArgs(0, reason(registry, "Registry__SubmitterMismatch", [signer.address, other.address]));
    });

    it("a broken root chain reverts the whole batch, naming the run", async () => {
      const { registry } = await loadFixture(registryFixture);
      const { proofs: p, signals } = calldataOf([runs[0], runs[2], runs[3]]);
      await expect(registry.submitBatchWithState(TEMPLATE_ID, p, signals))
        .to.be.revertedWithCustomError(registry, "Registry__BatchRunRejected")
        .withArgs(
          1,
          reason(registry, "Registry__StaleStateRoot", [
            BigInt(runs[0].publicSignals[5]),
            BigInt(runs[2].publicSignals[4]),
          ]),
        );
    });
  });

  describe("the chain client", () => {
    it("submitBatch throws a RegistryBatchRunError naming the run, its workflow and its error", async () => {
      const { registry } = await loadFixture(registryFixture);
      const batch = [runs[0], runs[2]];
      const error = await submitBatch({ registry, templateId: TEMPLATE_ID, runs: batch }).catch(
        (e: unknown) => e,
      );
      expect(error).to.be.instanceOf(RegistryBatchRunError);
      const refused = error as RegistryBatchRunError;
      expect(refused.runIndex).to.equal(1);
      expect(refused.workflowId).to.equal(runs[2].workflowId);
      expect(refused.errorName).to.equal("Registry__StaleStateRoot");
      expect(refused.message).to.match(/batch run 1: submit of workflow/);
    });

    it("recordBatch records the runs before a bad one and reports the bad one and those its chain lost", async () => {
      const { registry } = await loadFixture(registryFixture);
      const tamperedRun = { ...runs[2], proof: { ...runs[2].proof, pi_c: runs[3].proof.pi_c } };
      const outcomes = await recordBatch({
        registry,
        templateId: TEMPLATE_ID,
        runs: [runs[0], runs[1], tamperedRun, runs[3], runs[4]],
      });
      expect(outcomes.map((o) => o.index)).to.deep.equal([0, 1, 2, 3, 4]);
      expect(outcomes[0].tx?.txHash).to.be.a("string");
      expect(outcomes[1].tx?.txHash).to.equal(outcomes[0].tx?.txHash);
      const errorOf = (i: number) => outcomes[i].error as RegistryBatchRunError;
      expect(errorOf(2).errorName).to.equal("Registry__InvalidProof");
      expect(errorOf(2).workflowId).to.equal(runs[2].workflowId);
      // run 3 started from run 2's root, which was never recorded
      expect(errorOf(3).errorName).to.equal("Registry__StaleStateRoot");
      expect(errorOf(4).errorName).to.equal("Registry__StaleStateRoot");
      expect(await registry.isRecorded(runs[1].workflowId)).to.equal(true);
      expect(await registry.isRecorded(runs[3].workflowId)).to.equal(false);
      expect(await registry.currentStateRoot(DOMAIN_ID)).to.equal(BigInt(runs[1].publicSignals[5]));
    });
  });
});

/** G1 addition through the ecAdd precompile (0x06). */
async function ecAdd(x: [bigint, bigint], y: [bigint, bigint]): Promise<[bigint, bigint]> {
  const coder = ethers.AbiCoder.defaultAbiCoder();
  const out = await ethers.provider.call({
    to: "0x0000000000000000000000000000000000000006",
    data: coder.encode(["uint256", "uint256", "uint256", "uint256"], [...x, ...y]),
  });
  const [sx, sy] = coder.decode(["uint256", "uint256"], out) as unknown as [bigint, bigint];
  return [sx, sy];
}
