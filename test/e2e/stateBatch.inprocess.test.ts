import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pino from "pino";
import { readBundle } from "../../src/bundle";
import { queryEntries, readStateRoot } from "../../src/chain";
import { toHex32 } from "../../src/crypto";
import { newRunNonce } from "../../src/trace";
import { recordedRunsOf, ScenarioSession, stateStoreOf, type RunSummary } from "../../src/pipeline";
import { stateDomainId } from "../../src/state";
import { uniqueOrder } from "../fixtures/orderRuns";

const RUNS = 6;
/** Run 2 has its payment declined: rolled back, a run of the chain that leaves the root as it was. */
const DECLINED = 2;

describe("state runs in batches (--batch): order runs prepared as a chain, proven one after another, recorded by submitBatchWithState", function () {
  this.timeout(900_000);
  let dataDir: string;
  let session: ScenarioSession;

  before(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "wesflow-state-batch-"));
    session = await ScenarioSession.open({
      scenario: "order",
      network: "hardhat",
      dataDir,
      logger: pino({ level: "silent" }),
      batchSize: 4,
      // Long enough that every proof of a batch joins it (a batch is also sent when it is full).
      batchWindowMs: 120_000,
    });
  });

  after(async () => {
    await session?.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it(`${RUNS} concurrent runs: recorded in batches of a chain of roots, each entry once, the stock taken once per committed run`, async () => {
    const nonces = Array.from({ length: RUNS }, () => newRunNonce());
    const ids = nonces.map((nonce) => session.workflowIdFor(nonce));
    const store = stateStoreOf(session.journal);
    const orders = ids.map(() => uniqueOrder());
    const sku = orders[0].sku;
    const stockBefore = store.get("order/stock", sku)!;
    session.injectFault("payment", {
      operation: "payment.charge",
      kind: "decline",
      workflowId: toHex32(ids[DECLINED]),
    });
    const notes: string[] = [];
    const progress = { start() {}, done() {}, note: (message: string) => notes.push(message) };
    const summaries: RunSummary[] = await Promise.all(
      nonces.map((runNonce, i) => session.run(orders[i], progress, { runNonce })),
    );

    summaries.forEach((summary, i) =>
      expect(summary.outcome, `run ${i}`).to.equal(i === DECLINED ? "ROLLED_BACK" : "COMMITTED"),
    );
    // Batches: fewer transactions than runs, none over 4 runs; each summary says its batch's size.
    const byTx = new Map<string, RunSummary[]>();
    for (const s of summaries) byTx.set(s.txHash, [...(byTx.get(s.txHash) ?? []), s]);
    expect(byTx.size).to.be.lessThan(RUNS);
    for (const [, runs] of byTx) {
      expect(runs.length).to.be.at.most(4);
      for (const s of runs) expect(s.batch?.runs ?? 1).to.equal(runs.length);
    }
    expect(notes.some((n) => n.includes("proven on top of"))).to.equal(true);

    // The registry: one entry per run, each event with its run's trace root and outcome.
    const events = await queryEntries({ registry: session.chain.registry });
    const ours = events.filter((e) => ids.includes(e.workflowId));
    expect(ours).to.have.length(RUNS);
    for (const event of ours) {
      const summary = summaries[ids.indexOf(event.workflowId)];
      expect(toHex32(event.traceRoot)).to.equal(summary.traceRoot);
      expect(event.txHash).to.equal(summary.txHash);
    }
    // The roots: in the order the registry recorded the runs (its events, in chain order), each starts
    // where the one before ended, and the last ends at the registry's root, which is the journal's.
    const roots = ours.map((e) => summaries[ids.indexOf(e.workflowId)].state!);
    roots.slice(1).forEach((r, i) => expect(r.rootBefore, `run ${i + 1}`).to.equal(roots[i].rootAfter));
    const declined = summaries[DECLINED].state!;
    expect(declined.rootBefore).to.equal(declined.rootAfter);
    const registryRoot = await readStateRoot({
      registry: session.chain.registry,
      domainId: stateDomainId("order/stock"),
    });
    expect(registryRoot).to.equal(store.root("order/stock"));
    expect(toHex32(registryRoot!)).to.equal(roots.at(-1)!.rootAfter);
    expect(store.pendingTransitions("order/stock")).to.deep.equal([]);
    const taken = orders
      .filter((_, i) => i !== DECLINED && orders[i].sku === sku)
      .reduce((sum, o) => sum + BigInt(o.quantity), 0n);
    expect(store.get("order/stock", sku)).to.equal(stockBefore - taken);

    // Each run's journal entry and bundle: RECORDED with its batch's transaction.
    for (const s of summaries) {
      const run = session.journal.getRun(s.workflowId)!;
      expect(run.status).to.equal("RECORDED");
      expect(run.txHash).to.equal(s.txHash);
      const bundle = readBundle(s.bundlePath);
      expect(bundle.submission?.txHash).to.equal(s.txHash);
      expect(bundle.state?.rootAfter).to.equal(BigInt(s.state!.rootAfter).toString());
    }

    // What a crash's reconcile asks the registry: which of a chain's runs it recorded.
    const transitions = store
      .transitions("order/stock", ["APPLIED"])
      .filter((t) => ids.map(toHex32).includes(t.runId));
    expect(transitions).to.have.length(RUNS);
    const recorded = await recordedRunsOf(session.chain.registry, transitions);
    expect(transitions.every((t) => recorded(t.runId))).to.equal(true);
    const unknown = { ...transitions[0], runId: toHex32(session.workflowIdFor(newRunNonce())) };
    expect((await recordedRunsOf(session.chain.registry, [unknown]))(unknown.runId)).to.equal(false);
  });
});
