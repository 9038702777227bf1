import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pino from "pino";
import { formatAuditTrail, readAuditTrail, verifyBundle, formatBundleVerification } from "../../src/audit";
import { readBundle, type RunBundle } from "../../src/bundle";
import { ensureDomain, ScenarioSession, stateStoreOf } from "../../src/pipeline";
import { unpackStateValue } from "../../src/state";
import { executeWorkflow } from "../../src/executor";
import { Journal } from "../../src/journal";
import { resolveScenario } from "../../src/scenarios";

const DOMAIN = "supply/inventory";

describe("the supply chain (ERP, the lab's database through the SQL gateway, logistics): run, proven, recorded, verified", function () {
  this.timeout(1_800_000);
  let dataDir: string;
  let session: ScenarioSession;

  before(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "wesflow-supply-chain-"));
    session = await ScenarioSession.open({
      scenario: "supply-chain",
      network: "hardhat",
      dataDir,
      logger: pino({ level: "silent" }),
      retry: { callTimeoutMs: 3_000, initialBackoffMs: 5, maxBackoffMs: 50 },
    });
  });

  after(async () => {
    await session?.close();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  const fields = (material: string) =>
    unpackStateValue(stateStoreOf(session.journal).get(DOMAIN, material) ?? 0n, 2);

  let committed: RunBundle;

  it("a committed run buys what the stock lacks, consumes the plan's need and ships the inspected lot", async () => {
    const input = {
      orderId: "SO-T-000001",
      product: "GEARBOX-7",
      quantity: 5,
      destination: "20095 Hamburg DE",
    };
    // GEARBOX-7 per unit: STEEL 12, BEARING 4, OIL 1; demo stock STEEL 150, BEARING 40, OIL 20
    const before = ["STEEL", "BEARING", "OIL"].map(fields);
    const run = await session.run(input);
    expect(run.outcome).to.equal("COMMITTED");
    committed = readBundle(run.bundlePath);
    expect(committed.receipts!.map((r) => r.system)).to.deep.equal(["logistics", "erp", "sql"]);
    expect(committed.state!.writes.map((w) => w.key)).to.deep.equal(["STEEL", "BEARING", "OIL"]);
    const after = ["STEEL", "BEARING", "OIL"].map(fields);
    // STEEL: need 60 ≤ 150, nothing bought; BEARING need 20 ≤ 40; OIL need 5 ≤ 20
    expect(after.map((f) => f[0])).to.deep.equal([before[0][0] - 60n, before[1][0] - 20n, before[2][0] - 5n]);
    expect(after.map((f) => f[1])).to.deep.equal(before.map((f) => f[1]));
    const verification = await verifyBundle({ bundle: committed });
    expect(verification.valid, formatBundleVerification(verification, "bundle")).to.equal(true);
  });

  /** The operations the ERP performed for one run's plan, in order. */
  const erpEffects = (since: number) =>
    session.systems
      .ledger("erp")
      .slice(since)
      .map((e) => e.operation);

  const rolledBack: RunBundle[] = [];

  async function rollbackRun(args: {
    orderId: string;
    quantity?: number;
    fail: () => void;
    steps: string[];
    erp: string[];
  }): Promise<RunBundle> {
    const input = {
      orderId: args.orderId,
      product: "GEARBOX-7",
      quantity: args.quantity ?? 2,
      destination: "20095 Hamburg DE",
    };
    const erpBefore = session.systems.ledger("erp").length;
    args.fail();
    const run = await session.run(input);
    expect(run.outcome).to.equal("ROLLED_BACK");
    const bundle = readBundle(run.bundlePath);
    expect(
      bundle.steps.map((s) => `${s.stepName}:${s.phase === "SETTLE" ? "SETTLE" : s.status}`),
    ).to.deep.equal(args.steps);
    expect(erpEffects(erpBefore)).to.deep.equal(args.erp);
    rolledBack.push(bundle);
    return bundle;
  }

  it("the plan refused (erp:decline): nothing to undo at the ERP, the inventory as it was", async () => {
    const root = stateStoreOf(session.journal).root(DOMAIN);
    const bundle = await rollbackRun({
      orderId: "SO-T-000002",
      fail: () => session.injectFault("erp", { operation: "erp.plan", kind: "decline", times: 1 }),
      steps: ["confirm_order:OK", "plan:FAILED"],
      erp: ["erp.plan"],
    });
    expect(bundle.state!.writes).to.deep.equal([]);
    expect(stateStoreOf(session.journal).root(DOMAIN)).to.equal(root);
  });

  it("the purchase refused: the plan cancelled, the inventory as it was", async () => {
    const root = stateStoreOf(session.journal).root(DOMAIN);
    const bundle = await rollbackRun({
      orderId: "SO-T-000008",
      fail: () => session.injectFault("erp", { operation: "erp.purchase", kind: "decline", times: 1 }),
      steps: ["confirm_order:OK", "plan:OK", "purchase:FAILED", "cancel_plan:OK"],
      erp: ["erp.plan", "erp.purchase", "erp.cancelPlan"],
    });
    expect(bundle.state!.writes).to.deep.equal([]);
    expect(stateStoreOf(session.journal).root(DOMAIN)).to.equal(root);
  });

  it("production refused: the purchase is returned in full and the plan cancelled, the inventory as it was", async () => {
    const root = stateStoreOf(session.journal).root(DOMAIN);
    // 15 gearboxes need 180 STEEL: 150 - 60 = 90 in stock after the first run, so 90 are bought
    const bundle = await rollbackRun({
      orderId: "SO-T-000003",
      quantity: 15,
      fail: () => session.injectFault("erp", { operation: "erp.produce", kind: "decline", times: 1 }),
      steps: [
        "confirm_order:OK",
        "plan:OK",
        "purchase:OK",
        "produce:FAILED",
        "cancel_purchase:OK",
        "cancel_plan:OK",
      ],
      erp: ["erp.plan", "erp.purchase", "erp.produce", "erp.cancelPurchase", "erp.cancelPlan"],
    });
    const cancellation = bundle.calls.find((c) => c.operationName === "erp.cancelPurchase")!;
    const purchase = bundle.calls.find((c) => c.operationName === "erp.purchase")!;
    expect((purchase.request as { lines: unknown[] }).lines).to.not.deep.equal([]);
    expect((cancellation.response as { returned: number[] }).returned).to.deep.equal(
      (purchase.request as { lines: { quantity: number }[] }).lines.map((l) => l.quantity),
    );
    expect(bundle.state!.writes).to.deep.equal([]);
    expect(stateStoreOf(session.journal).root(DOMAIN)).to.equal(root);
  });

  it("the inspection fails (lab:fail-inspection): the lot is scrapped, its materials written off, the purchase kept in stock", async () => {
    const before = ["STEEL", "BEARING", "OIL"].map(fields);
    const bundle = await rollbackRun({
      orderId: "SO-T-000004",
      quantity: 10,
      fail: () => session.injectActorFault("lab", "fail-inspection", 1),
      steps: [
        "confirm_order:OK",
        "plan:OK",
        "purchase:OK",
        "produce:OK",
        "inspect:FAILED",
        "scrap_lot:OK",
        "cancel_purchase:OK",
        "cancel_plan:OK",
      ],
      erp: [
        "erp.plan",
        "erp.purchase",
        "erp.produce",
        "erp.scrapLot",
        "erp.cancelPurchase",
        "erp.cancelPlan",
      ],
    });
    const inspection = bundle.calls.find((c) => c.operationName === "lab.inspection_result")!;
    expect((inspection.response as { status: string }).status).to.equal("FAILED");
    expect(bundle.steps.find((s) => s.stepName === "inspect")!.evidence).to.equal("ATTESTED");
    // need: STEEL 120, BEARING 40, OIL 10; bought what the stock lacked
    const purchase = bundle.calls.find((c) => c.operationName === "erp.purchase")!;
    const bought = new Map(
      (purchase.request as { lines: { material: string; quantity: number }[] }).lines.map((l) => [
        l.material,
        BigInt(l.quantity),
      ]),
    );
    const need = { STEEL: 120n, BEARING: 40n, OIL: 10n } as Record<string, bigint>;
    const after = ["STEEL", "BEARING", "OIL"].map(fields);
    ["STEEL", "BEARING", "OIL"].forEach((m, i) => {
      expect(after[i][0], `${m} stock`).to.equal(before[i][0] + (bought.get(m) ?? 0n) - need[m]);
      expect(after[i][1], `${m} scrap`).to.equal(before[i][1] + need[m]);
    });
    const verification = await verifyBundle({ bundle });
    expect(verification.valid, formatBundleVerification(verification, "bundle")).to.equal(true);
  });

  it("shipping's answer lost after it took effect: settled by logistics.status, the shipment cancelled, the lot scrapped (nine signed calls)", async () => {
    const bundle = await rollbackRun({
      orderId: "SO-T-000005",
      fail: () =>
        session.injectFault("logistics", {
          operation: "logistics.ship",
          kind: "timeout-after-effect",
          times: 1_000,
        }),
      steps: [
        "confirm_order:OK",
        "plan:OK",
        "purchase:OK",
        "produce:OK",
        "inspect:OK",
        "ship:FAILED",
        "ship.settle:SETTLE",
        "cancel_shipment:OK",
        "scrap_lot:OK",
        "cancel_purchase:OK",
        "cancel_plan:OK",
      ],
      erp: [
        "erp.plan",
        "erp.purchase",
        "erp.produce",
        "erp.scrapLot",
        "erp.cancelPurchase",
        "erp.cancelPlan",
      ],
    });
    expect(bundle.calls.filter((c) => c.attestation)).to.have.length(9);
    const logistics = session.systems.ledger("logistics").filter((e) => e.workflowId === bundle.workflowId);
    expect(logistics.map((e) => e.operation)).to.deep.equal([
      "logistics.ship",
      "logistics.status",
      "logistics.cancel",
    ]);
  });

  it("the inspection read's answer lost after the gateway answered: settled by sql.status, the lot scrapped", async () => {
    const bundle = await rollbackRun({
      orderId: "SO-T-000007",
      fail: () =>
        session.injectFault("sql", {
          operation: "lab.inspection_result",
          kind: "timeout-after-effect",
          times: 1_000,
        }),
      steps: [
        "confirm_order:OK",
        "plan:OK",
        "purchase:OK",
        "produce:OK",
        "inspect:FAILED",
        "inspect.settle:SETTLE",
        "scrap_lot:OK",
        "cancel_purchase:OK",
        "cancel_plan:OK",
      ],
      erp: [
        "erp.plan",
        "erp.purchase",
        "erp.produce",
        "erp.scrapLot",
        "erp.cancelPurchase",
        "erp.cancelPlan",
      ],
    });
    expect(bundle.steps.find((s) => s.stepName === "inspect")!.evidence).to.equal("SETTLED");
    const sql = session.systems.ledger("sql").filter((e) => e.workflowId === bundle.workflowId);
    expect(sql.map((e) => e.operation)).to.deep.equal(["lab.inspection_result", "sql.status"]);
  });

  // (last of the runs: its fault stays on erp.produce)
  it("production's answer lost after it took effect: settled by erp.status, the lot scrapped", async () => {
    await rollbackRun({
      orderId: "SO-T-000006",
      fail: () =>
        session.injectFault("erp", { operation: "erp.produce", kind: "timeout-after-effect", times: 1_000 }),
      steps: [
        "confirm_order:OK",
        "plan:OK",
        "purchase:OK",
        "produce:FAILED",
        "produce.settle:SETTLE",
        "scrap_lot:OK",
        "cancel_purchase:OK",
        "cancel_plan:OK",
      ],
      erp: [
        "erp.plan",
        "erp.purchase",
        "erp.produce",
        "erp.status",
        "erp.scrapLot",
        "erp.cancelPurchase",
        "erp.cancelPlan",
      ],
    });
  });

  it("every bundle verifies on its own and the audit trail shows each run's inventory writes", async () => {
    for (const bundle of rolledBack) {
      const verification = await verifyBundle({ bundle });
      expect(verification.valid, formatBundleVerification(verification, "bundle")).to.equal(true);
    }
    const entries = await readAuditTrail({
      registry: session.chain.registry,
      provider: session.chain.signer.provider!,
      network: session.chain.network,
      deployment: session.chain.deployment,
      runsDir: session.runsDir,
    });
    const text = formatAuditTrail(entries, "hardhat");
    expect(text).to.include("sql lab.inspection_result(lot=");
    expect(text).to.include("erp erp.scrapLot(lot=");
    expect(text).to.include("bundle verified against the registry");
    // the inventory's writes of a scrapped lot, field by field, as verify reports them
    const scrapped = rolledBack.find((b) =>
      b.steps.some((s) => s.stepName === "inspect" && s.status === "FAILED"),
    )!;
    const report = formatBundleVerification(await verifyBundle({ bundle: scrapped }), "bundle");
    expect(report).to.match(/STEEL stock \d+ → \d+, scrap \d+ → \d+/);
  });
});

