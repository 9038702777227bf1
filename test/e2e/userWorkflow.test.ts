import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pino from "pino";
import { discloseStep, verifyBundle, verifyDisclosure } from "../../src/audit";
import { readBundle } from "../../src/bundle";
import { readTemplate } from "../../src/chain";
import { toHex32 } from "../../src/crypto";
import {
  checkLayoutFits,
  layoutNeeds,
  workflowLayoutOf,
  WorkflowDefinitionError,
} from "../../src/definition";
import { ScenarioSession } from "../../src/pipeline";
import { loadWorkflowFile, SCENARIOS, WorkflowFileError } from "../../src/scenarios";
import { newRunNonce, workflowDefinitionHash } from "../../src/trace";
import { lastLine, ROOT, wesflow } from "../fixtures/cli";
import { effectsOf } from "../fixtures/orderRuns";

const EXAMPLE = path.join(ROOT, "examples", "subscription.workflow.ts");

describe("user-defined workflows: a TypeScript file, proven by the generic template WorkflowTrace_8_4", function () {
  this.timeout(900_000);
  let dataDir: string;
  let session: ScenarioSession;

  before(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "wesflow-user-"));
    session = await ScenarioSession.open({
      scenario: EXAMPLE,
      network: "hardhat",
      dataDir,
      logger: pino({ level: "silent" }),
    });
  });

  after(async () => {
    await session?.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it("loads the example file as a workflow on the generic template, with its own definition hash", () => {
    const definition = session.scenario.createDefinition();
    expect(definition.name).to.equal("subscription");
    expect(definition.template).to.equal("WorkflowTrace_8_4");
    // the longest path: the invoice settled TOOK_EFFECT (quote, charge, invoice, its status query,
    // the refund: 5 records, 3 of them signed calls; the invoice has no compensation)
    expect(layoutNeeds(workflowLayoutOf(definition))).to.deep.equal({ steps: 3, calls: 3, records: 5 });
  });

  it("a committed run is proven, recorded under the definition's template, and verifies offline and on chain", async () => {
    const run = await session.run(session.scenario.demoInput(1));
    expect(run.outcome).to.equal("COMMITTED");
    const bundle = readBundle(run.bundlePath);
    const definition = session.scenario.createDefinition();
    const hash = workflowDefinitionHash(workflowLayoutOf(definition), 8);
    expect(bundle.definition).to.deep.include({ name: "subscription", hash: hash.toString() });
    expect(bundle.proof!.publicSignals).to.have.length(5);
    expect(bundle.proof!.publicSignals[4]).to.equal(hash.toString());
    const template = await readTemplate({ registry: session.chain.registry, templateId: bundle.templateId });
    expect(template.definitionHash).to.equal(hash);
    expect(bundle.steps.map((s) => `${s.stepName}:${s.status}:${s.evidence}`)).to.deep.equal([
      "quote:OK:NONE",
      "charge:OK:ATTESTED",
      "invoice:OK:ATTESTED",
    ]);
    const result = await verifyBundle({ bundle, registry: session.chain });
    expect(result.reasons).to.deep.equal([
      "step names not checked: subscription is not a built-in workflow of this project (its calls' names, keys and JSON are checked against the operation catalog)",
    ]);
    expect(result).to.include({ valid: true, onChain: true, recorded: true });

    // One step disclosed verifies offline and against the chain: the disclosure names the template
    // by the definition's hash, as the registry does.
    const disclosure = discloseStep(bundle, 1);
    expect(disclosure.definitionHash).to.equal(hash.toString());
    const offline = await verifyDisclosure(disclosure);
    expect(offline.valid, offline.reasons.join("; ")).to.equal(true);
    expect((await verifyDisclosure(disclosure, { registry: session.chain })).valid).to.equal(true);
    const otherDefinition = { ...disclosure, definitionHash: (hash + 1n).toString() };
    expect((await verifyDisclosure(otherDefinition)).reasons.join("; ")).to.match(
      /is not the id of template/,
    );

    // Tampering with the definition (another layout or hash) makes the bundle invalid.
    const tampered = structuredClone(bundle);
    tampered.definition!.layout.steps[2].compensation = { operation: 302, system: 3 };
    const bad = await verifyBundle({ bundle: tampered, registry: session.chain });
    expect(bad.valid).to.equal(false);
    expect(bad.reasons.join("; ")).to.match(/layout hashes to/);
  });

  it("an invoice the system rejects (signed) rolls back: the charge is refunded, proven and recorded ROLLED_BACK", async () => {
    const runNonce = newRunNonce();
    const workflowId = session.workflowIdFor(runNonce);
    session.injectFault("invoicing", {
      operation: "invoice.issue",
      kind: "decline",
      workflowId: toHex32(workflowId),
    });
    const run = await session.run(session.scenario.demoInput(2), undefined, { runNonce });
    expect(run.outcome).to.equal("ROLLED_BACK");
    const bundle = readBundle(run.bundlePath);
    expect(bundle.steps.map((s) => `${s.phase}:${s.stepName}:${s.status}:${s.evidence}`)).to.deep.equal([
      "FORWARD:quote:OK:NONE",
      "FORWARD:charge:OK:ATTESTED",
      "FORWARD:invoice:FAILED:ATTESTED",
      "COMPENSATE:refund:OK:ATTESTED",
    ]);
    const ledgers = Object.fromEntries(
      (["payment", "invoicing"] as const).map((s) => [s, session.systems.ledger(s)]),
    );
    const effects = effectsOf(ledgers, workflowId);
    expect(Object.fromEntries(Object.entries(effects).map(([op, list]) => [op, list.length]))).to.deep.equal({
      "payment.charge": 1,
      "payment.refund": 1,
      "invoice.issue": 1,
    });
    expect((await verifyBundle({ bundle, registry: session.chain })).valid).to.equal(true);
  });

  it("a workflow the generic template cannot prove is refused before any call, saying why", () => {
    const layout = {
      steps: Array.from({ length: 9 }, (_, i) => ({ code: i + 1, operation: 101, system: 1 })),
    };
    expect(() =>
      checkLayoutFits("big", layout, "WorkflowTrace_8_4", { steps: 8, calls: 4, records: 16 }),
    ).to.throw(WorkflowDefinitionError, /9 steps on its longest path, the template proves 8; 9 calls/);
  });

  it("a file that exports no defineWorkflow result, or does not exist, is a clear error", () => {
    const bad = path.join(dataDir, "bad.workflow.ts");
    fs.writeFileSync(bad, "export default { name: 'x' };\n");
    expect(() => loadWorkflowFile(bad, SCENARIOS.order)).to.throw(
      WorkflowFileError,
      /does not default-export/,
    );
    expect(() => loadWorkflowFile(path.join(dataDir, "missing.ts"), SCENARIOS.order)).to.throw(
      WorkflowFileError,
      /does not exist/,
    );
  });

  it("`wesflow run ./examples/subscription.workflow.ts --json` runs it from the command line", async () => {
    const cliData = fs.mkdtempSync(path.join(os.tmpdir(), "wesflow-user-cli-"));
    try {
      const result = await wesflow(
        ["run", "./examples/subscription.workflow.ts", "--data-dir", cliData, "--json"],
        { timeoutMs: 600_000 },
      );
      expect(result.code, result.stderr).to.equal(0);
      const summary = JSON.parse(lastLine(result.stdout));
      expect(summary).to.include({ scenario: "subscription", outcome: "COMMITTED" });
      expect(summary.txHash).to.match(/^0x[0-9a-f]{64}$/);
      const bad = await wesflow(["run", "./examples/nope.workflow.ts", "--data-dir", cliData]);
      expect(bad.code).to.not.equal(0);
      expect(bad.stderr).to.match(/workflow file \.\/examples\/nope\.workflow\.ts does not exist/);
      expect(bad.stderr).to.not.match(/\n\s+at /);
    } finally {
      fs.rmSync(cliData, { recursive: true, force: true });
    }
  });
});
