import { expect } from "chai";
import fs from "node:fs";
import { ethers } from "hardhat";
import { readAuditTrail, verifyBundle, type RegistryView } from "../../src/audit";
import { RunBundleSchema, type RunBundle } from "../../src/bundle";
import { deployWesflow, type ScenarioSession } from "../../src/pipeline";
import { circuitInstance, verificationKeyHash } from "../../src/prover";
import { WorkflowRegistry__factory } from "../../typechain-types";
import { recordBundles, type RecordedBundles } from "../fixtures/recordedBundles";

const bump = (decimal: string) => (BigInt(decimal) + 1n).toString();
const flipHex = (hex: string) => hex.slice(0, -1) + (hex.endsWith("0") ? "1" : "0");
const otherTemplate = (name: string) => (name === "OrderSaga_4_3" ? "OrderWorkflow_4_3" : "OrderSaga_4_3");
const copy = (bundle: RunBundle): RunBundle => JSON.parse(JSON.stringify(bundle)) as RunBundle;

interface Tampering {
  field: string;
  tamper(bundle: RunBundle): void;
  /** Only the registry's entry shows it (fields the proof does not commit to, e.g. the transaction). */
  chainOnly?: boolean;
}

/** Every field a bundle states about the run, each changed in a way the schema still accepts. */
function tamperings(bundle: RunBundle): Tampering[] {
  const callStep = bundle.steps.findIndex((s) => s.callSeq > 0);
  const localStep = bundle.steps.findIndex((s) => s.callSeq === 0);
  const list: Tampering[] = [
    { field: "workflowId", tamper: (b) => (b.workflowId = flipHex(b.workflowId)) },
    { field: "scenario", tamper: (b) => (b.scenario = "supply") },
    { field: "template", tamper: (b) => (b.template = otherTemplate(b.template)) },
    { field: "templateId", tamper: (b) => (b.templateId = flipHex(b.templateId)) },
    {
      field: "outcome",
      tamper: (b) => (b.outcome = b.outcome === "COMMITTED" ? "ROLLED_BACK" : "COMMITTED"),
    },
    { field: "traceRoot", tamper: (b) => (b.traceRoot = flipHex(b.traceRoot)) },
    { field: "traceDepth", tamper: (b) => (b.traceDepth += 1) },
    { field: "providerSet.root", tamper: (b) => (b.providerSet.root = bump(b.providerSet.root)) },
    { field: "providerSet.depth", tamper: (b) => (b.providerSet.depth += 1) },
    {
      field: "providerSet.providers[0].publicKey[0]",
      tamper: (b) =>
        (b.providerSet.providers[0].publicKey[0] = bump(b.providerSet.providers[0].publicKey[0])),
    },
    {
      field: "providerSet.providers[0].system",
      tamper: (b) => (b.providerSet.providers[0].system = "someone-else"),
    },
    { field: "proof.instance", tamper: (b) => (b.proof!.instance = otherTemplate(b.proof!.instance)) },
    { field: "proof.proof.pi_a[0]", tamper: (b) => (b.proof!.proof.pi_a[0] = bump(b.proof!.proof.pi_a[0])) },
    {
      field: "proof.proof.pi_b[0][1]",
      tamper: (b) => (b.proof!.proof.pi_b[0][1] = bump(b.proof!.proof.pi_b[0][1])),
    },
    { field: "proof.proof.pi_c[1]", tamper: (b) => (b.proof!.proof.pi_c[1] = bump(b.proof!.proof.pi_c[1])) },
    ...[0, 1, 2, 3, 4].map((i) => ({
      field: `proof.publicSignals[${i}]`,
      tamper: (b: RunBundle) => (b.proof!.publicSignals[i] = bump(b.proof!.publicSignals[i])),
    })),
    {
      field: "submission.submitter",
      tamper: (b) => (b.submission!.submitter = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"),
    },
    {
      field: "submission.txHash",
      tamper: (b) => (b.submission!.txHash = flipHex(b.submission!.txHash)),
      chainOnly: true,
    },
    { field: "submission.blockNumber", tamper: (b) => (b.submission!.blockNumber += 1), chainOnly: true },
    { field: "submission.chainId", tamper: (b) => (b.submission!.chainId = 1), chainOnly: true },
    {
      field: "submission.registry",
      tamper: (b) => (b.submission!.registry = "0x000000000000000000000000000000000000dEaD"),
      chainOnly: true,
    },
  ];
  for (const index of [localStep, callStep]) {
    const at = `steps[${index}]`;
    list.push(
      { field: `${at}.index`, tamper: (b) => (b.steps[index].index += 10) },
      { field: `${at}.stepCode`, tamper: (b) => (b.steps[index].stepCode += 1) },
      { field: `${at}.stepName`, tamper: (b) => (b.steps[index].stepName = "approve_everything") },
      { field: `${at}.phase`, tamper: (b) => (b.steps[index].phase = "COMPENSATE") },
      { field: `${at}.status`, tamper: (b) => (b.steps[index].status = "FAILED") },
      { field: `${at}.callSeq`, tamper: (b) => (b.steps[index].callSeq += 7) },
      { field: `${at}.operation`, tamper: (b) => (b.steps[index].operation += 1) },
      { field: `${at}.evidence`, tamper: (b) => (b.steps[index].evidence = "DECLARED") },
      ...[0, 1, 2, 3].flatMap((i) => [
        {
          field: `${at}.request[${i}]`,
          tamper: (b: RunBundle) => (b.steps[index].request[i] = bump(b.steps[index].request[i])),
        },
        {
          field: `${at}.response[${i}]`,
          tamper: (b: RunBundle) => (b.steps[index].response[i] = bump(b.steps[index].response[i])),
        },
      ]),
    );
  }
  const call = "calls[0]";
  list.push(
    { field: `${call}.callSeq`, tamper: (b) => (b.calls[0].callSeq += 10) },
    { field: `${call}.stepIndex`, tamper: (b) => (b.calls[0].stepIndex = localStep) },
    { field: `${call}.system`, tamper: (b) => (b.calls[0].system = "logistics") },
    { field: `${call}.operation`, tamper: (b) => (b.calls[0].operation = 201) },
    { field: `${call}.operationName`, tamper: (b) => (b.calls[0].operationName = "payment.refund") },
    { field: `${call}.idempotencyKey`, tamper: (b) => (b.calls[0].idempotencyKey += "0") },
    { field: `${call}.requestHash`, tamper: (b) => (b.calls[0].requestHash = bump(b.calls[0].requestHash)) },
    {
      field: `${call}.responseHash`,
      tamper: (b) => (b.calls[0].responseHash = bump(b.calls[0].responseHash)),
    },
    {
      field: `${call}.request.amountCents`,
      tamper: (b) => ((b.calls[0].request as { amountCents: number }).amountCents += 1),
    },
    {
      field: `${call}.response.amountCents`,
      tamper: (b) => ((b.calls[0].response as { amountCents: number }).amountCents -= 1),
    },
    { field: `${call}.attestation (removed)`, tamper: (b) => delete b.calls[0].attestation },
    {
      field: `${call}.attestation.signature.S`,
      tamper: (b) => (b.calls[0].attestation!.signature.S = bump(b.calls[0].attestation!.signature.S)),
    },
    {
      field: `${call}.attestation.signature.R8[0]`,
      tamper: (b) =>
        (b.calls[0].attestation!.signature.R8[0] = bump(b.calls[0].attestation!.signature.R8[0])),
    },
    {
      field: `${call}.attestation.publicKey[1]`,
      tamper: (b) => (b.calls[0].attestation!.publicKey[1] = bump(b.calls[0].attestation!.publicKey[1])),
    },
    { field: `${call}.attestation.systemCode`, tamper: (b) => (b.calls[0].attestation!.systemCode = 2) },
    { field: `${call}.attestation.system`, tamper: (b) => (b.calls[0].attestation!.system = "logistics") },
    { field: "calls (one removed)", tamper: (b) => b.calls.pop() },
  );
  return list;
}

describe("verify: a run bundle against itself and the registry, without calling any external system", function () {
  this.timeout(600_000);
  let recorded: RecordedBundles;
  let session: ScenarioSession;
  let chain: RegistryView;
  let committed: RunBundle;
  let rolledBack: RunBundle;

  before(async () => {
    recorded = await recordBundles("wesflow-verify-");
    ({ session, committed, rolledBack } = recorded);
    chain = session.chain;
  });

  after(() => recorded?.close());

  it("a committed run's bundle is valid offline, with every call attested, and not checked on chain", async () => {
    const result = await verifyBundle({ bundle: committed });
    expect(result.reasons.join("; ")).to.match(/^not checked on chain/);
    expect(result).to.include({ valid: true, onChain: false });
    expect(result.checks).to.deep.equal({
      proof: "passed",
      publicSignals: "passed",
      traceRoot: "passed",
      providerSet: "passed",
      calls: "passed",
      labels: "passed",
      chain: "skipped",
    });
    expect(result.calls.map((c) => [c.operation, c.evidence, c.signatureVerified])).to.deep.equal([
      ["payment.charge", "attested", true],
      ["logistics.ship", "attested", true],
      ["invoice.issue", "attested", true],
    ]);
  });

  it("the same bundle is valid and on chain against the registry that recorded it", async () => {
    const result = await verifyBundle({ bundle: committed, registry: chain });
    expect(result.reasons).to.deep.equal([]);
    expect(result).to.include({ valid: true, onChain: true, recorded: true });
    expect(result.entry).to.include({
      txHash: committed.submission!.txHash,
      blockNumber: committed.submission!.blockNumber,
      registry: chain.deployment.registry,
    });
  });

  it("a rolled-back run's bundle is valid: the failed call is declared, the compensation's call attested", async () => {
    const result = await verifyBundle({ bundle: rolledBack, registry: chain });
    expect(result.reasons).to.deep.equal([]);
    expect(result).to.include({ valid: true, onChain: true, outcome: "ROLLED_BACK" });
    const evidence = Object.fromEntries(result.calls.map((c) => [c.operation, c.evidence]));
    expect(evidence).to.deep.equal({
      "payment.charge": "attested",
      "logistics.ship": "declared",
      "payment.refund": "attested",
    });
    expect(result.calls.find((c) => c.operation === "logistics.ship")?.signatureVerified).to.equal(false);
  });

  it("tampering with any field of a bundle makes it invalid, with a reason", async () => {
    for (const source of [committed, rolledBack]) {
      for (const { field, tamper, chainOnly } of tamperings(source)) {
        const bundle = copy(source);
        tamper(bundle);
        expect(JSON.stringify(bundle), `${field} did not change`).not.to.equal(JSON.stringify(source));
        RunBundleSchema.parse(bundle); // still a well-formed bundle: verify, not the schema, must catch it
        const result = await verifyBundle({ bundle, ...(chainOnly ? { registry: chain } : {}) });
        expect(result.valid, `${source.outcome} bundle with ${field} changed`).to.equal(false);
        const failures = result.reasons.filter((r) => !r.startsWith("not checked on chain"));
        process.stderr.write(`${source.outcome} ${field}: ${failures.join(" | ")}\n`);
        expect(failures, `reasons for ${field}`).to.have.length.greaterThan(0);
      }
    }
  });

  it("a changed trace root or outcome shows against the chain's entry too", async () => {
    const bundle = copy(committed);
    bundle.traceRoot = rolledBack.traceRoot;
    const result = await verifyBundle({ bundle, registry: chain });
    expect(result).to.include({ valid: false, onChain: false });
    expect(result.checks.chain).to.equal("failed");
    expect(result.reasons.join("\n")).to.match(/the chain recorded trace root/);
  });

  it("a bundle without a proof is invalid", async () => {
    const bundle = copy(committed);
    delete bundle.proof;
    const result = await verifyBundle({ bundle });
    expect(result.valid).to.equal(false);
    expect(result.reasons.join("\n")).to.match(/has no proof/);
  });

  it("a proof names the verification key it was made for: another setup's key is said so", async () => {
    const vkey = JSON.parse(
      fs.readFileSync(circuitInstance(committed.template).paths.vkey, "utf8"),
    ) as object;
    expect(committed.proof!.vkeyHash).to.equal(verificationKeyHash(vkey));
    // A proof from a build whose setup made other keys (simulated: another key hash, another proof).
    const bundle = copy(committed);
    bundle.proof!.vkeyHash = "ab".repeat(32);
    bundle.proof!.proof.pi_a[0] = bump(bundle.proof!.proof.pi_a[0]);
    const result = await verifyBundle({ bundle });
    expect(result.valid).to.equal(false);
    expect(result.reasons.join("\n")).to.match(
      /made for verification key sha256 abababab.*another setup's keys/,
    );
  });

  it("a bundle recorded by another registry is reported as such; a run a registry never saw is not recorded there", async () => {
    const [signer] = await ethers.getSigners();
    const deployment = await deployWesflow({ signer, providers: session.systems.providers });
    const other: RegistryView = {
      network: "hardhat",
      chainId: deployment.chainId,
      registry: WorkflowRegistry__factory.connect(deployment.registry, signer),
      deployment,
    };
    const elsewhere = await verifyBundle({ bundle: committed, registry: other });
    expect(elsewhere).to.include({ valid: false, onChain: false });
    expect(elsewhere.reasons[0]).to.match(
      /the bundle was recorded on chain \d+ by registry 0x[0-9a-fA-F]{40}, not on hardhat/,
    );

    const unsubmitted = copy(committed);
    delete unsubmitted.submission; // proven, never submitted to `other`
    const result = await verifyBundle({ bundle: unsubmitted, registry: other });
    expect(result).to.include({ valid: false, onChain: false, recorded: false });
    expect(result.checks.proof).to.equal("passed");
    expect(result.reasons.join("\n")).to.match(/is not recorded on hardhat/);
    expect(result.reasons.join("\n")).to.match(/has no submission/);
  });

  it("the audit trail filters recorded runs by outcome (not an indexed event field)", async () => {
    const query = {
      registry: chain.registry,
      provider: ethers.provider,
      runsDir: `${recorded.dataDir}/runs`,
    };
    const rolled = await readAuditTrail({ ...query, outcome: "ROLLED_BACK" });
    expect(rolled.map((e) => e.workflowId)).to.deep.equal([rolledBack.workflowId]);
    const done = await readAuditTrail({ ...query, outcome: "COMMITTED" });
    expect(done.map((e) => e.workflowId)).to.deep.equal([committed.workflowId]);
  });

  it("the in-process network by name is not checked on chain (it lives only in one process)", async () => {
    const result = await verifyBundle({ bundle: committed, network: "hardhat", dataDir: recorded.dataDir });
    expect(result).to.include({ valid: true, onChain: false });
    expect(result.reasons[0]).to.match(/^not checked on chain: the in-process Hardhat network/);
  });
});
