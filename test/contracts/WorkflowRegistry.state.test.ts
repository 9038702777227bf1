import { loadFixture } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import { expect } from "chai";
import { ethers } from "hardhat";

import { deployRegistry, templateIdOf } from "../../src/chain";
import {
  MockWorkflowStateVerifier__factory,
  MockWorkflowVerifier__factory,
  type WorkflowRegistry,
} from "../../typechain-types";

const SNARK_SCALAR_FIELD = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;
const REGISTRAR_ROLE = ethers.id("REGISTRAR_ROLE");
const STOCK = ethers.id("order/stock");
const STATE_TEMPLATE = templateIdOf("OrderStateWorkflow_4_3_10");
const PLAIN_TEMPLATE = templateIdOf("OrderWorkflow_4_3");
const GENESIS = 0x0e5e_5e5en;
const PROVIDER_SET_ROOT = 0x1234_5678n;
const PROOF = {
  a: [1n, 2n] as [bigint, bigint],
  b: [
    [3n, 4n],
    [5n, 6n],
  ] as [[bigint, bigint], [bigint, bigint]],
  c: [7n, 8n] as [bigint, bigint],
};

/** runClaim (submitter + outcome * 2^160), workflowId, traceRoot, providerSetRoot, rootBefore, rootAfter. */
type StateSignals = [bigint, bigint, bigint, bigint, bigint, bigint];

async function stateFixture() {
  const [admin, prover, outsider] = await ethers.getSigners();
  const registry = await deployRegistry({ signer: admin });
  const verifier = await new MockWorkflowStateVerifier__factory(admin).deploy();
  const plainVerifier = await new MockWorkflowVerifier__factory(admin).deploy();
  await registry.registerProviderSet(PROVIDER_SET_ROOT, [{ systemCode: 1n, pubKeyX: 1n, pubKeyY: 2n }]);
  await registry.registerStateDomain(STOCK, GENESIS);
  await registry.registerStateTemplate(STATE_TEMPLATE, verifier, ethers.ZeroHash, STOCK);
  await registry.registerTemplate(PLAIN_TEMPLATE, plainVerifier, ethers.ZeroHash);
  const signals = (workflowId: bigint, before: bigint, after: bigint, outcome = 1n): StateSignals => [
    BigInt(prover.address) + (outcome << 160n),
    workflowId,
    0x7777n + workflowId,
    PROVIDER_SET_ROOT,
    before,
    after,
  ];
  return { registry, verifier, admin, prover, outsider, signals };
}

function submitWithState(
  registry: WorkflowRegistry,
  signer: HardhatEthersSigner,
  signals: StateSignals,
  templateId = STATE_TEMPLATE,
) {
  return registry.connect(signer).submitWithState(templateId, PROOF.a, PROOF.b, PROOF.c, signals);
}

