import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ethers } from "hardhat";
import { readAuditTrail } from "../../src/audit";
import { readBundle } from "../../src/bundle";
import { estimateVerifierGas, queryEntries, RegistrySubmitError, submitRunWithState } from "../../src/chain";
import { executeWorkflow } from "../../src/executor";
import {
  prepareTemplate,
  ScenarioSession,
  stateMoveOf,
  stateStoreOf,
  workflowTagOf,
} from "../../src/pipeline";
import { workflowLayoutOf } from "../../src/definition";
import {
  circuitInstance,
  Prover,
  WitnessInputError,
  workflowTraceInput,
  type CircuitInput,
} from "../../src/prover";
import { orderStateInput, orderStockLeaf } from "../../src/scenarios/order/witness";
import { STATE_DEPTH } from "../../src/state";
import { computeTraceRoot, newRunNonce, workflowDefinitionHash, workflowIdOf } from "../../src/trace";
import { providerFixtures, signedOrderTrace } from "../fixtures/orderTrace";
import { expectRejection } from "../fixtures/rejection";
import { WorkflowRegistry__factory } from "../../typechain-types";

/** The registry's error for a submission that must fail. */
async function submitError(attempt: Promise<unknown>): Promise<RegistrySubmitError> {
  const error = await attempt.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, "the submission was accepted").to.be.instanceOf(RegistrySubmitError);
  return error as RegistrySubmitError;
}

/** The error a proof attempt fails with (the witness has no solution), or a failure of the test. */
const proofRefused = (prover: Prover, input: CircuitInput): Promise<Error> =>
  expectRejection(prover.prove(input), Error);

/**
 * Gas of one recorded order run with the real generated verifier. Issue 2's budget was 300k for the
 * five-signal statement (~280k measured); the order's proof now also carries the stock transition
 * (two more public inputs, ≈ 13.4k in the verifier, and the domain's root read and written, its
 * event: ≈ 11k), measured ≈ 304k: over that budget by ~1.4 %, as the README says. This ceiling
 * catches any further growth.
 */
const SUBMIT_GAS_BUDGET = 306_000;

