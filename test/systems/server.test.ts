import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import pino from "pino";

import { derivePublicKey, newPrivateKey, toHex32, verifySignature } from "../../src/crypto";
import { AttestationJsonSchema, idempotencyKeyOf } from "../../src/host";
import {
  paymentCharge,
  paymentSystem,
  startSimulatedSystem,
  SimulatedSystemError,
  type SimulatedSystem,
} from "../../src/systems";
import { attestationMessage, hashFields } from "../../src/trace";

const silent = pino({ level: "silent" });
const CHARGE = { orderId: "ORD-1", customerId: "CUST-1", amountCents: 1234, currency: "EUR" };

describe("simulated system (HTTP protocol)", function () {
  const privateKey = newPrivateKey();
  let payment: SimulatedSystem;

  function post(path: string, body: unknown, signal?: AbortSignal) {
    return fetch(`${payment.url}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
      signal,
    });
  }

  function envelope(callSeq: number, request: unknown = CHARGE, workflowId = 0x1234n) {
    return {
      workflowId: toHex32(workflowId),
      callSeq,
      idempotencyKey: idempotencyKeyOf(workflowId, callSeq),
      request,
    };
  }

  beforeEach(async function () {
    payment = await startSimulatedSystem({
      system: "payment",
      systemCode: paymentSystem.code,
      privateKey,
      operations: paymentSystem.handlers(),
      specs: paymentSystem.operations,
      status: paymentSystem.status,
      logger: silent,
    });
  });

  afterEach(async function () {
    await payment.close();
  });

  describe("the status query (payment.status): what the system did under a call's idempotency key, signed", () => {
    const chargeHash = hashFields(paymentCharge.encodeRequest(CHARGE)).toString();
    const query = (callSeq: number, overrides: Record<string, unknown> = {}) => ({
      callSeq,
      operation: "payment.charge",
      requestHash: chargeHash,
      ...overrides,
    });
    interface StatusBody {
      response: { outcome: string; responseHash?: string };
      attestation: unknown;
      original?: { response: unknown };
    }
    const ask = async (callSeq: number, overrides: Record<string, unknown> = {}, seq = 9) =>
      post("/operations/payment.status", envelope(seq, query(callSeq, overrides)));

    it("TOOK_EFFECT: the response's hash, signed over the status operation (103) and its own callSeq, and the response itself", async function () {
      const charged = (await (await post("/operations/payment.charge", envelope(1))).json()) as {
        response: unknown;
      };
      const res = await ask(1);
      expect(res.status).to.equal(200);
      const body = (await res.json()) as StatusBody;
      const responseFields = paymentCharge.encodeResponse(
        paymentCharge.responseSchema.parse(charged.response),
      );
      expect(body.response).to.deep.equal({
        outcome: "TOOK_EFFECT",
        responseHash: hashFields(responseFields).toString(),
      });
      expect(body.original).to.deep.equal({ response: charged.response });
      const status = paymentSystem.status;
      const message = attestationMessage({
        workflowId: 0x1234n,
        callSeq: 9,
        operation: 103,
        requestHash: hashFields(status.encodeRequest(query(1) as never)),
        responseHash: hashFields(status.encodeResponse(body.response as never)),
      });
      const attestation = AttestationJsonSchema.parse(body.attestation);
      expect(await verifySignature(message, attestation.signature, payment.publicKey)).to.equal(true);
      // a replay of the query gets the same answer; the ledger keeps the query too
      expect(await (await ask(1)).json()).to.deep.equal(body);
      expect(payment.ledger().map((e) => e.operation)).to.deep.equal(["payment.charge", "payment.status"]);
    });

    it("NO_EFFECT for a key never performed, and the key is fenced: the call is refused from then on", async function () {
      const res = await ask(5);
      expect(((await res.json()) as StatusBody).response).to.deep.equal({ outcome: "NO_EFFECT" });
      const late = await post("/operations/payment.charge", envelope(5));
      expect(late.status).to.equal(409);
      expect(((await late.json()) as { error: { code: string } }).error.code).to.equal("SETTLED_NO_EFFECT");
      expect(payment.ledger().map((e) => e.operation)).to.deep.equal(["payment.status"]);
      // another key is not fenced
      expect((await post("/operations/payment.charge", envelope(6))).status).to.equal(200);
    });

    it("REFUSED for a call the business refused (signed refusal), with that refusal's hash", async function () {
      payment.injectFault({ operation: "payment.charge", kind: "decline" });
      await post("/operations/payment.charge", envelope(1));
      const body = (await (await ask(1)).json()) as StatusBody;
      const refusal = { status: "DECLINED", paymentRef: "", amountCents: 0 } as const;
      expect(body.response).to.deep.equal({
        outcome: "REFUSED",
        responseHash: hashFields(paymentCharge.encodeResponse(refusal)).toString(),
      });
    });

    it("a query of the key with another operation or another request is a conflict (409), never signed", async function () {
      await post("/operations/payment.charge", envelope(1));
      for (const overrides of [{ operation: "payment.refund" }, { requestHash: "12345" }]) {
        const res = await ask(1, overrides);
        expect(res.status).to.equal(409);
        expect(((await res.json()) as { error: { code: string } }).error.code).to.equal(
          "IDEMPOTENCY_CONFLICT",
        );
      }
      // a query of a key that holds a status query, or of an operation the status query does not settle
      expect((await ask(1)).status).to.equal(200);
      expect((await ask(9, {}, 10)).status).to.equal(409);
      expect((await ask(1, { operation: "payment.status" })).status).to.equal(400);
    });

    it("bad-signature performs nothing (NO_EFFECT), bad-signature-after-effect and timeout-after-effect do (TOOK_EFFECT)", async function () {
      payment.injectFault({ operation: "payment.charge", kind: "bad-signature" });
      expect((await post("/operations/payment.charge", envelope(1))).status).to.equal(200);
      expect(payment.ledger()).to.have.length(0);
      expect(((await (await ask(1, {}, 11)).json()) as StatusBody).response.outcome).to.equal("NO_EFFECT");

      payment.injectFault({ operation: "payment.charge", kind: "bad-signature-after-effect" });
      await post("/operations/payment.charge", envelope(2));
      expect(((await (await ask(2, {}, 12)).json()) as StatusBody).response.outcome).to.equal("TOOK_EFFECT");

      payment.injectFault({ operation: "payment.charge", kind: "timeout-after-effect" });
      const held = new AbortController();
      const lost = post("/operations/payment.charge", envelope(3), held.signal).catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(((await (await ask(3, {}, 13)).json()) as StatusBody).response.outcome).to.equal("TOOK_EFFECT");
      held.abort();
      await lost;
    });

    it("a fault named for no operation leaves the status query alone; one named for it applies", async function () {
      payment.injectFault({ kind: "error", times: 10 });
      expect((await ask(1)).status).to.equal(200);
      payment.clearFaults();
      payment.injectFault({ operation: "payment.status", kind: "error" });
      expect((await ask(2, {}, 14)).status).to.equal(503);
    });

    it("the fence survives a restart (the system keeps its effects in a store file)", async function () {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "wesflow-status-"));
      const storeFile = path.join(dir, "payment.sqlite");
      const start = () =>
        startSimulatedSystem({
          system: "payment",
          systemCode: paymentSystem.code,
          privateKey,
          operations: paymentSystem.handlers(),
          specs: paymentSystem.operations,
          status: paymentSystem.status,
          storeFile,
          logger: silent,
        });
      try {
        await payment.close();
        payment = await start();
        await ask(4);
        await payment.close();
        payment = await start();
        expect((await post("/operations/payment.charge", envelope(4))).status).to.equal(409);
      } finally {
        await payment.close();
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  it("refuses an envelope whose idempotency key is not workflowId:callSeq (400), performing nothing: no call gets two signed answers", async function () {
    const res = await post("/operations/payment.charge", { ...envelope(1), idempotencyKey: "another-key" });
    expect(res.status).to.equal(400);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).to.equal("INVALID_ENVELOPE");
    expect(body.error.message).to.include(idempotencyKeyOf(0x1234n, 1));
    // the key of another call of the run (callSeq 2 under call 1's key) is refused too
    const shifted = await post("/operations/payment.charge", {
      ...envelope(2),
      idempotencyKey: idempotencyKeyOf(0x1234n, 1),
    });
    expect(shifted.status).to.equal(400);
    expect(payment.ledger()).to.deep.equal([]);
  });

  it("serves /health and /key, and signs the protocol's message with that key", async function () {
    expect(await (await fetch(`${payment.url}/health`)).json()).to.deep.equal({
      status: "ok",
      system: "payment",
    });
    const key = (await (await fetch(`${payment.url}/key`)).json()) as { publicKey: string[] };
    const publicKey = await derivePublicKey(privateKey);
    expect(key.publicKey).to.deep.equal(publicKey.map(String));
    expect(payment.publicKey).to.deep.equal(publicKey);

    const res = await post("/operations/payment.charge", envelope(7));
    expect(res.status).to.equal(200);
    const body = (await res.json()) as {
      response: { status: string; paymentRef: string };
      attestation: unknown;
    };
    expect(body.response).to.deep.equal({ status: "CAPTURED", paymentRef: "PAY-000001", amountCents: 1234 });
    const attestation = AttestationJsonSchema.parse(body.attestation);
    const message = attestationMessage({
      workflowId: 0x1234n,
      callSeq: 7,
      operation: 101,
      requestHash: hashFields(paymentCharge.encodeRequest(CHARGE)),
      responseHash: hashFields(
        paymentCharge.encodeResponse(paymentCharge.responseSchema.parse(body.response)),
      ),
    });
    expect(await verifySignature(message, attestation.signature, publicKey)).to.equal(true);
  });

  it("keeps a ledger of effects, one per idempotency key, served at GET /ledger", async function () {
    const first = await (await post("/operations/payment.charge", envelope(1))).json();
    const again = await (await post("/operations/payment.charge", envelope(1))).json();
    expect(again).to.deep.equal(first);
    await post("/operations/payment.charge", envelope(2, { ...CHARGE, orderId: "ORD-2" }));

    const ledger = (await (await fetch(`${payment.url}/ledger`)).json()) as { idempotencyKey: string }[];
    expect(ledger).to.deep.equal(payment.ledger());
    expect(ledger.map((e) => e.idempotencyKey)).to.deep.equal([
      idempotencyKeyOf(0x1234n, 1),
      idempotencyKeyOf(0x1234n, 2),
    ]);
    expect(payment.ledger()[0]).to.include({
      operation: "payment.charge",
      workflowId: toHex32(0x1234n),
      callSeq: 1,
    });
    expect(payment.ledger()[0].request).to.deep.equal(CHARGE);
    expect(Number.isNaN(Date.parse(payment.ledger()[0].at))).to.equal(false);
  });

  it("answers 400 with {error:{code,message}} for a request failing the schema, and performs nothing", async function () {
    const res = await post("/operations/payment.charge", envelope(1, { ...CHARGE, amountCents: -1 }));
    expect(res.status).to.equal(400);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).to.equal("INVALID_REQUEST");
    expect(body.error.message).to.match(/amountCents/);

    const envelopeError = await post("/operations/payment.charge", { callSeq: 1, request: CHARGE });
    expect(envelopeError.status).to.equal(400);
    const notJson = await fetch(`${payment.url}/operations/payment.charge`, { method: "POST", body: "{" });
    expect(notJson.status).to.equal(400);
    expect((await post("/operations/payment.teleport", envelope(1))).status).to.equal(404);
    expect(payment.ledger()).to.have.length(0);
  });

  it("rejects invalid faults", async function () {
    expect(() => payment.injectFault({ operation: "payment.teleport", kind: "error" })).to.throw(
      SimulatedSystemError,
    );
    expect(() => payment.injectFault({ kind: "timeout", afterEffect: true } as never)).to.throw(
      SimulatedSystemError,
    );
    expect(() => payment.injectFault({ operation: "payment.status", kind: "decline" })).to.throw(
      SimulatedSystemError,
    );
    const res = await post("/faults", { kind: "explode" });
    expect(res.status).to.equal(400);
  });

  it("a fault without an operation applies to every operation; clearFaults removes it", async function () {
    payment.injectFault({ kind: "error", times: 3 });
    expect((await post("/operations/payment.charge", envelope(1))).status).to.equal(503);
    payment.clearFaults();
    expect((await post("/operations/payment.charge", envelope(1))).status).to.equal(200);
  });

  it("close() ends a request held by a timeout fault, so nothing hangs", async function () {
    payment.injectFault({ operation: "payment.charge", kind: "timeout" });
    const pending = post("/operations/payment.charge", envelope(1)).then(
      () => "answered",
      () => "ended",
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    const started = Date.now();
    await payment.close();
    expect(await pending).to.equal("ended");
    expect(Date.now() - started).to.be.below(2_000);
  });

  it("refuses handlers without a spec and specs of another system", async function () {
    let error: unknown;
    try {
      await startSimulatedSystem({
        system: "logistics",
        systemCode: 2,
        privateKey,
        operations: {},
        specs: [paymentCharge],
        logger: silent,
      });
    } catch (caught) {
      error = caught;
    }
    expect(error).to.be.instanceOf(SimulatedSystemError);
    expect((error as Error).message).to.match(/belongs to payment/);

    error = undefined;
    try {
      await startSimulatedSystem({
        system: "payment",
        systemCode: paymentSystem.code,
        privateKey,
        operations: { ...paymentSystem.handlers(), "payment.refund": () => ({}) },
        specs: [paymentCharge],
        logger: silent,
      });
    } catch (caught) {
      error = caught;
    }
    expect(error).to.be.instanceOf(SimulatedSystemError);
    expect((error as Error).message).to.match(/payment\.refund has a handler but no spec/);
  });

  it("unknown-key fault: the attestation claims a key that is not the system's", async function () {
    payment.injectFault({ operation: "payment.charge", kind: "unknown-key" });
    const workflowId = BigInt("0x" + randomBytes(31).toString("hex"));
    const body = (await (
      await post("/operations/payment.charge", envelope(1, CHARGE, workflowId))
    ).json()) as {
      attestation: unknown;
    };
    const attestation = AttestationJsonSchema.parse(body.attestation);
    expect(attestation.publicKey).to.not.deep.equal(payment.publicKey);
  });
});
