import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import { loadFixture } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { expect } from "chai";
import { artifacts, ethers } from "hardhat";

import {
  ChainArgumentError,
  DefinitionMismatchError,
  ProofFormatError,
  RegistryRevertError,
  RegistrySubmitError,
  SNARK_SCALAR_FIELD,
  VerifierArtifactError,
  deployRegistry,
  deployVerifier,
  queryEntries,
  queryStateAdvances,
  readTemplate,
  registerDefinitionTemplate,
  registerProviderSet,
  registerStateDomain,
  registerStateTemplate,
  registerTemplate,
  submitRun,
  submitRunWithState,
  templateIdOf,
  verifyRegisteredProof,
  type ConfirmedTransaction,
} from "../../src/chain";
import { recordedRunOf, type RegistryView } from "../../src/audit/onChain";
import {
  MockWorkflowDefinitionVerifier__factory,
  MockWorkflowStateVerifier__factory,
  MockWorkflowVerifier__factory,
} from "../../typechain-types";
import { expectRejection } from "../fixtures/rejection";
import { MOCK_PROOF } from "../fixtures/mockProof";

const TEMPLATE_ID = templateIdOf("OrderWorkflow_4_3");
const OTHER_TEMPLATE_ID = templateIdOf("RefundWorkflow_4_3");
const PROVIDER_SET_ROOT = 987_654_321n;
const PROVIDERS = [
  { systemCode: 1, pubKeyX: 101n, pubKeyY: 102n },
  { systemCode: 2, pubKeyX: 201n, pubKeyY: 202n },
];

const PROOF = MOCK_PROOF;