describe("WorkflowRegistry: state domains and their current roots", () => {
  it("registers a domain with its genesis root (registrar only, once, a non-zero field element)", async () => {
    const { registry, outsider } = await loadFixture(stateFixture);
    expect(await registry.currentStateRoot(STOCK)).to.equal(GENESIS);
    expect(await registry.templateStateDomain(STATE_TEMPLATE)).to.equal(STOCK);
    expect(await registry.templateStateDomain(PLAIN_TEMPLATE)).to.equal(ethers.ZeroHash);
    await expect(registry.registerStateDomain(STOCK, 5n))
      .to.be.revertedWithCustomError(registry, "Registry__StateDomainExists")
      .withArgs(STOCK);
    await expect(registry.registerStateDomain(ethers.ZeroHash, 5n)).to.be.revertedWithCustomError(
      registry,
      "Registry__ZeroStateDomain",
    );
    const other = ethers.id("clearing/balances");
    for (const root of [0n, SNARK_SCALAR_FIELD]) {
      await expect(registry.registerStateDomain(other, root))
        .to.be.revertedWithCustomError(registry, "Registry__InvalidStateRoot")
        .withArgs(other, root);
    }
    await expect(registry.connect(outsider).registerStateDomain(other, 1n))
      .to.be.revertedWithCustomError(registry, "AccessControlUnauthorizedAccount")
      .withArgs(outsider.address, REGISTRAR_ROLE);
    await expect(registry.currentStateRoot(other))
      .to.be.revertedWithCustomError(registry, "Registry__UnknownStateDomain")
      .withArgs(other);
    await expect(registry.templateStateDomain(ethers.id("nope"))).to.be.revertedWithCustomError(
      registry,
      "Registry__UnknownTemplate",
    );
  });

  it("emits TemplateRegistered with the template's state domain and its verifier's code hash", async () => {
    const { registry, verifier } = await loadFixture(stateFixture);
    const verifierAddress = await verifier.getAddress();
    const codeHash = ethers.keccak256(await ethers.provider.getCode(verifierAddress));
    const templateId = templateIdOf("OrderStateSaga_4_3_10");
    const metadataHash = ethers.id("saga metadata");
    await expect(registry.registerStateTemplate(templateId, verifierAddress, metadataHash, STOCK))
      .to.emit(registry, "TemplateRegistered")
      .withArgs(templateId, verifierAddress, metadataHash, false, true, STOCK, codeHash);
    // The fixture's registration, read back from the events alone.
    const [log] = await registry.queryFilter(registry.filters.TemplateRegistered(STATE_TEMPLATE));
    expect(log.args.stateful).to.equal(true);
    expect(log.args.stateDomain).to.equal(STOCK);
    expect(log.args.verifierCodeHash).to.equal(codeHash);
    const [plain] = await registry.queryFilter(registry.filters.TemplateRegistered(PLAIN_TEMPLATE));
    expect([plain.args.stateful, plain.args.stateDomain]).to.deep.equal([false, ethers.ZeroHash]);
  });

  it("a state template needs a registered domain", async () => {
    const { registry, verifier } = await loadFixture(stateFixture);
    const unknown = ethers.id("unknown/domain");
    await expect(registry.registerStateTemplate(templateIdOf("X"), verifier, ethers.ZeroHash, unknown))
      .to.be.revertedWithCustomError(registry, "Registry__UnknownStateDomain")
      .withArgs(unknown);
  });

  it("records a run and advances the domain's root; the next run must start from the new root", async () => {
    const { registry, prover, signals } = await loadFixture(stateFixture);
    const first = submitWithState(registry, prover, signals(1n, GENESIS, 0x51n));
    await expect(first)
      .to.emit(registry, "WorkflowRecordedWithState")
      .withArgs(1n, STATE_TEMPLATE, prover.address, 1n, 0x7777n + 1n, PROVIDER_SET_ROOT, GENESIS, 0x51n);
    // One event per run: the state move is in the run's record, not in an event of its own.
    const receipt = await (await first).wait();
    expect(receipt!.logs, "the run's events").to.have.length(1);
    expect(await registry.currentStateRoot(STOCK)).to.equal(0x51n);
    expect((await registry.getEntry(1n)).outcome).to.equal(1n);
    // A run proven against the genesis state is stale now.
    await expect(submitWithState(registry, prover, signals(2n, GENESIS, 0x52n)))
      .to.be.revertedWithCustomError(registry, "Registry__StaleStateRoot")
      .withArgs(0x51n, GENESIS);
    await expect(submitWithState(registry, prover, signals(2n, 0x51n, 0x52n))).to.emit(
      registry,
      "WorkflowRecordedWithState",
    );
    // A rolled-back run keeps the root (its proof says after == before).
    await submitWithState(registry, prover, signals(3n, 0x52n, 0x52n, 2n));
    expect(await registry.currentStateRoot(STOCK)).to.equal(0x52n);
  });

  it("keeps each domain's root apart: a template moves its own domain's root, no other", async () => {
    const { registry, verifier, prover, signals } = await loadFixture(stateFixture);
    const LEDGER = ethers.id("clearing/ledger");
    const LEDGER_TEMPLATE = templateIdOf("ClearingWorkflow_4_3_10");
    const LEDGER_GENESIS = 0x1ed9e7n;
    await registry.registerStateDomain(LEDGER, LEDGER_GENESIS);
    await registry.registerStateTemplate(LEDGER_TEMPLATE, verifier, ethers.ZeroHash, LEDGER);
    expect(await registry.templateStateDomain(LEDGER_TEMPLATE)).to.equal(LEDGER);
    // A ledger run proven from the stock's root is stale for the ledger.
    await expect(submitWithState(registry, prover, signals(1n, GENESIS, 0x61n), LEDGER_TEMPLATE))
      .to.be.revertedWithCustomError(registry, "Registry__StaleStateRoot")
      .withArgs(LEDGER_GENESIS, GENESIS);
    await submitWithState(registry, prover, signals(1n, LEDGER_GENESIS, 0x61n), LEDGER_TEMPLATE);
    await submitWithState(registry, prover, signals(2n, GENESIS, 0x51n));
    expect(await registry.currentStateRoot(LEDGER)).to.equal(0x61n);
    expect(await registry.currentStateRoot(STOCK)).to.equal(0x51n);
    // A zero stateRootAfter is refused naming the template's own domain.
    await expect(submitWithState(registry, prover, signals(3n, 0x61n, 0n), LEDGER_TEMPLATE))
      .to.be.revertedWithCustomError(registry, "Registry__InvalidStateRoot")
      .withArgs(LEDGER, 0n);
    const unknown = ethers.id("unknown/domain");
    await expect(registry.currentStateRoot(unknown))
      .to.be.revertedWithCustomError(registry, "Registry__UnknownStateDomain")
      .withArgs(unknown);
  });

  it("refuses a zero stateRootAfter, which would unregister the domain", async () => {
    const { registry, prover, signals } = await loadFixture(stateFixture);
    await expect(submitWithState(registry, prover, signals(1n, GENESIS, 0n)))
      .to.be.revertedWithCustomError(registry, "Registry__InvalidStateRoot")
      .withArgs(STOCK, 0n);
    expect(await registry.currentStateRoot(STOCK)).to.equal(GENESIS);
    expect(await registry.isRecorded(1n)).to.equal(false);
    // The domain is still registered: it cannot be registered again from another root.
    await expect(registry.registerStateDomain(STOCK, 5n))
      .to.be.revertedWithCustomError(registry, "Registry__StateDomainExists")
      .withArgs(STOCK);
  });

  it("applies every check of submit: replay, submitter, provider set, outcome, field, proof, pause", async () => {
    const { registry, verifier, prover, outsider, signals } = await loadFixture(stateFixture);
    await submitWithState(registry, prover, signals(1n, GENESIS, 0x51n));
    await expect(submitWithState(registry, prover, signals(1n, 0x51n, 0x52n)))
      .to.be.revertedWithCustomError(registry, "Registry__AlreadyRecorded")
      .withArgs(1n);
    await expect(
      submitWithState(registry, outsider, signals(2n, 0x51n, 0x52n)),
    ).to.be.revertedWithCustomError(registry, "Registry__SubmitterMismatch");
    const badSet = signals(2n, 0x51n, 0x52n);
    badSet[3] = 99n;
    await expect(submitWithState(registry, prover, badSet)).to.be.revertedWithCustomError(
      registry,
      "Registry__UnknownProviderSet",
    );
    await expect(submitWithState(registry, prover, signals(2n, 0x51n, 0x52n, 3n)))
      .to.be.revertedWithCustomError(registry, "Registry__InvalidOutcome")
      .withArgs(3n);
    for (const index of [4, 5]) {
      const big = signals(2n, 0x51n, 0x52n);
      big[index] = SNARK_SCALAR_FIELD;
      await expect(submitWithState(registry, prover, big))
        .to.be.revertedWithCustomError(registry, "Registry__InputNotInField")
        .withArgs(index, SNARK_SCALAR_FIELD);
    }
    await verifier.setResult(false);
    await expect(submitWithState(registry, prover, signals(2n, 0x51n, 0x52n)))
      .to.be.revertedWithCustomError(registry, "Registry__InvalidProof")
      .withArgs(STATE_TEMPLATE);
    await verifier.setResult(true);
    await registry.pause();
    await expect(submitWithState(registry, prover, signals(2n, 0x51n, 0x52n))).to.be.revertedWithCustomError(
      registry,
      "EnforcedPause",
    );
    await registry.unpause();
    await registry.setTemplateActive(STATE_TEMPLATE, false);
    await expect(submitWithState(registry, prover, signals(2n, 0x51n, 0x52n)))
      .to.be.revertedWithCustomError(registry, "Registry__TemplateInactive")
      .withArgs(STATE_TEMPLATE);
    expect(await registry.currentStateRoot(STOCK)).to.equal(0x51n);
  });

  it("a state template's runs cannot bypass the state through submit, nor a plain one use submitWithState", async () => {
    const { registry, prover, signals } = await loadFixture(stateFixture);
    const four = signals(1n, GENESIS, 0x51n).slice(0, 4) as [bigint, bigint, bigint, bigint];
    await expect(registry.connect(prover).submit(STATE_TEMPLATE, PROOF.a, PROOF.b, PROOF.c, four))
      .to.be.revertedWithCustomError(registry, "Registry__TemplateKindMismatch")
      .withArgs(STATE_TEMPLATE);
    await expect(submitWithState(registry, prover, signals(1n, GENESIS, 0x51n), PLAIN_TEMPLATE))
      .to.be.revertedWithCustomError(registry, "Registry__TemplateKindMismatch")
      .withArgs(PLAIN_TEMPLATE);
    await expect(
      submitWithState(registry, prover, signals(1n, GENESIS, 0x51n), templateIdOf("nope")),
    ).to.be.revertedWithCustomError(registry, "Registry__UnknownTemplate");
  });
});
