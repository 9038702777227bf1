import { loadFixture } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import { expect } from "chai";
import hre, { ethers } from "hardhat";

import { deployRegistry, templateIdOf, type PublicSignalValues } from "../../src/chain";
import {
  MockWorkflowDefinitionVerifier__factory,
  MockWorkflowVerifier__factory,
  type WorkflowRegistry,
} from "../../typechain-types";

const SNARK_SCALAR_FIELD = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;
const REGISTRAR_ROLE = ethers.id("REGISTRAR_ROLE");
const DEFAULT_ADMIN_ROLE = ethers.ZeroHash;

const TEMPLATE_ID = templateIdOf("OrderWorkflow_4_3");
const OTHER_TEMPLATE_ID = templateIdOf("RefundWorkflow_4_3");
const METADATA_HASH = ethers.id("order workflow metadata");
/** Templates of user-defined workflows: one generic verifier, each bound to its definition's hash. */
const INVOICE_TEMPLATE_ID = templateIdOf("user/InvoiceApproval");
const ONBOARDING_TEMPLATE_ID = templateIdOf("user/Onboarding");
const INVOICE_DEFINITION_HASH =
  0x0aaa_bbbb_cccc_dddd_eeee_ffff_0000_1111_2222_3333_4444_5555_6666_7777_8888_9999n;
const ONBOARDING_DEFINITION_HASH = 0x1234_4321n;
const PROVIDER_SET_ROOT = 0x1234_5678_9abc_def0_1234_5678_9abc_def0_1234_5678_9abc_def0n;
const PROVIDERS = [
  { systemCode: 1n, pubKeyX: 11n, pubKeyY: 12n },
  { systemCode: 2n, pubKeyX: 21n, pubKeyY: 22n },
];
const COMMITTED = 1n;
const ROLLED_BACK = 2n;

/** The mock verifier ignores the proof; these are only well-formed calldata. */
const PROOF = {
  a: [1n, 2n] as [bigint, bigint],
  b: [
    [3n, 4n],
    [5n, 6n],
  ] as [[bigint, bigint], [bigint, bigint]],
  c: [7n, 8n] as [bigint, bigint],
};

interface RunSignals {
  workflowId: bigint;
  outcome: bigint;
  traceRoot: bigint;
  providerSetRoot: bigint;
  submitter: bigint;
}

/** The signals as the circuit makes them: the run claim (submitter + outcome * 2^160) first. */
function publicSignalsOf(run: RunSignals): PublicSignalValues {
  return [run.submitter + (run.outcome << 160n), run.workflowId, run.traceRoot, run.providerSetRoot];
}

async function registryFixture() {
  const [admin, prover, outsider] = await ethers.getSigners();
  const registry = await deployRegistry({ signer: admin });
  const verifier = await new MockWorkflowVerifier__factory(admin).deploy();
  await registry.registerTemplate(TEMPLATE_ID, verifier, METADATA_HASH);
  await registry.registerProviderSet(PROVIDER_SET_ROOT, PROVIDERS);
  const run: RunSignals = {
    workflowId: 0xabcdefn,
    outcome: COMMITTED,
    traceRoot: 0x7777_8888_9999n,
    providerSetRoot: PROVIDER_SET_ROOT,
    submitter: BigInt(prover.address),
  };
  return { registry, verifier, admin, prover, outsider, run };
}

/** The base fixture, plus the generic verifier and two user workflows' templates bound to it. */
async function definitionFixture() {
  const base = await registryFixture();
  const definitionVerifier = await new MockWorkflowDefinitionVerifier__factory(base.admin).deploy();
  await base.registry.registerDefinitionTemplate(
    INVOICE_TEMPLATE_ID,
    definitionVerifier,
    INVOICE_DEFINITION_HASH,
  );
  await base.registry.registerDefinitionTemplate(
    ONBOARDING_TEMPLATE_ID,
    definitionVerifier,
    ONBOARDING_DEFINITION_HASH,
  );
  return { ...base, definitionVerifier };
}

/** An account's extcodehash: keccak256 of its deployed code. */
async function codeHashOf(address: string): Promise<string> {
  return ethers.keccak256(await ethers.provider.getCode(address));
}

/** A definition hash as the registry stores it, in the template's metadataHash. */
function asBytes32(value: bigint): string {
  return ethers.toBeHex(value, 32);
}

function submitAs(
  registry: WorkflowRegistry,
  signer: HardhatEthersSigner,
  run: RunSignals,
  templateId: string = TEMPLATE_ID,
) {
  return registry.connect(signer).submit(templateId, PROOF.a, PROOF.b, PROOF.c, publicSignalsOf(run));
}

