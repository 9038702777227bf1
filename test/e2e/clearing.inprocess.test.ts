import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pino from "pino";
import { ethers } from "hardhat";
import {
  discloseStep,
  formatAuditTrail,
  readAuditTrail,
  verifyBundle,
  verifyDisclosure,
} from "../../src/audit";
import { readBundle } from "../../src/bundle";
import { queryStateAdvances, readStateRoot } from "../../src/chain";
import { WorkflowInputError } from "../../src/executor";
import { runWorkflow, ScenarioSession, stateStoreOf, type RunSummary } from "../../src/pipeline";
import {
  batchOf,
  CLEARING_BALANCES_DOMAIN,
  clearingWorkflow,
  SettlementDesk,
  storedBalances,
  type ClearingInput,
} from "../../src/scenarios/clearing";
import { stateDomainId, type StateStore } from "../../src/state";
import { bankBalances, netPositions } from "../../src/systems";
import { expectRejection } from "../fixtures/rejection";

const DOMAIN_ID = stateDomainId(CLEARING_BALANCES_DOMAIN);
let batchNumber = 0;

/** A fresh batch of the demo's shape among four institutions (rotating), with small amounts. */
function uniqueBatch(n = ++batchNumber, scale = 1): ClearingInput {
  const codes = ["NORDBANK", "ALPBANK", "IBERBANK", "BALTBANK", "LUSOBANK"];
  const slot = (s: number) => codes[(n + s) % codes.length];
  const trades: [number, number, number][] = [
    [0, 1, 12_000],
    [1, 2, 8_500],
    [2, 3, 4_300],
    [3, 0, 9_900],
    [0, 2, 3_100],
    [1, 3, 2_750],
    [2, 0, 6_400],
    [3, 1, 5_050],
  ];
  return {
    batchId: `E2E${String(n).padStart(5, "0")}`,
    trades: trades.map(([payer, payee, cents], t) => ({
      tradeId: n * 10 + t + 1,
      payer: slot(payer),
      payee: slot(payee),
      amountCents: cents * scale,
    })),
  };
}

