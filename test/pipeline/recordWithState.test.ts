import { loadFixture } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { expect } from "chai";
import { ethers } from "hardhat";

import {
  TransactionTimeoutError,
  deployRegistry,
  readStateRoot,
  registerProviderSet,
  registerStateDomain,
  registerStateTemplate,
  submitRunWithState,
  templateIdOf,
  type ConfirmedTransaction,
} from "../../src/chain";
import type { WorkflowStateEffect } from "../../src/definition";
import { Journal } from "../../src/journal";
import {
  createRunQueues,
  RunNotRecordedError,
  recordWithState,
  recordWithStateInChain,
  stateStoreOf,
  type ChainContext,
  type RunState,
} from "../../src/pipeline";
import { silentProgress, type RunProof } from "../../src/prover";
import { stateDomainId } from "../../src/state";
import type { Trace } from "../../src/trace";
import { MockWorkflowStateVerifier__factory } from "../../typechain-types";
import { MOCK_PROOF } from "../fixtures/mockProof";

const DOMAIN = "test/stock";
const DOMAIN_ID = stateDomainId(DOMAIN);
const TEMPLATE_ID = templateIdOf("TestStateWorkflow");
const PROVIDER_SET_ROOT = 987_654_321n;
const RUN_ID = "0x" + "ab".repeat(32);
const PROOF = MOCK_PROOF;

/** A run that takes one unit of key A (its proof and trace do not matter here: both are stand-ins). */
const EFFECT: WorkflowStateEffect = {
  domain: DOMAIN,
  genesis: { A: 10n },
  changes: () => [{ key: "A", delta: -1n }],
};
const TRACE = { scenario: "test" } as unknown as Trace;
const PROOF_OF_RUN = { proveMs: 0 } as unknown as RunProof;

/** A journal whose state holds the domain at its genesis. */
function openJournal() {
  const journal = Journal.open(":memory:");
  const store = stateStoreOf(journal);
  store.createDomain(DOMAIN, { ...EFFECT.genesis });
  return { journal, store };
}

/** A registry whose domain starts where the journal's state does, as a session opens it. */
async function chainFixture() {
  const [signer] = await ethers.getSigners();
  const registry = await deployRegistry({ signer });
  const { journal, store } = openJournal();
  await registerStateDomain({ registry, domainId: DOMAIN_ID, root: store.root(DOMAIN) });
  journal.close();
  const verifier = await new MockWorkflowStateVerifier__factory(signer).deploy();
  await registerStateTemplate({
    registry,
    templateId: TEMPLATE_ID,
    verifier: await verifier.getAddress(),
    domainId: DOMAIN_ID,
  });
  await registerProviderSet({
    registry,
    root: PROVIDER_SET_ROOT,
    providers: [{ systemCode: 1, pubKeyX: 1n, pubKeyY: 2n }],
  });
  const chain = { network: "hardhat", registry } as unknown as ChainContext;
  return { signer, registry, chain };
}

async function pipelineFixture() {
  const { journal, store } = openJournal();
  const runState: RunState = { store, effect: EFFECT };
  return { ...(await loadFixture(chainFixture)), journal, store, runState };
}

/** The transaction of the run lands on the registry: the domain moves to the transition's root. */
async function landTransition(
  fixture: Awaited<ReturnType<typeof pipelineFixture>>,
  rootBefore: bigint,
  rootAfter: bigint,
): Promise<ConfirmedTransaction> {
  // runClaim (submitter + COMMITTED * 2^160), workflowId, traceRoot, providerSetRoot, the roots
  const claim = BigInt(fixture.signer.address) + (1n << 160n);
  const signals = [claim, 1n, 0x77n, PROVIDER_SET_ROOT, rootBefore, rootAfter];
  return submitRunWithState({
    registry: fixture.registry,
    templateId: TEMPLATE_ID,
    proof: PROOF,
    publicSignals: signals,
  });
}

function recordWith(
  fixture: Awaited<ReturnType<typeof pipelineFixture>>,
  submitFailure: (txHash: string) => Error,
) {
  return recordWithState({
    runState: fixture.runState,
    runId: RUN_ID,
    trace: TRACE,
    chain: fixture.chain,
    prove: async () => PROOF_OF_RUN,
    alreadyRecorded: async () => undefined,
    submit: async () => {
      throw new RunNotRecordedError(
        RUN_ID,
        "COMMITTED",
        "submit",
        "bundle.json",
        submitFailure(ethers.id("tx")),
      );
    },
    setBundleState: () => {},
    progress: silentProgress,
  });
}