describe("the supply chain's simulated world without a store", function () {
  this.timeout(120_000);

  it("starts new each time in one data directory: the lab's database is as new as the ERP's lots", async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "wesflow-supply-chain-world-"));
    const silent = pino({ level: "silent" });
    try {
      const chosen = resolveScenario("supply-chain");
      const store = stateStoreOf(Journal.open(":memory:"));
      const definition = chosen.createDefinition({ state: store });
      ensureDomain(store, definition.state!);
      for (const attempt of [1, 2]) {
        // No storeDir: the ERP keeps its books in memory and numbers its lots from LT000001 again.
        const systems = await chosen.startSystems({ dataDir, providerSetDepth: 3, logger: silent });
        try {
          const execution = await executeWorkflow({
            definition,
            input: chosen.demoInput(attempt),
            endpoints: systems.endpoints,
            providers: systems.providers,
            binding: { submitter: "0x000000000000000000000000000000000000bE0c", workflowTag: 1n },
            logger: silent,
          });
          // Before the fix, the second world's inspection read found the first world's LT000001 too.
          expect(execution.trace.outcome, `world ${attempt}: ${execution.failure?.stepName}`).to.equal(
            "COMMITTED",
          );
        } finally {
          await systems.stop();
        }
      }
      expect(fs.existsSync(path.join(dataDir, "lab", "lab.sqlite"))).to.equal(false);
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
