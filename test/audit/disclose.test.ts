import { expect } from "chai";
import { ethers } from "hardhat";
import {
  discloseStep,
  DISCLOSURE_FORMAT,
  DisclosureError,
  parseDisclosure,
  verifyDisclosure,
  type RegistryView,
  type StepDisclosure,
} from "../../src/audit";
import { stepRecordOf, type RunBundle } from "../../src/bundle";
import { SNARK_SCALAR_FIELD } from "../../src/crypto";
import { stepLeaf } from "../../src/trace";
import { deployWesflow } from "../../src/pipeline";
import { WorkflowRegistry__factory } from "../../typechain-types";
import { recordBundles, type RecordedBundles } from "../fixtures/recordedBundles";

const bump = (decimal: string) => (BigInt(decimal) + 1n).toString();
const flipHex = (hex: string) => hex.slice(0, -1) + (hex.endsWith("0") ? "1" : "0");
/** A disclosure as a file carries it: written, read back, validated. */
const roundTrip = (doc: StepDisclosure) => parseDisclosure(JSON.parse(JSON.stringify(doc)));

describe("selective disclosure: one step with its Merkle path to the recorded trace root", function () {
  this.timeout(600_000);
  let recorded: RecordedBundles;
  let chain: RegistryView;
  let committed: RunBundle;
  let rolledBack: RunBundle;

  before(async () => {
    recorded = await recordBundles("wesflow-disclose-");
    ({ committed, rolledBack } = recorded);
    chain = recorded.session.chain;
  });

  after(() => recorded?.close());

  it("every step of a committed and a rolled-back run round-trips and verifies against the chain", async () => {
    for (const bundle of [committed, rolledBack]) {
      for (const step of bundle.steps) {
        const doc = roundTrip(discloseStep(bundle, step.index));
        expect(doc.step).to.deep.equal(step);
        expect(doc.merklePath.pathElements).to.have.length(bundle.traceDepth);
        expect(doc.chain).to.include({
          txHash: bundle.submission!.txHash,
          registry: bundle.submission!.registry,
        });
        const offline = await verifyDisclosure(doc);
        expect(offline).to.include({ valid: true, onChain: false });
        expect(offline.reasons[offline.reasons.length - 1]).to.match(/^not checked on chain/);
        const result = await verifyDisclosure(doc, { registry: chain });
        expect(result.reasons, `${bundle.outcome} step ${step.index}`).to.deep.equal([]);
        expect(result).to.include({ valid: true, onChain: true, recorded: true });
      }
    }
  });

  it("shows one step and hides the others: no other step's fields or calls are in the document", () => {
    const payment = committed.steps.findIndex((s) => s.stepName === "payment");
    const text = JSON.stringify(discloseStep(committed, payment));
    const shown = new Set([...committed.steps[payment].request, ...committed.steps[payment].response]);
    for (const other of committed.steps.filter((s) => s.index !== payment)) {
      const own = [...other.request, ...other.response].filter((f) => f.length > 3 && !shown.has(f));
      for (const field of own) {
        // Whole JSON string values only: a short decimal can occur inside any hex string.
        expect(text).not.to.include(JSON.stringify(field));
      }
    }
    for (const call of committed.calls.filter((c) => c.stepIndex !== payment)) {
      expect(text).not.to.include(call.operationName);
    }
  });

  it("carries the disclosed step's salt and no other step's", () => {
    for (const bundle of [committed, rolledBack]) {
      const salts = new Set(bundle.steps.map((s) => s.salt));
      expect(salts.size, "one salt per record").to.equal(bundle.steps.length);
      for (const step of bundle.steps) {
        const doc = discloseStep(bundle, step.index);
        expect(doc.step.salt).to.equal(step.salt);
        const text = JSON.stringify(doc);
        const shown = bundle.steps.filter((other) => text.includes(JSON.stringify(other.salt)));
        expect(shown.map((other) => other.index)).to.deep.equal([step.index]);
      }
    }
  });

  it("fails verification when the salt is altered, even with the leaf recomputed for it", async () => {
    const paymentIndex = committed.steps.findIndex((s) => s.stepName === "payment");
    const original = discloseStep(committed, paymentIndex);
    expect((await verifyDisclosure(roundTrip(original))).valid).to.equal(true);

    const altered = roundTrip(original);
    altered.step.salt = bump(altered.step.salt);
    const result = await verifyDisclosure(roundTrip(altered));
    expect(result).to.include({ valid: false });
    expect(result.reasons).to.include("the stated leaf is not the hash of the step record");

    // A forger who also restates the leaf: the path from the new leaf misses the trace root.
    altered.leaf = stepLeaf(stepRecordOf(altered.step)).toString();
    const forged = await verifyDisclosure(roundTrip(altered), { registry: chain });
    expect(forged.valid).to.equal(false);
    expect(forged.reasons.join("\n")).to.match(/lead to trace root 0x[0-9a-f]+, the disclosure states/);

    // A salt that is not a field element, and a disclosure without one.
    const huge = roundTrip(original);
    huge.step.salt = (BigInt(huge.step.salt) + SNARK_SCALAR_FIELD).toString();
    expect((await verifyDisclosure(roundTrip(huge))).valid).to.equal(false);
    const doc = JSON.parse(JSON.stringify(original));
    delete doc.step.salt;
    expect(() => parseDisclosure(doc)).to.throw(DisclosureError, /malformed at step\.salt/);
  });

  it("an attested call comes with the key's path in the provider set; a declared one is shown declared", async () => {
    const payment = discloseStep(
      committed,
      committed.steps.findIndex((s) => s.stepName === "payment"),
    );
    expect(payment.provider?.providerSetRoot).to.equal(committed.providerSet.root);
    expect((await verifyDisclosure(payment, { registry: chain })).call).to.deep.equal({
      callSeq: 1,
      system: "payment",
      operation: "payment.charge",
      evidence: "attested",
    });

    const failed = rolledBack.steps.find((s) => s.status === "FAILED")!;
    const doc = discloseStep(rolledBack, failed.index);
    expect(doc.provider).to.equal(undefined);
    const result = await verifyDisclosure(doc, { registry: chain });
    expect(result).to.include({ valid: true, onChain: true });
    expect(result.step).to.include({ name: "logistics", status: "FAILED" });
    expect(result.call?.evidence).to.equal("declared");
  });

  it("a tampered disclosure is rejected, with a reason", async () => {
    const paymentIndex = committed.steps.findIndex((s) => s.stepName === "payment");
    const original = discloseStep(committed, paymentIndex);
    const tamperings: [string, (doc: StepDisclosure) => void][] = [
      ["leaf", (d) => (d.leaf = bump(d.leaf))],
      [
        "merklePath.pathElements[0]",
        (d) => (d.merklePath.pathElements[0] = bump(d.merklePath.pathElements[0])),
      ],
      [
        "merklePath.pathElements[3]",
        (d) => (d.merklePath.pathElements[3] = bump(d.merklePath.pathElements[3])),
      ],
      [
        "merklePath.pathIndices[0]",
        (d) => (d.merklePath.pathIndices[0] = d.merklePath.pathIndices[0] ? 0 : 1),
      ],
      ["traceRoot", (d) => (d.traceRoot = flipHex(d.traceRoot))],
      ["workflowId", (d) => (d.workflowId = flipHex(d.workflowId))],
      ["outcome", (d) => (d.outcome = "ROLLED_BACK")],
      ["stepCount", (d) => (d.stepCount += 1)],
      ["traceDepth", (d) => (d.traceDepth += 1)],
      ["templateId", (d) => (d.templateId = flipHex(d.templateId))],
      ["step.response[2] (the amount captured)", (d) => (d.step.response[2] = bump(d.step.response[2]))],
      ["step.request[0]", (d) => (d.step.request[0] = bump(d.step.request[0]))],
      ["step.status", (d) => (d.step.status = "FAILED")],
      ["step.index", (d) => (d.step.index = 3)],
      ["step.salt", (d) => (d.step.salt = bump(d.step.salt))],
      ["step.stepName", (d) => (d.step.stepName = "logistics")],
      ["call.responseHash", (d) => (d.call!.responseHash = bump(d.call!.responseHash))],
      ["call.response JSON", (d) => ((d.call!.response as { amountCents: number }).amountCents += 100)],
      [
        "call.attestation.signature.S",
        (d) => (d.call!.attestation!.signature.S = bump(d.call!.attestation!.signature.S)),
      ],
      ["call.attestation (removed)", (d) => delete d.call!.attestation],
      [
        "provider.merklePath.pathElements[0]",
        (d) => (d.provider!.merklePath.pathElements[0] = bump(d.provider!.merklePath.pathElements[0])),
      ],
      [
        "provider.key.publicKey[0]",
        (d) => (d.provider!.key.publicKey[0] = bump(d.provider!.key.publicKey[0])),
      ],
      ["provider (removed)", (d) => delete d.provider],
    ];
    for (const [field, tamper] of tamperings) {
      const doc = roundTrip(original);
      tamper(doc);
      const result = await verifyDisclosure(roundTrip(doc));
      expect(result.valid, `${field} changed`).to.equal(false);
      const failures = result.reasons.filter((r) => !r.startsWith("not checked on chain"));
      expect(failures, field).to.have.length.greaterThan(0);
    }

    // What only the chain can tell: a self-consistent disclosure of another trace root, or another transaction.
    const another = roundTrip(original);
    another.traceRoot = rolledBack.traceRoot;
    expect((await verifyDisclosure(another, { registry: chain })).valid).to.equal(false);
    const otherTx = roundTrip(original);
    otherTx.chain!.txHash = rolledBack.submission!.txHash;
    const result = await verifyDisclosure(otherTx, { registry: chain });
    expect(result).to.include({ valid: false, onChain: false });
    expect(result.reasons.join("\n")).to.match(/the chain recorded the run in transaction/);
  });

  it("a disclosed call's JSON is exactly what the step's fields encode: an extra, a missing or a hidden key is invalid, named", async () => {
    const paymentIndex = committed.steps.findIndex((s) => s.stepName === "payment");
    const original = discloseStep(committed, paymentIndex);
    const response = original.call!.response as { paymentRef: string };
    const where = `step ${paymentIndex} (payment), call 1 (payment.charge) response`;
    type Json = Record<string, unknown>;
    const cases: [(doc: StepDisclosure) => void, string][] = [
      [
        (d) => ((d.call!.response as Json).refundedCents = 6779),
        `${where}: key refundedCents (6779) is not one the committed fields encode: they encode ${JSON.stringify(response)}`,
      ],
      [
        (d) => delete (d.call!.response as Json).paymentRef,
        `${where}: key paymentRef is missing: the committed fields encode "${response.paymentRef}"`,
      ],
      [
        (d) => ((d.call!.response as Json).paymentRef = "\u0000" + response.paymentRef),
        `${where}: key paymentRef is "\\u0000${response.paymentRef}", the committed fields encode "${response.paymentRef}"`,
      ],
    ];
    for (const [tamper, reason] of cases) {
      const doc = roundTrip(original);
      tamper(doc);
      const result = await verifyDisclosure(roundTrip(doc), { registry: chain });
      expect(result, reason).to.include({ valid: false });
      expect(result.reasons, reason).to.include(reason);
    }
    // A key the disclosure format does not define: refused when read, a finding when handed over as an object.
    const extra = { ...roundTrip(original), approvedBy: "audit" };
    expect(() => parseDisclosure(JSON.parse(JSON.stringify(extra)))).to.throw(
      DisclosureError,
      `has keys that ${DISCLOSURE_FORMAT} does not define: approvedBy`,
    );
    expect((await verifyDisclosure(extra)).reasons).to.include(
      `the disclosure has key approvedBy, which ${DISCLOSURE_FORMAT} does not define`,
    );
  });

  it("a disclosure against a registry that never saw the run is not recorded there", async () => {
    const [signer] = await ethers.getSigners();
    const deployment = await deployWesflow({ signer, providers: recorded.session.systems.providers });
    const other: RegistryView = {
      network: "hardhat",
      chainId: deployment.chainId,
      registry: WorkflowRegistry__factory.connect(deployment.registry, signer),
      deployment,
    };
    const doc = roundTrip(discloseStep(committed, 0));
    const elsewhere = await verifyDisclosure(doc, { registry: other });
    expect(elsewhere).to.include({ valid: false, onChain: false });
    expect(elsewhere.reasons[0]).to.match(/the run was recorded on chain \d+ by registry/);
    delete doc.chain;
    const unknown = await verifyDisclosure(doc, { registry: other });
    expect(unknown).to.include({ valid: false, recorded: false });
    expect(unknown.checks).to.deep.equal({ disclosure: "passed", chain: "failed" });
  });

  it("refuses to disclose a step that does not exist, or from a bundle whose steps do not hash to its root", () => {
    expect(() => discloseStep(committed, committed.steps.length)).to.throw(
      DisclosureError,
      /there is no step 6/,
    );
    const tampered = JSON.parse(JSON.stringify(committed)) as RunBundle;
    tampered.steps[1].response[0] = bump(tampered.steps[1].response[0]);
    expect(() => discloseStep(tampered, 2)).to.throw(DisclosureError, /do not hash to its trace root/);
  });

  it("rejects a malformed disclosure document with a one-line reason", () => {
    const doc = JSON.parse(JSON.stringify(discloseStep(committed, 0)));
    expect(() => parseDisclosure({ ...doc, format: "wesflow.step-disclosure/1" })).to.throw(
      DisclosureError,
      /is in format wesflow\.step-disclosure\/1, made by an older wesflow before trace leaves were salted/,
    );
    expect(() => parseDisclosure({ ...doc, format: "wesflow.step-disclosure/3" })).to.throw(
      DisclosureError,
      /made by a newer wesflow; this version reads wesflow\.step-disclosure\/2 only/,
    );
    expect(() => parseDisclosure({ ...doc, format: "a step" })).to.throw(
      DisclosureError,
      /malformed at format/,
    );
    delete doc.merklePath;
    expect(() => parseDisclosure(doc)).to.throw(DisclosureError, /malformed at merklePath/);
  });
});
