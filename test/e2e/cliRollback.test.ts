import { expect } from "chai";
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";

import { readBundle } from "../../src/bundle";
import { readStoredLedger } from "../../src/systems";
import { lastLine, ROOT, wesflow } from "../fixtures/cli";

interface StatusRow {
  runId: string;
  status: string;
  outcome: string | null;
  failedStep: string | null;
  reason: string | null;
  interrupted: boolean;
  txHash: string | null;
}

describe("wesflow command line: rollback, status, resume", function () {
  this.timeout(600_000);
  let dataDir: string;
  const children = new Set<ChildProcess>();

  before(() => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "wesflow-cli-saga-"));
  });
  after(() => {
    for (const child of children) child.kill("SIGKILL");
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  async function status(): Promise<StatusRow[]> {
    const result = await wesflow(["status", "--json", "--data-dir", dataDir]);
    expect(result.code, result.stderr).to.equal(0);
    return JSON.parse(lastLine(result.stdout)) as StatusRow[];
  }

  /** The effects the persisted simulated system performed for one run, by operation, with their status. */
  function storedEffects(system: string, runId: string): string[] {
    return readStoredLedger(path.join(dataDir, "systems", `${system}.sqlite`))
      .filter((e) => e.workflowId === runId)
      .map((e) => {
        const response = e.response as { status?: string; outcome?: string };
        return `${e.operation} ${response.status ?? response.outcome}`;
      });
  }

  it('run order --fail payment:decline --json ends with "outcome":"ROLLED_BACK": proven and recorded', async () => {
    const result = await wesflow([
      "run",
      "order",
      "--fail",
      "payment:decline",
      "--json",
      "--data-dir",
      dataDir,
    ]);
    expect(result.code, result.stderr).to.equal(0);
    const line = lastLine(result.stdout);
    expect(line).to.contain('"outcome":"ROLLED_BACK"');
    const summary = JSON.parse(line);
    expect(summary.outcome).to.equal("ROLLED_BACK");
    expect(summary.failure).to.deep.include({ step: "payment", evidence: "ATTESTED" });
    expect(summary.txHash).to.match(/^0x[0-9a-f]{64}$/);
    const bundle = readBundle(path.resolve(ROOT, summary.bundlePath));
    expect(bundle.template).to.equal("OrderStateSaga_4_3_10");
    expect(bundle.proof).to.not.equal(undefined);
    expect(bundle.steps.map((s) => `${s.stepName} ${s.phase} ${s.status}`)).to.deep.equal([
      "create_order FORWARD OK",
      "reserve_inventory FORWARD OK",
      "payment FORWARD FAILED",
      "release_inventory COMPENSATE OK",
      "cancel_order COMPENSATE OK",
    ]);
    const [row] = (await status()).filter((r) => r.runId === summary.workflowId);
    expect(row).to.include({ status: "RECORDED", outcome: "ROLLED_BACK", failedStep: "payment" });
    expect(storedEffects("payment", summary.workflowId)).to.deep.equal(["payment.charge DECLINED"]);
  });

  // The issue's "done when", for each system: the effect performed, its answer lost on every attempt
  // (timeout-after-effect), settled by the system's signed status query, undone exactly once
  // (the system's own ledger), proven and recorded as ROLLED_BACK.
  const UNCERTAIN = [
    {
      target: "payment",
      system: "payment",
      effects: ["payment.charge CAPTURED", "payment.status TOOK_EFFECT", "payment.refund REFUNDED"],
    },
    {
      target: "logistics",
      system: "logistics",
      effects: ["logistics.ship SCHEDULED", "logistics.status TOOK_EFFECT", "logistics.cancel CANCELLED"],
    },
    {
      target: "invoicing",
      system: "invoicing",
      effects: ["invoice.issue ISSUED", "invoice.status TOOK_EFFECT", "invoice.void VOIDED"],
    },
  ];
  for (const u of UNCERTAIN) {
    it(`run order --fail ${u.target}:timeout-after-effect --json: ROLLED_BACK, settled TOOK_EFFECT, undone exactly once, proven and recorded`, async () => {
      const result = await wesflow([
        "run",
        "order",
        "--fail",
        `${u.target}:timeout-after-effect`,
        "--call-timeout",
        "500",
        "--json",
        "--data-dir",
        dataDir,
      ]);
      expect(result.code, result.stderr).to.equal(0);
      const summary = JSON.parse(lastLine(result.stdout));
      expect(summary.outcome).to.equal("ROLLED_BACK");
      expect(summary.failure).to.deep.include({ evidence: "SETTLED", settlement: "TOOK_EFFECT" });
      expect(summary.txHash).to.match(/^0x[0-9a-f]{64}$/);
      expect(storedEffects(u.system, summary.workflowId)).to.deep.equal(u.effects);
      if (u.system !== "payment") {
        expect(storedEffects("payment", summary.workflowId)).to.deep.equal([
          "payment.charge CAPTURED",
          "payment.refund REFUNDED",
        ]);
      }
      const bundle = readBundle(path.resolve(ROOT, summary.bundlePath));
      expect(bundle.proof).to.not.equal(undefined);
      const failedAt = bundle.steps.findIndex((s) => s.status === "FAILED");
      expect(bundle.steps[failedAt]).to.include({ evidence: "SETTLED" });
      expect(bundle.steps[failedAt + 1]).to.include({ phase: "SETTLE", evidence: "ATTESTED" });
      expect(bundle.steps[failedAt + 2]).to.include({ phase: "COMPENSATE" });
      expect(bundle.steps[failedAt + 2].stepCode).to.equal(bundle.steps[failedAt].stepCode);
      const [row] = (await status()).filter((r) => r.runId === summary.workflowId);
      expect(row).to.include({ status: "RECORDED", outcome: "ROLLED_BACK" });
    });
  }

  it("the same as text: the failed step settled, its status query and its own compensation", async () => {
    const result = await wesflow([
      "run",
      "order",
      "--fail",
      "payment:bad-signature-after-effect",
      "--data-dir",
      dataDir,
    ]);
    expect(result.code, result.stderr).to.equal(0);
    expect(result.stdout).to.match(/failed step payment \[settled\]: AttestationError/);
    expect(result.stdout).to.match(/its outcome settled by the system's status query: TOOK_EFFECT/);
    expect(result.stdout).to.match(
      /✗ payment +FORWARD +FAILED → payment payment\.charge \[settled: its status query, call 2, is attested\]/,
    );
    expect(result.stdout).to.match(
      /\? payment\.settle +SETTLE +OK +→ payment payment\.status \[attested\] +settles payment's payment\.charge \(call 1\): TOOK_EFFECT/,
    );
    expect(result.stdout).to.match(/↺ refund_payment +COMPENSATE OK +→ payment payment\.refund \[attested\]/);
  });

  it("prints the failed step and the compensations, a timeout as declared (settled: no effect)", async () => {
    const result = await wesflow([
      "run",
      "order",
      "--fail",
      "invoicing:timeout",
      "--call-timeout",
      "300",
      "--data-dir",
      dataDir,
    ]);
    expect(result.code, result.stderr).to.equal(0);
    expect(result.stdout).to.match(/: ROLLED_BACK\n/);
    expect(result.stdout).to.match(/failed step invoice \[declared\]: CallTimeoutError/);
    expect(result.stdout).to.match(/✗ invoice +FORWARD +FAILED → invoicing invoice\.issue \[declared\]/);
    expect(result.stdout).to.match(
      /\? invoice\.settle +SETTLE +OK +→ invoicing invoice\.status \[attested\] +settles invoice's invoice\.issue \(call 3\): NO_EFFECT/,
    );
    expect(result.stdout).to.match(
      /↺ cancel_shipment +COMPENSATE OK +→ logistics logistics\.cancel \[attested\]/,
    );
    expect(result.stdout).to.match(/↺ refund_payment +COMPENSATE OK +→ payment payment\.refund \[attested\]/);
    expect(result.stdout).not.to.match(/invoice\.issue \[attested\]/);
  });

  it("a compensation that keeps failing is NEEDS_ATTENTION in status; resume ID finishes, proves and records it", async () => {
    const run = await wesflow([
      "run",
      "order",
      "--fail",
      "logistics:decline",
      "--fail",
      "payment.refund:error",
      "--call-timeout",
      "300",
      "--data-dir",
      dataDir,
    ]);
    expect(run.code).to.equal(1);
    expect(run.stderr).to.match(/needs attention: compensation refund_payment failed/);
    const parked = (await status()).find((r) => r.status === "NEEDS_ATTENTION")!;
    expect(parked.failedStep).to.equal("logistics");
    expect(parked.reason).to.match(/payment\.refund.*503/);
    expect(storedEffects("payment", parked.runId)).to.deep.equal(["payment.charge CAPTURED"]);

    const text = await wesflow(["status", "--data-dir", dataDir]);
    expect(text.stdout).to.contain("needs attention: SystemUnavailableError");
    expect(text.stdout).to.contain(`→ wesflow resume ${parked.runId}`);

    // The fault lived in the process that ran; the systems kept their effects in the data directory.
    const resumed = await wesflow(["resume", parked.runId.slice(0, 20), "--json", "--data-dir", dataDir]);
    expect(resumed.code, resumed.stderr).to.equal(0);
    const [outcome] = JSON.parse(lastLine(resumed.stdout));
    expect(outcome.statusBefore).to.equal("NEEDS_ATTENTION");
    expect(outcome.summary.outcome).to.equal("ROLLED_BACK");
    expect(storedEffects("payment", parked.runId)).to.deep.equal([
      "payment.charge CAPTURED",
      "payment.refund REFUNDED",
    ]);
    expect((await status()).find((r) => r.runId === parked.runId)).to.include({ status: "RECORDED" });
  });

  it("rejects an unknown --fail target or kind before anything runs", async () => {
    const target = await wesflow(["run", "order", "--fail", "bank:error", "--data-dir", dataDir]);
    expect(target.code).to.equal(1);
    expect(target.stderr).to.match(/no system or operation "bank"/);
    const kind = await wesflow(["run", "order", "--fail", "payment:explode", "--data-dir", dataDir]);
    expect(kind.code).to.equal(1);
    expect(kind.stderr).to.match(/unknown kind "explode"/);
  });

  it("SIGKILLed while the payment system holds its call: status shows it interrupted, resume records it once", async () => {
    const journalFile = path.join(dataDir, "journal.sqlite");
    const child = spawn(
      process.execPath,
      [
        path.join(ROOT, "bin", "wesflow.js"),
        "run",
        "order",
        "--fail",
        "payment:timeout",
        "--call-timeout",
        "60000",
        "--data-dir",
        dataDir,
      ],
      { cwd: ROOT, stdio: "ignore" },
    );
    children.add(child);
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      child.on("close", (_code, signal) => resolve(signal)),
    );
    // Wait until the journal holds a payment call without an answer: the call is out.
    let runId: string | undefined;
    const deadline = Date.now() + 120_000;
    while (!runId && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      const db = new Database(journalFile, { readonly: true, fileMustExist: true });
      try {
        const row = db
          .prepare<{ run_id: string }>(
            "SELECT run_id FROM calls WHERE operation_name = 'payment.charge' AND status = 'PENDING'",
          )
          .get();
        runId = row?.run_id;
      } finally {
        db.close();
      }
    }
    expect(runId, "the run never sent its payment call").to.be.a("string");
    await new Promise((resolve) => setTimeout(resolve, 500)); // let the request reach the system
    child.kill("SIGKILL");
    expect(await exited).to.equal("SIGKILL");
    children.delete(child);

    const interrupted = (await status()).find((r) => r.runId === runId)!;
    expect(interrupted).to.include({ status: "RUNNING", interrupted: true });
    expect(storedEffects("payment", runId!)).to.deep.equal([]); // held before the effect

    const resumed = await wesflow(["resume", "--json", "--data-dir", dataDir]);
    expect(resumed.code, resumed.stderr).to.equal(0);
    const outcomes = JSON.parse(lastLine(resumed.stdout)) as {
      runId: string;
      summary?: { outcome: string };
    }[];
    expect(outcomes.map((o) => o.runId)).to.deep.equal([runId]);
    expect(outcomes[0].summary?.outcome).to.equal("COMMITTED");
    expect(storedEffects("payment", runId!)).to.deep.equal(["payment.charge CAPTURED"]);
    expect(storedEffects("logistics", runId!)).to.deep.equal(["logistics.ship SCHEDULED"]);
    expect(storedEffects("invoicing", runId!)).to.deep.equal(["invoice.issue ISSUED"]);
    const rows = (await status()).filter((r) => r.runId === runId);
    expect(rows).to.have.length(1);
    expect(rows[0]).to.include({ status: "RECORDED", outcome: "COMMITTED" });
    const bundle = readBundle(path.join(dataDir, "runs", runId!, "bundle.json"));
    expect(bundle.proof?.instance).to.equal("OrderStateWorkflow_4_3_10");
    expect(bundle.submission?.txHash).to.equal(rows[0].txHash);
  });
});