function publicSignalsOf(run: { workflowId: bigint; outcome: bigint; traceRoot: bigint; submitter: string }) {
  // runClaim (submitter + outcome * 2^160) first, as the circuit makes it
  const runClaim = BigInt(run.submitter) + (run.outcome << 160n);
  return [runClaim, run.workflowId, run.traceRoot, PROVIDER_SET_ROOT].map(String);
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

  it("reads runs with and without state in the chain's order; a state move names its template's domain", async () => {
    const { registry, admin, prover } = await loadFixture(clientFixture);
    const stateVerifier = await new MockWorkflowStateVerifier__factory(admin).deploy();
    const [STOCK, LEDGER] = [ethers.id("order/stock"), ethers.id("clearing/ledger")];
    const [STOCK_TEMPLATE, LEDGER_TEMPLATE] = [templateIdOf("OrderState"), templateIdOf("Clearing")];
    for (const [domainId, templateId] of [
      [STOCK, STOCK_TEMPLATE],
      [LEDGER, LEDGER_TEMPLATE],
    ]) {
      await registerStateDomain({ registry, domainId, root: 5n });
      await registerStateTemplate({
        registry,
        templateId,
        verifier: await stateVerifier.getAddress(),
        domainId,
      });
    }
    const prover_ = registry.connect(prover);
    const stateRun = (workflowId: bigint, templateId: string, before: bigint, after: bigint) =>
      submitRunWithState({
        registry: prover_,
        templateId,
        proof: PROOF,
        publicSignals: [
          ...publicSignalsOf({
            workflowId,
            outcome: 1n,
            traceRoot: workflowId * 10n,
            submitter: prover.address,
          }),
          String(before),
          String(after),
        ],
      });
    await stateRun(1n, STOCK_TEMPLATE, 5n, 6n);
    await submitRun({
      registry: prover_,
      templateId: TEMPLATE_ID,
      proof: PROOF,
      publicSignals: publicSignalsOf({
        workflowId: 2n,
        outcome: 1n,
        traceRoot: 20n,
        submitter: prover.address,
      }),
    });
    await stateRun(3n, LEDGER_TEMPLATE, 5n, 7n);
    await stateRun(4n, STOCK_TEMPLATE, 6n, 6n);

    const entries = await queryEntries({ registry });
    expect(entries.map((entry) => [entry.workflowId, entry.templateId, entry.traceRoot])).to.deep.equal([
      [1n, STOCK_TEMPLATE, 10n],
      [2n, TEMPLATE_ID, 20n],
      [3n, LEDGER_TEMPLATE, 30n],
      [4n, STOCK_TEMPLATE, 40n],
    ]);
    // A state run's record carries its move; a run without state has none.
    expect(entries.map((entry) => entry.stateMove)).to.deep.equal([
      { rootBefore: 5n, rootAfter: 6n },
      undefined,
      { rootBefore: 5n, rootAfter: 7n },
      { rootBefore: 6n, rootAfter: 6n },
    ]);
    expect(
      (await queryEntries({ registry, templateId: STOCK_TEMPLATE })).map((e) => e.workflowId),
    ).to.deep.equal([1n, 4n]);
    const moves = async (domainId?: string, workflowId?: bigint) =>
      (await queryStateAdvances({ registry, domainId, workflowId })).map((move) => [
        move.workflowId,
        move.domainId,
        move.rootBefore,
        move.rootAfter,
      ]);
    expect(await moves()).to.deep.equal([
      [1n, STOCK, 5n, 6n],
      [3n, LEDGER, 5n, 7n],
      [4n, STOCK, 6n, 6n],
    ]);
    expect(await moves(LEDGER)).to.deep.equal([[3n, LEDGER, 5n, 7n]]);
    expect(await moves(STOCK, 4n)).to.deep.equal([[4n, STOCK, 6n, 6n]]);
    expect(await moves(undefined, 2n), "a run without state moved nothing").to.deep.equal([]);
  });

  it("starts event queries at the registry's deployment block, whatever fromBlock says", async () => {
    const { registry, prover } = await loadFixture(clientFixture);
    const blocks: number[] = [];
    for (const workflowId of [11n, 22n]) {
      const run = { workflowId, outcome: 1n, traceRoot: workflowId, submitter: prover.address };
      const { blockNumber } = await submitRun({
        registry: registry.connect(prover),
        templateId: TEMPLATE_ID,
        proof: PROOF,
        publicSignals: publicSignalsOf(run),
      });
      blocks.push(blockNumber);
    }
    const ids = async (range: { deploymentBlock?: number; fromBlock?: number; toBlock?: number }) =>
      (await queryEntries({ registry, ...range })).map((entry) => entry.workflowId);
    // Without a deployment block (an older deployment file): from block 0.
    expect(await ids({})).to.deep.equal([11n, 22n]);
    // Standing in for a registry deployed in the second run's block: the first run is older.
    expect(await ids({ deploymentBlock: blocks[1] })).to.deep.equal([22n]);
    expect(await ids({ deploymentBlock: blocks[1], fromBlock: 0 })).to.deep.equal([22n]);
    expect(await ids({ deploymentBlock: blocks[0], fromBlock: blocks[1] })).to.deep.equal([22n]);
    expect(await ids({ deploymentBlock: blocks[1], toBlock: blocks[0] })).to.deep.equal([]);

    // The queries hand the deployment block to the node as the first block to read.
    const asked: unknown[] = [];
    const queryFilter = registry.queryFilter.bind(registry);
    Object.assign(registry, {
      queryFilter: (...args: Parameters<typeof queryFilter>) => {
        asked.push(args[1]);
        return queryFilter(...args);
      },
    });
    // (queryEntries reads both kinds of run event: WorkflowRecorded, WorkflowRecordedWithState.)
    await queryEntries({ registry, deploymentBlock: blocks[1] });
    await queryStateAdvances({ registry, deploymentBlock: blocks[1], fromBlock: 1 });
    expect(asked).to.deep.equal([blocks[1], blocks[1], blocks[1]]);

    for (const range of [{ deploymentBlock: -1 }, { deploymentBlock: 1.5 }, { fromBlock: -2 }]) {
      await expectRejection(queryEntries({ registry, ...range }), ChainArgumentError);
    }
  });

  it("the audit's look-up of a run reads from the deployment file's deployment block", async () => {
    const { registry, prover } = await loadFixture(clientFixture);
    const run = { workflowId: 11n, outcome: 1n, traceRoot: 111n, submitter: prover.address };
    const { blockNumber } = await submitRun({
      registry: registry.connect(prover),
      templateId: TEMPLATE_ID,
      proof: PROOF,
      publicSignals: publicSignalsOf(run),
    });
    const viewFrom = (deploymentBlock: number): RegistryView => ({
      network: "localhost",
      chainId: 31337,
      registry,
      deployment: {
        chainId: 31337,
        registry: registry.target as string,
        deploymentBlock,
        templates: {},
        providerSetRoot: PROVIDER_SET_ROOT,
        deployedAt: new Date().toISOString(),
      },
    });
    expect((await recordedRunOf(viewFrom(blockNumber), 11n))?.blockNumber).to.equal(blockNumber);
    // A deployment block after the run's: the query starts there and finds nothing.
    expect(await recordedRunOf(viewFrom(blockNumber + 1), 11n)).to.equal(undefined);
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

  describe("definition-bound templates", () => {
    const INVOICE_TEMPLATE_ID = templateIdOf("user/InvoiceApproval");
    const INVOICE_DEFINITION_HASH = 0x0abc_def0_1234_5678n;
    const OTHER_DEFINITION_HASH = 0x0fed_cba9n;

    async function definitionFixture() {
      const base = await clientFixture();
      const definitionVerifier = await new MockWorkflowDefinitionVerifier__factory(base.admin).deploy();
      const definitionVerifierAddress = await definitionVerifier.getAddress();
      // The mock stands for the generic verifier given a proof of the invoice definition.
      await definitionVerifier.setRequiredDefinitionHash(INVOICE_DEFINITION_HASH);
      await registerDefinitionTemplate({
        registry: base.registry,
        templateId: INVOICE_TEMPLATE_ID,
        verifier: definitionVerifierAddress.toLowerCase(),
        definitionHash: INVOICE_DEFINITION_HASH,
      });
      return { ...base, definitionVerifier, definitionVerifierAddress };
    }

    const run = (submitter: string, workflowId = 11n) => ({
      workflowId,
      outcome: 1n,
      traceRoot: 111n,
      submitter,
    });

    it("registers a template bound to a definition and reads both kinds of template back", async () => {
      const { registry, verifierAddress, definitionVerifierAddress } = await loadFixture(definitionFixture);
      expect(await readTemplate({ registry, templateId: INVOICE_TEMPLATE_ID })).to.deep.equal({
        templateId: INVOICE_TEMPLATE_ID,
        verifier: definitionVerifierAddress,
        active: true,
        metadataHash: ethers.toBeHex(INVOICE_DEFINITION_HASH, 32),
        definitionHash: INVOICE_DEFINITION_HASH,
      });
      expect(await readTemplate({ registry, templateId: TEMPLATE_ID })).to.deep.equal({
        templateId: TEMPLATE_ID,
        verifier: verifierAddress,
        active: true,
        metadataHash: ethers.ZeroHash,
        definitionHash: undefined,
      });

      const unknown = await expectRejection(
        readTemplate({ registry, templateId: templateIdOf("absent") }),
        RegistryRevertError,
      );
      expect(unknown.errorName).to.equal("Registry__UnknownTemplate");
      expect(unknown.args).to.deep.equal([templateIdOf("absent")]);
    });

    it("throws the registry's Registry__InvalidDefinitionHash, and refuses non-uint256 hashes itself", async () => {
      const { registry, definitionVerifierAddress } = await loadFixture(definitionFixture);
      const templateId = templateIdOf("user/Broken");
      for (const definitionHash of [0n, SNARK_SCALAR_FIELD]) {
        const refused = await expectRejection(
          registerDefinitionTemplate({
            registry,
            templateId,
            verifier: definitionVerifierAddress,
            definitionHash,
          }),
          RegistryRevertError,
        );
        expect(refused.errorName).to.equal("Registry__InvalidDefinitionHash");
        expect(refused.args).to.deep.equal([templateId, definitionHash]);
        expect(refused.operation).to.equal(`registerDefinitionTemplate(${templateId})`);
        expect(refused.retryable).to.equal(false);
      }
      for (const definitionHash of [-1n, 1n << 256n]) {
        await expectRejection(
          registerDefinitionTemplate({
            registry,
            templateId,
            verifier: definitionVerifierAddress,
            definitionHash,
          }),
          ChainArgumentError,
        );
      }
      await expectRejection(
        registerDefinitionTemplate({ registry, templateId, verifier: "0x1234", definitionHash: 1n }),
        ChainArgumentError,
      );
      const duplicate = await expectRejection(
        registerDefinitionTemplate({
          registry,
          templateId: INVOICE_TEMPLATE_ID,
          verifier: definitionVerifierAddress,
          definitionHash: 1n,
        }),
        RegistryRevertError,
      );
      expect(duplicate.errorName).to.equal("Registry__TemplateAlreadyRegistered");
    });

    it("submits a five-signal proof's first four signals; the registry appends the registered hash", async () => {
      const { registry, prover } = await loadFixture(definitionFixture);
      const confirmed = await submitRun({
        registry: registry.connect(prover),
        templateId: INVOICE_TEMPLATE_ID,
        proof: PROOF,
        publicSignals: [...publicSignalsOf(run(prover.address)), INVOICE_DEFINITION_HASH.toString()],
      });
      const [recorded] = await queryEntries({ registry, workflowId: 11n });
      expect(recorded.templateId).to.equal(INVOICE_TEMPLATE_ID);
      expect(recorded.txHash).to.equal(confirmed.txHash);

      // The transaction carried four signals: the registry's submit takes no more.
      const tx = await ethers.provider.getTransaction(confirmed.txHash);
      const decoded = registry.interface.decodeFunctionData("submit", tx!.data);
      expect(decoded[4].toArray()).to.deep.equal([
        BigInt(prover.address) + (1n << 160n),
        11n,
        111n,
        PROVIDER_SET_ROOT,
      ]);
    });

    it("submits four signals to a definition-bound template as they are", async () => {
      const { registry, prover } = await loadFixture(definitionFixture);
      await submitRun({
        registry: registry.connect(prover),
        templateId: INVOICE_TEMPLATE_ID,
        proof: PROOF,
        publicSignals: publicSignalsOf(run(prover.address)),
      });
      expect(await registry.isRecorded(11n)).to.equal(true);
    });

    it("refuses, before sending, a five-signal proof of another definition or for a four-signal template", async () => {
      const { registry, prover } = await loadFixture(definitionFixture);
      const signals = publicSignalsOf(run(prover.address));
      const otherDefinition = await expectRejection(
        submitRun({
          registry: registry.connect(prover),
          templateId: INVOICE_TEMPLATE_ID,
          proof: PROOF,
          publicSignals: [...signals, OTHER_DEFINITION_HASH],
        }),
        DefinitionMismatchError,
      );
      expect(otherDefinition.name).to.equal("DefinitionMismatchError");
      expect(otherDefinition.retryable).to.equal(false);
      expect(otherDefinition.workflowId).to.equal(11n);
      expect(otherDefinition.provenDefinitionHash).to.equal(OTHER_DEFINITION_HASH);
      expect(otherDefinition.registeredDefinitionHash).to.equal(INVOICE_DEFINITION_HASH);
      expect(otherDefinition.message).to.match(/binds definition \d+$/);

      const ownCircuit = await expectRejection(
        submitRun({
          registry: registry.connect(prover),
          templateId: TEMPLATE_ID,
          proof: PROOF,
          publicSignals: [...signals, INVOICE_DEFINITION_HASH],
        }),
        DefinitionMismatchError,
      );
      expect(ownCircuit.registeredDefinitionHash).to.equal(undefined);
      expect(ownCircuit.message).to.match(/does not bind a definition/);
      expect(await registry.isRecorded(11n)).to.equal(false);
    });

    it("throws a RegistrySubmitError for a five-signal proof of an unknown template", async () => {
      const { registry, prover } = await loadFixture(definitionFixture);
      const templateId = templateIdOf("absent");
      const unknown = await expectRejection(
        submitRun({
          registry: registry.connect(prover),
          templateId,
          proof: PROOF,
          publicSignals: [...publicSignalsOf(run(prover.address)), INVOICE_DEFINITION_HASH],
        }),
        RegistrySubmitError,
      );
      expect(unknown.errorName).to.equal("Registry__UnknownTemplate");
      expect(unknown.args).to.deep.equal([templateId]);
      expect(unknown.workflowId).to.equal(11n);
    });

    it("throws a RegistrySubmitError when the registry refuses a definition-bound run", async () => {
      const { registry, definitionVerifier, prover, outsider } = await loadFixture(definitionFixture);
      const publicSignals = [...publicSignalsOf(run(prover.address)), INVOICE_DEFINITION_HASH];
      const submission = { templateId: INVOICE_TEMPLATE_ID, proof: PROOF, publicSignals };
      const stolen = await expectRejection(
        submitRun({ registry: registry.connect(outsider), ...submission }),
        RegistrySubmitError,
      );
      expect(stolen.errorName).to.equal("Registry__SubmitterMismatch");

      await definitionVerifier.setResult(false);
      const invalid = await expectRejection(
        submitRun({ registry: registry.connect(prover), ...submission }),
        RegistrySubmitError,
      );
      expect(invalid.errorName).to.equal("Registry__InvalidProof");
      expect(invalid.args).to.deep.equal([INVOICE_TEMPLATE_ID]);
    });

    it("rejects public signals that are neither four nor five, before sending anything", async () => {
      const { registry, prover } = await loadFixture(definitionFixture);
      const signals = publicSignalsOf(run(prover.address));
      for (const publicSignals of [signals.slice(0, 3), [...signals, "1", "2"]]) {
        const malformed = await expectRejection(
          submitRun({
            registry: registry.connect(prover),
            templateId: INVOICE_TEMPLATE_ID,
            proof: PROOF,
            publicSignals,
          }),
          ProofFormatError,
        );
        expect(malformed.message).to.match(
          /expected 4 public signals .* or 5 for a proof of a user-defined workflow/,
        );
      }
      expect(await registry.isRecorded(11n)).to.equal(false);
    });

    it("asks a template's registered verifier, as submit would, whether it accepts a proof", async () => {
      const { registry, verifier, definitionVerifier, prover } = await loadFixture(definitionFixture);
      const signals = publicSignalsOf(run(prover.address));
      const ask = (templateId: string, publicSignals: readonly string[]) =>
        verifyRegisteredProof({ registry, templateId, proof: PROOF, publicSignals });

      // Definition-bound: the registered hash is appended, whatever the proof's fifth signal says.
      expect(await ask(INVOICE_TEMPLATE_ID, signals)).to.equal(true);
      expect(await ask(INVOICE_TEMPLATE_ID, [...signals, OTHER_DEFINITION_HASH.toString()])).to.equal(true);
      await definitionVerifier.setRequiredDefinitionHash(OTHER_DEFINITION_HASH);
      expect(await ask(INVOICE_TEMPLATE_ID, [...signals, OTHER_DEFINITION_HASH.toString()])).to.equal(false);

      // A template of its own circuit: four signals to its four-signal verifier.
      expect(await ask(TEMPLATE_ID, signals)).to.equal(true);
      await verifier.setResult(false);
      expect(await ask(TEMPLATE_ID, signals)).to.equal(false);

      // A four-signal template whose verifier has no four-signal verifyProof: refused, not thrown.
      const mislabelled = templateIdOf("mislabelled");
      await registerTemplate({
        registry,
        templateId: mislabelled,
        verifier: await definitionVerifier.getAddress(),
      });
      expect(await ask(mislabelled, signals)).to.equal(false);

      const unknown = await expectRejection(ask(templateIdOf("absent"), signals), RegistryRevertError);
      expect(unknown.errorName).to.equal("Registry__UnknownTemplate");
    });
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

    it("deploys a five-signal verifier, usable for definition-bound templates", async () => {
      const { registry, admin } = await loadFixture(clientFixture);
      await placeArtifact(
        "GenericWorkflowVerifier",
        await artifacts.readArtifact("MockWorkflowDefinitionVerifier"),
      );
      const address = await deployVerifier({
        signer: admin,
        contractName: "GenericWorkflowVerifier",
        artifactsDir,
      });
      const templateId = templateIdOf("user/Generic");
      await registerDefinitionTemplate({ registry, templateId, verifier: address, definitionHash: 5n });
      expect((await readTemplate({ registry, templateId })).definitionHash).to.equal(5n);
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
