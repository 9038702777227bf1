import { randomBytes } from "node:crypto";
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
      privateKey,
      operations: paymentSystem.handlers(),
      specs: paymentSystem.operations,
      logger: silent,
    });
  });

  afterEach(async function () {
    await payment.close();
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
