import { loadFixture, mine } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { expect } from "chai";
import { isError } from "ethers";
import { ethers, network } from "hardhat";

import {
  ChainArgumentError,
  DEFAULT_CONFIRMATIONS,
  DEFAULT_TX_TIMEOUT_MS,
  RegistrySubmitError,
  TransactionTimeoutError,
  deployRegistry,
  registerProviderSet,
  registerStateDomain,
  registerStateTemplate,
  registerTemplate,
  submitRun,
  submitRunWithState,
  templateIdOf,
  transactionWaitOf,
  waitForTransaction,
  type ConfirmedTransaction,
} from "../../src/chain";
import { MockWorkflowStateVerifier__factory, MockWorkflowVerifier__factory } from "../../typechain-types";
import { expectRejection } from "../fixtures/rejection";
import { MOCK_PROOF } from "../fixtures/mockProof";

const TEMPLATE_ID = templateIdOf("OrderWorkflow_4_3");
const STATE_TEMPLATE_ID = templateIdOf("OrderStateWorkflow_4_3_10");
const STOCK = ethers.id("order/stock");
const GENESIS = 0x0e5e_5e5en;
const PROVIDER_SET_ROOT = 987_654_321n;
/** Enough for a submission: with it, nothing is estimated, so a revert happens on chain. */
const GAS_LIMIT = 1_000_000n;

const PROOF = MOCK_PROOF;

function signalsOf(workflowId: bigint, submitter: string): string[] {
  // runClaim (submitter + COMMITTED * 2^160), workflowId, traceRoot, providerSetRoot
  return [BigInt(submitter) + (1n << 160n), workflowId, 0x7777n + workflowId, PROVIDER_SET_ROOT].map(String);
}

function stateSignalsOf(workflowId: bigint, submitter: string, before: bigint, after: bigint): string[] {
  return [...signalsOf(workflowId, submitter), before.toString(), after.toString()];
}

async function transactionsFixture() {
  const [admin, prover, secondProver] = await ethers.getSigners();
  const registry = await deployRegistry({ signer: admin });
  const verifier = await new MockWorkflowVerifier__factory(admin).deploy();
  const stateVerifier = await new MockWorkflowStateVerifier__factory(admin).deploy();
  await registerTemplate({ registry, templateId: TEMPLATE_ID, verifier: await verifier.getAddress() });
  await registerProviderSet({
    registry,
    root: PROVIDER_SET_ROOT,
    providers: [{ systemCode: 1, pubKeyX: 1n, pubKeyY: 2n }],
  });
  await registerStateDomain({ registry, domainId: STOCK, root: GENESIS });
  await registerStateTemplate({
    registry,
    templateId: STATE_TEMPLATE_ID,
    verifier: await stateVerifier.getAddress(),
    domainId: STOCK,
  });
  return { registry, admin, prover, secondProver };
}

/** The transactions waiting in the node's mempool (automine off). */
async function pendingTransactions(): Promise<string[]> {
  const block = (await network.provider.send("eth_getBlockByNumber", ["pending", false])) as {
    transactions: string[];
  };
  return block.transactions;
}

