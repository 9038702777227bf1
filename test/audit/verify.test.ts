import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ethers } from "hardhat";
import {
  bundleVerificationJson,
  formatAuditTrail,
  formatBundleVerification,
  readAuditTrail,
  verifyBundle,
  type RegistryView,
} from "../../src/audit";
import { BUNDLE_FORMAT, BundleError, readBundle, RunBundleSchema, type RunBundle } from "../../src/bundle";
import { decodeString, toHex32 } from "../../src/crypto";
import { deployWesflow, type ScenarioSession } from "../../src/pipeline";
import { circuitInstance, verificationKeyHash } from "../../src/prover";
import { stateDomainId, stateKeyField } from "../../src/state";
import { WorkflowRegistry__factory } from "../../typechain-types";
import { recordBundles, type RecordedBundles } from "../fixtures/recordedBundles";

const bump = (decimal: string) => (BigInt(decimal) + 1n).toString();
const flipHex = (hex: string) => hex.slice(0, -1) + (hex.endsWith("0") ? "1" : "0");
const OTHER_TEMPLATE: Record<string, string> = {
  OrderStateSaga_4_3_10: "OrderStateWorkflow_4_3_10",
  OrderStateWorkflow_4_3_10: "OrderStateSaga_4_3_10",
};
const otherTemplate = (name: string) => OTHER_TEMPLATE[name] ?? "OrderStateSaga_4_3_10";
const copy = (bundle: RunBundle): RunBundle => JSON.parse(JSON.stringify(bundle)) as RunBundle;

interface StateTampering {
  field: string;
  tamper(bundle: RunBundle): void;
  /** The state reason verify must give, per outcome of the tampered bundle. */
  reason: Record<RunBundle["outcome"], RegExp>;
}

const both = (reason: RegExp) => ({ COMMITTED: reason, ROLLED_BACK: reason });

/**
 * Each field of a state run's `state`, changed in a way the schema still accepts: the roots and the
 * domain of every state run, each field of a committed run's write, and a write added to a rolled-back
 * run (which has none).
 */