describe("order scenario end to end: real systems, real proof, real verifier, in-process chain", function () {
  this.timeout(600_000);
  let dataDir: string;
  let session: ScenarioSession;

  before(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "wesflow-e2e-"));
    session = await ScenarioSession.open({ scenario: "order", network: "hardhat", dataDir });
  });

  after(async () => {
    await session?.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  /**
   * A committed order executed and proven by hand (not recorded), with its stock transition
   * prepared against the current root: apply it once the proof is recorded, discard it otherwise.
   */
  async function provenRun(submitter: string) {
    const definition = session.definition;
    const execution = await executeWorkflow({
      definition,
      input: {
        ...(session.scenario.demoInput(42) as object),
        orderId: `E2E-${Date.now()}-${Math.random()}`.slice(0, 31),
      },
      endpoints: session.systems.endpoints,
      providers: session.systems.providers,
      binding: { submitter, workflowTag: workflowTagOf(definition) },
    });
    const instance = circuitInstance(definition.template);
    const effect = definition.state!;
    const store = stateStoreOf(session.journal);
    const transition = store.prepareTransition(
      effect.domain,
      execution.runId,
      effect.changes(execution.trace),
    );
    const leaf = orderStockLeaf(stateMoveOf(transition).move);
    const prover = new Prover(instance);
    const proof = await prover.prove(
      orderStateInput({
        template: instance.template,
        trace: execution.trace,
        providers: session.systems.providers,
        submitter: BigInt(submitter),
        traceDepth: instance.params[0],
        stateDepth: instance.params[2],
        state: leaf,
      }),
    );
    return {
      execution,
      proof,
      transition,
      store,
      templateId: session.chain.deployment.templates[instance.name].templateId,
    };
  }

  it("records a committed order whose event, bundle and audit trail agree", async () => {
    const run = await session.run(session.scenario.demoInput(1));
    expect(run.outcome).to.equal("COMMITTED");
    expect(run.gasUsed).to.be.greaterThan(200_000).and.at.most(SUBMIT_GAS_BUDGET);

    const [event] = await queryEntries({
      registry: session.chain.registry,
      workflowId: BigInt(run.workflowId),
    });
    expect(event.txHash).to.equal(run.txHash);
    expect(event.outcome).to.equal("COMMITTED");
    expect(event.traceRoot).to.equal(BigInt(run.traceRoot));
    expect(event.providerSetRoot).to.equal(session.systems.providers.root);
    expect(event.submitter).to.equal(session.chain.submitter);

    const bundle = readBundle(path.join(dataDir, "runs", run.workflowId, "bundle.json"));
    expect(bundle.traceRoot).to.equal(run.traceRoot);
    expect(bundle.submission?.txHash).to.equal(run.txHash);
    expect(bundle.calls.map((c) => c.operationName)).to.deep.equal([
      "payment.charge",
      "logistics.ship",
      "invoice.issue",
    ]);
    const prover = new Prover(circuitInstance(bundle.template));
    expect(await prover.verify(bundle.proof!)).to.equal(true);

    // The gas split `npm run bench` prints: the verifier alone (a transaction calling only it) costs
    // at least the four pairings (45k + 4 × 34k, EIP-1108) and the 21k base; the registry's own work
    // on top holds at least the run's new storage slot (22.1k).
    const verifierOnly = await estimateVerifierGas({
      registry: session.chain.registry,
      templateId: bundle.templateId,
      proof: bundle.proof!.proof,
      publicSignals: bundle.proof!.publicSignals,
    });
    expect(verifierOnly).to.be.greaterThan(21_000 + 45_000 + 4 * 34_000);
    expect(run.gasUsed - verifierOnly).to.be.greaterThan(22_100);

    const [entry] = await readAuditTrail({
      registry: session.chain.registry,
      provider: ethers.provider,
      network: session.chain.network,
      deployment: session.chain.deployment,
      runsDir: path.join(dataDir, "runs"),
      workflowId: BigInt(run.workflowId),
    });
    expect(entry.gasUsed).to.equal(run.gasUsed);
    expect(entry.trail?.matchesChain).to.equal(true);
    expect(entry.trail?.steps.map((s) => s.name)).to.deep.equal([
      "create_order",
      "reserve_inventory",
      "payment",
      "logistics",
      "invoice",
      "accounting",
    ]);
    expect(entry.trail?.calls.every((c) => c.evidence === "attested" && c.signatureVerified)).to.equal(true);
  });

  it("rejects a replay of a recorded run", async () => {
    const run = await session.run(session.scenario.demoInput(2));
    const bundle = readBundle(path.join(dataDir, "runs", run.workflowId, "bundle.json"));
    const replay = submitRunWithState({
      registry: session.chain.registry,
      templateId: bundle.templateId,
      proof: bundle.proof!.proof,
      publicSignals: bundle.proof!.publicSignals,
    });
    expect((await submitError(replay)).errorName).to.equal("Registry__AlreadyRecorded");
  });

  it("rejects a proof submitted by an account other than the bound submitter, accepts it from that one", async () => {
    const [, other] = await ethers.getSigners();
    const { proof, templateId, transition, store } = await provenRun(session.chain.submitter);
    const stolen = submitRunWithState({
      registry: WorkflowRegistry__factory.connect(await session.chain.registry.getAddress(), other),
      templateId,
      proof: proof.proof,
      publicSignals: proof.publicSignals,
    });
    expect((await submitError(stolen)).errorName).to.equal("Registry__SubmitterMismatch");
    const own = await submitRunWithState({
      registry: session.chain.registry,
      templateId,
      proof: proof.proof,
      publicSignals: proof.publicSignals,
    });
    expect(own.gasUsed).to.be.at.most(SUBMIT_GAS_BUDGET);
    store.applyTransition(transition.id);
  });

  it("squatting: no proof exists for an attacker's fabricated step-0 rollback under the victim's id; the victim's run still records", async () => {
    const [, attacker] = await ethers.getSigners();
    // The victim's run: executed and proven, its transaction not sent yet (in the mempool, say).
    const victim = await provenRun(session.chain.submitter);
    const victimId = victim.execution.trace.workflowId;

    // The attacker's fabricated run: create_order "failed" (a local step: nothing to sign), rolled
    // back, state untouched, proven by the saga template for the attacker's own address.
    const sagaName = session.definition.rollbackTemplate!;
    const saga = circuitInstance(sagaName);
    await prepareTemplate({
      name: sagaName,
      chain: session.chain,
      runState: { store: victim.store, effect: session.definition.state! },
    });
    const fabricated = {
      ...(await signedOrderTrace({
        providers: await providerFixtures(),
        failAt: 0,
        submitter: attacker.address,
        runNonce: newRunNonce(),
      })),
      template: sagaName,
    };
    const zeros = new Array<bigint>(STATE_DEPTH).fill(0n);
    const own = orderStateInput({
      template: saga.template,
      trace: fabricated,
      providers: session.systems.providers,
      submitter: BigInt(attacker.address),
      traceDepth: saga.params[0],
      stateDepth: saga.params[2],
      state: {
        rootBefore: victim.store.root(session.definition.state!.domain),
        key: 0n,
        slot: 0,
        valueBefore: 0n,
        valueAfter: 0n,
        pathElements: zeros,
        pathIndices: zeros.map(Number),
      },
    });
    const prover = new Prover(saga);
    // Under the victim's id (trace root recomputed for it), from the attacker's address: the id opens
    // to no (attacker, order tag, nonce), whatever nonce the attacker tries.
    const squat = {
      ...own,
      workflowId: victimId,
      traceRoot: computeTraceRoot({ ...fabricated, workflowId: victimId }, saga.params[0]),
    };
    await proofRefused(prover, squat);
    await proofRefused(prover, { ...squat, runNonce: victim.execution.trace.binding.runNonce });

    // Its own id proves and records, and says nothing about the victim's run.
    const sagaTemplateId = session.chain.deployment.templates[sagaName].templateId;
    const attackerRegistry = WorkflowRegistry__factory.connect(
      await session.chain.registry.getAddress(),
      attacker,
    );
    const ownProof = await prover.prove(own);
    await submitRunWithState({
      registry: attackerRegistry,
      templateId: sagaTemplateId,
      proof: ownProof.proof,
      publicSignals: ownProof.publicSignals,
    });
    // The victim's proof, taken from the mempool and sent by the attacker first: refused.
    const stolen = submitRunWithState({
      registry: attackerRegistry,
      templateId: victim.templateId,
      proof: victim.proof.proof,
      publicSignals: victim.proof.publicSignals,
    });
    expect((await submitError(stolen)).errorName).to.equal("Registry__SubmitterMismatch");

    // The victim's run records COMMITTED under its own id, from its own address.
    await submitRunWithState({
      registry: session.chain.registry,
      templateId: victim.templateId,
      proof: victim.proof.proof,
      publicSignals: victim.proof.publicSignals,
    });
    victim.store.applyTransition(victim.transition.id);
    const [entry] = await queryEntries({ registry: session.chain.registry, workflowId: victimId });
    expect(entry.outcome).to.equal("COMMITTED");
    expect(entry.submitter.toLowerCase()).to.equal(session.chain.submitter.toLowerCase());
    const [squatted] = await queryEntries({
      registry: session.chain.registry,
      workflowId: fabricated.workflowId,
    });
    expect(squatted.outcome).to.equal("ROLLED_BACK");
    expect(squatted.submitter.toLowerCase()).to.equal(attacker.address.toLowerCase());
    expect(fabricated.workflowId).to.not.equal(victimId);
  });

  it("template swap: an order run's genuine signatures cannot be proven through the generic template with a definition matching the order's calls", async () => {
    const { execution, transition, store } = await provenRun(session.chain.submitter);
    store.discardTransition(transition.id);
    const generic = circuitInstance("WorkflowTrace_8_4");
    const [traceDepth, , maxSteps, maxCalls] = generic.params;
    const layout = workflowLayoutOf(session.definition);
    const args = {
      layout,
      providers: session.systems.providers,
      submitter: BigInt(session.chain.submitter),
      traceDepth,
      maxSteps,
      maxCalls,
    };
    // The builder refuses: the run is bound to the order's tag, not to that definition's hash.
    expect(() => workflowTraceInput({ ...args, trace: execution.trace })).to.throw(
      WitnessInputError,
      /belongs to workflow/,
    );
    // By hand, past the builder: the id re-bound to the definition's hash (the order's signatures
    // cover the old id), or the old id kept with the definition's hash claimed: no witness either way.
    const binding = { ...execution.trace.binding, workflowTag: workflowDefinitionHash(layout, maxSteps) };
    const rebound = workflowTraceInput({
      ...args,
      trace: { ...execution.trace, binding, workflowId: workflowIdOf(binding) },
    });
    const prover = new Prover(generic);
    await proofRefused(prover, rebound);
    await proofRefused(prover, {
      ...rebound,
      workflowId: execution.trace.workflowId,
      traceRoot: computeTraceRoot(execution.trace, traceDepth),
    });
  });

  it("rejects a proof whose public signals were altered (real verifier says invalid)", async () => {
    const { proof, templateId, transition, store } = await provenRun(session.chain.submitter);
    const altered = [...proof.publicSignals];
    altered[2] = (BigInt(altered[2]) + 1n).toString(); // another trace root
    const attempt = submitRunWithState({
      registry: session.chain.registry,
      templateId,
      proof: proof.proof,
      publicSignals: altered,
    });
    expect((await submitError(attempt)).errorName).to.equal("Registry__InvalidProof");
    store.discardTransition(transition.id);
  });

  it("shows a bundle edited after the fact as not matching the chain", async () => {
    const run = await session.run(session.scenario.demoInput(3));
    const file = path.join(dataDir, "runs", run.workflowId, "bundle.json");
    const bundle = JSON.parse(fs.readFileSync(file, "utf8"));
    bundle.steps[2].response[2] = "1"; // the captured payment amount
    fs.writeFileSync(file, JSON.stringify(bundle));
    const [entry] = await readAuditTrail({
      registry: session.chain.registry,
      provider: ethers.provider,
      network: session.chain.network,
      deployment: session.chain.deployment,
      runsDir: path.join(dataDir, "runs"),
      workflowId: BigInt(run.workflowId),
    });
    expect(entry.trail?.matchesChain).to.equal(false);
    expect(entry.trail?.problems.join(" ")).to.match(
      /the chain recorded trace root 0x[0-9a-f]{64}, the bundle's steps hash to 0x[0-9a-f]{64}/,
    );
  });
});
