import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pino from "pino";
import * as snarkjs from "snarkjs";
import { z } from "zod";
import { verifyBundle } from "../../src/audit";
import { readBundle, traceFromBundle, providerSetFromBundle, type RunBundle } from "../../src/bundle";
import { signMessage, toHex32 } from "../../src/crypto";
import { attestationMessage, hashFields } from "../../src/trace";
import { workflowLayoutOf } from "../../src/definition";
import {
  CallRejectedError,
  defineHttpOperation,
  HostInterface,
  idempotencyKeyOf,
  InvalidResponseError,
  OperationSpecError,
  SystemUnavailableError,
} from "../../src/host";
import { ScenarioSession } from "../../src/pipeline";
import { workflowTraceInput } from "../../src/prover";
import { loadOrCreateProviderKey, startNotary, type RunningNotary } from "../../src/systems";
import { startRefundsApi, type RefundsApi } from "../../examples/refunds-api";
import { lastLine, ROOT, wesflow } from "../fixtures/cli";

const EXAMPLE = path.join(ROOT, "examples", "refund.workflow.ts");
const WASM = path.join(
  ROOT,
  "build",
  "circuits",
  "WorkflowTrace_8_4",
  "WorkflowTrace_8_4_js",
  "WorkflowTrace_8_4.wasm",
);
const silent = pino({ level: "silent" });

/** What the notary answers: a signed body, or an error. */
interface NotaryAnswer {
  response: { outcome?: string; status?: number } & Record<string, unknown>;
  attestation: unknown;
  original?: { response: unknown };
  error: { code: string; message: string };
}

async function post(url: string, body: unknown): Promise<{ status: number; json: NotaryAnswer }> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as NotaryAnswer };
}

async function witnessPasses(input: Record<string, unknown>): Promise<boolean> {
  try {
    await snarkjs.wtns.calculate(input as never, WASM, { type: "mem" } as never);
    return true;
  } catch {
    return false;
  }
}