function stateTamperings(bundle: RunBundle, committedBundle: RunBundle): StateTampering[] {
  const flipBit = (bit: number) => (bit === 0 ? 1 : 0);
  const w0 = (b: RunBundle) => b.state!.writes[0];
  const common: StateTampering[] = [
    {
      field: "state.rootBefore",
      tamper: (b) => (b.state!.rootBefore = bump(b.state!.rootBefore)),
      reason: {
        COMMITTED:
          /write 0 \("SKU-COFFEE-1KG"\): its leaf before \(value \d+\) and path lead to root 0x[0-9a-f]{64}, not the state's rootBefore/,
        ROLLED_BACK: /the state has no writes, yet its rootAfter 0x[0-9a-f]{64} is not its rootBefore/,
      },
    },
    {
      field: "state.rootAfter",
      tamper: (b) => (b.state!.rootAfter = bump(b.state!.rootAfter)),
      reason: {
        COMMITTED: /the state's writes lead to root 0x[0-9a-f]{64}, not the state's rootAfter/,
        ROLLED_BACK: /the state has no writes, yet its rootAfter 0x[0-9a-f]{64} is not its rootBefore/,
      },
    },
    {
      field: "state.domain",
      tamper: (b) => (b.state!.domain = "order/cash"),
      reason: both(/the bundle's state is of domain "order\/cash", template \w+ moves "order\/stock"/),
    },
    {
      field: "state.domainId",
      tamper: (b) => (b.state!.domainId = flipHex(b.state!.domainId)),
      reason: both(
        /the state's domainId is 0x[0-9a-f]{64}, the id of domain "order\/stock" is 0x[0-9a-f]{64}/,
      ),
    },
    {
      field: "state (removed)",
      tamper: (b) => delete b.state,
      reason: both(
        /template \w+ proves a transition of state domain "order\/stock": the bundle has no state/,
      ),
    },
  ];
  if (bundle.outcome === "ROLLED_BACK") {
    return [
      ...common,
      {
        field: "state.writes (a committed run's write added)",
        tamper: (b) => b.state!.writes.push(copy(committedBundle).state!.writes[0]),
        reason: both(
          /the run's order trace \(ROLLED_BACK\) makes 0 state changes, the bundle's state has 1 writes/,
        ),
      },
    ];
  }
  const write = 'write 0 \\("SKU-COFFEE-1KG"\\)';
  const at = (rest: string) => new RegExp(`${write}: ${rest}`);
  return [
    ...common,
    {
      field: "state.writes[0].valueBefore",
      tamper: (b) => (w0(b).valueBefore = bump(w0(b).valueBefore)),
      reason: both(at(`its valueAfter is \\d+; the run's change \\(take 3\\) from \\d+ gives \\d+`)),
    },
    {
      field: "state.writes[0].valueAfter",
      tamper: (b) => (w0(b).valueAfter = bump(w0(b).valueAfter)),
      reason: both(at(`its valueAfter is \\d+; the run's change \\(take 3\\) from \\d+ gives \\d+`)),
    },
    {
      field: "state.writes[0].valueBefore and valueAfter (both + 1: the quantity still matches)",
      tamper: (b) => {
        w0(b).valueBefore = bump(w0(b).valueBefore);
        w0(b).valueAfter = bump(w0(b).valueAfter);
      },
      reason: both(at(`its leaf before \\(value \\d+\\) and path lead to root .*not the state's rootBefore`)),
    },
    {
      field: "state.writes[0].keyField",
      tamper: (b) => (w0(b).keyField = bump(w0(b).keyField)),
      reason: both(at(`its keyField is \\d+, key "SKU-COFFEE-1KG" encodes to \\d+`)),
    },
    {
      field: "state.writes[0].key",
      tamper: (b) => (w0(b).key = "SKU-TEA-250G"),
      reason: both(/write 0 \("SKU-TEA-250G"\): the run's change 0 is to "SKU-COFFEE-1KG"/),
    },
    {
      field: "state.writes[0].key and keyField (another SKU, consistently)",
      tamper: (b) => {
        w0(b).key = "SKU-TEA-250G";
        w0(b).keyField = stateKeyField("SKU-TEA-250G").toString();
      },
      reason: both(/write 0 \("SKU-TEA-250G"\): the run's change 0 is to "SKU-COFFEE-1KG"/),
    },
    {
      field: "state.writes[0].inserted",
      tamper: (b) => (w0(b).inserted = true),
      reason: both(at(`it adds the key, which the scenario's state domain does not allow`)),
    },
    {
      field: "state.writes[0].pathElements[3]",
      tamper: (b) => (w0(b).pathElements[3] = bump(w0(b).pathElements[3])),
      reason: both(
        at(
          `its leaf before \\(value \\d+\\) and path lead to root 0x[0-9a-f]{64}, not the state's rootBefore`,
        ),
      ),
    },
    {
      field: "state.writes[0].pathElements (one removed)",
      tamper: (b) => w0(b).pathElements.pop(),
      reason: both(at(`its path has 9 elements and 10 indices, the state tree has depth 10`)),
    },
    {
      field: "state.writes[0].pathIndices[0]",
      tamper: (b) => (w0(b).pathIndices[0] = flipBit(w0(b).pathIndices[0])),
      reason: both(at(`its path indices [01]{10} \\(bottom-up\\) are not the bits of slot \\d+`)),
    },
    {
      field: "state.writes[0].slot",
      tamper: (b) => (w0(b).slot = w0(b).slot ^ 1),
      reason: both(at(`its path indices [01]{10} \\(bottom-up\\) are not the bits of slot \\d+`)),
    },
    {
      field: "state.writes[0].valueBefore below the quantity",
      tamper: (b) => (w0(b).valueBefore = "1"),
      reason: both(at(`its valueBefore is 1: the run's change \\(take 3\\) would make it negative`)),
    },
    {
      field: "state.writes (the write removed)",
      tamper: (b) => b.state!.writes.pop(),
      reason: both(
        /the run's order trace \(COMMITTED\) makes 1 state changes, the bundle's state has 0 writes/,
      ),
    },
    {
      field: "state.writes (the write twice)",
      tamper: (b) => b.state!.writes.push(copy(b).state!.writes[0]),
      reason: both(
        /the run's order trace \(COMMITTED\) makes 1 state changes, the bundle's state has 2 writes/,
      ),
    },
  ];
}

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
    { field: "binding.runNonce", tamper: (b) => (b.binding.runNonce = bump(b.binding.runNonce)) },
    { field: "binding.workflowTag", tamper: (b) => (b.binding.workflowTag = bump(b.binding.workflowTag)) },
    {
      field: "binding.submitter",
      tamper: (b) => (b.binding.submitter = "0x70997970c51812dc3a010c7d01b50e0d17dc79c8"),
    },
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
    ...bundle.proof!.publicSignals.map((_, i) => ({
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
      {
        field: `${at}.status`,
        tamper: (b) => (b.steps[index].status = b.steps[index].status === "FAILED" ? "OK" : "FAILED"),
      },
      { field: `${at}.callSeq`, tamper: (b) => (b.steps[index].callSeq += 7) },
      { field: `${at}.operation`, tamper: (b) => (b.steps[index].operation += 1) },
      { field: `${at}.evidence`, tamper: (b) => (b.steps[index].evidence = "DECLARED") },
      { field: `${at}.salt`, tamper: (b) => (b.steps[index].salt = bump(b.steps[index].salt)) },
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
    // What a reader sees beside the committed fields: the JSON must be what the fields encode.
    {
      field: `${call}.response.refundedCents (added)`,
      tamper: (b) => ((b.calls[0].response as Record<string, unknown>).refundedCents = 6779),
    },
    {
      field: `${call}.response.paymentRef (removed)`,
      tamper: (b) => delete (b.calls[0].response as Record<string, unknown>).paymentRef,
    },
    {
      field: `${call}.response.paymentRef (a leading NUL: the same field encoding)`,
      tamper: (b) => {
        const response = b.calls[0].response as { paymentRef: string };
        response.paymentRef = "\u0000" + response.paymentRef;
      },
    },
    { field: `${call}.response (removed)`, tamper: (b) => (b.calls[0].response = null) },
    {
      field: `${call}.request.note (added)`,
      tamper: (b) => ((b.calls[0].request as Record<string, unknown>).note = "refund approved"),
    },
    {
      field: `steps[${callStep}].note (a key the bundle format does not define)`,
      tamper: (b) => ((b.steps[callStep] as Record<string, unknown>).note = "refunded"),
    },
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
  let settled: RunBundle;

  before(async () => {
    recorded = await recordBundles("wesflow-verify-");
    ({ session, committed, rolledBack, settled } = recorded);
    chain = session.chain;
  });

  after(() => recorded?.close());

  /** What `wesflow audit` asks: the registry's runs, with the bundles of `runsDir`, against this network's deployment. */
  const auditQuery = (runsDir: string) => ({
    registry: chain.registry,
    provider: ethers.provider,
    network: chain.network,
    deployment: chain.deployment,
    runsDir,
  });

  /** A runs folder holding these bundles (as files, the way runs leave them). */
  const runsDirWith = (bundles: RunBundle[]) => {
    const runsDir = fs.mkdtempSync(path.join(os.tmpdir(), "wesflow-audit-runs-"));
    for (const bundle of bundles) {
      fs.mkdirSync(path.join(runsDir, bundle.workflowId));
      fs.writeFileSync(path.join(runsDir, bundle.workflowId, "bundle.json"), JSON.stringify(bundle, null, 2));
    }
    return runsDir;
  };

  it("a committed run's bundle is valid offline, with every call attested, and not checked on chain", async () => {
    const result = await verifyBundle({ bundle: committed });
    expect(result.reasons.join("; ")).to.match(/^not checked on chain/);
    expect(result).to.include({ valid: true, onChain: false });
    expect(result.checks).to.deep.equal({
      proof: "passed",
      publicSignals: "passed",
      binding: "passed",
      traceRoot: "passed",
      providerSet: "passed",
      calls: "passed",
      labels: "passed",
      state: "passed",
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
      "logistics.status": "attested",
      "payment.refund": "attested",
    });
    const ship = result.calls.find((c) => c.operation === "logistics.ship")!;
    expect(ship.signatureVerified).to.equal(false);
    expect(ship.settledBy).to.equal(3);
    expect(result.calls.find((c) => c.operation === "logistics.status")?.settles).to.deep.equal({
      callSeq: 2,
      operation: "logistics.ship",
      outcome: "NO_EFFECT",
    });
  });

  it("a settled run's bundle is valid: the failed charge settled by the payment system's attested status query (TOOK_EFFECT), then refunded", async () => {
    const result = await verifyBundle({ bundle: settled, registry: chain });
    expect(result.reasons).to.deep.equal([]);
    expect(result).to.include({ valid: true, onChain: true, outcome: "ROLLED_BACK" });
    expect(result.calls.map((c) => [c.callSeq, c.operation, c.evidence, c.signatureVerified])).to.deep.equal([
      [1, "payment.charge", "settled", false],
      [2, "payment.status", "attested", true],
      [3, "payment.refund", "attested", true],
    ]);
    expect(result.calls[0].settledBy).to.equal(2);
    expect(result.calls[1].settles).to.deep.equal({
      callSeq: 1,
      operation: "payment.charge",
      outcome: "TOOK_EFFECT",
    });
    expect(result.steps.map((s) => `${s.name} ${s.phase}`)).to.deep.equal([
      "create_order FORWARD",
      "reserve_inventory FORWARD",
      "payment FORWARD",
      "payment.settle SETTLE",
      "refund_payment COMPENSATE",
      "release_inventory COMPENSATE",
      "cancel_order COMPENSATE",
    ]);
    expect(result.steps[3].settles).to.equal("payment");
    const text = formatBundleVerification(result, "settled.json");
    expect(text).to.match(/\(2 attested, 1 settled, 0 declared\)/);
    expect(text).to.match(/1\. payment +→ payment payment\.charge \[settled\] \(settled by call 2\)/);
    expect(text).to.match(
      /2\. payment\.settle +→ payment payment\.status \[attested\]: payment\.charge \(call 1\) TOOK_EFFECT/,
    );
  });

  it("a settled run is never shown better than its status query: without its signature, or claiming NO_EFFECT, or not bound to the call", async () => {
    const without = copy(settled);
    delete without.calls[1].attestation;
    let result = await verifyBundle({ bundle: without });
    expect(result.valid).to.equal(false);
    expect(result.calls.map((c) => c.evidence)).to.deep.equal(["declared", "declared", "attested"]);
    expect(result.reasons.join("\n")).to.match(
      /call 2 \(payment\.status\): step payment\.settle claims attested evidence/,
    );

    // "no effect" claimed: the query's outcome and the charge's record edited (the refund left in)
    const noEffect = copy(settled);
    noEffect.steps[3].response[0] = "2";
    result = await verifyBundle({ bundle: noEffect });
    expect(result.valid).to.equal(false);
    expect(result.reasons.join("\n")).to.match(
      /the failed record claims the call took effect, the query says NO_EFFECT/,
    );
    expect(result.calls[0].evidence).to.equal("declared");

    // a query of another call
    const other = copy(settled);
    other.steps[3].request[0] = "3";
    result = await verifyBundle({ bundle: other });
    expect(result.reasons.join("\n")).to.match(/it queries call 3, operation 101, not call 1's own/);

    // a failed call claimed settled without a status query after it
    const bare = copy(settled);
    bare.steps[3].phase = "COMPENSATE";
    result = await verifyBundle({ bundle: bare });
    expect(result.reasons.join("\n")).to.match(/got no usable answer and no status query settles it/);
  });

  it("tampering with any field of a bundle makes it invalid, with a reason", async () => {
    // A settled bundle's own tamperings are the test above ("never shown better than its status
    // query"); this list is made for ordinary calls (every call attested or declared).
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

  it("a bundle whose run id is not bound as it says (nonce, tag, submitter) fails the binding check, naming why", async () => {
    const cases: [string, (b: RunBundle) => void, RegExp][] = [
      [
        "nonce",
        (b) => (b.binding.runNonce = bump(b.binding.runNonce)),
        /is not Poseidon\(submitter, workflowTag, runNonce\)/,
      ],
      [
        "tag",
        (b) => (b.binding.workflowTag = bump(b.binding.workflowTag)),
        /bound to workflow 0x[0-9a-f]{64}, not to template \S+'s/,
      ],
      [
        "submitter",
        (b) => (b.binding.submitter = "0x70997970c51812dc3a010c7d01b50e0d17dc79c8"),
        /bound to submitter 0x70997970c51812dc3a010c7d01b50e0d17dc79c8; the proof's run claim binds 0x/,
      ],
    ];
    for (const [what, tamper, reason] of cases) {
      const bundle = copy(committed);
      tamper(bundle);
      const result = await verifyBundle({ bundle });
      expect(result.valid, what).to.equal(false);
      expect(result.checks.binding, what).to.equal("failed");
      expect(result.reasons.join(" | "), what).to.match(reason);
    }
  });

  it("a call's JSON is exactly what its step's fields encode: a key added, left out or changed is invalid, naming the step, the call and the key", async () => {
    const at = committed.calls.findIndex((c) => c.operationName === "payment.charge");
    const charge = committed.calls[at];
    const step = committed.steps[charge.stepIndex];
    const response = charge.response as { status: string; paymentRef: string; amountCents: number };
    expect(step.stepName).to.equal("payment");
    const where = `step ${step.index} (payment), call ${charge.callSeq} (payment.charge)`;
    type Json = Record<string, unknown>;
    const cases: [string, (call: RunBundle["calls"][number]) => void, string][] = [
      [
        "an extra response key",
        (c) => ((c.response as Json).refundedCents = 6779),
        `${where} response: key refundedCents (6779) is not one the committed fields encode: they encode ${JSON.stringify(response)}`,
      ],
      [
        "a missing response key",
        (c) => delete (c.response as Json).paymentRef,
        `${where} response: key paymentRef is missing: the committed fields encode "${response.paymentRef}"`,
      ],
      [
        "a value the field encoding does not tell apart (a leading NUL)",
        (c) => ((c.response as Json).paymentRef = "\u0000" + response.paymentRef),
        `${where} response: key paymentRef is "\\u0000${response.paymentRef}", the committed fields encode "${response.paymentRef}"`,
      ],
      [
        "a changed value",
        (c) => ((c.response as Json).amountCents = response.amountCents + 100),
        `${where} response: key amountCents is ${response.amountCents + 100}, the committed fields encode ${response.amountCents}`,
      ],
      [
        "an extra request key",
        (c) => ((c.request as Json).note = "refund approved"),
        `${where} request: key note ("refund approved") is not one the committed fields encode: they encode ${JSON.stringify(charge.request)}`,
      ],
      [
        "no response JSON for an attested call",
        (c) => (c.response = null),
        `${where} response: the JSON is missing; its committed fields encode ${JSON.stringify(response)}`,
      ],
    ];
    for (const [what, tamper, reason] of cases) {
      const bundle = copy(committed);
      tamper(bundle.calls[at]);
      const result = await verifyBundle({ bundle });
      expect(result.valid, what).to.equal(false);
      // Only the JSON changed: the proof, the trace and the attestations still hold.
      expect(result.checks, what).to.deep.include({
        proof: "passed",
        traceRoot: "passed",
        calls: "passed",
        labels: "failed",
      });
      expect(result.reasons, what).to.include(reason);
      expect(formatBundleVerification(result, "bundle.json"), what).to.include(`  - ${reason}`);
    }
  });

  it("a key the bundle format does not define is a finding too (and a file with one is refused when read)", async () => {
    const bundle = copy(committed);
    (bundle.steps[2] as Record<string, unknown>).note = "refunded";
    (bundle as Record<string, unknown>).approvedBy = "audit";
    const result = await verifyBundle({ bundle });
    expect(result.valid).to.equal(false);
    expect(result.reasons).to.include.members([
      `the bundle has key steps.2.note, which ${BUNDLE_FORMAT} does not define`,
      `the bundle has key approvedBy, which ${BUNDLE_FORMAT} does not define`,
    ]);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "wesflow-extra-key-"));
    try {
      const file = path.join(dir, "bundle.json");
      fs.writeFileSync(file, JSON.stringify(bundle));
      expect(() => readBundle(file)).to.throw(
        BundleError,
        `has keys that ${BUNDLE_FORMAT} does not define: steps.2.note, approvedBy`,
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
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
    const query = auditQuery(`${recorded.dataDir}/runs`);
    const rolled = await readAuditTrail({ ...query, outcome: "ROLLED_BACK" });
    expect(rolled.map((e) => e.workflowId).sort()).to.deep.equal(
      [rolledBack.workflowId, settled.workflowId].sort(),
    );
    const done = await readAuditTrail({ ...query, outcome: "COMMITTED" });
    expect(done.map((e) => e.workflowId)).to.deep.equal([committed.workflowId]);
  });

  it("a bundle on this machine that cannot be read leaves its run without a trail, not the audit without entries", async () => {
    const runsDir = fs.mkdtempSync(path.join(os.tmpdir(), "wesflow-old-bundle-"));
    try {
      for (const bundle of [committed, rolledBack]) {
        fs.mkdirSync(path.join(runsDir, bundle.workflowId));
        const text = JSON.stringify(
          bundle.workflowId === committed.workflowId ? { ...bundle, format: "wesflow.run-bundle/1" } : bundle,
        );
        fs.writeFileSync(path.join(runsDir, bundle.workflowId, "bundle.json"), text);
      }
      const entries = await readAuditTrail(auditQuery(runsDir));
      const byId = new Map(entries.map((e) => [e.workflowId, e]));
      const old = byId.get(committed.workflowId)!;
      expect(old.trail).to.equal(undefined);
      expect(old.bundleProblem).to.match(/is in format wesflow\.run-bundle\/1, made by an older wesflow/);
      expect(formatAuditTrail(entries, "hardhat")).to.match(
        /trail {8}bundle unreadable: bundle .* is in format wesflow\.run-bundle\/1/,
      );
      expect(byId.get(rolledBack.workflowId)?.trail?.matchesChain).to.equal(true);
    } finally {
      fs.rmSync(runsDir, { recursive: true, force: true });
    }
  });

  it("audit runs verify's checks: a bundle renamed after the fact (payment → refund, payment.charge → payment.refund) fails them there too, with verify's findings, never shown as verified", async () => {
    const renamed = copy(committed);
    const step = renamed.steps.find((s) => s.stepName === "payment")!;
    step.stepName = "refund";
    const call = renamed.calls.find((c) => c.stepIndex === step.index)!;
    call.operationName = "payment.refund";
    const findings = [
      `step ${step.index} is named refund, its code ${step.stepCode} is payment`,
      `call ${call.callSeq} is named payment.refund, its operation code 101 is payment.charge`,
    ];
    // The names are not committed: the trace root, the proof and the attestations still hold.
    const verdict = await verifyBundle({ bundle: renamed, registry: chain });
    expect(verdict).to.include({ valid: false });
    expect(verdict.checks).to.include({
      traceRoot: "passed",
      proof: "passed",
      chain: "passed",
      labels: "failed",
    });
    expect(verdict.reasons).to.include.members(findings);

    const runsDir = runsDirWith([renamed, rolledBack]);
    try {
      const entries = await readAuditTrail(auditQuery(runsDir));
      const entry = entries.find((e) => e.workflowId === committed.workflowId)!;
      expect(entry.trail?.verified).to.equal(false);
      expect(entry.trail?.matchesChain).to.equal(false);
      expect(entry.trail?.problems).to.deep.equal(verdict.reasons); // on chain: findings only, no notes
      expect(entry.trail?.problems).to.include.members(findings);
      expect(entries.find((e) => e.workflowId === rolledBack.workflowId)?.trail?.verified).to.equal(true);

      const text = formatAuditTrail(entries, "hardhat");
      expect(text).not.to.include("bundle matches the on-chain trace root");
      const block = text.slice(text.indexOf(`● workflow ${committed.workflowId}`)).split("\n\n")[0];
      expect(block).to.include(
        "trail        BUNDLE FAILS VERIFICATION (wesflow verify finds it invalid against the registry):",
      );
      for (const finding of findings) expect(block).to.include(`  - ${finding}`);
      // The false names appear only below the heading that says they are the bundle's, not verified.
      const heading = "steps, names and calls as the bundle states them, NOT verified:";
      expect(block).to.include(heading);
      const claims = block.slice(block.indexOf(heading));
      expect(claims).to.match(/refund +FORWARD +OK +→ payment payment\.refund \[attested\]/);
      expect(block.slice(0, block.indexOf(heading)).replace(/  - .*\n/g, "")).not.to.match(/refund/);
      const other = text.slice(text.indexOf(`● workflow ${rolledBack.workflowId}`)).split("\n\n")[0];
      expect(other).to.include(
        "trail        bundle verified against the registry: every check of wesflow verify passed (attestations re-verified)",
      );
      expect(other).not.to.include("NOT verified");
    } finally {
      fs.rmSync(runsDir, { recursive: true, force: true });
    }
  });

  it("audit without the bundles shows each run's template by the deployment's name, not only its id", async () => {
    const runsDir = runsDirWith([]);
    try {
      const entries = await readAuditTrail(auditQuery(runsDir));
      const byId = new Map(entries.map((e) => [e.workflowId, e]));
      for (const bundle of [committed, rolledBack]) {
        const entry = byId.get(bundle.workflowId)!;
        expect(entry.trail).to.equal(undefined);
        expect(entry).to.include({ templateId: bundle.templateId, template: bundle.template });
        expect(formatAuditTrail(entries, "hardhat")).to.include(
          `    template     ${bundle.template} (${bundle.templateId})`,
        );
      }
    } finally {
      fs.rmSync(runsDir, { recursive: true, force: true });
    }
  });

  it("the in-process network by name is not checked on chain (it lives only in one process)", async () => {
    const result = await verifyBundle({ bundle: committed, network: "hardhat", dataDir: recorded.dataDir });
    expect(result).to.include({ valid: true, onChain: false });
    expect(result.reasons[0]).to.match(/^not checked on chain: the in-process Hardhat network/);
  });

  describe("state runs: the order's stock transition", () => {
    it("a committed order's bundle states the stock it took; the state check passes offline", async () => {
      const state = committed.state!;
      expect(state).to.include({ domain: "order/stock", domainId: stateDomainId("order/stock") });
      expect(state.writes).to.have.length(1);
      const [write] = state.writes;
      expect(write.key).to.equal(decodeString(BigInt(committed.steps[0].request[2])));
      expect(write.inserted).to.equal(false);
      expect(BigInt(write.valueBefore) - BigInt(write.valueAfter)).to.equal(
        BigInt(committed.steps[0].request[3]),
      );
      expect(committed.proof!.publicSignals.slice(4)).to.deep.equal([state.rootBefore, state.rootAfter]);

      const result = await verifyBundle({ bundle: committed });
      expect(result.checks.state).to.equal("passed");
      expect(result.checks.publicSignals).to.equal("passed");
      expect(result.state).to.deep.equal({
        domain: "order/stock",
        domainId: stateDomainId("order/stock"),
        valueName: "stock",
        writes: [{ key: "SKU-COFFEE-1KG", valueBefore: write.valueBefore, valueAfter: write.valueAfter }],
        rootBefore: toHex32(BigInt(state.rootBefore)),
        rootAfter: toHex32(BigInt(state.rootAfter)),
        unchanged: false,
      });
      const report = formatBundleVerification(result, "bundle.json");
      expect(report).to.match(/^  ✓ state transition +passed$/m);
      expect(report).to.include(
        `state     order/stock: stock of SKU-COFFEE-1KG ${write.valueBefore} → ${write.valueAfter}, root ${toHex32(BigInt(state.rootBefore)).slice(0, 10)}…`,
      );
    });

    it("on chain, the run's WorkflowRecordedWithState event carries the bundle's domain and roots", async () => {
      const result = await verifyBundle({ bundle: committed, registry: chain });
      expect(result.reasons).to.deep.equal([]);
      expect(result.checks).to.include({ state: "passed", chain: "passed" });
      expect(result.state?.advance).to.deep.equal({
        blockNumber: committed.submission!.blockNumber,
        txHash: committed.submission!.txHash,
      });
      expect(formatBundleVerification(result, "bundle.json")).to.include(
        `advanced on chain in block ${committed.submission!.blockNumber}, tx ${committed.submission!.txHash}`,
      );
      const json = bundleVerificationJson(result);
      expect(Object.keys(json).slice(0, 3)).to.deep.equal(["valid", "onChain", "reasons"]);
      expect(JSON.parse(JSON.stringify(json))).to.deep.include({
        valid: true,
        onChain: true,
        state: result.state,
      });
    });

    it("a rolled-back order leaves the stock as it was: same root, same value, on chain too", async () => {
      const state = rolledBack.state!;
      expect(state.rootAfter).to.equal(state.rootBefore);
      expect(state.rootBefore).to.equal(committed.state!.rootAfter); // the committed run came first
      const result = await verifyBundle({ bundle: rolledBack, registry: chain });
      expect(result.reasons).to.deep.equal([]);
      expect(result.checks).to.include({ state: "passed", chain: "passed" });
      expect(state.writes).to.deep.equal([]);
      expect(result.state).to.deep.include({ unchanged: true, writes: [] });
      expect(formatBundleVerification(result, "bundle.json")).to.include(
        `state     order/stock: unchanged (rolled back), root 0x`,
      );
    });

    it("tampering with any field of the state makes the bundle invalid, with a state reason", async () => {
      for (const source of [committed, rolledBack]) {
        for (const { field, tamper, reason } of stateTamperings(source, committed)) {
          const bundle = copy(source);
          tamper(bundle);
          expect(JSON.stringify(bundle), `${field} did not change`).not.to.equal(JSON.stringify(source));
          RunBundleSchema.parse(bundle);
          const result = await verifyBundle({ bundle });
          const label = `${source.outcome} bundle with ${field} changed`;
          expect(result.valid, label).to.equal(false);
          expect(result.checks.state, label).to.equal("failed");
          expect(result.reasons.join("\n"), label).to.match(reason[source.outcome]);
        }
      }
    });

    it("a changed state root is refused by the public signals and shows against the chain's event", async () => {
      const bundle = copy(committed);
      bundle.state!.rootAfter = bump(bundle.state!.rootAfter);
      const result = await verifyBundle({ bundle, registry: chain });
      expect(result).to.include({ valid: false, onChain: false });
      expect(result.checks).to.include({ state: "failed", publicSignals: "failed", chain: "failed" });
      expect(result.reasons.join("\n")).to.match(
        /public signal stateRootAfter is \d+, the bundle's state gives rootAfter \d+/,
      );
      expect(result.reasons.join("\n")).to.match(
        /the chain's WorkflowRecordedWithState event recorded state root after 0x[0-9a-f]{64}, the bundle's state has 0x[0-9a-f]{64}/,
      );
    });

    it("a state bundle stripped of its state is refused on chain too: the chain moved the domain", async () => {
      const bundle = copy(committed);
      delete bundle.state;
      const result = await verifyBundle({ bundle, registry: chain });
      expect(result.checks).to.include({ state: "failed", chain: "failed" });
      expect(result.reasons.join("\n")).to.match(
        /the chain moved state domain 0x[0-9a-f]{64} from root 0x[0-9a-f]{64} to 0x[0-9a-f]{64} for this run, the bundle states no state/,
      );
      expect(result.state).to.equal(undefined);
    });

    it("a state template's proof has six public signals: four are refused", async () => {
      const bundle = copy(committed);
      bundle.proof!.publicSignals = bundle.proof!.publicSignals.slice(0, 4);
      const result = await verifyBundle({ bundle });
      expect(result.checks.publicSignals).to.equal("failed");
      expect(result.reasons.join("\n")).to.include(
        `the proof has 4 public signals, template ${committed.template} has 6`,
      );
    });

    it("a template that moves no state takes no state and no state roots among its public signals", async () => {
      const bundle = copy(committed);
      bundle.template = "WorkflowTrace_8_4";
      bundle.proof!.instance = "WorkflowTrace_8_4";
      const result = await verifyBundle({ bundle });
      expect(result.valid).to.equal(false);
      expect(result.checks.state).to.equal("failed");
      expect(result.reasons.join("\n")).to.match(
        /template WorkflowTrace_8_4 moves no state, yet the bundle states a transition of state domain "order\/stock"/,
      );
      expect(result.reasons.join("\n")).to.include(
        "the proof has 6 public signals, template WorkflowTrace_8_4 has 5",
      );
    });

    it("the audit trail shows each state run's root move, read from WorkflowRecordedWithState events", async () => {
      const entries = await readAuditTrail(auditQuery(`${recorded.dataDir}/runs`));
      const byId = new Map(entries.map((e) => [e.workflowId, e]));
      const hex = (decimal: string) => toHex32(BigInt(decimal));
      expect(byId.get(committed.workflowId)?.state).to.deep.equal({
        domainId: stateDomainId("order/stock"),
        domain: "order/stock",
        rootBefore: hex(committed.state!.rootBefore),
        rootAfter: hex(committed.state!.rootAfter),
      });
      expect(byId.get(rolledBack.workflowId)?.state).to.include({
        rootBefore: hex(rolledBack.state!.rootBefore),
        rootAfter: hex(rolledBack.state!.rootBefore),
      });
      expect(entries.every((e) => e.trail?.matchesChain)).to.equal(true);
      const text = formatAuditTrail(entries, "hardhat");
      expect(text).to.include(
        `    state        order/stock root ${hex(committed.state!.rootBefore)} → ${hex(committed.state!.rootAfter)}`,
      );
      expect(text).to.include(
        `    state        order/stock root ${hex(rolledBack.state!.rootBefore)} unchanged`,
      );
      expect(JSON.parse(JSON.stringify(entries))[0]).to.have.property("state");
    });
  });
});
