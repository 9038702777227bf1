import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pino from "pino";
import {
  queryEntries,
  queryStateAdvances,
  readStateRoot,
  RegistrySubmitError,
  SNARK_SCALAR_FIELD,
  submitRun,
  submitRunWithState,
  type StateAdvance,
} from "../../src/chain";
import { poseidon, rootFromPath, toHex32 } from "../../src/crypto";
import type { WorkflowStateEffect } from "../../src/definition";
import { executeWorkflow, type Execution } from "../../src/executor";
import { newRunNonce } from "../../src/trace";
import { ScenarioSession, workflowTagOf, type RunSummary } from "../../src/pipeline";
import { stateMoveOf, stateStoreOf, type RunState } from "../../src/pipeline/runState";
import {
  circuitInstance,
  ProofGenerationError,
  Prover,
  WitnessInputError,
  type CircuitInstance,
  type RunProof,
} from "../../src/prover";
import { orderStateInput, orderStockLeaf, type StateLeafTransition } from "../../src/scenarios/order/witness";
import { stateDomainId, type StateStore, type StateTransition } from "../../src/state";
import { uniqueOrder } from "../fixtures/orderRuns";

/** The registry's error for a submission that must fail. */
async function submitError(attempt: Promise<unknown>): Promise<RegistrySubmitError> {
  const error = await attempt.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, "the submission was accepted").to.be.instanceOf(RegistrySubmitError);
  return error as RegistrySubmitError;
}

/** A revert's arguments as bigints (ethers decodes uint256 as bigint; indexes too). */
const argsOf = (error: RegistrySubmitError) => error.args.map((arg) => BigInt(arg as bigint));

const DOMAIN = "order/stock";
const DOMAIN_ID = stateDomainId(DOMAIN);
const COFFEE = "SKU-COFFEE-1KG";
const MUG = "SKU-MUG-CERAMIC";

