import { loadFixture } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import { expect } from "chai";
import { ethers } from "hardhat";
import type { Log } from "ethers";

import { deployRegistry, templateIdOf } from "../../src/chain";
import {
  MockWorkflowBatchVerifier__factory,
  MockWorkflowDefinitionVerifier__factory,
  MockWorkflowStateVerifier__factory,
  MockWorkflowVerifier__factory,
  type WorkflowRegistry,
} from "../../typechain-types";

// Unit tests of the registry's batch submissions with mock verifiers (the registry's logic and its
// coverage); test/chain/batchProofs.test.ts runs real proofs through the generated batch verifier.

const SNARK_SCALAR_FIELD = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;
const PLAIN = templateIdOf("Plain_4_3");
const DEFINED = templateIdOf("WorkflowTrace_8_4/0xdef");
const STATE = templateIdOf("OrderStateWorkflow_4_3_10");
const STOCK = ethers.id("order/stock");
const GENESIS = 0x0e5e_5e5en;
const DEFINITION_HASH = 0xdef0_1234n;
const PROVIDER_SET_ROOT = 0x1234_5678n;
const OTHER_PROVIDER_SET_ROOT = 0x8765_4321n;
/** The A.x the mock single verifiers are told to refuse: a batch's bad proof. */
const BAD_AX = 0xbadn;

type Proof = { a: [bigint, bigint]; b: [[bigint, bigint], [bigint, bigint]]; c: [bigint, bigint] };
/** runClaim (submitter + outcome * 2^160), workflowId, traceRoot, providerSetRoot. */
type Signals4 = [bigint, bigint, bigint, bigint];
/** The four, then stateRootBefore, stateRootAfter. */
type Signals6 = [bigint, bigint, bigint, bigint, bigint, bigint];

const proofOf = (ax = 1n): Proof => ({
  a: [ax, 2n],
  b: [
    [3n, 4n],
    [5n, 6n],
  ],
  c: [7n, 8n],
});

async function batchFixture() {
  const [admin, prover, outsider] = await ethers.getSigners();
  const registry = await deployRegistry({ signer: admin });
  const verifier = await new MockWorkflowVerifier__factory(admin).deploy();
  const definitionVerifier = await new MockWorkflowDefinitionVerifier__factory(admin).deploy();
  const stateVerifier = await new MockWorkflowStateVerifier__factory(admin).deploy();
  const batchVerifier = await new MockWorkflowBatchVerifier__factory(admin).deploy();
  const providers = [{ systemCode: 1n, pubKeyX: 1n, pubKeyY: 2n }];
  await registry.registerProviderSet(PROVIDER_SET_ROOT, providers);
  await registry.registerProviderSet(OTHER_PROVIDER_SET_ROOT, providers);
  await registry.registerTemplate(PLAIN, verifier, ethers.ZeroHash);
  await registry.registerDefinitionTemplate(DEFINED, definitionVerifier, DEFINITION_HASH);
  await registry.registerStateDomain(STOCK, GENESIS);
  await registry.registerStateTemplate(STATE, stateVerifier, ethers.ZeroHash, STOCK);
  for (const templateId of [PLAIN, DEFINED, STATE]) {
    await registry.setTemplateBatchVerifier(templateId, batchVerifier);
  }
  /** The prover's run claim with this outcome (any value: the registry reads the bits above 160). */
  const claim = (outcome: bigint, submitter = prover.address) => BigInt(submitter) + (outcome << 160n);
  const plain = (i: number, overrides: Partial<Record<number, bigint>> = {}): Signals4 => {
    const signals: Signals4 = [
      claim(1n),
      0x1000n + BigInt(i),
      0x7000n + BigInt(i),
      i % 2 === 0 ? PROVIDER_SET_ROOT : OTHER_PROVIDER_SET_ROOT,
    ];
    for (const [index, value] of Object.entries(overrides)) signals[Number(index)] = value!;
    return signals;
  };
  /** n state runs chained from the genesis root (run i: root 0x5000+i-1 → 0x5000+i), rolled back ones keep it. */
  const chained = (n: number, rolledBack: number[] = []): Signals6[] => {
    const runs: Signals6[] = [];
    let root = GENESIS;
    for (let i = 0; i < n; i += 1) {
      const after = rolledBack.includes(i) ? root : 0x5000n + BigInt(i);
      runs.push([...plain(i), root, after] as Signals6);
      if (rolledBack.includes(i)) runs[i][0] = claim(2n);
      root = after;
    }
    return runs;
  };
  return {
    registry,
    verifier,
    definitionVerifier,
    stateVerifier,
    batchVerifier,
    admin,
    prover,
    outsider,
    claim,
    plain,
    chained,
  };
}