async function untilPending(count: number): Promise<string[]> {
  for (let attempt = 0; attempt < 200; attempt += 1) {
    const pending = await pendingTransactions();
    if (pending.length >= count) return pending;
    await sleep(10);
  }
  expect.fail(`expected ${count} transactions in the mempool`);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs `body` with automine off: transactions wait in the mempool until a block is mined. */
async function withoutAutomine<T>(body: () => Promise<T>): Promise<T> {
  await network.provider.send("evm_setAutomine", [false]);
  try {
    return await body();
  } finally {
    await network.provider.send("evm_setAutomine", [true]);
  }
}

/** Tells whether a promise has settled (without waiting for it). */
function tracked<T>(promise: Promise<T>): { promise: Promise<T>; settled: () => boolean } {
  let done = false;
  promise.then(
    () => (done = true),
    () => (done = true),
  );
  return { promise, settled: () => done };
}

describe("chain client: transactions mined, confirmed and timed out", () => {
  describe("a transaction mined with status 0", () => {
    it("is re-run at its block and its stale state root thrown as a RegistrySubmitError", async () => {
      const { registry, prover, secondProver } = await loadFixture(transactionsFixture);
      // Both runs start from the genesis root; whichever is mined first makes the other stale
      // between its (skipped) estimate and its block.
      const outcomes = await withoutAutomine(async () => {
        const first = submitRunWithState({
          registry: registry.connect(prover),
          templateId: STATE_TEMPLATE_ID,
          proof: PROOF,
          publicSignals: stateSignalsOf(1n, prover.address, GENESIS, 0x51n),
          gasLimit: GAS_LIMIT,
        });
        await untilPending(1);
        const second = submitRunWithState({
          registry: registry.connect(secondProver),
          templateId: STATE_TEMPLATE_ID,
          proof: PROOF,
          publicSignals: stateSignalsOf(2n, secondProver.address, GENESIS, 0x52n),
          gasLimit: GAS_LIMIT,
        });
        await untilPending(2);
        await mine(1);
        return Promise.allSettled([first, second]);
      });
      const recorded = outcomes.flatMap((o, i) => (o.status === "fulfilled" ? [{ i, tx: o.value }] : []));
      const refused = outcomes.flatMap((o, i) => (o.status === "rejected" ? [{ i, error: o.reason }] : []));
      expect(recorded).to.have.length(1);
      expect(refused).to.have.length(1);
      const winnerRoot = recorded[0].i === 0 ? 0x51n : 0x52n;
      const stale = refused[0].error as RegistrySubmitError;
      expect(stale).to.be.instanceOf(RegistrySubmitError);
      expect(stale.errorName).to.equal("Registry__StaleStateRoot");
      expect(stale.args).to.deep.equal([winnerRoot, GENESIS]);
      expect(stale.workflowId).to.equal(refused[0].i === 0 ? 1n : 2n);
      expect(stale.retryable).to.equal(false);
      // The transaction was mined, in the same block, and reverted: the error names it.
      const receipt = await ethers.provider.getTransactionReceipt(stale.txHash!);
      expect(receipt?.status).to.equal(0);
      expect(receipt?.blockNumber).to.equal(recorded[0].tx.blockNumber);
      expect(stale.message).to.contain(`reverted in transaction ${stale.txHash}`);
      expect(isError(stale.cause, "CALL_EXCEPTION")).to.equal(true);
      expect(await registry.currentStateRoot(STOCK)).to.equal(winnerRoot);
    });

    it("is re-run at its block and a replayed workflow id thrown as Registry__AlreadyRecorded", async () => {
      const { registry, prover } = await loadFixture(transactionsFixture);
      const submission = {
        registry: registry.connect(prover),
        templateId: TEMPLATE_ID,
        proof: PROOF,
        publicSignals: signalsOf(11n, prover.address),
        gasLimit: GAS_LIMIT,
      };
      const [first, second] = await withoutAutomine(async () => {
        const first = submitRun(submission);
        await untilPending(1);
        // The same run again, from the same account (the next nonce): mined right after the first.
        const second = submitRun(submission);
        await untilPending(2);
        await mine(1);
        return Promise.allSettled([first, second]);
      });
      expect(first.status).to.equal("fulfilled");
      expect(second.status).to.equal("rejected");
      const replay = (second as PromiseRejectedResult).reason as RegistrySubmitError;
      expect(replay).to.be.instanceOf(RegistrySubmitError);
      expect(replay.errorName).to.equal("Registry__AlreadyRecorded");
      expect(replay.args).to.deep.equal([11n]);
      expect((await ethers.provider.getTransactionReceipt(replay.txHash!))?.status).to.equal(0);
    });

    it("whose re-run does not revert (out of gas) is thrown as the wait's error, undecoded", async () => {
      const { registry, prover } = await loadFixture(transactionsFixture);
      const failure = await withoutAutomine(async () => {
        const sent = submitRun({
          registry: registry.connect(prover),
          templateId: TEMPLATE_ID,
          proof: PROOF,
          publicSignals: signalsOf(11n, prover.address),
          gasLimit: 30_000n,
        }).catch((error: unknown) => error);
        await untilPending(1);
        await mine(1);
        return sent;
      });
      expect(failure).to.not.be.instanceOf(RegistrySubmitError);
      expect(isError(failure, "CALL_EXCEPTION")).to.equal(true);
      expect((failure as { receipt?: { status: number } }).receipt?.status).to.equal(0);
      expect(await registry.isRecorded(11n)).to.equal(false);
    });
  });

  describe("confirmations", () => {
    it("returns a submission only once its receipt has the confirmations asked for", async () => {
      const { registry, prover } = await loadFixture(transactionsFixture);
      const submission = tracked(
        submitRun({
          registry: registry.connect(prover),
          templateId: TEMPLATE_ID,
          proof: PROOF,
          publicSignals: signalsOf(11n, prover.address),
          confirmations: 3,
        }),
      );
      // Mined at once (automine), but one block is one confirmation.
      for (let attempt = 0; !(await registry.isRecorded(11n)); attempt += 1) {
        expect(attempt).to.be.below(200);
        await sleep(10);
      }
      const included = await ethers.provider.getBlockNumber();
      await sleep(300);
      expect(submission.settled()).to.equal(false);
      await mine(1);
      await sleep(300);
      expect(submission.settled()).to.equal(false);
      await mine(1);
      const confirmed: ConfirmedTransaction = await submission.promise;
      expect(confirmed.blockNumber).to.equal(included);
      expect((await ethers.provider.getBlockNumber()) - confirmed.blockNumber + 1).to.equal(3);
    });

    it("waits for a transaction sent before (a crash after sending) to have its confirmations", async () => {
      const { registry, prover } = await loadFixture(transactionsFixture);
      const sent = await submitRun({
        registry: registry.connect(prover),
        templateId: TEMPLATE_ID,
        proof: PROOF,
        publicSignals: signalsOf(11n, prover.address),
      });
      expect(
        await waitForTransaction({ provider: ethers.provider, txHash: sent.txHash, confirmations: 1 }),
      ).to.deep.equal(sent);
      const waiting = tracked(
        waitForTransaction({ provider: ethers.provider, txHash: sent.txHash, confirmations: 2 }),
      );
      await sleep(300);
      expect(waiting.settled()).to.equal(false);
      await mine(1);
      expect(await waiting.promise).to.deep.equal(sent);

      const late = await expectRejection(
        waitForTransaction({
          provider: ethers.provider,
          txHash: sent.txHash,
          confirmations: 5,
          timeoutMs: 200,
          operation: "submit(11)",
        }),
        TransactionTimeoutError,
      );
      expect(late.message).to.contain(`submit(11): transaction ${sent.txHash}`);
      expect(
        await waitForTransaction({ provider: ethers.provider, txHash: ethers.id("never sent") }),
      ).to.equal(undefined);
      await expectRejection(
        waitForTransaction({ provider: ethers.provider, txHash: "0x1234" }),
        ChainArgumentError,
      );
    });
  });

  describe("timeout", () => {
    it("throws a TransactionTimeoutError naming the transaction, which may still be mined", async () => {
      const { registry, prover } = await loadFixture(transactionsFixture);
      const { timedOut, pending } = await withoutAutomine(async () => {
        const timedOut = await expectRejection(
          submitRun({
            registry: registry.connect(prover),
            templateId: TEMPLATE_ID,
            proof: PROOF,
            publicSignals: signalsOf(11n, prover.address),
            timeoutMs: 250,
          }),
          TransactionTimeoutError,
        );
        const pending = await pendingTransactions();
        await mine(1);
        return { timedOut, pending };
      });
      expect(timedOut.name).to.equal("TransactionTimeoutError");
      expect(timedOut.txHash).to.match(/^0x[0-9a-f]{64}$/);
      expect(pending).to.deep.equal([timedOut.txHash]);
      expect(timedOut.operation).to.equal("submit(11)");
      expect(timedOut.confirmations).to.equal(1);
      expect(timedOut.timeoutMs).to.equal(250);
      expect(timedOut.retryable).to.equal(true);
      expect(timedOut.message).to.equal(
        `submit(11): transaction ${timedOut.txHash} has no receipt with 1 confirmation after 250 ms; ` +
          "it may still be mined (look it up by its hash before sending it again)",
      );
      // And so it was, once a block came.
      expect((await ethers.provider.getTransactionReceipt(timedOut.txHash))?.status).to.equal(1);
      expect(await registry.isRecorded(11n)).to.equal(true);
    });

    it("also when the transaction is mined but its confirmations do not come in time", async () => {
      const { registry, prover } = await loadFixture(transactionsFixture);
      const timedOut = await expectRejection(
        submitRunWithState({
          registry: registry.connect(prover),
          templateId: STATE_TEMPLATE_ID,
          proof: PROOF,
          publicSignals: stateSignalsOf(1n, prover.address, GENESIS, 0x51n),
          confirmations: 4,
          timeoutMs: 250,
        }),
        TransactionTimeoutError,
      );
      expect(timedOut.message).to.contain("has no receipt with 4 confirmations after 250 ms");
      expect(await registry.isRecorded(1n)).to.equal(true);
    });
  });

  describe("settings", () => {
    it("defaults to 1 confirmation and a 120 s timeout", () => {
      expect(DEFAULT_CONFIRMATIONS).to.equal(1);
      expect(DEFAULT_TX_TIMEOUT_MS).to.equal(120_000);
      expect(transactionWaitOf()).to.deep.equal({ confirmations: 1, timeoutMs: 120_000 });
      expect(transactionWaitOf({ confirmations: 12, timeoutMs: 5 })).to.deep.equal({
        confirmations: 12,
        timeoutMs: 5,
      });
    });

    it("refuses confirmations, timeouts and gas limits that are not positive integers, sending nothing", async () => {
      const { registry, prover } = await loadFixture(transactionsFixture);
      const nonce = await prover.getNonce();
      const submission = {
        registry: registry.connect(prover),
        templateId: TEMPLATE_ID,
        proof: PROOF,
        publicSignals: signalsOf(11n, prover.address),
      };
      for (const confirmations of [0, -1, 1.5, Number.NaN]) {
        const refused = await expectRejection(
          submitRun({ ...submission, confirmations }),
          ChainArgumentError,
        );
        expect(refused.argument).to.equal("confirmations");
        expect(refused.message).to.contain("an integer ≥ 1");
      }
      for (const timeoutMs of [0, -5, 2.5]) {
        const refused = await expectRejection(
          submitRunWithState({
            ...submission,
            templateId: STATE_TEMPLATE_ID,
            publicSignals: stateSignalsOf(11n, prover.address, GENESIS, 0x51n),
            timeoutMs,
          }),
          ChainArgumentError,
        );
        expect(refused.argument).to.equal("timeoutMs");
      }
      const noGas = await expectRejection(submitRun({ ...submission, gasLimit: 0n }), ChainArgumentError);
      expect(noGas.argument).to.equal("gasLimit");
      expect(await prover.getNonce()).to.equal(nonce);
      expect(await registry.isRecorded(11n)).to.equal(false);
    });
  });
});