describe("clearing scenario end to end: venue and bank on loopback, real proofs, real verifiers, in-process chain", function () {
  this.timeout(1_200_000);
  let dataDir: string;
  let session: ScenarioSession;
  let store: StateStore;

  before(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "wesflow-clearing-e2e-"));
    session = await ScenarioSession.open({
      scenario: "clearing",
      network: "hardhat",
      dataDir,
      logger: pino({ level: "silent" }),
      retry: { callTimeoutMs: 1_500, initialBackoffMs: 20, maxBackoffMs: 50 },
    });
    store = stateStoreOf(session.journal);
  });

  after(async () => {
    await session?.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  const balances = () =>
    Object.fromEntries(store.entries(CLEARING_BALANCES_DOMAIN).map((e) => [e.key, e.value]));
  const bank = () => bankBalances(session.systems.ledger("bank"));
  const bundleOf = (run: RunSummary) => readBundle(path.join(dataDir, "runs", run.workflowId, "bundle.json"));
  const chainRoot = async () =>
    (await readStateRoot({ registry: session.chain.registry, domainId: DOMAIN_ID }))!;

  /** The balances a batch leaves (from the ones given). */
  function moved(from: Record<string, bigint>, input: ClearingInput): Record<string, bigint> {
    const batch = batchOf(input);
    const nets = netPositions(batch);
    const to = { ...from };
    batch.institutions.forEach((code, j) => (to[code] += nets[j]));
    return to;
  }

  it("clears a batch: nets moved at the bank and in the proven balances, statement reconciled, recorded, verified, disclosed", async () => {
    const input = uniqueBatch();
    const before = balances();
    expect(bank()).to.deep.equal(before);
    const run = await session.run(input);
    expect(run.outcome).to.equal("COMMITTED");
    expect(run.state?.rootAfter).to.not.equal(run.state?.rootBefore);
    expect(balances()).to.deep.equal(moved(before, input));
    expect(bank()).to.deep.equal(balances());
    expect(BigInt(run.state!.rootAfter)).to.equal(await chainRoot());

    const bundle = bundleOf(run);
    expect(bundle.template).to.equal("ClearingWorkflow_4_3_10");
    expect(bundle.calls.map((c) => c.operationName)).to.deep.equal([
      "venue.confirmBatch",
      "bank.transferBatch",
      "bank.statement",
    ]);
    const verified = await verifyBundle({ bundle, registry: session.chain });
    expect(verified.valid, verified.failures.join("; ")).to.equal(true);
    expect(verified.state?.writes).to.have.length(4);

    // The audit shows each institution's balance move (its net: after − before).
    const entries = await readAuditTrail({
      registry: session.chain.registry,
      provider: ethers.provider,
      network: session.chain.network,
      deployment: session.chain.deployment,
      runsDir: path.join(dataDir, "runs"),
      workflowId: BigInt(run.workflowId),
    });
    expect(entries[0].trail?.verified).to.equal(true);
    const text = formatAuditTrail(entries, "hardhat");
    const batch = batchOf(input);
    const nets = netPositions(batch);
    batch.institutions.forEach((code, j) => {
      const sign = nets[j] < 0n ? "-" : "+";
      expect(text).to.contain(
        `balance of ${code} ${before[code]} → ${before[code] + nets[j]} (${sign}${nets[j] < 0n ? -nets[j] : nets[j]})`,
      );
    });

    // One institution's leg, disclosed without the others': settle_1's record (slot 4).
    const disclosure = discloseStep(bundle, 4);
    expect(disclosure.step.stepName).to.equal("settle_1");
    const checked = await verifyDisclosure(disclosure, { registry: session.chain });
    expect(checked.valid, checked.reasons.join("; ")).to.equal(true);
    const text2 = JSON.stringify(disclosure);
    expect(text2).to.contain(bundle.steps[4].salt);
    for (const other of bundle.steps.filter((step) => step.index !== 4))
      expect(text2).to.not.contain(other.salt);
  });

  it("refuses, before any call, a batch that would take a balance below zero or names an unregistered institution", async () => {
    const venueEffects = session.systems.ledger("venue").length;
    const broke = uniqueBatch(++batchNumber, 10_000); // nets of a million and more: beyond some balances
    const negative = await expectRejection(session.run(broke), WorkflowInputError);
    expect(negative.message).to.match(/balance would go negative/);
    const ghost: ClearingInput = {
      batchId: "E2EGHOST",
      trades: [{ tradeId: 1, payer: "NORDBANK", payee: "GHOSTBNK", amountCents: 100 }],
    };
    const unknown = await expectRejection(session.run(ghost), WorkflowInputError);
    expect(unknown.message).to.match(/GHOSTBNK is not a registered institution/);
    expect(session.systems.ledger("venue")).to.have.length(venueEffects);
  });

  /** A rolled-back run: recorded, the balances and the bank's books as they were. */
  async function rolledBack(run: RunSummary, before: Record<string, bigint>, step: string) {
    expect(run.outcome).to.equal("ROLLED_BACK");
    expect(run.failure?.step).to.equal(step);
    expect(run.state?.rootAfter).to.equal(run.state?.rootBefore);
    expect(balances()).to.deep.equal(before);
    expect(bank()).to.deep.equal(before);
    const bundle = bundleOf(run);
    expect(bundle.template).to.equal("ClearingSaga_4_3_10");
    const verified = await verifyBundle({ bundle, registry: session.chain });
    expect(verified.valid, verified.failures.join("; ")).to.equal(true);
    return bundle;
  }

  it("rolls back when the venue refuses the batch (confirm_trades): nothing at the bank", async () => {
    const before = balances();
    const transfers = session.systems.ledger("bank").length;
    session.injectFault("venue", { operation: "venue.confirmBatch", kind: "decline", times: 1 });
    const run = await session.run(uniqueBatch());
    await rolledBack(run, before, "confirm_trades");
    expect(session.systems.ledger("bank")).to.have.length(transfers);
  });

  it("rolls back when the bank refuses the transfer (transfer_funds): the netting voided", async () => {
    const before = balances();
    session.injectFault("bank", { operation: "bank.transferBatch", kind: "decline", times: 1 });
    const run = await session.run(uniqueBatch());
    const bundle = await rolledBack(run, before, "transfer_funds");
    expect(bundle.steps.map((s) => s.stepName)).to.deep.equal([
      "confirm_trades",
      "compute_clearing",
      "transfer_funds",
      "void_clearing",
    ]);
  });

  it("rolls back when the statement does not match (reconcile, bank.statement:mismatch): the transfer reversed, attested", async () => {
    const before = balances();
    session.injectFault("bank", {
      operation: "bank.statement",
      kind: "decline",
      refusal: "mismatch",
      times: 1,
    });
    const run = await session.run(uniqueBatch());
    const bundle = await rolledBack(run, before, "reconcile");
    const reversal = bundle.calls.find((c) => c.operationName === "bank.reverseBatch");
    expect(reversal?.attestation, "the reversal is attested").to.not.equal(undefined);
    expect(bundle.steps.map((s) => s.stepName)).to.deep.equal([
      "confirm_trades",
      "compute_clearing",
      "transfer_funds",
      "reconcile",
      "reverse_transfer",
      "void_clearing",
    ]);
  });

  it("rolls back a transfer whose answer was lost but took effect (settled by bank.status): reversed once", async () => {
    const before = balances();
    // every attempt's answer lost (3 attempts), the status query untouched: settled TOOK_EFFECT
    session.injectFault("bank", { operation: "bank.transferBatch", kind: "timeout-after-effect", times: 3 });
    const run = await session.run(uniqueBatch());
    expect(run.failure?.settlement).to.equal("TOOK_EFFECT");
    await rolledBack(run, before, "transfer_funds");
  });

  it("rolls back when the settlement desk stays held (compute_clearing fails: another batch is unresolved)", async () => {
    const before = balances();
    const desk = new SettlementDesk(storedBalances(store));
    await desk.acquire("0x" + "9".repeat(64), 1_000);
    const definition = clearingWorkflow(desk, { deskTimeoutMs: 200 });
    const run = await runWorkflow({
      definition,
      input: uniqueBatch(),
      chain: session.chain,
      endpoints: session.systems.endpoints,
      providers: session.systems.providers,
      runsDir: path.join(dataDir, "runs"),
      journal: session.journal,
      queues: session.queues,
    });
    await rolledBack(run, before, "compute_clearing");
    expect(run.failure?.reason).to.match(/settlement desk/);
  });

  it("concurrent batches over one balances domain are serialized: each starts where the previous ended, in chain order", async () => {
    const startRoot = await chainRoot();
    const before = balances();
    const inputs = [uniqueBatch(), uniqueBatch(), uniqueBatch()];
    const runs = await Promise.all(inputs.map((input) => session.run(input)));
    runs.forEach((run) => expect(run.outcome).to.equal("COMMITTED"));
    const ids = runs.map((r) => BigInt(r.workflowId));
    const advances = (await queryStateAdvances({ registry: session.chain.registry, domainId: DOMAIN_ID }))
      .filter((a) => ids.includes(a.workflowId))
      .sort((x, y) => x.blockNumber - y.blockNumber);
    expect(advances).to.have.length(3);
    expect(advances[0].rootBefore).to.equal(startRoot);
    for (let i = 1; i < advances.length; i += 1)
      expect(advances[i].rootBefore).to.equal(advances[i - 1].rootAfter);
    const expected = inputs.reduce((acc, input) => moved(acc, input), before);
    expect(balances()).to.deep.equal(expected);
    expect(bank()).to.deep.equal(expected);
    expect(await chainRoot()).to.equal(advances[2].rootAfter);
    expect(store.pendingTransitions(CLEARING_BALANCES_DOMAIN)).to.have.length(0);
  });
});