const batchOf = (n: number, bad?: number) =>
  Array.from({ length: n }, (_, i) => proofOf(i === bad ? BAD_AX : 1n));

function submitBatch(
  registry: WorkflowRegistry,
  signer: HardhatEthersSigner,
  templateId: string,
  runs: Signals4[],
) {
  return registry.connect(signer).submitBatch(templateId, batchOf(runs.length), runs);
}

function submitBatchWithState(registry: WorkflowRegistry, signer: HardhatEthersSigner, runs: Signals6[]) {
  return registry.connect(signer).submitBatchWithState(STATE, batchOf(runs.length), runs);
}

/** The reason a run of a batch carries: the error its single submission raises, ABI-encoded. */
function reason(registry: WorkflowRegistry, error: string, args: unknown[]): string {
  return registry.interface.encodeErrorResult(error, args);
}

/** What a transaction's logs say, without where they are (block, transaction, index). */
function logContents(logs: readonly Log[]) {
  return logs.map((log) => ({ address: log.address, topics: log.topics, data: log.data }));
}

describe("WorkflowRegistry: batch submissions (mock verifiers)", () => {
  describe("batch verifiers", () => {
    it("gives a template its batch verifier once, with its code hash, registrar only", async () => {
      const { registry, admin, outsider, batchVerifier } = await loadFixture(batchFixture);
      const other = templateIdOf("Other_4_3");
      await registry.registerTemplate(
        other,
        await registry.getTemplate(PLAIN).then((t) => t.verifier),
        ethers.ZeroHash,
      );
      expect(await registry.templateBatchVerifier(other)).to.equal(ethers.ZeroAddress);
      const address = await batchVerifier.getAddress();
      const codeHash = ethers.keccak256(await ethers.provider.getCode(address));
      await expect(registry.setTemplateBatchVerifier(other, address))
        .to.emit(registry, "TemplateBatchVerifierSet")
        .withArgs(other, address, codeHash);
      expect(await registry.templateBatchVerifier(other)).to.equal(address);
      await expect(registry.setTemplateBatchVerifier(other, address))
        .to.be.revertedWithCustomError(registry, "Registry__BatchVerifierAlreadySet")
        .withArgs(other);
      const unknown = templateIdOf("Unknown");
      await expect(registry.setTemplateBatchVerifier(unknown, address))
        .to.be.revertedWithCustomError(registry, "Registry__UnknownTemplate")
        .withArgs(unknown);
      await expect(registry.templateBatchVerifier(unknown))
        .to.be.revertedWithCustomError(registry, "Registry__UnknownTemplate")
        .withArgs(unknown);
      const third = templateIdOf("Third_4_3");
      await registry.registerTemplate(
        third,
        await registry.getTemplate(PLAIN).then((t) => t.verifier),
        ethers.ZeroHash,
      );
      await expect(registry.setTemplateBatchVerifier(third, ethers.ZeroAddress))
        .to.be.revertedWithCustomError(registry, "Registry__ZeroVerifier")
        .withArgs(third);
      await expect(registry.setTemplateBatchVerifier(third, admin.address))
        .to.be.revertedWithCustomError(registry, "Registry__VerifierHasNoCode")
        .withArgs(third, admin.address);
      await expect(registry.connect(outsider).setTemplateBatchVerifier(third, address))
        .to.be.revertedWithCustomError(registry, "AccessControlUnauthorizedAccount")
        .withArgs(outsider.address, await registry.REGISTRAR_ROLE());
    });

    it("refuses a batch of a template without a batch verifier, before looking at any run", async () => {
      const { registry, prover, claim, plain } = await loadFixture(batchFixture);
      const bare = templateIdOf("Bare_4_3");
      await registry.registerTemplate(
        bare,
        await registry.getTemplate(PLAIN).then((t) => t.verifier),
        ethers.ZeroHash,
      );
      await expect(submitBatch(registry, prover, bare, [plain(0, { 0: claim(7n) })]))
        .to.be.revertedWithCustomError(registry, "Registry__NoBatchVerifier")
        .withArgs(bare);
    });
  });

  describe("submitBatch", () => {
    it("records every run as its single submission would: the same entries and events", async () => {
      const { registry, prover, plain } = await loadFixture(batchFixture);
      const runs = Array.from({ length: 5 }, (_, i) => plain(i));
      const receipt = await (await submitBatch(registry, prover, PLAIN, runs)).wait();
      const batchEntries = await Promise.all(runs.map((r) => registry.getEntry(r[1])));

      const { registry: other } = await batchFixture();
      const singleLogs: Log[] = [];
      for (const run of runs) {
        const proof = proofOf();
        const single = await (
          await other.connect(prover).submit(PLAIN, proof.a, proof.b, proof.c, run)
        ).wait();
        singleLogs.push(...single!.logs);
      }
      const rebase = (logs: readonly Log[], from: string) =>
        logContents(logs).map((l) => ({ ...l, address: l.address === from ? "registry" : l.address }));
      expect(rebase(receipt!.logs, await registry.getAddress())).to.deep.equal(
        rebase(singleLogs, await other.getAddress()),
      );
      expect(receipt!.logs).to.have.length(5);
      const singleEntries = await Promise.all(runs.map((r) => other.getEntry(r[1])));
      expect(batchEntries.map((e) => [e.outcome, e.traceRoot])).to.deep.equal(
        singleEntries.map((e) => [e.outcome, e.traceRoot]),
      );
    });

    it("refuses an empty batch, one over MAX_BATCH_SIZE and one whose signals do not match its proofs", async () => {
      const { registry, prover, plain } = await loadFixture(batchFixture);
      expect(await registry.MAX_BATCH_SIZE()).to.equal(32n);
      await expect(registry.connect(prover).submitBatch(PLAIN, [], []))
        .to.be.revertedWithCustomError(registry, "Registry__InvalidBatchSize")
        .withArgs(0, 0, 32);
      const many = Array.from({ length: 33 }, (_, i) => plain(i));
      await expect(submitBatch(registry, prover, PLAIN, many))
        .to.be.revertedWithCustomError(registry, "Registry__InvalidBatchSize")
        .withArgs(33, 33, 32);
      await expect(registry.connect(prover).submitBatch(PLAIN, batchOf(2), [plain(0)]))
        .to.be.revertedWithCustomError(registry, "Registry__InvalidBatchSize")
        .withArgs(2, 1, 32);
    });

    it("names the refused run and the error its single submission would raise; nothing is recorded", async () => {
      const { registry, prover, outsider, claim, plain } = await loadFixture(batchFixture);
      const good = [plain(0), plain(1)];
      const cases: [Signals4, string, unknown[]][] = [
        [plain(2, { 2: SNARK_SCALAR_FIELD }), "Registry__InputNotInField", [2, SNARK_SCALAR_FIELD]],
        [plain(2, { 0: SNARK_SCALAR_FIELD + 1n }), "Registry__InputNotInField", [0, SNARK_SCALAR_FIELD + 1n]],
        [plain(2, { 0: claim(3n) }), "Registry__InvalidOutcome", [3n]],
        [plain(2, { 0: claim(0n) }), "Registry__InvalidOutcome", [0n]],
        [plain(2, { 3: 0x99n }), "Registry__UnknownProviderSet", [0x99n]],
        [
          plain(2, { 0: claim(1n, outsider.address) }),
          "Registry__SubmitterMismatch",
          [outsider.address, prover.address],
        ],
        [plain(2, { 1: good[0][1] }), "Registry__AlreadyRecorded", [good[0][1]]],
      ];
      for (const [bad, error, args] of cases) {
        await expect(submitBatch(registry, prover, PLAIN, [...good, bad, plain(3)]), error)
          .to.be.revertedWithCustomError(registry, "Registry__BatchRunRejected")
          .withArgs(2, reason(registry, error, args));
      }
      await registry.revokeProviderSet(OTHER_PROVIDER_SET_ROOT);
      await expect(submitBatch(registry, prover, PLAIN, good))
        .to.be.revertedWithCustomError(registry, "Registry__BatchRunRejected")
        .withArgs(1, reason(registry, "Registry__ProviderSetRevoked", [OTHER_PROVIDER_SET_ROOT]));
      for (const run of [...good, plain(3)]) expect(await registry.isRecorded(run[1])).to.equal(false);
    });

    it("a run recorded before, or twice in the batch, is a replay whatever its proof bytes", async () => {
      const { registry, prover, claim, plain } = await loadFixture(batchFixture);
      await submitBatch(registry, prover, PLAIN, [plain(0)]);
      const replay = plain(0, { 0: claim(2n), 2: 0x9999n });
      await expect(registry.connect(prover).submitBatch(PLAIN, [proofOf(9n), proofOf()], [plain(1), replay]))
        .to.be.revertedWithCustomError(registry, "Registry__BatchRunRejected")
        .withArgs(1, reason(registry, "Registry__AlreadyRecorded", [plain(0)[1]]));
      await expect(submitBatch(registry, prover, PLAIN, [plain(1), plain(2), plain(1)]))
        .to.be.revertedWithCustomError(registry, "Registry__BatchRunRejected")
        .withArgs(2, reason(registry, "Registry__AlreadyRecorded", [plain(1)[1]]));
    });

    it("a bad proof: names the first run the template's verifier refuses, and records none", async () => {
      const { registry, prover, plain, verifier, batchVerifier } = await loadFixture(batchFixture);
      await batchVerifier.setResult(false);
      await verifier.setRejectedAx(BAD_AX);
      const runs = [plain(0), plain(1), plain(2), plain(3)];
      await expect(registry.connect(prover).submitBatch(PLAIN, batchOf(4, 2), runs))
        .to.be.revertedWithCustomError(registry, "Registry__BatchRunRejected")
        .withArgs(2, reason(registry, "Registry__InvalidProof", [PLAIN]));
      // The batch verifier refuses what the template's verifier accepts: the two disagree.
      await expect(registry.connect(prover).submitBatch(PLAIN, batchOf(4), runs))
        .to.be.revertedWithCustomError(registry, "Registry__BatchVerifierRejected")
        .withArgs(PLAIN);
      expect(await registry.isRecorded(runs[0][1])).to.equal(false);
    });

    it("a definition-bound template: its definition hash goes to the batch verifier; a bad proof is named", async () => {
      const { registry, prover, plain, definitionVerifier, batchVerifier } = await loadFixture(batchFixture);
      await batchVerifier.setEcho(true);
      await expect(submitBatch(registry, prover, DEFINED, [plain(0), plain(1), plain(2)]))
        .to.be.revertedWithCustomError(batchVerifier, "MockBatchVerifier__Received")
        .withArgs(3, DEFINITION_HASH);
      await batchVerifier.setEcho(false);
      await submitBatch(registry, prover, DEFINED, [plain(0), plain(1)]);
      expect(await registry.isRecorded(plain(1)[1])).to.equal(true);

      await batchVerifier.setResult(false);
      await definitionVerifier.setRequiredDefinitionHash(DEFINITION_HASH);
      await definitionVerifier.setRejectedAx(BAD_AX);
      await expect(
        registry.connect(prover).submitBatch(DEFINED, batchOf(3, 1), [plain(2), plain(3), plain(4)]),
      )
        .to.be.revertedWithCustomError(registry, "Registry__BatchRunRejected")
        .withArgs(1, reason(registry, "Registry__InvalidProof", [DEFINED]));
    });

    it("refuses an unknown, inactive or state template, and any batch while paused", async () => {
      const { registry, prover, plain } = await loadFixture(batchFixture);
      const unknown = templateIdOf("Unknown");
      await expect(submitBatch(registry, prover, unknown, [plain(0)]))
        .to.be.revertedWithCustomError(registry, "Registry__UnknownTemplate")
        .withArgs(unknown);
      await expect(submitBatch(registry, prover, STATE, [plain(0)]))
        .to.be.revertedWithCustomError(registry, "Registry__TemplateKindMismatch")
        .withArgs(STATE);
      await registry.setTemplateActive(PLAIN, false);
      await expect(submitBatch(registry, prover, PLAIN, [plain(0)]))
        .to.be.revertedWithCustomError(registry, "Registry__TemplateInactive")
        .withArgs(PLAIN);
      await registry.setTemplateActive(PLAIN, true);
      await registry.pause();
      await expect(submitBatch(registry, prover, PLAIN, [plain(0)])).to.be.revertedWithCustomError(
        registry,
        "EnforcedPause",
      );
    });
  });

  describe("submitBatchWithState", () => {
    it("chains the runs' roots from the domain's current one; the same entries and events as singles", async () => {
      const { registry, prover, chained } = await loadFixture(batchFixture);
      const runs = chained(6, [2, 3]);
      const receipt = await (await submitBatchWithState(registry, prover, runs)).wait();
      expect(await registry.currentStateRoot(STOCK)).to.equal(runs[5][5]);

      const { registry: other } = await batchFixture();
      const singleLogs: Log[] = [];
      for (const run of runs) {
        const proof = proofOf();
        const single = await (
          await other.connect(prover).submitWithState(STATE, proof.a, proof.b, proof.c, run)
        ).wait();
        singleLogs.push(...single!.logs);
      }
      const contents = (logs: readonly Log[]) =>
        logContents(logs).map(({ topics, data }) => ({ topics, data }));
      expect(contents(receipt!.logs)).to.deep.equal(contents(singleLogs));
      // One WorkflowRecordedWithState event per run, carrying its state move.
      expect(receipt!.logs).to.have.length(6);
      const moves = receipt!.logs.map((log) => registry.interface.parseLog(log)!);
      expect(moves.map((move) => move.name)).to.deep.equal(Array(6).fill("WorkflowRecordedWithState"));
      expect(moves.map((move) => [move.args.stateRootBefore, move.args.stateRootAfter])).to.deep.equal(
        runs.map((run) => [run[4], run[5]]),
      );
      expect(await other.currentStateRoot(STOCK)).to.equal(runs[5][5]);
      for (const run of runs) {
        const [mine, theirs] = [await registry.getEntry(run[1]), await other.getEntry(run[1])];
        expect([mine.outcome, mine.traceRoot]).to.deep.equal([theirs.outcome, theirs.traceRoot]);
      }
    });

    it("a broken root chain, a zero root or a single's refusal: names the run, records none", async () => {
      const { registry, prover, chained, outsider } = await loadFixture(batchFixture);
      const runs = chained(4);
      const broken = [runs[0], runs[2], runs[3]];
      await expect(submitBatchWithState(registry, prover, broken))
        .to.be.revertedWithCustomError(registry, "Registry__BatchRunRejected")
        .withArgs(1, reason(registry, "Registry__StaleStateRoot", [runs[0][5], runs[1][5]]));
      const zero = [runs[0], [...runs[1].slice(0, 5), 0n] as Signals6];
      await expect(submitBatchWithState(registry, prover, zero))
        .to.be.revertedWithCustomError(registry, "Registry__BatchRunRejected")
        .withArgs(1, reason(registry, "Registry__InvalidStateRoot", [STOCK, 0n]));
      const wide = [runs[0], [...runs[1].slice(0, 5), SNARK_SCALAR_FIELD] as Signals6];
      await expect(submitBatchWithState(registry, prover, wide))
        .to.be.revertedWithCustomError(registry, "Registry__BatchRunRejected")
        .withArgs(1, reason(registry, "Registry__InputNotInField", [5, SNARK_SCALAR_FIELD]));
      await expect(submitBatchWithState(registry, outsider, runs))
        .to.be.revertedWithCustomError(registry, "Registry__BatchRunRejected")
        .withArgs(0, reason(registry, "Registry__SubmitterMismatch", [prover.address, outsider.address]));
      // Not started from the domain's current root.
      await expect(submitBatchWithState(registry, prover, runs.slice(1)))
        .to.be.revertedWithCustomError(registry, "Registry__BatchRunRejected")
        .withArgs(0, reason(registry, "Registry__StaleStateRoot", [GENESIS, runs[0][5]]));
      expect(await registry.currentStateRoot(STOCK)).to.equal(GENESIS);
      expect(await registry.isRecorded(runs[0][1])).to.equal(false);
    });

    it("a bad proof: names the first run the template's verifier refuses; a disagreeing batch verifier", async () => {
      const { registry, prover, chained, stateVerifier, batchVerifier } = await loadFixture(batchFixture);
      const runs = chained(4);
      await batchVerifier.setResult(false);
      await stateVerifier.setRejectedAx(BAD_AX);
      await expect(registry.connect(prover).submitBatchWithState(STATE, batchOf(4, 3), runs))
        .to.be.revertedWithCustomError(registry, "Registry__BatchRunRejected")
        .withArgs(3, reason(registry, "Registry__InvalidProof", [STATE]));
      await expect(submitBatchWithState(registry, prover, runs))
        .to.be.revertedWithCustomError(registry, "Registry__BatchVerifierRejected")
        .withArgs(STATE);
      expect(await registry.currentStateRoot(STOCK)).to.equal(GENESIS);
    });

    it("a rolled-back chain leaves the root as it was; a plain template cannot use it; paused", async () => {
      const { registry, prover, chained, plain } = await loadFixture(batchFixture);
      const runs = chained(3, [0, 1, 2]);
      await expect(submitBatchWithState(registry, prover, runs)).to.emit(
        registry,
        "WorkflowRecordedWithState",
      );
      expect(await registry.currentStateRoot(STOCK)).to.equal(GENESIS);
      await expect(
        registry
          .connect(prover)
          .submitBatchWithState(PLAIN, batchOf(1), [[...plain(5), GENESIS, 1n] as Signals6]),
      )
        .to.be.revertedWithCustomError(registry, "Registry__TemplateKindMismatch")
        .withArgs(PLAIN);
      await registry.pause();
      await expect(submitBatchWithState(registry, prover, chained(1))).to.be.revertedWithCustomError(
        registry,
        "EnforcedPause",
      );
    });
  });
});
