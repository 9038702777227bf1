import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pino from "pino";
import { readBundle } from "../../src/bundle";
import { queryEntries, readStateRoot } from "../../src/chain";
import { toHex32 } from "../../src/crypto";
import { newRunNonce } from "../../src/trace";
import { createRunQueues, ScenarioSession, stateStoreOf, type RunSummary } from "../../src/pipeline";
import { stateDomainId } from "../../src/state";
import type { LedgerEntry } from "../../src/systems";
import { effectsOf, uniqueOrder } from "../fixtures/orderRuns";

const RUNS = 50;
/** Every tenth run has its payment declined (a workflow-scoped fault): rolled back and proven too. */
const DECLINED = new Set([4, 14, 24, 34, 44]);

describe("concurrency: 50 order runs at once, proven through a bounded queue and recorded once each", function () {
  this.timeout(1_800_000);
  let dataDir: string;
  let session: ScenarioSession;

  before(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "wesflow-concurrent-"));
    // Under this load a system may answer after the default 10 s call timeout: the host then
    // re-sends under the same idempotency key (counted below: still one effect). Quiet logs.
    session = await ScenarioSession.open({
      scenario: "order",
      network: "hardhat",
      dataDir,
      logger: pino({ level: "silent" }),
    });
  });

  after(async () => {
    await session?.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it("the proving queue runs at most its concurrency at once, in order, and passes errors through", async () => {
    const queues = createRunQueues({ provingConcurrency: 2 });
    let active = 0;
    let peak = 0;
    const started: number[] = [];
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) =>
        queues.prove(async () => {
          started.push(i);
          active += 1;
          peak = Math.max(peak, active);
          expect(queues.provingLoad().active).to.be.at.most(2);
          await new Promise((resolve) => setTimeout(resolve, 10));
          active -= 1;
          if (i === 5) throw new Error("proof 5 failed");
          return i;
        }),
      ),
    );
    expect(peak).to.equal(2);
    expect(started).to.deep.equal([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(results.map((r) => r.status)).to.deep.equal([
      ...Array(5).fill("fulfilled"),
      "rejected",
      "fulfilled",
      "fulfilled",
    ]);
    expect(queues.provingLoad()).to.deep.equal({ active: 0, waiting: 0 });
    expect(() => createRunQueues({ provingConcurrency: 0 })).to.throw(/positive integer/);
  });

  it(`${RUNS} concurrent runs: each executed, proven, recorded once; every effect once; nothing lost in the journal`, async () => {
    const nonces = Array.from({ length: RUNS }, () => newRunNonce());
    const ids = nonces.map((nonce) => session.workflowIdFor(nonce));
    const store = stateStoreOf(session.journal);
    const orders = ids.map(() => uniqueOrder());
    const stockBefore = store.get("order/stock", orders[0].sku)!;
    for (const i of DECLINED) {
      session.injectFault("payment", {
        operation: "payment.charge",
        kind: "decline",
        workflowId: toHex32(ids[i]),
      });
    }
    const notes: string[] = [];
    const progress = { start() {}, done() {}, note: (message: string) => notes.push(message) };
    const summaries: RunSummary[] = await Promise.all(
      nonces.map((runNonce, i) => session.run(orders[i], progress, { runNonce })),
    );

    // Each run's outcome, and runs really waited for the prover instead of proving all at once.
    summaries.forEach((summary, i) => {
      expect(summary.workflowId).to.equal(toHex32(ids[i]));
      expect(summary.outcome, `run ${i}`).to.equal(DECLINED.has(i) ? "ROLLED_BACK" : "COMMITTED");
    });
    // Order runs wait for the stock domain (one transition proven and recorded at a time), which
    // holds back their proofs; a run that got the domain may still wait for the prover.
    const waited = notes.filter(
      (n) => n.includes("waiting for the prover") || n.includes("waiting for the order/stock state"),
    );
    expect(waited.length).to.be.greaterThan(RUNS / 2);

    // Recorded once each: one WorkflowRecorded event per workflow id, in distinct transactions.
    const events = await queryEntries({ registry: session.chain.registry });
    const ours = events.filter((e) => ids.includes(e.workflowId));
    expect(ours).to.have.length(RUNS);
    expect(new Set(ours.map((e) => e.workflowId)).size).to.equal(RUNS);
    expect(new Set(ours.map((e) => e.txHash)).size).to.equal(RUNS);
    for (const event of ours) {
      const summary = summaries[ids.indexOf(event.workflowId)];
      expect(toHex32(event.traceRoot)).to.equal(summary.traceRoot);
      expect(event.outcome).to.equal(summary.outcome);
    }

    // The journal: every run once, RECORDED, with its transaction; each bundle complete.
    const runs = session.journal.listRuns().filter((r) => ids.map(toHex32).includes(r.runId));
    expect(runs).to.have.length(RUNS);
    for (const run of runs) {
      expect(run.status).to.equal("RECORDED");
      const summary = summaries.find((s) => s.workflowId === run.runId)!;
      expect(run.txHash).to.equal(summary.txHash);
      const bundle = readBundle(summary.bundlePath);
      expect(bundle.proof, run.runId).to.not.equal(undefined);
      expect(bundle.submission?.txHash).to.equal(summary.txHash);
    }

    // The stock: each committed run took its quantity once, the declined ones nothing; the runs'
    // transitions form one chain of roots ending at the registry's root.
    const taken = orders.filter((_, i) => !DECLINED.has(i)).reduce((sum, o) => sum + BigInt(o.quantity), 0n);
    expect(store.get("order/stock", orders[0].sku)).to.equal(stockBefore - taken);
    expect(store.pendingTransitions("order/stock")).to.have.length(0);
    expect(
      await readStateRoot({ registry: session.chain.registry, domainId: stateDomainId("order/stock") }),
    ).to.equal(store.root("order/stock"));
    const byBlock = [...summaries].sort((a, b) => a.blockNumber - b.blockNumber);
    byBlock
      .slice(1)
      .forEach((summary, i) => expect(summary.state?.rootBefore).to.equal(byBlock[i].state?.rootAfter));

    // Every external effect exactly once: 3 per committed run; a declined run's charge (signed
    // refusal) is one effect and nothing after it.
    const ledgers: Record<string, LedgerEntry[]> = Object.fromEntries(
      (["payment", "logistics", "invoicing"] as const).map((s) => [s, session.systems.ledger(s)]),
    );
    ids.forEach((id, i) => {
      const effects = effectsOf(ledgers, id);
      const counts = Object.fromEntries(Object.entries(effects).map(([op, list]) => [op, list.length]));
      expect(counts, `run ${i}`).to.deep.equal(
        DECLINED.has(i)
          ? { "payment.charge": 1 }
          : { "payment.charge": 1, "logistics.ship": 1, "invoice.issue": 1 },
      );
    });
  });
});
