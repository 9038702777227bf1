import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pino from "pino";
import { readBundle } from "../../src/bundle";
import { RegistryBatchRunError, RegistrySubmitError } from "../../src/chain";
import { WorkflowRegistry__factory } from "../../typechain-types";
import { bundleFilesOf, deployWesflow, ScenarioSession, submitBundles } from "../../src/pipeline";

describe("submitBundles: proven bundles recorded on another registry, in batches and chain order", function () {
  this.timeout(900_000);
  let dataDir: string;
  let session: ScenarioSession;
  let files: string[];

  before(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "wesflow-submit-"));
    session = await ScenarioSession.open({
      scenario: "order",
      network: "hardhat",
      dataDir,
      logger: pino({ level: "silent" }),
    });
    // Recorded one after the other on the session's registry: their state roots chain.
    files = [];
    for (const n of [1, 2, 3]) {
      const run = await session.run(session.scenario.demoInput(n));
      files.push(path.resolve(run.bundlePath));
    }
  });

  after(async () => {
    await session?.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it("finds the bundles of a runs folder", () => {
    expect(bundleFilesOf([path.join(dataDir, "runs")]).sort()).to.deep.equal([...files].sort());
  });

  it("records a state template's bundles given out of order in one batch, from the registry's root", async () => {
    const genesis = BigInt(readBundle(files[0]).state!.rootBefore);
    // A second deployment whose stock domain starts where the first run started.
    const deployment = await deployWesflow({
      signer: session.chain.signer,
      providers: session.systems.providers,
      stateRoots: { "order/stock": genesis },
    });
    const registry = WorkflowRegistry__factory.connect(deployment.registry, session.chain.signer);
    const submitter = session.chain.submitter;
    const submissions = await submitBundles({
      files: [files[2], files[0], files[1]],
      registry,
      deployment,
      network: "hardhat",
      submitter,
      batch: true,
    });
    expect(submissions.map((s) => s.error)).to.deep.equal([undefined, undefined, undefined]);
    expect(new Set(submissions.map((s) => s.tx!.txHash)).size).to.equal(1);
    expect(submissions.map((s) => s.runsInTransaction)).to.deep.equal([3, 3, 3]);
    for (const file of files) {
      const { submission, workflowId } = readBundle(file);
      expect(submission).to.include({ registry: deployment.registry, txHash: submissions[0].tx!.txHash });
      expect(await registry.isRecorded(BigInt(workflowId))).to.equal(true);
    }
    expect(await registry.currentStateRoot(readBundle(files[2]).state!.domainId)).to.equal(
      BigInt(readBundle(files[2]).state!.rootAfter),
    );

    // Again: each bundle refused (recorded), named with the error of a single submission.
    const again = await submitBundles({
      files,
      registry,
      deployment,
      network: "hardhat",
      submitter,
      batch: true,
    });
    for (const s of again) {
      expect(s.error).to.be.instanceOf(RegistrySubmitError);
      expect((s.error as RegistrySubmitError).errorName).to.equal("Registry__AlreadyRecorded");
    }
    expect(again[0].error).to.be.instanceOf(RegistryBatchRunError);
  });

  it("refuses, before any transaction, bundles bound to another submitter or of an undeployed template", async () => {
    const deployment = { ...session.chain.deployment, templates: {} };
    const [first] = await submitBundles({
      files: [files[0]],
      registry: session.chain.registry,
      deployment,
      network: "hardhat",
      submitter: session.chain.submitter,
      batch: true,
    });
    expect(first.error?.message).to.match(/is not deployed on hardhat/);
    const [other] = await submitBundles({
      files: [files[0]],
      registry: session.chain.registry,
      deployment: session.chain.deployment,
      network: "hardhat",
      submitter: "0x000000000000000000000000000000000000bEEF",
      batch: false,
    });
    expect(other.error?.message).to.match(/bound to submitter 0x[0-9a-f]{40}, not 0x0+bEEF/);
  });
});