describe("state roots end to end: order runs move the stock domain through the real verifiers", function () {
  this.timeout(900_000);
  let dataDir: string;
  let session: ScenarioSession;
  let store: StateStore;
  let runState: RunState;
  let committedInstance: CircuitInstance;
  let prover: Prover;

  before(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "wesflow-stateroots-"));
    session = await ScenarioSession.open({
      scenario: "order",
      network: "hardhat",
      dataDir,
      logger: pino({ level: "silent" }),
    });
    store = stateStoreOf(session.journal);
    const effect = session.definition.state as WorkflowStateEffect;
    expect(effect.domain).to.equal(DOMAIN);
    runState = { store, effect };
    committedInstance = circuitInstance(session.definition.template);
    expect(committedInstance.name).to.equal("OrderStateWorkflow_4_3_10");
    prover = new Prover(committedInstance);
  });

  after(async () => {
    await session?.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  /** The registry's current root of the stock domain (it must be registered). */
  async function chainRoot(): Promise<bigint> {
    const root = await readStateRoot({ registry: session.chain.registry, domainId: DOMAIN_ID });
    expect(typeof root, "the registry holds the stock domain").to.equal("bigint");
    return root!;
  }

  /** The one state move (WorkflowRecordedWithState event) of a workflow. */
  async function advanceOf(workflowId: bigint | string): Promise<StateAdvance> {
    const advances = await queryStateAdvances({
      registry: session.chain.registry,
      workflowId: BigInt(workflowId),
    });
    expect(advances, `state moves of ${String(workflowId)}`).to.have.length(1);
    return advances[0];
  }

  /** Executes an order with the session's definition and systems, without recording it. */
  function execute(input: unknown): Promise<Execution> {
    return executeWorkflow({
      definition: session.definition,
      input,
      endpoints: session.systems.endpoints,
      providers: session.systems.providers,
      binding: { submitter: session.chain.submitter, workflowTag: workflowTagOf(session.definition) },
    });
  }

  /** The committed template's witness input for an execution and a leaf. */
  function witnessOf(execution: Execution, leaf: StateLeafTransition) {
    return orderStateInput({
      template: committedInstance.template,
      trace: execution.trace,
      providers: session.systems.providers,
      submitter: BigInt(session.chain.submitter),
      traceDepth: committedInstance.params[0],
      stateDepth: committedInstance.params[2],
      state: leaf,
    });
  }

  /** Prepares the run's transition against the current root (PENDING) and its leaf. */
  function prepare(execution: Execution): { transition: StateTransition; leaf: StateLeafTransition } {
    const transition = store.prepareTransition(
      DOMAIN,
      execution.runId,
      runState.effect.changes(execution.trace),
      { allowNewKeys: false },
    );
    const leaf = orderStockLeaf(stateMoveOf(transition).move);
    return { transition, leaf };
  }

  const committedTemplateId = () => session.chain.deployment.templates[committedInstance.name].templateId;

  it("committed runs move the stock: summary, registry root, store value and event agree; the second starts where the first ended", async () => {
    const orders = [uniqueOrder({ sku: COFFEE, quantity: 3 }), uniqueOrder({ sku: COFFEE, quantity: 7 })];
    const summaries: RunSummary[] = [];
    for (const order of orders) {
      const runNonce = newRunNonce();
      const workflowId = session.workflowIdFor(runNonce);
      const rootBefore = await chainRoot();
      expect(store.root(DOMAIN)).to.equal(rootBefore);
      const stockBefore = store.get(DOMAIN, COFFEE)!;

      const run = await session.run(order, undefined, { runNonce });
      summaries.push(run);
      expect(run.outcome).to.equal("COMMITTED");
      expect(run.workflowId).to.equal(toHex32(workflowId));

      const rootAfter = await chainRoot();
      expect(rootAfter).to.not.equal(rootBefore);
      expect(run.state).to.deep.equal({
        domain: DOMAIN,
        rootBefore: toHex32(rootBefore),
        rootAfter: toHex32(rootAfter),
      });
      expect(store.root(DOMAIN)).to.equal(rootAfter);
      expect(store.get(DOMAIN, COFFEE)).to.equal(stockBefore - BigInt(order.quantity));
      expect(store.appliedTransition(DOMAIN, run.workflowId)?.rootAfter).to.equal(rootAfter);

      const advance = await advanceOf(workflowId);
      expect(advance.domainId).to.equal(DOMAIN_ID);
      expect(advance.workflowId).to.equal(workflowId);
      expect(advance.rootBefore).to.equal(rootBefore);
      expect(advance.rootAfter).to.equal(rootAfter);
      expect(advance.txHash).to.equal(run.txHash);
    }
    expect(summaries[1].state!.rootBefore).to.equal(summaries[0].state!.rootAfter);
    expect(summaries[0].workflowId).to.not.equal(summaries[1].workflowId);
  });

  it("a rolled-back run (payment declined) leaves the root and the stock as they were", async () => {
    const runNonce = newRunNonce();
    const workflowId = session.workflowIdFor(runNonce);
    session.injectFault("payment", {
      operation: "payment.charge",
      kind: "decline",
      workflowId: toHex32(workflowId),
    });
    const rootBefore = await chainRoot();
    const coffeeBefore = store.get(DOMAIN, COFFEE);
    const mugBefore = store.get(DOMAIN, MUG);

    const run = await session.run(uniqueOrder({ sku: COFFEE, quantity: 5 }), undefined, { runNonce });
    expect(run.outcome).to.equal("ROLLED_BACK");
    expect(run.failure?.step).to.equal("payment");
    expect(run.state).to.deep.equal({
      domain: DOMAIN,
      rootBefore: toHex32(rootBefore),
      rootAfter: toHex32(rootBefore),
    });
    expect(await chainRoot()).to.equal(rootBefore);
    expect(store.root(DOMAIN)).to.equal(rootBefore);
    expect(store.get(DOMAIN, COFFEE)).to.equal(coffeeBefore);
    expect(store.get(DOMAIN, MUG)).to.equal(mugBefore);

    const advance = await advanceOf(workflowId);
    expect(advance.rootBefore).to.equal(rootBefore);
    expect(advance.rootAfter).to.equal(rootBefore);
    expect(advance.txHash).to.equal(run.txHash);
    const [entry] = await queryEntries({ registry: session.chain.registry, workflowId });
    expect(entry.outcome).to.equal("ROLLED_BACK");
    expect(entry.templateId).to.equal(session.chain.deployment.templates.OrderStateSaga_4_3_10.templateId);
  });

  it("refuses a proof made against a root that moved meanwhile (Registry__StaleStateRoot), and the store is brought back in line", async () => {
    const a = await execute(uniqueOrder({ sku: MUG, quantity: 2 }));
    const b = await execute(uniqueOrder({ sku: MUG, quantity: 4 }));
    expect(a.trace.outcome).to.equal("COMMITTED");
    expect(b.trace.outcome).to.equal("COMMITTED");
    const oldRoot = await chainRoot();
    expect(store.root(DOMAIN)).to.equal(oldRoot);
    const mugBefore = store.get(DOMAIN, MUG)!;

    // Both transitions are prepared against the same (current) root and proven.
    const preparedA = prepare(a);
    let proofA: RunProof;
    try {
      proofA = await prover.prove(witnessOf(a, preparedA.leaf));
    } finally {
      store.discardTransition(preparedA.transition.id);
    }
    const preparedB = prepare(b);
    let proofB: RunProof;
    try {
      proofB = await prover.prove(witnessOf(b, preparedB.leaf));
    } finally {
      store.discardTransition(preparedB.transition.id);
    }
    expect(preparedA.transition.rootBefore).to.equal(oldRoot);
    expect(preparedB.transition.rootBefore).to.equal(oldRoot);
    expect(BigInt(proofA.publicSignals[4])).to.equal(oldRoot);
    expect(BigInt(proofA.publicSignals[5])).to.equal(preparedA.transition.rootAfter);
    expect(BigInt(proofB.publicSignals[4])).to.equal(oldRoot);
    expect(preparedB.transition.rootAfter).to.not.equal(preparedA.transition.rootAfter);

    // A is accepted: the registry's root moves to A's rootAfter.
    await submitRunWithState({
      registry: session.chain.registry,
      templateId: committedTemplateId(),
      proof: proofA.proof,
      publicSignals: proofA.publicSignals,
    });
    expect(await chainRoot()).to.equal(preparedA.transition.rootAfter);

    // B still claims the old root: stale, (expected = A's rootAfter, given = the old root).
    const stale = await submitError(
      submitRunWithState({
        registry: session.chain.registry,
        templateId: committedTemplateId(),
        proof: proofB.proof,
        publicSignals: proofB.publicSignals,
      }),
    );
    expect(stale.errorName).to.equal("Registry__StaleStateRoot");
    expect(argsOf(stale)).to.deep.equal([preparedA.transition.rootAfter, oldRoot]);
    expect(
      await queryEntries({ registry: session.chain.registry, workflowId: b.trace.workflowId }),
    ).to.have.length(0);
    expect(await chainRoot()).to.equal(preparedA.transition.rootAfter);

    // The store still holds the old root (A's transition was discarded): A's effect is applied by
    // preparing its transition again (the same deltas against the same root give the same rootAfter).
    // A reconcile alone does not do it: it only settles PENDING transitions.
    expect(store.pendingTransitions(DOMAIN)).to.have.length(0);
    const alone = store.reconcile(DOMAIN, await chainRoot());
    expect(alone.applied).to.have.length(0);
    expect(alone.inSync).to.equal(false);
    expect(store.root(DOMAIN)).to.equal(oldRoot);
    const again = store.prepareTransition(DOMAIN, a.runId, runState.effect.changes(a.trace), {
      allowNewKeys: false,
    });
    expect(again.rootAfter).to.equal(preparedA.transition.rootAfter);
    const reconciled = store.reconcile(DOMAIN, await chainRoot());
    expect(reconciled.applied.map((t) => t.id)).to.deep.equal([again.id]);
    expect(reconciled.inSync).to.equal(true);
    expect(store.root(DOMAIN)).to.equal(await chainRoot());
    expect(store.get(DOMAIN, MUG)).to.equal(mugBefore - 2n);
  });

  it("refuses altered state signals, a state proof through plain submit, and a wrong new stock before or inside the circuit", async () => {
    const c = await execute(uniqueOrder({ sku: COFFEE, quantity: 5 }));
    expect(c.trace.outcome).to.equal("COMMITTED");
    const { transition, leaf } = prepare(c);
    try {
      const root = await chainRoot();
      expect(transition.rootBefore).to.equal(root);
      expect(leaf.valueAfter).to.equal(leaf.valueBefore - 5n);

      // The witness builder refuses a leaf whose new value is not valueBefore − quantity.
      expect(() => witnessOf(c, { ...leaf, valueAfter: leaf.valueAfter + 1n })).to.throw(
        WitnessInputError,
        /stock after .* is not the stock before .* − the quantity \(5\)/,
      );

      // Bypassing the builder: the circuit itself refuses a wrong new root, and a new stock that
      // takes 4 instead of 5 even with the root that matches it.
      const input = witnessOf(c, leaf);
      expect(input.stateRootAfter).to.equal(transition.rootAfter);
      const path = { pathElements: [...leaf.pathElements], pathIndices: leaf.pathIndices.map(Number) };
      const forgedValue = leaf.valueBefore - 4n;
      const forgedRoot = rootFromPath(poseidon([leaf.key, forgedValue]), path);
      expect(forgedRoot).to.not.equal(transition.rootAfter);
      for (const forged of [
        { ...input, stateRootAfter: (input.stateRootAfter as bigint) + 1n },
        { ...input, stateRootAfter: forgedRoot },
        { ...input, stateValueAfter: forgedValue, stateRootAfter: forgedRoot },
      ]) {
        const refused = await prover.prove(forged).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(refused, "the circuit accepted a forged transition").to.be.instanceOf(ProofGenerationError);
        expect((refused as Error).message).to.match(
          /does not satisfy circuit OrderStateWorkflow_4_3_10: .*Assert Failed/,
        );
      }

      const proof = await prover.prove(input);
      const signals = proof.publicSignals.map((s) => BigInt(s));
      expect(signals.slice(4)).to.deep.equal([transition.rootBefore, transition.rootAfter]);
      const templateId = committedTemplateId();
      const withSignals = (publicSignals: readonly (string | bigint)[]) =>
        submitRunWithState({
          registry: session.chain.registry,
          templateId,
          proof: proof.proof,
          publicSignals,
        });
      const replaced = (index: number, value: bigint) => signals.map((s, i) => (i === index ? value : s));

      // Another stateRootAfter (the root of the stock taking 4): the real verifier says invalid.
      const invalid = await submitError(withSignals(replaced(5, forgedRoot)));
      expect(invalid.errorName).to.equal("Registry__InvalidProof");
      expect(invalid.args).to.deep.equal([templateId]);

      // A root aliased by the field modulus (same value mod p for a verifier that reduced it).
      for (const index of [4, 5]) {
        const aliased = signals[index] + SNARK_SCALAR_FIELD;
        const notInField = await submitError(withSignals(replaced(index, aliased)));
        expect(notInField.errorName).to.equal("Registry__InputNotInField");
        expect(argsOf(notInField)).to.deep.equal([BigInt(index), aliased]);
      }

      // A state template's proof through plain submit (four signals: the roots dropped).
      const plain = await submitError(
        submitRun({
          registry: session.chain.registry,
          templateId,
          proof: proof.proof,
          publicSignals: proof.publicSignals.slice(0, 4),
        }),
      );
      expect(plain.errorName).to.equal("Registry__TemplateKindMismatch");
      expect(plain.args).to.deep.equal([templateId]);

      // Nothing moved; the untouched proof is then accepted, and the store follows.
      expect(await chainRoot()).to.equal(root);
      expect(
        await queryEntries({ registry: session.chain.registry, workflowId: c.trace.workflowId }),
      ).to.have.length(0);
      await withSignals(proof.publicSignals);
      expect(await chainRoot()).to.equal(transition.rootAfter);
      store.applyTransition(transition.id);
      expect(store.root(DOMAIN)).to.equal(transition.rootAfter);
    } finally {
      if (store.getTransition(transition.id)?.status === "PENDING") store.discardTransition(transition.id);
    }
  });

  it("concurrent committed runs are serialized on the domain: each starts from the previous one's root, in chain order", async () => {
    const startRoot = await chainRoot();
    expect(store.root(DOMAIN)).to.equal(startRoot);
    const stockBefore = store.get(DOMAIN, COFFEE)!;
    const quantities = [1, 2, 3, 4];
    const nonces = quantities.map(() => newRunNonce());
    const ids = nonces.map((nonce) => session.workflowIdFor(nonce));
    const summaries = await Promise.all(
      quantities.map((quantity, i) =>
        session.run(uniqueOrder({ sku: COFFEE, quantity }), undefined, { runNonce: nonces[i] }),
      ),
    );
    summaries.forEach((summary, i) => {
      expect(summary.outcome, `run ${i}`).to.equal("COMMITTED");
      expect(summary.workflowId).to.equal(toHex32(ids[i]));
    });

    const advances = (await queryStateAdvances({ registry: session.chain.registry, domainId: DOMAIN_ID }))
      .filter((advance) => ids.includes(advance.workflowId))
      .sort((x, y) => x.blockNumber - y.blockNumber);
    expect(advances).to.have.length(4);
    expect(new Set(advances.map((advance) => advance.blockNumber)).size).to.equal(4);
    expect(advances[0].rootBefore).to.equal(startRoot);
    for (let i = 1; i < advances.length; i += 1) {
      expect(advances[i].rootBefore, `advance ${i}`).to.equal(advances[i - 1].rootAfter);
    }
    for (const advance of advances) {
      expect(advance.rootAfter).to.not.equal(advance.rootBefore);
      const summary = summaries[ids.indexOf(advance.workflowId)];
      expect(summary.txHash).to.equal(advance.txHash);
      expect(summary.state).to.deep.equal({
        domain: DOMAIN,
        rootBefore: toHex32(advance.rootBefore),
        rootAfter: toHex32(advance.rootAfter),
      });
    }

    const finalRoot = await chainRoot();
    expect(finalRoot).to.equal(advances[3].rootAfter);
    expect(store.root(DOMAIN)).to.equal(finalRoot);
    expect(store.pendingTransitions(DOMAIN)).to.have.length(0);
    expect(store.get(DOMAIN, COFFEE)).to.equal(stockBefore - 10n);
  });
  it("a run whose transaction landed but whose transition was not applied (a crash) is reconciled, then resumed without a second submission", async () => {
    // Executed with the session's journal, proven and submitted by hand, then "crashed" before the
    // local apply: the registry moved, the journal's transition is still PENDING.
    const order = uniqueOrder({ sku: MUG, quantity: 2 });
    const execution = await executeWorkflow({
      definition: session.definition,
      input: order,
      endpoints: session.systems.endpoints,
      providers: session.systems.providers,
      binding: { submitter: session.chain.submitter, workflowTag: workflowTagOf(session.definition) },
      journal: session.journal,
    });
    const stockBefore = store.get(DOMAIN, MUG)!;
    const { transition, leaf } = prepare(execution);
    const proof = await prover.prove(witnessOf(execution, leaf));
    const tx = await submitRunWithState({
      registry: session.chain.registry,
      templateId: committedTemplateId(),
      proof: proof.proof,
      publicSignals: proof.publicSignals,
    });
    expect(await chainRoot()).to.equal(transition.rootAfter);
    expect(store.root(DOMAIN)).to.equal(transition.rootBefore);

    // What a session does on open against a persistent registry: the pending transition that led
    // to the registry's root is applied.
    const settled = store.reconcile(DOMAIN, await chainRoot());
    expect(settled.applied.map((t) => t.id)).to.deep.equal([transition.id]);
    expect(settled.inSync).to.equal(true);
    expect(store.get(DOMAIN, MUG)).to.equal(stockBefore - 2n);

    // The resume proves the run again from its applied transition and finds the registry's entry.
    const [outcome] = await session.resume({ runId: execution.runId });
    expect(outcome.error === undefined, String(outcome.error)).to.equal(true);
    expect(outcome.summary?.txHash).to.equal(tx.txHash);
    expect(outcome.summary?.state).to.deep.equal({
      domain: DOMAIN,
      rootBefore: toHex32(transition.rootBefore),
      rootAfter: toHex32(transition.rootAfter),
    });
    expect(
      await queryStateAdvances({ registry: session.chain.registry, workflowId: execution.trace.workflowId }),
    ).to.have.length(1);
    expect(store.get(DOMAIN, MUG)).to.equal(stockBefore - 2n);
    expect(store.root(DOMAIN)).to.equal(await chainRoot());
    expect(session.journal.getRun(execution.runId)?.status).to.equal("RECORDED");
  });
});
