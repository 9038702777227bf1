import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pino from "pino";
import { verifyBundle } from "../../src/audit";
import { readBundle } from "../../src/bundle";
import { queryEntries, readTemplateBatchVerifier } from "../../src/chain";
import { createRunQueues, ScenarioSession, type BatchItemOutcome } from "../../src/pipeline";
import { ROOT } from "../fixtures/cli";

const EXAMPLE = path.join(ROOT, "examples", "subscription.workflow.ts");

describe("batched submission of a session's proven runs (--batch)", function () {
  this.timeout(900_000);

  describe("the submission batcher", () => {
    const sendAll = (sent: number[][]) => async (items: number[]) => {
      sent.push(items);
      return items.map((item): BatchItemOutcome<string> =>
        item < 0 ? { error: new Error(`refused ${item}`) } : { value: `tx-${sent.length}:${item}` },
      );
    };

    it("sends a batch when it is full, with each item's own outcome", async () => {
      // A prover that never idles: only a full batch (or the window) sends.
      const queues = createRunQueues({ batch: { size: 3, windowMs: 60_000 } });
      const busy = queues.prove(() => new Promise<void>((resolve) => setTimeout(resolve, 300)));
      const sent: number[][] = [];
      const results = await Promise.allSettled(
        [1, -2, 3].map((i) => queues.submitBatched("t", i, sendAll(sent))),
      );
      expect(sent).to.deep.equal([[1, -2, 3]]);
      expect(
        results.map((r) => (r.status === "fulfilled" ? r.value : (r.reason as Error).message)),
      ).to.deep.equal(["tx-1:1", "refused -2", "tx-1:3"]);
      await busy;
    });

    it("sends what waits when the prover is idle or the window ends; keys are batched apart", async () => {
      const queues = createRunQueues({ batch: { size: 8, windowMs: 50 } });
      const sent: number[][] = [];
      // Idle prover: sent at once, alone.
      expect(await queues.submitBatched("a", 1, sendAll(sent))).to.equal("tx-1:1");
      // Busy prover: the two wait for the window, per key.
      const busy = queues.prove(() => new Promise<void>((resolve) => setTimeout(resolve, 400)));
      const [x, y, z] = await Promise.all([
        queues.submitBatched("a", 2, sendAll(sent)),
        queues.submitBatched("b", 3, sendAll(sent)),
        queues.submitBatched("a", 4, sendAll(sent)),
      ]);
      expect([x, y, z]).to.deep.equal(["tx-2:2", "tx-3:3", "tx-2:4"]);
      expect(sent).to.deep.equal([[1], [2, 4], [3]]);
      await busy;
      expect(() => createRunQueues({ batch: { size: 33, windowMs: 1 } })).to.throw(RangeError);
      expect(() => createRunQueues({ batch: { size: 4, windowMs: 0 } })).to.throw(RangeError);
    });
  });

  describe("a user-defined workflow's concurrent runs (generic template, six public signals)", () => {
    let dataDir: string;
    let session: ScenarioSession;

    before(async () => {
      dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "wesflow-batch-"));
      session = await ScenarioSession.open({
        scenario: EXAMPLE,
        network: "hardhat",
        dataDir,
        logger: pino({ level: "silent" }),
        batchSize: 4,
        // Sent when the prover idles (after the third proof), however slow the proofs are here.
        batchWindowMs: 600_000,
      });
    });

    after(async () => {
      await session?.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    });

    it("records three runs proven one after the other in one batch transaction", async () => {
      const summaries = await Promise.all(
        [11, 12, 13].map((n) => session.run(session.scenario.demoInput(n))),
      );
      const [first] = summaries;
      expect(new Set(summaries.map((s) => s.txHash)).size).to.equal(1);
      for (const summary of summaries) {
        expect(summary.batch).to.deep.equal({ runs: 3, gasPerRun: Math.round(first.gasUsed / 3) });
      }
      const bundle = readBundle(first.bundlePath);
      expect(
        await readTemplateBatchVerifier({ registry: session.chain.registry, templateId: bundle.templateId }),
      ).to.be.a("string");
      const recorded = await queryEntries({
        registry: session.chain.registry,
        templateId: bundle.templateId,
      });
      expect(recorded.map((r) => r.txHash)).to.include.members([first.txHash]);
      for (const summary of summaries) {
        const entry = recorded.find((r) => r.workflowId === BigInt(summary.workflowId));
        expect(entry?.txHash).to.equal(first.txHash);
        // Each bundle names the batch's transaction and checks out on chain like a single submission's.
        const report = await verifyBundle({
          bundle: readBundle(summary.bundlePath),
          registry: session.chain,
        });
        expect(report, report.failures.join("; ")).to.include({ valid: true, onChain: true, recorded: true });
      }
    });
  });
});
