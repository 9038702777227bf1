import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pino from "pino";
import { ethers } from "hardhat";
import { formatAuditTrail, formatBundleVerification, readAuditTrail, verifyBundle } from "../../src/audit";
import { readBundle, type RunBundle } from "../../src/bundle";
import { ScenarioSession, stateStoreOf } from "../../src/pipeline";
import { circuitInstance, loadCircuitInstances, Prover } from "../../src/prover";
import { poseidon, rootFromPath } from "../../src/crypto";
import { traceFromBundle } from "../../src/bundle";
import { expectRejection } from "../fixtures/rejection";
import {
  registerScenarioFolder,
  resolveScenario,
  SCENARIOS,
  ScenarioFolderError,
  unregisterScenarioFolder,
} from "../../src/scenarios";
import { fixedWorkflowTag } from "../../src/trace";

const FOLDER = path.join(__dirname, "..", "fixtures", "scenarios", "tally");

describe("a scenario from a folder of its own (test/fixtures/scenarios/tally): registered, run, proven, recorded, audited, verified", function () {
  this.timeout(1_800_000);
  let dataDir: string;
  let session: ScenarioSession;

  before(async () => {
    expect(SCENARIOS.tally, "nothing built in names the fixture").to.equal(undefined);
    expect(loadCircuitInstances().some((i) => i.name === "TallySaga_3_3_10")).to.equal(false);
    const scenario = registerScenarioFolder(FOLDER);
    expect(registerScenarioFolder(FOLDER), "registering again changes nothing").to.equal(scenario);
    expect(resolveScenario("tally")).to.equal(scenario);
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "wesflow-folder-scenario-"));
    session = await ScenarioSession.open({
      scenario: "tally",
      network: "hardhat",
      dataDir,
      logger: pino({ level: "silent" }),
      // Short call timeouts: the settled run's charge answers are all lost (held past the timeout).
      retry: { callTimeoutMs: 3_000, initialBackoffMs: 5, maxBackoffMs: 50 },
    });
  });

  after(async () => {
    await session?.close();
    unregisterScenarioFolder(FOLDER);
    expect(SCENARIOS.tally).to.equal(undefined);
    expect(loadCircuitInstances().some((i) => i.name === "TallySaga_3_3_10")).to.equal(false);
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it("its instance is registered from the folder's circuits.json, its source inside the folder", () => {
    const instance = circuitInstance("TallySaga_3_3_10");
    expect(instance).to.include({ kind: "state", stateDomain: "tally/pledged", template: "TallySaga" });
    expect(instance.file).to.equal("../test/fixtures/scenarios/tally/tally");
    // The circuit's tag constant is the instance's workflowTag (tally.circom's tallyWorkflowTag()).
    const source = fs.readFileSync(path.join(FOLDER, "tally.circom"), "utf8");
    expect(source).to.include(`return 0x${fixedWorkflowTag("wesflow-test/tally").toString(16)};`);
  });

  let committed: RunBundle;
  let inserted: RunBundle;
  let rolledBack: RunBundle;
  let settled: RunBundle;

  it("a committed run adds the pledge to a held donor's total; a new donor's pledge adds the donor; a declined charge rolls back", async () => {
    const store = stateStoreOf(session.journal);
    const acme = session.scenario.demoInput(2) as { donor: string; amountCents: number };
    expect(acme.donor).to.equal("DONOR-ACME");
    const before = store.get("tally/pledged", "DONOR-ACME")!;
    const first = await session.run(acme);
    expect(first.outcome).to.equal("COMMITTED");
    expect(store.get("tally/pledged", "DONOR-ACME")).to.equal(before + BigInt(acme.amountCents));
    committed = readBundle(first.bundlePath);
    expect(committed.state!.writes).to.have.length(1);
    expect(committed.state!.writes[0]).to.include({ key: "DONOR-ACME", inserted: false });

    const newcomer = session.scenario.demoInput(3) as { donor: string; amountCents: number };
    expect(store.get("tally/pledged", newcomer.donor)).to.equal(undefined);
    const second = await session.run(newcomer);
    expect(second.outcome).to.equal("COMMITTED");
    expect(store.get("tally/pledged", newcomer.donor)).to.equal(BigInt(newcomer.amountCents));
    inserted = readBundle(second.bundlePath);
    expect(inserted.state!.writes[0]).to.include({ key: newcomer.donor, inserted: true, valueBefore: "0" });

    session.injectFault("payment", { operation: "payment.charge", kind: "decline", times: 1 });
    const rootBefore = store.root("tally/pledged");
    const third = await session.run(session.scenario.demoInput(4));
    expect(third.outcome).to.equal("ROLLED_BACK");
    expect(store.root("tally/pledged")).to.equal(rootBefore);
    rolledBack = readBundle(third.bundlePath);
    expect(rolledBack.state).to.deep.include({ writes: [] });
    expect(rolledBack.steps.map((s) => `${s.stepName}:${s.status}`)).to.deep.equal([
      "pledge:OK",
      "collect:FAILED",
      "cancel_pledge:OK",
    ]);
  });

  it("a charge whose answer is lost after it took effect is settled by payment.status and refunded: rolled back, the total unchanged", async () => {
    const store = stateStoreOf(session.journal);
    const rootBefore = store.root("tally/pledged");
    const pledge = session.scenario.demoInput(6) as { pledgeId: string };
    // Every answer lost (more times than the host's retries): the executor asks payment.status.
    session.injectFault("payment", {
      operation: "payment.charge",
      kind: "timeout-after-effect",
      times: 1_000,
    });
    const run = await session.run(pledge);
    expect(run.outcome).to.equal("ROLLED_BACK");
    expect(store.root("tally/pledged")).to.equal(rootBefore);
    const effects = session.systems
      .ledger("payment")
      .filter((e) => (e.request as { orderId?: string }).orderId === pledge.pledgeId)
      .map((e) => e.operation);
    expect(effects).to.deep.equal(["payment.charge", "payment.refund"]);
    settled = readBundle(run.bundlePath);
    expect(settled.steps.map((s) => `${s.stepName}:${s.phase}:${s.status}`)).to.deep.equal([
      "pledge:FORWARD:OK",
      "collect:FORWARD:FAILED",
      "collect.settle:SETTLE:OK",
      "refund_charge:COMPENSATE:OK",
      "cancel_pledge:COMPENSATE:OK",
    ]);
  });

  it("verify checks each bundle against its scenario's own changes and the registry; the audit lists the runs with their writes", async () => {
    for (const bundle of [committed, inserted, rolledBack, settled]) {
      const result = await verifyBundle({ bundle, registry: session.chain });
      expect(result.reasons, bundle.outcome).to.deep.equal([]);
      expect(result.checks).to.include({ proof: "passed", state: "passed", chain: "passed" });
    }
    const report = formatBundleVerification(await verifyBundle({ bundle: inserted }), "bundle.json");
    expect(report).to.match(/state {5}tally\/pledged: pledged of DONOR-NEW-CO 0 → \d+, root 0x/);

    const entries = await readAuditTrail({
      registry: session.chain.registry,
      provider: ethers.provider,
      network: session.chain.network,
      deployment: session.chain.deployment,
      runsDir: path.join(dataDir, "runs"),
    });
    expect(entries.map((e) => e.outcome)).to.deep.equal([
      "COMMITTED",
      "COMMITTED",
      "ROLLED_BACK",
      "ROLLED_BACK",
    ]);
    expect(entries.every((e) => e.trail?.matchesChain)).to.equal(true);
    expect(
      entries.every((e) => e.template === "TallySaga_3_3_10" && e.state?.domain === "tally/pledged"),
    ).to.equal(true);
    expect(formatAuditTrail(entries, "hardhat")).to.include("tally/pledged");
  });

  it("a bundle whose write the scenario's changes do not give is refused by verify (the pledge changed, the total kept)", async () => {
    const tampered = JSON.parse(JSON.stringify(committed)) as RunBundle;
    tampered.state!.writes[0].valueAfter = (BigInt(tampered.state!.writes[0].valueAfter) + 1n).toString();
    const result = await verifyBundle({ bundle: tampered });
    expect(result.valid).to.equal(false);
    expect(result.reasons.join("\n")).to.match(
      /write 0 \("DONOR-ACME"\): its valueAfter is \d+; the run's change \(add \d+\)/,
    );
  });

  it("its circuit refuses a committed run whose write is not the pledge (a witness one more than the trace gives has no proof)", async () => {
    const instance = circuitInstance("TallySaga_3_3_10");
    const state = committed.state!;
    const write = state.writes[0];
    const move = {
      domain: state.domain,
      rootBefore: BigInt(state.rootBefore),
      rootAfter: BigInt(state.rootAfter),
      writes: [
        {
          key: write.key,
          keyField: BigInt(write.keyField),
          slot: write.slot,
          inserted: write.inserted,
          valueBefore: BigInt(write.valueBefore),
          valueAfter: BigInt(write.valueAfter),
          pathElements: write.pathElements.map(BigInt),
          pathIndices: write.pathIndices,
          rootBefore: BigInt(state.rootBefore),
          rootAfter: BigInt(state.rootAfter),
        },
      ],
    };
    const request = {
      template: instance.template,
      params: instance.params,
      trace: traceFromBundle(committed),
      providers: session.systems.providers,
      submitter: BigInt(session.chain.submitter),
    };
    const prover = new Prover(instance);
    const honest = await prover.prove(session.definition.witness!({ ...request, state: move }));
    expect(await prover.verify(honest)).to.equal(true);

    // One more than the pledge, with the root that value gives: the witness builder checks only the
    // tree, the circuit's rule refuses it.
    const path = { pathElements: move.writes[0].pathElements, pathIndices: move.writes[0].pathIndices };
    const more = move.writes[0].valueAfter + 1n;
    const rootAfter = rootFromPath(poseidon([move.writes[0].keyField, more]), path);
    const forged = { ...move, rootAfter, writes: [{ ...move.writes[0], valueAfter: more, rootAfter }] };
    const error = await expectRejection(
      prover.prove(session.definition.witness!({ ...request, state: forged })),
      Error,
    );
    expect(error.message).to.match(/Assert Failed/);
  });

  it("a folder without a scenario module, or one whose instance names collide, is refused with the reason", () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), "wesflow-not-a-scenario-"));
    try {
      expect(() => registerScenarioFolder(empty)).to.throw(ScenarioFolderError, /is not a scenario folder/);
      fs.writeFileSync(path.join(empty, "index.js"), "exports.notAScenario = 1;");
      expect(() => registerScenarioFolder(empty)).to.throw(ScenarioFolderError, /exports no scenario module/);
    } finally {
      fs.rmSync(empty, { recursive: true, force: true });
    }
  });
});