describe("recordWithState: a submission whose transaction may still be mined", () => {
  it("keeps the run's transition PENDING when the wait timed out, so that it is applied if the tx lands", async () => {
    const fixture = await pipelineFixture();
    const { store } = fixture;
    const genesisRoot = store.root(DOMAIN);
    try {
      await recordWith(fixture, (txHash) => new TransactionTimeoutError("submitWithState(1)", txHash, 1, 10));
      expect.fail("the submission's timeout was not thrown");
    } catch (error) {
      expect(error).to.be.instanceOf(RunNotRecordedError);
      expect((error as Error).cause).to.be.instanceOf(TransactionTimeoutError);
    }
    const [pending] = store.pendingTransitions(DOMAIN);
    expect(pending?.runId).to.equal(RUN_ID);
    expect(store.root(DOMAIN)).to.equal(genesisRoot);

    // The transaction is mined after all: reconciling with the registry applies the transition.
    await landTransition(fixture, pending.rootBefore, pending.rootAfter);
    const chainRoot = await readStateRoot({ registry: fixture.registry, domainId: DOMAIN_ID });
    const settled = store.reconcile(DOMAIN, chainRoot!);
    expect(settled.applied.map((t) => t.id)).to.deep.equal([pending.id]);
    expect(settled.inSync).to.equal(true);
    expect(store.root(DOMAIN)).to.equal(pending.rootAfter);
    fixture.journal.close();
  });

  it("still discards the transition of a submission that failed for good", async () => {
    const fixture = await pipelineFixture();
    const { store } = fixture;
    try {
      await recordWith(fixture, () => new Error("refused"));
      expect.fail("the submission's failure was not thrown");
    } catch (error) {
      expect(error).to.be.instanceOf(RunNotRecordedError);
    }
    expect(store.pendingTransitions(DOMAIN)).to.deep.equal([]);
    expect(store.transitions(DOMAIN).map((t) => t.status)).to.deep.equal(["DISCARDED"]);
    fixture.journal.close();
  });
});

describe("recordWithStateInChain: a run refused inside a chain", () => {
  it("the runs before it are recorded, it fails with its refusal, the runs after it are prepared again on top and recorded", async () => {
    const fixture = await pipelineFixture();
    const { store, signer } = fixture;
    const genesisRoot = store.root(DOMAIN);
    const queues = createRunQueues({ batch: { size: 4, windowMs: 5_000 } });
    const runIds = [1, 2, 3, 4].map((n) => "0x" + n.toString(16).padStart(64, "0"));
    const REFUSED = runIds[1];
    const proofsOf = new Map<string, number>();
    const record = (runId: string) =>
      recordWithStateInChain({
        runState: fixture.runState,
        runId,
        trace: TRACE,
        chain: fixture.chain,
        queues,
        templateId: TEMPLATE_ID,
        // A stand-in proof (the mock verifier accepts any) whose signals are the run's move; the
        // refused run is bound to another submitter, which the registry refuses.
        prove: (move) =>
          queues.prove(async () => {
            proofsOf.set(runId, (proofsOf.get(runId) ?? 0) + 1);
            await new Promise((resolve) => setTimeout(resolve, 30));
            const submitter = runId === REFUSED ? 0xdeadn : BigInt(signer.address);
            return {
              proveMs: 30,
              proof: PROOF,
              publicSignals: [
                submitter + (1n << 160n),
                BigInt(runId),
                0x77n,
                PROVIDER_SET_ROOT,
                move.rootBefore,
                move.rootAfter,
              ].map(String),
            } as unknown as RunProof;
          }),
        alreadyRecorded: async () => undefined,
        setBundleState: () => {},
        progress: silentProgress,
      });
    const results = await Promise.allSettled(runIds.map(record));

    expect(results.map((r) => r.status)).to.deep.equal(["fulfilled", "rejected", "fulfilled", "fulfilled"]);
    const refusal = (results[1] as PromiseRejectedResult).reason as { errorName?: string };
    expect(refusal.errorName).to.equal("Registry__SubmitterMismatch");
    // The runs after the refused one were proven a second time, on top of what was recorded.
    expect(Object.fromEntries(proofsOf)).to.deep.equal({
      [runIds[0]]: 1,
      [runIds[1]]: 1,
      [runIds[2]]: 2,
      [runIds[3]]: 2,
    });
    // Three units taken, the registry's root is the journal's, nothing left pending.
    expect(store.get(DOMAIN, "A")).to.equal(7n);
    expect(await readStateRoot({ registry: fixture.registry, domainId: DOMAIN_ID })).to.equal(
      store.root(DOMAIN),
    );
    expect(store.root(DOMAIN)).to.not.equal(genesisRoot);
    expect(store.pendingTransitions(DOMAIN)).to.deep.equal([]);
    const applied = store.transitions(DOMAIN, ["APPLIED"]).map((t) => t.runId);
    expect(applied).to.deep.equal([runIds[0], runIds[2], runIds[3]]);
    // Each recorded run's transition starts where the one before it ended.
    const chain = store.transitions(DOMAIN, ["APPLIED"]);
    chain.slice(1).forEach((t, i) => expect(t.rootBefore).to.equal(chain[i].rootAfter));
    fixture.journal.close();
  });
});