describe("the signing notary: a plain REST API (examples/refunds-api.ts) behind `wesflow notary`", function () {
  this.timeout(900_000);
  let dataDir: string;
  let api: RefundsApi;
  let notary: RunningNotary;
  let notaryKey: Buffer;
  let journalFile: string;
  let session: ScenarioSession;
  let committed: RunBundle;
  let ops: typeof import("../../examples/refund.workflow");

  before(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "wesflow-notary-"));
    api = await startRefundsApi();
    process.env.REFUNDS_API_URL = api.url;
    notaryKey = (await loadOrCreateProviderKey({ dataDir, system: "notary" })).privateKey;
    journalFile = path.join(dataDir, "notary", "notary.sqlite");
    notary = await startNotary({
      upstream: api.url,
      privateKey: notaryKey,
      journalFile,
      upstreamTimeoutMs: 1_000,
      logger: silent,
    });
    process.env.WESFLOW_NOTARY_URL = notary.url;
    session = await ScenarioSession.open({ scenario: EXAMPLE, network: "hardhat", dataDir, logger: silent });
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    ops = require(EXAMPLE) as typeof ops;
  });

  after(async () => {
    await session?.close();
    await notary?.close();
    await api?.close();
    delete process.env.WESFLOW_NOTARY_URL;
    delete process.env.REFUNDS_API_URL;
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it("a committed refund: both REST calls attested by the notary, recorded, and its bundle verifies offline", async () => {
    const run = await session.run(session.scenario.demoInput(1));
    expect(run.outcome).to.equal("COMMITTED");
    committed = readBundle(run.bundlePath);
    expect(committed.steps.map((s) => `${s.stepName}:${s.status}:${s.evidence}`)).to.deep.equal([
      "check:OK:NONE",
      "credit_note:OK:ATTESTED",
      "payout:OK:ATTESTED",
    ]);
    // The definition's rows name the notary (system 8) for both calls: the circuit checks its key.
    expect(
      committed.definition!.layout.steps.map((s) => [s.operation, s.system, s.settle?.operation]),
    ).to.deep.equal([
      [0, 0, undefined],
      [1001, 8, 801],
      [1003, 8, 801],
    ]);
    const [creditNote, payout] = committed.calls;
    expect(creditNote).to.deep.include({ system: "notary", operationName: "refunds.issue_credit_note" });
    expect(creditNote.attestation!.systemCode).to.equal(8);
    expect(creditNote.http).to.deep.include({ method: "POST", url: `${api.url}/credit-notes` });
    const answer = creditNote.response as { url: string; status: number; text: string };
    expect(Object.keys(answer)).to.deep.equal(["url", "status", "text"]);
    expect(answer.status).to.equal(201);
    expect(JSON.parse(answer.text).creditNote).to.deep.include({ orderId: "ORD-1", amountCents: 1999 });
    expect(payout.operationName).to.equal("refunds.pay_out");
    expect(api.performed).to.deep.equal({ "POST /credit-notes": 1, "POST /payouts": 1 });

    const offline = await verifyBundle({ bundle: committed });
    expect(offline.valid, offline.reasons.join("; ")).to.equal(true);
    expect(offline.calls.map((c) => `${c.system}:${c.operation}:${c.evidence}`)).to.deep.equal([
      "notary:refunds.issue_credit_note:attested-by-notary",
      "notary:refunds.pay_out:attested-by-notary",
    ]);
    const onChain = await verifyBundle({ bundle: committed, registry: session.chain });
    expect(onChain).to.include({ valid: true, onChain: true, recorded: true });
    // The figure the README gives: gas of a recorded run with two notarised calls.
    process.stdout.write(`      gas of the recorded run (2 notarised calls): ${run.gasUsed}\n`);
  });

  it("`wesflow verify` checks the bundle offline and shows the calls attested-by-notary", async () => {
    const file = path.join(dataDir, "committed.bundle.json");
    fs.writeFileSync(file, JSON.stringify(committed));
    const result = await wesflow(["verify", file, "--json"], { timeoutMs: 300_000 });
    expect(result.code, result.stderr).to.equal(0);
    const json = JSON.parse(lastLine(result.stdout)) as { valid: boolean; calls: { evidence: string }[] };
    expect(json.valid).to.equal(true);
    expect(json.calls.map((c) => c.evidence)).to.deep.equal(["attested-by-notary", "attested-by-notary"]);
    const text = await wesflow(["verify", file], { timeoutMs: 300_000 });
    expect(text.stdout).to.match(/2 attested by the notary/);
  });

  it("a tampered notary answer fails verify (the answer's text, or its fields with it)", async () => {
    const changed = structuredClone(committed);
    const answer = changed.calls[0].response as { text: string };
    answer.text = answer.text.replace('"amountCents":1999', '"amountCents":199900');
    const bad = await verifyBundle({ bundle: changed });
    expect(bad.valid).to.equal(false);
    expect(bad.reasons.join("; ")).to.match(
      /call 1 \(refunds\.issue_credit_note\) response: field 2 of the JSON shown/,
    );

    // The record's fields changed to match: the notary's signature (and the trace root) no longer hold.
    const refields = structuredClone(committed);
    refields.steps[1].response[2] = "199900";
    const worse = await verifyBundle({ bundle: refields });
    expect(worse.valid).to.equal(false);
    expect(worse.reasons.join("; ")).to.match(/signature does not verify/);
    expect(worse.calls[0].evidence).to.equal("declared");
  });

  it("the generic circuit checks the notary's key: the run's witness passes, a tampered answer or another key fails", async () => {
    const trace = traceFromBundle(committed);
    const providers = providerSetFromBundle(committed);
    const definition = session.scenario.createDefinition();
    const base = {
      layout: workflowLayoutOf(definition),
      providers,
      submitter: BigInt(committed.binding.submitter),
      traceDepth: 4,
      maxSteps: 8,
      maxCalls: 4,
    };
    const input = workflowTraceInput({ trace, ...base }) as Record<string, unknown>;
    expect(await witnessPasses(input)).to.equal(true);
    // The notary's answer altered in the record (amount 1999 → 199900): its signature fails in the circuit.
    const tampered = structuredClone(trace);
    tampered.steps[1].response[2] = 199_900n;
    const refused = {
      ...input,
      ...pick(workflowTraceInput({ trace: tampered, ...base }), ["response", "traceRoot"]),
    };
    expect(await witnessPasses(refused)).to.equal(false);
    // The same message signed by another registered key (payment's, code 1): the circuit looks for the
    // key under the definition's system for the call, the notary's (code 8), and refuses it.
    const payment = await loadOrCreateProviderKey({ dataDir, system: "payment" });
    const call = trace.calls[0];
    const message = attestationMessage({
      workflowId: trace.workflowId,
      callSeq: call.callSeq,
      operation: call.operation,
      requestHash: call.requestHash,
      responseHash: call.responseHash,
    });
    const signature = await signMessage(payment.privateKey, message);
    const path1 = providers.pathOf(1, payment.publicKey);
    const foreign = structuredClone(input) as Record<string, bigint[][] | bigint[]>;
    (foreign.providerKey as bigint[][])[0] = [...payment.publicKey];
    (foreign.signatureR8 as bigint[][])[0] = [...signature.R8];
    (foreign.signatureS as bigint[])[0] = signature.S;
    (foreign.providerPathElements as bigint[][])[0] = path1.pathElements;
    (foreign.providerPathIndices as bigint[][])[0] = path1.pathIndices.map(BigInt);
    expect(await witnessPasses(foreign)).to.equal(false);
  });

  it("a payout the API refuses (HTTP 422, signed by the notary) rolls back: the credit note is voided through the notary", async () => {
    const run = await session.run({ orderId: "ORD-BIG", amountCents: 60_000, currency: "EUR" });
    expect(run.outcome).to.equal("ROLLED_BACK");
    const bundle = readBundle(run.bundlePath);
    expect(bundle.steps.map((s) => `${s.phase}:${s.stepName}:${s.status}:${s.evidence}`)).to.deep.equal([
      "FORWARD:check:OK:NONE",
      "FORWARD:credit_note:OK:ATTESTED",
      "FORWARD:payout:FAILED:ATTESTED",
      "COMPENSATE:void_credit_note:OK:ATTESTED",
    ]);
    expect((bundle.calls[1].response as { status: number }).status).to.equal(422);
    const note = [...api.creditNotes.values()].find((n) => n.orderId === "ORD-BIG")!;
    expect(note.status).to.equal("VOIDED");
    const result = await verifyBundle({ bundle, registry: session.chain });
    expect(result.valid, result.reasons.join("; ")).to.equal(true);
    expect(result.calls.map((c) => c.evidence)).to.deep.equal([
      "attested-by-notary",
      "attested-by-notary",
      "attested-by-notary",
    ]);
  });

  it("a credit note whose every answer is lost is settled by the notary's status query (it forwards once more): took effect, voided", async () => {
    const before = api.performed["POST /credit-notes"];
    // the first three answers (the call and its two retries) held past the notary's upstream timeout
    api.delayAnswers("POST /credit-notes", 2_500, 3);
    const run = await session.run({ orderId: "ORD-LOST-RUN", amountCents: 800, currency: "EUR" });
    expect(run.outcome).to.equal("ROLLED_BACK");
    expect(run.failure).to.deep.include({ step: "credit_note", settlement: "TOOK_EFFECT" });
    const bundle = readBundle(run.bundlePath);
    expect(bundle.steps.map((s) => `${s.phase}:${s.stepName}:${s.status}:${s.evidence}`)).to.deep.equal([
      "FORWARD:check:OK:NONE",
      "FORWARD:credit_note:FAILED:SETTLED",
      "SETTLE:credit_note.settle:OK:ATTESTED",
      "COMPENSATE:void_credit_note:OK:ATTESTED",
    ]);
    expect(api.performed["POST /credit-notes"]).to.equal(before + 1);
    const note = [...api.creditNotes.values()].find((n) => n.orderId === "ORD-LOST-RUN")!;
    expect(note.status).to.equal("VOIDED");
    const result = await verifyBundle({ bundle, registry: session.chain });
    expect(result.valid, result.reasons.join("; ")).to.equal(true);
    expect(result.calls.map((c) => `${c.operation}:${c.evidence}`)).to.deep.equal([
      "refunds.issue_credit_note:settled-by-notary",
      "notary.status:attested-by-notary",
      "refunds.void_credit_note:attested-by-notary",
    ]);
  });

  describe("the notary's discipline", () => {
    const workflowId = 0x1234n;
    const envelope = (callSeq: number, request: unknown, extra: Record<string, unknown> = {}) => ({
      workflowId: toHex32(workflowId),
      callSeq,
      idempotencyKey: idempotencyKeyOf(workflowId, callSeq),
      request,
      http: ops.issueCreditNote.http,
      ...extra,
    });
    const route = (name: string) => `${notary.url}/operations/${name}`;

    it("one signed answer per (workflowId, callSeq): a retry gets it again, another request is refused, a wrong key too", async () => {
      const request = { orderId: "ORD-K1", amountCents: 500, currency: "EUR" };
      const before = api.performed["POST /credit-notes"];
      const first = await post(route("refunds.issue_credit_note"), envelope(1, request));
      expect(first.status).to.equal(200);
      const again = await post(route("refunds.issue_credit_note"), envelope(1, request));
      expect(again.json).to.deep.equal(first.json);
      expect(api.performed["POST /credit-notes"]).to.equal(before + 1);
      const other = await post(
        route("refunds.issue_credit_note"),
        envelope(1, { ...request, amountCents: 501 }),
      );
      expect(other.status).to.equal(409);
      expect(other.json.error.code).to.equal("IDEMPOTENCY_CONFLICT");
      const wrongKey = await post(route("refunds.issue_credit_note"), {
        ...envelope(1, request),
        idempotencyKey: "my-own-key",
      });
      expect(wrongKey.status).to.equal(400);
      expect(wrongKey.json.error.message).to.match(/must be 0x0+1234:1/);

      // Restarted on its journal: the same answer, nothing forwarded again; its status query knows it.
      await notary.close();
      notary = await startNotary({
        upstream: api.url,
        privateKey: notaryKey,
        journalFile,
        upstreamTimeoutMs: 1_000,
        logger: silent,
      });
      process.env.WESFLOW_NOTARY_URL = notary.url;
      const restarted = await post(route("refunds.issue_credit_note"), envelope(1, request));
      expect(restarted.json).to.deep.equal(first.json);
      expect(api.performed["POST /credit-notes"]).to.equal(before + 1);
      /** notary.status (call `seq`) of the credit note asked for at `callSeq` with `requestHash`. */
      const creditNoteStatus = (seq: number, callSeq: number, hash: bigint) =>
        post(
          route("notary.status"),
          envelope(
            seq,
            { callSeq, operation: "refunds.issue_credit_note", requestHash: hash.toString() },
            { http: undefined, queried: { code: 1001 } },
          ),
        );
      const requestHash = hashFields(ops.issueCreditNote.encodeRequest(request));
      const status = await creditNoteStatus(2, 1, requestHash);
      expect(status.status).to.equal(200);
      expect(status.json.response.outcome).to.equal("TOOK_EFFECT");
      expect(status.json.original?.response).to.deep.equal(first.json.response);

      // A call never forwarded: NO_EFFECT, signed, and its key fenced from then on.
      const never = { orderId: "ORD-K3", amountCents: 7, currency: "EUR" };
      const neverHash = hashFields(ops.issueCreditNote.encodeRequest(never));
      const noEffect = await creditNoteStatus(4, 3, neverHash);
      expect(noEffect.json.response).to.deep.equal({ outcome: "NO_EFFECT" });
      const late = await post(route("refunds.issue_credit_note"), envelope(3, never));
      expect(late.status).to.equal(409);
      expect(late.json.error.code).to.equal("SETTLED_NO_EFFECT");
    });

    it("a lost upstream answer is forwarded again under the same Idempotency-Key: performed once, signed once", async () => {
      const slow = await startNotary({
        upstream: api.url,
        privateKey: notaryKey,
        journalFile: path.join(dataDir, "slow-notary.sqlite"),
        upstreamTimeoutMs: 300,
        logger: silent,
      });
      try {
        const host = new HostInterface({
          workflowId: 0x77n,
          endpoints: { notary: slow.url },
          providers: session.systems.providers,
          logger: silent,
        });
        const before = api.performed["POST /credit-notes"];
        api.delayAnswers("POST /credit-notes", 1_000);
        const request = { orderId: "ORD-LOST", amountCents: 42, currency: "EUR" };
        let lost: unknown;
        try {
          await host.call({ operation: ops.issueCreditNote, request, stepIndex: 1 });
        } catch (error) {
          lost = error;
        }
        expect(lost).to.be.instanceOf(SystemUnavailableError);
        expect((lost as Error).message).to.match(/UPSTREAM_UNREACHABLE/);
        const retried = await host.call({
          operation: ops.issueCreditNote,
          request,
          stepIndex: 1,
          callSeq: 1,
        });
        expect(retried.response.body!.creditNote.orderId).to.equal("ORD-LOST");
        expect(api.performed["POST /credit-notes"]).to.equal(before + 1);
        expect(slow.journal().map((row) => row.state)).to.deep.equal(["answered"]);
      } finally {
        await slow.close();
      }
    });

    it("named refusals: a URL outside its upstream, the upstream down, an answer its schema refuses, a bad declaration", async () => {
      const host = new HostInterface({
        workflowId: 0x99n,
        endpoints: { notary: notary.url },
        providers: session.systems.providers,
        logger: silent,
      });
      const elsewhere = defineHttpOperation({
        ...declarationOf(ops.issueCreditNote),
        name: "other.issue",
        code: 1901,
        url: "http://127.0.0.1:9/credit-notes",
      });
      const outside = await host
        .call({
          operation: elsewhere,
          request: { orderId: "X", amountCents: 1, currency: "EUR" },
          stepIndex: 0,
        })
        .catch((e: unknown) => e);
      expect(outside).to.be.instanceOf(CallRejectedError);
      expect((outside as CallRejectedError).code).to.equal("NOT_THIS_UPSTREAM");

      const down = await startNotary({
        upstream: "http://127.0.0.1:9",
        privateKey: notaryKey,
        journalFile: path.join(dataDir, "down-notary.sqlite"),
        logger: silent,
      });
      try {
        const toDown = new HostInterface({
          workflowId: 0x98n,
          endpoints: { notary: down.url },
          providers: session.systems.providers,
          logger: silent,
        });
        const unreachable = await toDown
          .call({
            operation: elsewhere,
            request: { orderId: "X", amountCents: 1, currency: "EUR" },
            stepIndex: 0,
          })
          .catch((e: unknown) => e);
        expect(unreachable).to.be.instanceOf(SystemUnavailableError);
        expect((unreachable as Error).message).to.match(
          /UPSTREAM_UNREACHABLE: the upstream http:\/\/127\.0\.0\.1:9 did not answer/,
        );
      } finally {
        await down.close();
      }

      const strict = defineHttpOperation({
        ...declarationOf(ops.issueCreditNote),
        name: "refunds.issue_numbered",
        code: 1902,
        answerSchema: z.object({ creditNote: z.object({ id: z.number() }) }),
      });
      const mismatch = await host
        .call({
          operation: strict,
          request: { orderId: "ORD-S", amountCents: 3, currency: "EUR" },
          stepIndex: 0,
        })
        .catch((e: unknown) => e);
      expect(mismatch).to.be.instanceOf(InvalidResponseError);
      expect((mismatch as Error).message).to.match(
        /response\.body\.creditNote\.id: Expected number, received string/,
      );

      // No notary configured: the host says how to start one, sending nothing.
      const unconfigured = new HostInterface({
        workflowId: 0x97n,
        endpoints: {},
        providers: session.systems.providers,
        logger: silent,
      });
      const noNotary = await unconfigured
        .call({
          operation: ops.issueCreditNote,
          request: { orderId: "X", amountCents: 1, currency: "EUR" },
          stepIndex: 0,
        })
        .catch((e: unknown) => e);
      expect((noNotary as Error).message).to.match(
        /no notary configured: start `wesflow notary --upstream URL`/,
      );

      // A success whose body the mapping cannot read: kept unsigned; its status query will not guess.
      const unreadable = defineHttpOperation({
        ...declarationOf(ops.issueCreditNote),
        name: "refunds.issue_unreadable",
        code: 1904,
        fields: { request: [], response: [{ from: "creditNote.reference", as: "text" }] },
      });
      const request = { orderId: "ORD-U", amountCents: 4, currency: "EUR" };
      const kept = await host.call({ operation: unreadable, request, stepIndex: 0 }).catch((e: unknown) => e);
      expect(kept).to.be.instanceOf(SystemUnavailableError);
      expect((kept as Error).message).to.match(/UPSTREAM_ANSWER_UNMAPPABLE/);
      const settled = await host
        .settle({
          status: unreadable.settle!.statusQuery,
          of: unreadable,
          queried: {
            callSeq: (kept as SystemUnavailableError).callSeq,
            requestFields: unreadable.encodeRequest(request),
          },
          stepIndex: 1,
        })
        .catch((e: unknown) => e);
      expect(settled).to.be.instanceOf(CallRejectedError);
      expect((settled as CallRejectedError).code).to.equal("OUTCOME_UNREADABLE");

      expect(() =>
        defineHttpOperation({
          ...declarationOf(ops.issueCreditNote),
          name: "bad.url",
          code: 1903,
          url: "not a url",
        }),
      ).to.throw(OperationSpecError, /url must be an absolute http\(s\) URL/);
      expect(() =>
        defineHttpOperation({ ...declarationOf(ops.issueCreditNote), name: "bad.code", code: 101 }),
      ).to.throw(OperationSpecError, /code is at least 1000/);
    });
  });
});

function pick(input: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  return Object.fromEntries(keys.filter((k) => k in input).map((k) => [k, input[k]]));
}

/** An HTTP operation's defineHttpOperation input again (to declare a variant of it). */
function declarationOf(spec: ReturnType<typeof defineHttpOperation>) {
  return {
    name: spec.name,
    code: spec.code,
    method: spec.http.method,
    url: spec.http.url,
    requestSchema: spec.requestSchema,
    answerSchema: z.unknown(),
    fields: { request: spec.http.request, response: spec.http.response },
    ...(spec.http.success ? { success: spec.http.success } : {}),
  };
}