describe("WorkflowRegistry", () => {
  describe("deployment", () => {
    it("grants the admin and registrar roles to the admin only", async () => {
      const { registry, admin, outsider } = await loadFixture(registryFixture);
      expect(await registry.hasRole(DEFAULT_ADMIN_ROLE, admin.address)).to.equal(true);
      expect(await registry.hasRole(REGISTRAR_ROLE, admin.address)).to.equal(true);
      expect(await registry.hasRole(DEFAULT_ADMIN_ROLE, outsider.address)).to.equal(false);
      expect(await registry.hasRole(REGISTRAR_ROLE, outsider.address)).to.equal(false);
      expect(await registry.REGISTRAR_ROLE()).to.equal(REGISTRAR_ROLE);
      expect(await registry.SNARK_SCALAR_FIELD()).to.equal(SNARK_SCALAR_FIELD);
    });

    it("rejects the zero address as admin", async () => {
      const { registry, admin } = await loadFixture(registryFixture);
      const factory = await ethers.getContractFactory("WorkflowRegistry", admin);
      await expect(factory.deploy(ethers.ZeroAddress)).to.be.revertedWithCustomError(
        registry,
        "Registry__ZeroAdmin",
      );
    });
  });

  describe("templates", () => {
    it("stores a registered template and emits TemplateRegistered", async () => {
      const { registry, verifier } = await loadFixture(registryFixture);
      const verifierAddress = await verifier.getAddress();
      // Not stateful, no domain, and the verifier's code hash: the template is rebuilt from the event.
      await expect(registry.registerTemplate(OTHER_TEMPLATE_ID, verifierAddress, ethers.ZeroHash))
        .to.emit(registry, "TemplateRegistered")
        .withArgs(
          OTHER_TEMPLATE_ID,
          verifierAddress,
          ethers.ZeroHash,
          false,
          false,
          ethers.ZeroHash,
          await codeHashOf(verifierAddress),
        );

      const template = await registry.getTemplate(TEMPLATE_ID);
      expect(template.verifier).to.equal(verifierAddress);
      expect(template.active).to.equal(true);
      expect(template.metadataHash).to.equal(METADATA_HASH);
      expect(template.bindsDefinition).to.equal(false);
    });

    it("rejects the zero verifier", async () => {
      const { registry } = await loadFixture(registryFixture);
      await expect(registry.registerTemplate(OTHER_TEMPLATE_ID, ethers.ZeroAddress, METADATA_HASH))
        .to.be.revertedWithCustomError(registry, "Registry__ZeroVerifier")
        .withArgs(OTHER_TEMPLATE_ID);
    });

    it("rejects a verifier address that holds no code (an account, or nothing deployed yet)", async () => {
      const { registry } = await loadFixture(registryFixture);
      const account = ethers.Wallet.createRandom().address;
      await expect(registry.registerTemplate(OTHER_TEMPLATE_ID, account, METADATA_HASH))
        .to.be.revertedWithCustomError(registry, "Registry__VerifierHasNoCode")
        .withArgs(OTHER_TEMPLATE_ID, account);
      await expect(registry.registerDefinitionTemplate(OTHER_TEMPLATE_ID, account, 1n))
        .to.be.revertedWithCustomError(registry, "Registry__VerifierHasNoCode")
        .withArgs(OTHER_TEMPLATE_ID, account);
    });

    it("rejects registering a template id twice", async () => {
      const { registry, verifier } = await loadFixture(registryFixture);
      await expect(registry.registerTemplate(TEMPLATE_ID, verifier, ethers.ZeroHash))
        .to.be.revertedWithCustomError(registry, "Registry__TemplateAlreadyRegistered")
        .withArgs(TEMPLATE_ID);
    });

    it("deactivates and reactivates a template", async () => {
      const { registry } = await loadFixture(registryFixture);
      await expect(registry.setTemplateActive(TEMPLATE_ID, false))
        .to.emit(registry, "TemplateActiveSet")
        .withArgs(TEMPLATE_ID, false);
      expect((await registry.getTemplate(TEMPLATE_ID)).active).to.equal(false);
      await registry.setTemplateActive(TEMPLATE_ID, true);
      expect((await registry.getTemplate(TEMPLATE_ID)).active).to.equal(true);
    });

    it("rejects (de)activating or reading an unknown template", async () => {
      const { registry } = await loadFixture(registryFixture);
      await expect(registry.setTemplateActive(OTHER_TEMPLATE_ID, false))
        .to.be.revertedWithCustomError(registry, "Registry__UnknownTemplate")
        .withArgs(OTHER_TEMPLATE_ID);
      await expect(registry.getTemplate(OTHER_TEMPLATE_ID))
        .to.be.revertedWithCustomError(registry, "Registry__UnknownTemplate")
        .withArgs(OTHER_TEMPLATE_ID);
    });
  });

  describe("provider sets", () => {
    it("records a provider set as active and emits its providers", async () => {
      const { registry } = await loadFixture(registryFixture);
      const root = 42n;
      await expect(registry.registerProviderSet(root, PROVIDERS))
        .to.emit(registry, "ProviderSetRegistered")
        .withArgs(
          root,
          PROVIDERS.map(({ systemCode, pubKeyX, pubKeyY }) => [systemCode, pubKeyX, pubKeyY]),
        );
      expect(await registry.isProviderSetActive(root)).to.equal(true);
      expect(await registry.isProviderSetActive(PROVIDER_SET_ROOT)).to.equal(true);
      expect(await registry.isProviderSetActive(43n)).to.equal(false);
    });

    const invalidRoots = [
      { label: "0", root: 0n },
      { label: "the modulus", root: SNARK_SCALAR_FIELD },
      { label: "the modulus + 1", root: SNARK_SCALAR_FIELD + 1n },
      { label: "2^256 - 1", root: ethers.MaxUint256 },
    ];
    for (const { label, root } of invalidRoots) {
      it(`rejects the root ${label}`, async () => {
        const { registry } = await loadFixture(registryFixture);
        await expect(registry.registerProviderSet(root, PROVIDERS))
          .to.be.revertedWithCustomError(registry, "Registry__InvalidProviderSetRoot")
          .withArgs(root);
      });
    }

    it("rejects an empty provider list", async () => {
      const { registry } = await loadFixture(registryFixture);
      await expect(registry.registerProviderSet(42n, []))
        .to.be.revertedWithCustomError(registry, "Registry__EmptyProviderSet")
        .withArgs(42n);
    });

    it("rejects a provider field outside the scalar field", async () => {
      const { registry } = await loadFixture(registryFixture);
      for (const field of ["systemCode", "pubKeyX", "pubKeyY"] as const) {
        const providers = [PROVIDERS[0], { ...PROVIDERS[1], [field]: SNARK_SCALAR_FIELD }];
        await expect(registry.registerProviderSet(42n, providers))
          .to.be.revertedWithCustomError(registry, "Registry__ProviderNotInField")
          .withArgs(42n, 1n);
      }
    });

    it("rejects registering a root twice, also after revocation", async () => {
      const { registry } = await loadFixture(registryFixture);
      await expect(registry.registerProviderSet(PROVIDER_SET_ROOT, PROVIDERS))
        .to.be.revertedWithCustomError(registry, "Registry__ProviderSetAlreadyRegistered")
        .withArgs(PROVIDER_SET_ROOT);
      await registry.revokeProviderSet(PROVIDER_SET_ROOT);
      await expect(registry.registerProviderSet(PROVIDER_SET_ROOT, PROVIDERS))
        .to.be.revertedWithCustomError(registry, "Registry__ProviderSetAlreadyRegistered")
        .withArgs(PROVIDER_SET_ROOT);
    });

    it("revokes a provider set once", async () => {
      const { registry } = await loadFixture(registryFixture);
      await expect(registry.revokeProviderSet(PROVIDER_SET_ROOT))
        .to.emit(registry, "ProviderSetRevoked")
        .withArgs(PROVIDER_SET_ROOT);
      expect(await registry.isProviderSetActive(PROVIDER_SET_ROOT)).to.equal(false);
      await expect(registry.revokeProviderSet(PROVIDER_SET_ROOT))
        .to.be.revertedWithCustomError(registry, "Registry__ProviderSetRevoked")
        .withArgs(PROVIDER_SET_ROOT);
    });

    it("rejects revoking an unknown provider set", async () => {
      const { registry } = await loadFixture(registryFixture);
      await expect(registry.revokeProviderSet(42n))
        .to.be.revertedWithCustomError(registry, "Registry__UnknownProviderSet")
        .withArgs(42n);
    });
  });

  describe("submit", () => {
    it("records a valid run and emits WorkflowRecorded with all its fields", async () => {
      const { registry, prover, run } = await loadFixture(registryFixture);
      expect(await registry.isRecorded(run.workflowId)).to.equal(false);

      const tx = await submitAs(registry, prover, run);
      await expect(tx)
        .to.emit(registry, "WorkflowRecorded")
        .withArgs(run.workflowId, TEMPLATE_ID, prover.address, COMMITTED, run.traceRoot, PROVIDER_SET_ROOT);

      expect(await registry.isRecorded(run.workflowId)).to.equal(true);
      const entry = await registry.getEntry(run.workflowId);
      expect(entry.outcome).to.equal(COMMITTED);
      expect(entry.traceRoot).to.equal(run.traceRoot);

      // The fields the registry does not store are found in the event, by the indexed workflow id.
      const receipt = await tx.wait();
      const [log] = await registry.queryFilter(registry.filters.WorkflowRecorded(run.workflowId));
      expect(log.blockNumber).to.equal(receipt!.blockNumber);
      expect(log.args.templateId).to.equal(TEMPLATE_ID);
      expect(log.args.submitter).to.equal(prover.address);
      expect(log.args.providerSetRoot).to.equal(PROVIDER_SET_ROOT);
    });

    it("records a run whose traceRoot is 0: the packed outcome alone marks it recorded", async () => {
      const { registry, prover, run } = await loadFixture(registryFixture);
      const zeroRoot = { ...run, traceRoot: 0n };
      await submitAs(registry, prover, zeroRoot);
      expect(await registry.isRecorded(run.workflowId)).to.equal(true);
      const entry = await registry.getEntry(run.workflowId);
      expect(entry.outcome).to.equal(COMMITTED);
      expect(entry.traceRoot).to.equal(0n);
      await expect(submitAs(registry, prover, zeroRoot))
        .to.be.revertedWithCustomError(registry, "Registry__AlreadyRecorded")
        .withArgs(run.workflowId);
    });

    it("records a rolled-back run of a second template, keeping the largest traceRoot intact", async () => {
      const { registry, verifier, prover, run } = await loadFixture(registryFixture);
      await registry.registerTemplate(OTHER_TEMPLATE_ID, verifier, ethers.ZeroHash);
      const rolledBack = { ...run, outcome: ROLLED_BACK, traceRoot: SNARK_SCALAR_FIELD - 1n };
      await expect(submitAs(registry, prover, rolledBack, OTHER_TEMPLATE_ID))
        .to.emit(registry, "WorkflowRecorded")
        .withArgs(
          run.workflowId,
          OTHER_TEMPLATE_ID,
          prover.address,
          ROLLED_BACK,
          SNARK_SCALAR_FIELD - 1n,
          PROVIDER_SET_ROOT,
        );
      const entry = await registry.getEntry(run.workflowId);
      expect(entry.outcome).to.equal(ROLLED_BACK);
      expect(entry.traceRoot).to.equal(SNARK_SCALAR_FIELD - 1n);
    });

    it("rejects a replayed workflow id, whatever the proof bytes and other signals", async () => {
      const { registry, prover, run } = await loadFixture(registryFixture);
      await submitAs(registry, prover, run);
      await expect(submitAs(registry, prover, run))
        .to.be.revertedWithCustomError(registry, "Registry__AlreadyRecorded")
        .withArgs(run.workflowId);

      const rerandomised = registry
        .connect(prover)
        .submit(TEMPLATE_ID, [9n, 9n], PROOF.b, [9n, 9n], publicSignalsOf({ ...run, outcome: ROLLED_BACK }));
      await expect(rerandomised)
        .to.be.revertedWithCustomError(registry, "Registry__AlreadyRecorded")
        .withArgs(run.workflowId);
      expect((await registry.getEntry(run.workflowId)).outcome).to.equal(COMMITTED);
    });

    it("rejects a sender other than the bound submitter", async () => {
      const { registry, prover, outsider, run } = await loadFixture(registryFixture);
      await expect(submitAs(registry, outsider, run))
        .to.be.revertedWithCustomError(registry, "Registry__SubmitterMismatch")
        .withArgs(prover.address, outsider.address);
    });

    it("reads the outcome from the run claim's bits above 160: any other value there is refused", async () => {
      const { registry, prover, run } = await loadFixture(registryFixture);
      // The circuit range-checks the submitter to 160 bits, so S + 2^160 cannot pose as outcome + 1;
      // the registry refuses whatever the high bits say when it is not 1 or 2, the sender's low bits aside.
      for (const high of [3n, 5n, 1n << 90n]) {
        const signals = publicSignalsOf(run);
        signals[0] = (high << 160n) + BigInt(prover.address);
        await expect(registry.connect(prover).submit(TEMPLATE_ID, PROOF.a, PROOF.b, PROOF.c, signals))
          .to.be.revertedWithCustomError(registry, "Registry__InvalidOutcome")
          .withArgs(high);
      }
    });

    for (let index = 0; index < 4; index++) {
      for (const value of [SNARK_SCALAR_FIELD, ethers.MaxUint256]) {
        const label = value === SNARK_SCALAR_FIELD ? "the modulus" : "2^256 - 1";
        it(`rejects public input ${index} equal to ${label}`, async () => {
          const { registry, prover, run } = await loadFixture(registryFixture);
          const signals = publicSignalsOf(run);
          signals[index] = value;
          await expect(registry.connect(prover).submit(TEMPLATE_ID, PROOF.a, PROOF.b, PROOF.c, signals))
            .to.be.revertedWithCustomError(registry, "Registry__InputNotInField")
            .withArgs(index, value);
        });
      }
    }

    for (const outcome of [0n, 3n]) {
      it(`rejects the outcome ${outcome}`, async () => {
        const { registry, prover, run } = await loadFixture(registryFixture);
        await expect(submitAs(registry, prover, { ...run, outcome }))
          .to.be.revertedWithCustomError(registry, "Registry__InvalidOutcome")
          .withArgs(outcome);
      });
    }

    it("rejects an unknown template", async () => {
      const { registry, prover, run } = await loadFixture(registryFixture);
      await expect(submitAs(registry, prover, run, OTHER_TEMPLATE_ID))
        .to.be.revertedWithCustomError(registry, "Registry__UnknownTemplate")
        .withArgs(OTHER_TEMPLATE_ID);
    });

    it("rejects an inactive template", async () => {
      const { registry, prover, run } = await loadFixture(registryFixture);
      await registry.setTemplateActive(TEMPLATE_ID, false);
      await expect(submitAs(registry, prover, run))
        .to.be.revertedWithCustomError(registry, "Registry__TemplateInactive")
        .withArgs(TEMPLATE_ID);
    });

    it("rejects an unknown provider set", async () => {
      const { registry, prover, run } = await loadFixture(registryFixture);
      await expect(submitAs(registry, prover, { ...run, providerSetRoot: 42n }))
        .to.be.revertedWithCustomError(registry, "Registry__UnknownProviderSet")
        .withArgs(42n);
    });

    it("rejects a revoked provider set", async () => {
      const { registry, prover, run } = await loadFixture(registryFixture);
      await registry.revokeProviderSet(PROVIDER_SET_ROOT);
      await expect(submitAs(registry, prover, run))
        .to.be.revertedWithCustomError(registry, "Registry__ProviderSetRevoked")
        .withArgs(PROVIDER_SET_ROOT);
    });

    it("rejects a proof the verifier refuses, recording nothing", async () => {
      const { registry, verifier, prover, run } = await loadFixture(registryFixture);
      await verifier.setResult(false);
      await expect(submitAs(registry, prover, run))
        .to.be.revertedWithCustomError(registry, "Registry__InvalidProof")
        .withArgs(TEMPLATE_ID);
      expect(await registry.isRecorded(run.workflowId)).to.equal(false);
    });

    it("rejects submissions while paused and accepts them after unpause", async () => {
      const { registry, prover, run } = await loadFixture(registryFixture);
      await expect(registry.pause()).to.emit(registry, "Paused");
      await expect(submitAs(registry, prover, run)).to.be.revertedWithCustomError(registry, "EnforcedPause");
      await expect(registry.unpause()).to.emit(registry, "Unpaused");
      await expect(submitAs(registry, prover, run)).to.emit(registry, "WorkflowRecorded");
    });

    it("pauses templates registered while paused too, and unpauses every one", async () => {
      // The flag is kept in each template's first slot (read with it by a submission), set by pause for
      // every template there is and copied from the registry's at registration.
      const { registry, verifier, prover, run } = await loadFixture(registryFixture);
      await registry.pause();
      await registry.registerTemplate(OTHER_TEMPLATE_ID, verifier, METADATA_HASH);
      for (const templateId of [TEMPLATE_ID, OTHER_TEMPLATE_ID]) {
        await expect(submitAs(registry, prover, run, templateId)).to.be.revertedWithCustomError(
          registry,
          "EnforcedPause",
        );
      }
      await registry.unpause();
      await expect(submitAs(registry, prover, run, OTHER_TEMPLATE_ID)).to.emit(registry, "WorkflowRecorded");
      await registry.pause();
      await expect(
        submitAs(registry, prover, { ...run, workflowId: run.workflowId + 1n }, TEMPLATE_ID),
      ).to.be.revertedWithCustomError(registry, "EnforcedPause");
      expect(await registry.paused()).to.equal(true);
    });

    it("keeps the registry's share of a submission's gas within budget", async function () {
      // solidity-coverage's instrumentation costs gas of its own.
      if ((hre as { __SOLIDITY_COVERAGE_RUNNING?: boolean }).__SOLIDITY_COVERAGE_RUNNING) this.skip();
      const { registry, prover, run } = await loadFixture(registryFixture);
      const receipt = await (await submitAs(registry, prover, run)).wait();
      // 63,209 measured with the mock verifier (entry in one slot; the mock's call costs 5.2k). A second
      // slot would add 22k. With a real snarkjs verifier (~221.6k beyond the base fee) a run costs ~280k.
      // The template's verifier, active flag and kind share a slot, loaded once: telling the kinds apart
      // costs this path no SLOAD (8 gas over the 63,201 it cost before definition-bound templates).
      expect(receipt!.gasUsed).to.be.lessThan(65_000n);
    });

    it("reverts getEntry for a workflow id never recorded", async () => {
      const { registry, run } = await loadFixture(registryFixture);
      await expect(registry.getEntry(run.workflowId))
        .to.be.revertedWithCustomError(registry, "Registry__UnknownWorkflow")
        .withArgs(run.workflowId);
    });
  });

  describe("definition-bound templates", () => {
    describe("registration", () => {
      it("stores the definition hash as metadataHash, flags the template and emits TemplateRegistered", async () => {
        const { registry, definitionVerifier } = await loadFixture(definitionFixture);
        const verifierAddress = await definitionVerifier.getAddress();
        const templateId = templateIdOf("user/Refund");
        const definitionHash = SNARK_SCALAR_FIELD - 1n;
        await expect(registry.registerDefinitionTemplate(templateId, verifierAddress, definitionHash))
          .to.emit(registry, "TemplateRegistered")
          .withArgs(
            templateId,
            verifierAddress,
            asBytes32(definitionHash),
            true,
            false,
            ethers.ZeroHash,
            await codeHashOf(verifierAddress),
          );

        const template = await registry.getTemplate(templateId);
        expect(template.verifier).to.equal(verifierAddress);
        expect(template.active).to.equal(true);
        expect(template.metadataHash).to.equal(asBytes32(definitionHash));
        expect(template.bindsDefinition).to.equal(true);
        // One generic verifier serves several templates, each with its own definition.
        const invoice = await registry.getTemplate(INVOICE_TEMPLATE_ID);
        expect(invoice.verifier).to.equal(verifierAddress);
        expect(BigInt(invoice.metadataHash)).to.equal(INVOICE_DEFINITION_HASH);
      });

      it("rejects the zero verifier", async () => {
        const { registry } = await loadFixture(definitionFixture);
        await expect(registry.registerDefinitionTemplate(OTHER_TEMPLATE_ID, ethers.ZeroAddress, 1n))
          .to.be.revertedWithCustomError(registry, "Registry__ZeroVerifier")
          .withArgs(OTHER_TEMPLATE_ID);
      });

      it("rejects a template id already registered, of either kind", async () => {
        const { registry, verifier, definitionVerifier } = await loadFixture(definitionFixture);
        await expect(registry.registerDefinitionTemplate(INVOICE_TEMPLATE_ID, definitionVerifier, 1n))
          .to.be.revertedWithCustomError(registry, "Registry__TemplateAlreadyRegistered")
          .withArgs(INVOICE_TEMPLATE_ID);
        await expect(registry.registerDefinitionTemplate(TEMPLATE_ID, definitionVerifier, 1n))
          .to.be.revertedWithCustomError(registry, "Registry__TemplateAlreadyRegistered")
          .withArgs(TEMPLATE_ID);
        await expect(registry.registerTemplate(INVOICE_TEMPLATE_ID, verifier, ethers.ZeroHash))
          .to.be.revertedWithCustomError(registry, "Registry__TemplateAlreadyRegistered")
          .withArgs(INVOICE_TEMPLATE_ID);
        expect(BigInt((await registry.getTemplate(INVOICE_TEMPLATE_ID)).metadataHash)).to.equal(
          INVOICE_DEFINITION_HASH,
        );
      });

      const invalidHashes = [
        { label: "0", definitionHash: 0n },
        { label: "the modulus", definitionHash: SNARK_SCALAR_FIELD },
        { label: "the modulus + 1", definitionHash: SNARK_SCALAR_FIELD + 1n },
        { label: "2^256 - 1", definitionHash: ethers.MaxUint256 },
      ];
      for (const { label, definitionHash } of invalidHashes) {
        it(`rejects the definition hash ${label}`, async () => {
          const { registry, definitionVerifier } = await loadFixture(definitionFixture);
          await expect(
            registry.registerDefinitionTemplate(OTHER_TEMPLATE_ID, definitionVerifier, definitionHash),
          )
            .to.be.revertedWithCustomError(registry, "Registry__InvalidDefinitionHash")
            .withArgs(OTHER_TEMPLATE_ID, definitionHash);
          await expect(registry.getTemplate(OTHER_TEMPLATE_ID)).to.be.revertedWithCustomError(
            registry,
            "Registry__UnknownTemplate",
          );
        });
      }

      it("keeps the definition through deactivation and reactivation", async () => {
        const { registry } = await loadFixture(definitionFixture);
        await registry.setTemplateActive(INVOICE_TEMPLATE_ID, false);
        let template = await registry.getTemplate(INVOICE_TEMPLATE_ID);
        expect([template.active, template.bindsDefinition]).to.deep.equal([false, true]);
        await registry.setTemplateActive(INVOICE_TEMPLATE_ID, true);
        template = await registry.getTemplate(INVOICE_TEMPLATE_ID);
        expect([template.active, template.bindsDefinition]).to.deep.equal([true, true]);
        expect(BigInt(template.metadataHash)).to.equal(INVOICE_DEFINITION_HASH);
      });
    });

    describe("submit", () => {
      it("records a valid run and emits WorkflowRecorded", async () => {
        const { registry, prover, run } = await loadFixture(definitionFixture);
        await expect(submitAs(registry, prover, run, INVOICE_TEMPLATE_ID))
          .to.emit(registry, "WorkflowRecorded")
          .withArgs(
            run.workflowId,
            INVOICE_TEMPLATE_ID,
            prover.address,
            COMMITTED,
            run.traceRoot,
            PROVIDER_SET_ROOT,
          );
        const entry = await registry.getEntry(run.workflowId);
        expect([entry.outcome, entry.traceRoot]).to.deep.equal([COMMITTED, run.traceRoot]);
      });

      it("passes the verifier the four signals, then the template's registered definition hash", async () => {
        const { registry, definitionVerifier, prover, run } = await loadFixture(definitionFixture);
        await definitionVerifier.setEcho(true);
        await expect(submitAs(registry, prover, run, INVOICE_TEMPLATE_ID))
          .to.be.revertedWithCustomError(definitionVerifier, "MockDefinitionVerifier__Received")
          .withArgs([...publicSignalsOf(run), INVOICE_DEFINITION_HASH]);
        // Same verifier, same submitted signals: the template alone decides the fifth.
        await expect(submitAs(registry, prover, run, ONBOARDING_TEMPLATE_ID))
          .to.be.revertedWithCustomError(definitionVerifier, "MockDefinitionVerifier__Received")
          .withArgs([...publicSignalsOf(run), ONBOARDING_DEFINITION_HASH]);
      });

      it("accepts a proof only for the definition it is checked against", async () => {
        const { registry, definitionVerifier, prover, run } = await loadFixture(definitionFixture);
        // The verifier stands for a proof of the invoice definition: the onboarding template refuses it.
        await definitionVerifier.setRequiredDefinitionHash(INVOICE_DEFINITION_HASH);
        await expect(submitAs(registry, prover, run, ONBOARDING_TEMPLATE_ID))
          .to.be.revertedWithCustomError(registry, "Registry__InvalidProof")
          .withArgs(ONBOARDING_TEMPLATE_ID);
        expect(await registry.isRecorded(run.workflowId)).to.equal(false);
        await expect(submitAs(registry, prover, run, INVOICE_TEMPLATE_ID)).to.emit(
          registry,
          "WorkflowRecorded",
        );
      });

      it("rejects a proof the verifier refuses, recording nothing", async () => {
        const { registry, definitionVerifier, prover, run } = await loadFixture(definitionFixture);
        await definitionVerifier.setResult(false);
        await expect(submitAs(registry, prover, run, INVOICE_TEMPLATE_ID))
          .to.be.revertedWithCustomError(registry, "Registry__InvalidProof")
          .withArgs(INVOICE_TEMPLATE_ID);
        expect(await registry.isRecorded(run.workflowId)).to.equal(false);
      });

      it("rejects a replayed workflow id, also one recorded through a template of the other kind", async () => {
        const { registry, prover, run } = await loadFixture(definitionFixture);
        await submitAs(registry, prover, run, INVOICE_TEMPLATE_ID);
        for (const templateId of [INVOICE_TEMPLATE_ID, ONBOARDING_TEMPLATE_ID, TEMPLATE_ID]) {
          await expect(submitAs(registry, prover, { ...run, outcome: ROLLED_BACK }, templateId))
            .to.be.revertedWithCustomError(registry, "Registry__AlreadyRecorded")
            .withArgs(run.workflowId);
        }

        const other = { ...run, workflowId: run.workflowId + 1n };
        await submitAs(registry, prover, other, TEMPLATE_ID);
        await expect(submitAs(registry, prover, other, INVOICE_TEMPLATE_ID))
          .to.be.revertedWithCustomError(registry, "Registry__AlreadyRecorded")
          .withArgs(other.workflowId);
      });

      it("rejects a sender other than the bound submitter, and a run claim whose high bits are no outcome", async () => {
        const { registry, prover, outsider, run } = await loadFixture(definitionFixture);
        await expect(submitAs(registry, outsider, run, INVOICE_TEMPLATE_ID))
          .to.be.revertedWithCustomError(registry, "Registry__SubmitterMismatch")
          .withArgs(prover.address, outsider.address);
        await expect(submitAs(registry, prover, { ...run, outcome: 4n }, INVOICE_TEMPLATE_ID))
          .to.be.revertedWithCustomError(registry, "Registry__InvalidOutcome")
          .withArgs(4n);
      });

      it("rejects an inactive template and accepts it again once reactivated", async () => {
        const { registry, prover, run } = await loadFixture(definitionFixture);
        await registry.setTemplateActive(INVOICE_TEMPLATE_ID, false);
        await expect(submitAs(registry, prover, run, INVOICE_TEMPLATE_ID))
          .to.be.revertedWithCustomError(registry, "Registry__TemplateInactive")
          .withArgs(INVOICE_TEMPLATE_ID);
        await registry.setTemplateActive(INVOICE_TEMPLATE_ID, true);
        await expect(submitAs(registry, prover, run, INVOICE_TEMPLATE_ID)).to.emit(
          registry,
          "WorkflowRecorded",
        );
      });

      for (let index = 0; index < 4; index++) {
        for (const value of [SNARK_SCALAR_FIELD, ethers.MaxUint256]) {
          const label = value === SNARK_SCALAR_FIELD ? "the modulus" : "2^256 - 1";
          it(`rejects public input ${index} equal to ${label}`, async () => {
            const { registry, prover, run } = await loadFixture(definitionFixture);
            const signals = publicSignalsOf(run);
            signals[index] = value;
            await expect(
              registry.connect(prover).submit(INVOICE_TEMPLATE_ID, PROOF.a, PROOF.b, PROOF.c, signals),
            )
              .to.be.revertedWithCustomError(registry, "Registry__InputNotInField")
              .withArgs(index, value);
          });
        }
      }

      it("rejects an invalid outcome and an unknown or revoked provider set", async () => {
        const { registry, prover, run } = await loadFixture(definitionFixture);
        await expect(submitAs(registry, prover, { ...run, outcome: 3n }, INVOICE_TEMPLATE_ID))
          .to.be.revertedWithCustomError(registry, "Registry__InvalidOutcome")
          .withArgs(3n);
        await expect(submitAs(registry, prover, { ...run, providerSetRoot: 42n }, INVOICE_TEMPLATE_ID))
          .to.be.revertedWithCustomError(registry, "Registry__UnknownProviderSet")
          .withArgs(42n);
        await registry.revokeProviderSet(PROVIDER_SET_ROOT);
        await expect(submitAs(registry, prover, run, INVOICE_TEMPLATE_ID))
          .to.be.revertedWithCustomError(registry, "Registry__ProviderSetRevoked")
          .withArgs(PROVIDER_SET_ROOT);
      });

      it("rejects submissions while paused", async () => {
        const { registry, prover, run } = await loadFixture(definitionFixture);
        await registry.pause();
        await expect(submitAs(registry, prover, run, INVOICE_TEMPLATE_ID)).to.be.revertedWithCustomError(
          registry,
          "EnforcedPause",
        );
      });

      it("cannot be bypassed by registering the generic verifier as a template of its own circuit", async () => {
        // Such a template would be asked for the four-signal verifyProof, which the generic verifier
        // does not have: every submission reverts, whatever definition the prover would choose.
        const { registry, definitionVerifier, prover, run } = await loadFixture(definitionFixture);
        await registry.registerTemplate(OTHER_TEMPLATE_ID, definitionVerifier, ethers.ZeroHash);
        await expect(submitAs(registry, prover, run, OTHER_TEMPLATE_ID)).to.be.reverted;
        expect(await registry.isRecorded(run.workflowId)).to.equal(false);
      });

      it("keeps a definition-bound submission's gas within budget", async function () {
        if ((hre as { __SOLIDITY_COVERAGE_RUNNING?: boolean }).__SOLIDITY_COVERAGE_RUNNING) this.skip();
        const { registry, prover, run } = await loadFixture(definitionFixture);
        const receipt = await (await submitAs(registry, prover, run, INVOICE_TEMPLATE_ID)).wait();
        // ~68k measured: beyond the four-signal path, the definition hash's cold SLOAD (2.1k), the fifth
        // signal's encoding, and the mock's own second slot (2.1k). A real five-signal verifier adds ~6.2k
        // (one more ecMul and ecAdd) to a four-signal one's cost.
        expect(receipt!.gasUsed).to.be.lessThan(70_000n);
      });
    });
  });

  describe("access control", () => {
    const adminCalls: {
      name: string;
      role: string;
      call: (registry: WorkflowRegistry, verifierAddress: string) => Promise<unknown>;
    }[] = [
      {
        name: "registerTemplate",
        role: REGISTRAR_ROLE,
        call: (registry, verifierAddress) =>
          registry.registerTemplate(OTHER_TEMPLATE_ID, verifierAddress, ethers.ZeroHash),
      },
      {
        name: "registerDefinitionTemplate",
        role: REGISTRAR_ROLE,
        call: (registry, verifierAddress) =>
          registry.registerDefinitionTemplate(OTHER_TEMPLATE_ID, verifierAddress, 1n),
      },
      {
        name: "setTemplateActive",
        role: REGISTRAR_ROLE,
        call: (registry) => registry.setTemplateActive(TEMPLATE_ID, false),
      },
      {
        name: "registerProviderSet",
        role: REGISTRAR_ROLE,
        call: (registry) => registry.registerProviderSet(42n, PROVIDERS),
      },
      {
        name: "revokeProviderSet",
        role: REGISTRAR_ROLE,
        call: (registry) => registry.revokeProviderSet(PROVIDER_SET_ROOT),
      },
      { name: "pause", role: DEFAULT_ADMIN_ROLE, call: (registry) => registry.pause() },
      { name: "unpause", role: DEFAULT_ADMIN_ROLE, call: (registry) => registry.unpause() },
    ];

    for (const { name, role, call } of adminCalls) {
      it(`rejects ${name} from an account without the role`, async () => {
        const { registry, verifier, outsider } = await loadFixture(registryFixture);
        await expect(call(registry.connect(outsider), await verifier.getAddress()))
          .to.be.revertedWithCustomError(registry, "AccessControlUnauthorizedAccount")
          .withArgs(outsider.address, role);
      });
    }

    it("lets a granted registrar register but not pause", async () => {
      const { registry, verifier, outsider } = await loadFixture(registryFixture);
      await registry.grantRole(REGISTRAR_ROLE, outsider.address);
      await expect(
        registry.connect(outsider).registerTemplate(OTHER_TEMPLATE_ID, verifier, ethers.ZeroHash),
      ).to.emit(registry, "TemplateRegistered");
      await expect(
        registry.connect(outsider).registerDefinitionTemplate(INVOICE_TEMPLATE_ID, verifier, 1n),
      ).to.emit(registry, "TemplateRegistered");
      await expect(registry.connect(outsider).pause())
        .to.be.revertedWithCustomError(registry, "AccessControlUnauthorizedAccount")
        .withArgs(outsider.address, DEFAULT_ADMIN_ROLE);
    });
  });
});
