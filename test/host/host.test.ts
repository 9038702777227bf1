import http from "node:http";
import type { AddressInfo } from "node:net";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import pino from "pino";
import { z } from "zod";

import { derivePublicKey, newPrivateKey, signMessage, toHex32, verifySignature } from "../../src/crypto";
import {
  AttestationError,
  CallRejectedError,
  CallTimeoutError,
  HostConfigurationError,
  HostInterface,
  InvalidRequestError,
  InvalidResponseError,
  SystemUnavailableError,
  type OperationSpec,
} from "../../src/host";
import {
  invoiceIssue,
  logisticsShip,
  paymentCharge,
  PaymentChargeRequestSchema,
  type PaymentChargeRequest,
} from "../../src/scenarios/order/operations";
import { startOrderSystems, type OrderSystems } from "../../src/scenarios/order/systems";
import { loadOrCreateProviderKey, paymentStatus } from "../../src/systems";
import {
  attestationMessage,
  CALL_SUCCEEDED,
  hashFields,
  ProviderSet,
  type ProviderKey,
} from "../../src/trace";
import { SYSTEM_CODES } from "../../src/systems";

const silent = pino({ level: "silent" });

const CHARGE: PaymentChargeRequest = {
  orderId: "ORD-2026-000001",
  customerId: "CUST-ACME-GMBH",
  amountCents: 6780,
  currency: "EUR",
};

function newWorkflowId(): bigint {
  return BigInt("0x" + randomBytes(31).toString("hex"));
}

/** Awaits a promise that must reject with `type`, and returns the error. */
async function rejection<E extends Error>(
  promise: Promise<unknown>,
  type: new (...args: never[]) => E,
): Promise<E> {
  try {
    await promise;
  } catch (error) {
    expect(error, `${(error as Error).name}: ${(error as Error).message}`).to.be.instanceOf(type);
    return error as E;
  }
  expect.fail(`expected a ${type.name}, but the call succeeded`);
}

/** A bare HTTP server that answers every request with `answer` and counts requests. */
async function startRawServer(answer: (res: http.ServerResponse) => void) {
  let requests = 0;
  const server = http.createServer((req, res) => {
    requests += 1;
    req.resume();
    req.on("end", () => answer(res));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests: () => requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

describe("HostInterface against the simulated order systems", function () {
  let dataDir: string;
  let systems: OrderSystems;
  let workflowId: bigint;

  function host(
    overrides: { timeoutMs?: number; providers?: ProviderSet; endpoints?: Record<string, string> } = {},
  ) {
    return new HostInterface({
      workflowId,
      endpoints: overrides.endpoints ?? systems.endpoints,
      providers: overrides.providers ?? systems.providers,
      timeoutMs: overrides.timeoutMs,
      logger: silent,
    });
  }

  before(async function () {
    dataDir = await mkdtemp(path.join(os.tmpdir(), "wesflow-host-"));
  });

  beforeEach(async function () {
    systems = await startOrderSystems({ dataDir, providerSetDepth: 3, logger: silent });
    workflowId = newWorkflowId();
  });

  afterEach(async function () {
    await systems.stop();
  });

  after(async function () {
    await rm(dataDir, { recursive: true, force: true });
  });

  describe("an attested call", function () {
    it("is recorded with hashes of the encoded fields and a signature that verifies under the registered key", async function () {
      const h = host();
      const { response, requestFields, responseFields, record } = await h.call({
        operation: paymentCharge,
        request: CHARGE,
        stepIndex: 2,
      });

      expect(response).to.deep.equal({ status: "CAPTURED", paymentRef: "PAY-000001", amountCents: 6780 });
      expect(requestFields).to.deep.equal(paymentCharge.encodeRequest(CHARGE));
      expect(responseFields[0]).to.equal(CALL_SUCCEEDED);
      expect(record.callSeq).to.equal(1);
      expect(record.stepIndex).to.equal(2);
      expect(record.system).to.equal("payment");
      expect(record.operation).to.equal(101);
      expect(record.operationName).to.equal("payment.charge");
      expect(record.idempotencyKey).to.equal(`${toHex32(workflowId)}:1`);
      expect(record.requestHash).to.equal(hashFields(requestFields));
      expect(record.responseHash).to.equal(hashFields(responseFields));
      expect(record.requestJson).to.deep.equal(CHARGE);
      expect(record.responseJson).to.deep.equal(response);

      const registered = systems.providers.keyOf("payment")!;
      expect(record.attestation?.publicKey).to.deep.equal(registered.publicKey);
      expect(record.attestation?.systemCode).to.equal(SYSTEM_CODES.payment);
      const message = attestationMessage({
        workflowId,
        callSeq: 1,
        operation: paymentCharge.code,
        requestHash: record.requestHash,
        responseHash: record.responseHash,
      });
      expect(await verifySignature(message, record.attestation!.signature, registered.publicKey)).to.equal(
        true,
      );
      // ...and only over that message: another callSeq does not verify.
      const other = attestationMessage({
        workflowId,
        callSeq: 2,
        operation: 101,
        requestHash: record.requestHash,
        responseHash: record.responseHash,
      });
      expect(await verifySignature(other, record.attestation!.signature, registered.publicKey)).to.equal(
        false,
      );

      expect(h.calls).to.deep.equal([record]);
      const ledger = systems.systems.payment.ledger();
      expect(ledger).to.have.length(1);
      expect(ledger[0]).to.include({
        idempotencyKey: record.idempotencyKey,
        operation: "payment.charge",
        callSeq: 1,
      });
      expect(ledger[0].workflowId).to.equal(toHex32(workflowId));
      expect(ledger[0].request).to.deep.equal(CHARGE);
      expect(ledger[0].response).to.deep.equal(response);
    });

    it("numbers calls 1, 2, 3 across systems and lists them in callSeq order", async function () {
      const h = host();
      await h.call({ operation: paymentCharge, request: CHARGE, stepIndex: 2 });
      const ship = await h.call({
        operation: logisticsShip,
        request: {
          orderId: CHARGE.orderId,
          sku: "SKU-COFFEE-1KG",
          quantity: 3,
          destination: "10115 Berlin DE",
        },
        stepIndex: 3,
      });
      const invoice = await h.call({
        operation: invoiceIssue,
        request: {
          orderId: CHARGE.orderId,
          customerId: CHARGE.customerId,
          amountCents: 6780,
          taxCents: 1083,
        },
        stepIndex: 4,
      });
      expect(ship.response).to.include({
        status: "SCHEDULED",
        trackingNumber: "TRK-000001",
        carrier: "SIM-CARRIER",
      });
      expect(ship.response.etaDays).to.be.within(1, 5);
      expect(invoice.response).to.deep.equal({
        status: "ISSUED",
        invoiceNumber: "INV-000001",
        amountCents: 6780,
      });
      expect(h.calls.map((c) => [c.callSeq, c.operationName])).to.deep.equal([
        [1, "payment.charge"],
        [2, "logistics.ship"],
        [3, "invoice.issue"],
      ]);
      expect(h.calls.every((c) => c.attestation !== undefined)).to.equal(true);
    });
  });

  describe("idempotency", function () {
    it("a repeat of a callSeq returns the original signed response and the system performs one effect", async function () {
      const h = host();
      const first = await h.call({ operation: paymentCharge, request: CHARGE, stepIndex: 2 });
      const repeat = await h.call({ operation: paymentCharge, request: CHARGE, stepIndex: 2, callSeq: 1 });

      expect(repeat.response).to.deep.equal(first.response);
      expect(repeat.record.attestation?.signature).to.deep.equal(first.record.attestation?.signature);
      expect(systems.systems.payment.ledger()).to.have.length(1);
      expect(h.calls).to.have.length(1);
      // The next new call still gets the next number, and a new effect.
      const next = await h.call({
        operation: paymentCharge,
        request: { ...CHARGE, orderId: "ORD-2" },
        stepIndex: 3,
      });
      expect(next.record.callSeq).to.equal(2);
      expect(next.response.paymentRef).to.equal("PAY-000002");
      expect(systems.systems.payment.ledger()).to.have.length(2);
    });

    it("a reused idempotency key with another request is refused (409) and performs nothing", async function () {
      const h = host();
      await h.call({ operation: paymentCharge, request: CHARGE, stepIndex: 2 });
      const other = host(); // a second host of the same workflow does not know callSeq 1 was used
      const error = await rejection(
        other.call({ operation: paymentCharge, request: { ...CHARGE, amountCents: 1 }, stepIndex: 2 }),
        CallRejectedError,
      );
      expect(error.status).to.equal(409);
      expect(error.code).to.equal("IDEMPOTENCY_CONFLICT");
      expect(error.retryable).to.equal(false);
      expect(systems.systems.payment.ledger()).to.have.length(1);
      expect(other.calls).to.have.length(0);
    });
  });

  describe("faults", function () {
    it("error: SystemUnavailableError (503, retryable), no effect; a retry with the same callSeq succeeds", async function () {
      systems.systems.payment.injectFault({ operation: "payment.charge", kind: "error" });
      const h = host();
      const error = await rejection(
        h.call({ operation: paymentCharge, request: CHARGE, stepIndex: 2 }),
        SystemUnavailableError,
      );
      expect(error.retryable).to.equal(true);
      expect(error.status).to.equal(503);
      expect(error).to.include({ system: "payment", operation: "payment.charge", callSeq: 1 });
      expect(systems.systems.payment.ledger()).to.have.length(0);
      expect(h.calls).to.have.length(0);

      const retry = await h.call({
        operation: paymentCharge,
        request: CHARGE,
        stepIndex: 2,
        callSeq: error.callSeq,
      });
      expect(retry.record.callSeq).to.equal(1);
      expect(retry.response.status).to.equal("CAPTURED");
      expect(systems.systems.payment.ledger()).to.have.length(1);
    });

    it("error with times: 2 fails two calls, then the system answers again", async function () {
      systems.systems.payment.injectFault({ operation: "payment.charge", kind: "error", times: 2 });
      const h = host();
      await rejection(
        h.call({ operation: paymentCharge, request: CHARGE, stepIndex: 2 }),
        SystemUnavailableError,
      );
      await rejection(
        h.call({ operation: paymentCharge, request: CHARGE, stepIndex: 2, callSeq: 1 }),
        SystemUnavailableError,
      );
      const third = await h.call({ operation: paymentCharge, request: CHARGE, stepIndex: 2, callSeq: 1 });
      expect(third.response.status).to.equal("CAPTURED");
    });

    it("connection refused: SystemUnavailableError (retryable, no status)", async function () {
      const url = systems.endpoints.payment;
      await systems.systems.payment.close();
      const h = host({ endpoints: { ...systems.endpoints, payment: url } });
      const error = await rejection(
        h.call({ operation: paymentCharge, request: CHARGE, stepIndex: 2 }),
        SystemUnavailableError,
      );
      expect(error.retryable).to.equal(true);
      expect(error.status).to.equal(undefined);
      expect(error.message).to.match(/ECONNREFUSED/);
    });

    it("timeout: CallTimeoutError (retryable) after timeoutMs, the held system performed nothing", async function () {
      systems.systems.logistics.injectFault({ operation: "logistics.ship", kind: "timeout" });
      const h = host({ timeoutMs: 300 });
      const started = Date.now();
      const error = await rejection(
        h.call({
          operation: logisticsShip,
          request: { orderId: "ORD-1", sku: "SKU-1", quantity: 1, destination: "Lyon FR" },
          stepIndex: 3,
        }),
        CallTimeoutError,
      );
      expect(Date.now() - started).to.be.within(250, 5_000);
      expect(error.retryable).to.equal(true);
      expect(error.timeoutMs).to.equal(300);
      expect(error).to.include({ system: "logistics", operation: "logistics.ship", callSeq: 1 });
      expect(systems.systems.logistics.ledger()).to.have.length(0);
      expect(h.calls).to.have.length(0);
    });

    it("timeout after the effect: the retry under the same callSeq gets the original answer, one effect", async function () {
      systems.systems.payment.injectFault({
        operation: "payment.charge",
        kind: "timeout-after-effect",
      });
      const h = host({ timeoutMs: 300 });
      const error = await rejection(
        h.call({ operation: paymentCharge, request: CHARGE, stepIndex: 2 }),
        CallTimeoutError,
      );
      const ledger = systems.systems.payment.ledger();
      expect(ledger).to.have.length(1);

      const retry = await h.call({
        operation: paymentCharge,
        request: CHARGE,
        stepIndex: 2,
        callSeq: error.callSeq,
      });
      expect(retry.response).to.deep.equal(ledger[0].response);
      expect(retry.response.paymentRef).to.equal("PAY-000001");
      expect(systems.systems.payment.ledger()).to.have.length(1);
      expect(h.calls.map((c) => c.callSeq)).to.deep.equal([1]);
    });

    it("decline is not a host error: a valid signed answer with status 2, recorded as attested", async function () {
      systems.systems.payment.injectFault({ operation: "payment.charge", kind: "decline" });
      const h = host();
      const { response, responseFields, record } = await h.call({
        operation: paymentCharge,
        request: CHARGE,
        stepIndex: 2,
      });
      expect(response.status).to.equal("DECLINED");
      expect(responseFields[0]).to.equal(2n);
      expect(record.attestation).to.not.equal(undefined);
      const message = attestationMessage({
        workflowId,
        callSeq: 1,
        operation: paymentCharge.code,
        requestHash: record.requestHash,
        responseHash: record.responseHash,
      });
      const registered = systems.providers.keyOf("payment")!.publicKey;
      expect(await verifySignature(message, record.attestation!.signature, registered)).to.equal(true);
      expect(h.calls).to.deep.equal([record]);
      // The decline is the system's recorded answer: a repeat returns it again, and the fault was used up.
      const repeat = await h.call({ operation: paymentCharge, request: CHARGE, stepIndex: 2, callSeq: 1 });
      expect(repeat.response.status).to.equal("DECLINED");
      const fresh = await h.call({
        operation: paymentCharge,
        request: { ...CHARGE, orderId: "ORD-2" },
        stepIndex: 2,
      });
      expect(fresh.response).to.include({ status: "CAPTURED", paymentRef: "PAY-000001" });
    });

    it("bad signature: AttestationError (final) and the call is not recorded", async function () {
      systems.systems.invoicing.injectFault({ operation: "invoice.issue", kind: "bad-signature" });
      const h = host();
      const error = await rejection(
        h.call({
          operation: invoiceIssue,
          request: { orderId: "ORD-1", customerId: "CUST-1", amountCents: 1190, taxCents: 190 },
          stepIndex: 4,
        }),
        AttestationError,
      );
      expect(error.reason).to.equal("bad-signature");
      expect(error.retryable).to.equal(false);
      expect(error).to.include({ system: "invoicing", operation: "invoice.issue", callSeq: 1 });
      expect(h.calls).to.have.length(0);
    });

    it("unknown key: AttestationError (final) and the call is not recorded", async function () {
      systems.systems.payment.injectFault({ operation: "payment.charge", kind: "unknown-key" });
      const h = host();
      const error = await rejection(
        h.call({ operation: paymentCharge, request: CHARGE, stepIndex: 2 }),
        AttestationError,
      );
      expect(error.reason).to.equal("unknown-key");
      expect(error.retryable).to.equal(false);
      expect(h.calls).to.have.length(0);
    });

    it("faults injected over HTTP (POST /faults) apply, DELETE /faults clears them", async function () {
      const { payment } = systems.endpoints;
      const post = await fetch(`${payment}/faults`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ operation: "payment.charge", kind: "error", times: 5 }),
      });
      expect(post.status).to.equal(200);
      const h = host();
      await rejection(
        h.call({ operation: paymentCharge, request: CHARGE, stepIndex: 2 }),
        SystemUnavailableError,
      );
      expect((await fetch(`${payment}/faults`, { method: "DELETE" })).status).to.equal(204);
      const ok = await h.call({ operation: paymentCharge, request: CHARGE, stepIndex: 2, callSeq: 1 });
      expect(ok.response.status).to.equal("CAPTURED");
    });
  });

  describe("registered keys", function () {
    function withPaymentKey(publicKey: readonly [bigint, bigint], extra: ProviderKey[] = []): ProviderSet {
      // The set is full (8 systems at depth 3): an extra key takes the place of the system of its name.
      const keys = systems.providers.providers
        .filter((p) => !extra.some((e) => e.system === p.system))
        .map((p) => (p.system === "payment" ? { ...p, publicKey } : p));
      return new ProviderSet(3, [...keys, ...extra]);
    }

    it("a system signing with a key other than the registered one is rejected, whatever key it claims", async function () {
      const registeredElsewhere = await derivePublicKey(newPrivateKey());
      const h = host({ providers: withPaymentKey(registeredElsewhere) });
      const error = await rejection(
        h.call({ operation: paymentCharge, request: CHARGE, stepIndex: 2 }),
        AttestationError,
      );
      expect(error.reason).to.equal("unknown-key");
      expect(h.calls).to.have.length(0);
    });

    it("a claimed key registered for another system is a key mismatch", async function () {
      const realPaymentKey = systems.systems.payment.publicKey;
      const providers = withPaymentKey(await derivePublicKey(newPrivateKey()), [
        { system: "notary", systemCode: 9, publicKey: realPaymentKey },
      ]);
      const h = host({ providers });
      const error = await rejection(
        h.call({ operation: paymentCharge, request: CHARGE, stepIndex: 2 }),
        AttestationError,
      );
      expect(error.reason).to.equal("key-mismatch");
      expect(h.calls).to.have.length(0);
    });

    it("a system with no registered key is refused before anything is sent", async function () {
      const providers = new ProviderSet(
        3,
        systems.providers.providers.filter((p) => p.system !== "invoicing"),
      );
      const h = host({ providers });
      const error = await rejection(
        h.call({
          operation: invoiceIssue,
          request: { orderId: "ORD-1", customerId: "CUST-1", amountCents: 100, taxCents: 0 },
          stepIndex: 4,
        }),
        AttestationError,
      );
      expect(error.reason).to.equal("unregistered-system");
      expect(systems.systems.invoicing.ledger()).to.have.length(0);
    });
  });

  describe("requests and responses that fail their schemas", function () {
    let counting: Awaited<ReturnType<typeof startRawServer>>;

    before(async function () {
      counting = await startRawServer((res) => res.writeHead(500).end());
    });

    after(async function () {
      await counting.close();
    });

    it("a request failing its schema is rejected before sending and uses up no callSeq", async function () {
      const h = host({ endpoints: { payment: counting.url } });
      const negative = await rejection(
        h.call({ operation: paymentCharge, request: { ...CHARGE, amountCents: -5 }, stepIndex: 2 }),
        InvalidRequestError,
      );
      expect(negative.message).to.match(/amountCents/);
      expect(negative.retryable).to.equal(false);
      const tooLong = await rejection(
        h.call({ operation: paymentCharge, request: { ...CHARGE, orderId: "O".repeat(32) }, stepIndex: 2 }),
        InvalidRequestError,
      );
      expect(tooLong.message).to.match(/orderId.*31 UTF-8 bytes/);
      const fractional = await rejection(
        h.call({ operation: paymentCharge, request: { ...CHARGE, amountCents: 10.5 }, stepIndex: 2 }),
        InvalidRequestError,
      );
      expect(fractional.message).to.match(/amountCents/);
      expect(counting.requests()).to.equal(0);
      expect(h.nextCallSeq).to.equal(1);
      expect(h.calls).to.have.length(0);
    });

    it("a request the system refuses (400) is a final CallRejectedError with the system's code", async function () {
      // A client-side spec looser than the system's: the system validates too.
      const loose: OperationSpec<PaymentChargeRequest, unknown> = {
        ...paymentCharge,
        requestSchema: PaymentChargeRequestSchema.extend({ currency: z.string() }),
      };
      const h = host();
      const error = await rejection(
        h.call({ operation: loose, request: { ...CHARGE, currency: "eur" }, stepIndex: 2 }),
        CallRejectedError,
      );
      expect(error.status).to.equal(400);
      expect(error.code).to.equal("INVALID_REQUEST");
      expect(error.retryable).to.equal(false);
      expect(error.message).to.match(/currency/);
      expect(systems.systems.payment.ledger()).to.have.length(0);
    });

    it("an answer failing the response schema is an InvalidResponseError (final)", async function () {
      const liar = await startRawServer((res) => {
        const body = JSON.stringify({
          response: { status: "MAYBE", paymentRef: "PAY-1", amountCents: 1 },
          attestation: { publicKey: ["1", "2"], signature: { R8: ["3", "4"], S: "5" } },
        });
        res.writeHead(200, { "content-type": "application/json" }).end(body);
      });
      const garbage = await startRawServer((res) => res.writeHead(200).end("<html>not json</html>"));
      try {
        const invalid = await rejection(
          host({ endpoints: { payment: liar.url } }).call({
            operation: paymentCharge,
            request: CHARGE,
            stepIndex: 2,
          }),
          InvalidResponseError,
        );
        expect(invalid.message).to.match(/status/);
        expect(invalid.retryable).to.equal(false);
        const notJson = await rejection(
          host({ endpoints: { payment: garbage.url } }).call({
            operation: paymentCharge,
            request: CHARGE,
            stepIndex: 2,
          }),
          InvalidResponseError,
        );
        expect(notJson.message).to.match(/not JSON/);
      } finally {
        await liar.close();
        await garbage.close();
      }
    });

    it("an answer without an attestation is not evidence (AttestationError)", async function () {
      const unsigned = await startRawServer((res) => {
        const body = JSON.stringify({
          response: { status: "CAPTURED", paymentRef: "PAY-1", amountCents: 6780 },
        });
        res.writeHead(200, { "content-type": "application/json" }).end(body);
      });
      try {
        const h = host({ endpoints: { payment: unsigned.url } });
        const error = await rejection(
          h.call({ operation: paymentCharge, request: CHARGE, stepIndex: 2 }),
          AttestationError,
        );
        expect(error.reason).to.equal("missing");
        expect(h.calls).to.have.length(0);
      } finally {
        await unsigned.close();
      }
    });
  });
  describe("settling a call without a usable answer: the system's status query", function () {
    it("TOOK_EFFECT: the charge performed and badly signed; the query shows its response, checked against the signed hash", async function () {
      systems.systems.payment.injectFault({
        operation: "payment.charge",
        kind: "bad-signature-after-effect",
      });
      const h = host();
      await rejection(h.call({ operation: paymentCharge, request: CHARGE, stepIndex: 2 }), AttestationError);
      const settled = await h.settle({
        status: paymentStatus,
        of: paymentCharge,
        queried: { callSeq: 1, requestFields: paymentCharge.encodeRequest(CHARGE) },
        stepIndex: 3,
      });
      const [charge] = systems.systems.payment.ledger();
      expect(settled.query.response).to.deep.equal({
        outcome: "TOOK_EFFECT",
        responseHash: hashFields(paymentCharge.encodeResponse(charge.response as never)).toString(),
      });
      expect(settled.original?.response).to.deep.equal(charge.response);
      expect(settled.query.record).to.include({
        callSeq: 2,
        operation: 103,
        operationName: "payment.status",
      });
      expect(h.calls.map((c) => c.callSeq)).to.deep.equal([2]);
    });

    it("NO_EFFECT for a call the system never performed; the status query settles only its system's own operations", async function () {
      const h = host();
      const settled = await h.settle({
        status: paymentStatus,
        of: paymentCharge,
        queried: { callSeq: 1, requestFields: paymentCharge.encodeRequest(CHARGE) },
        stepIndex: 3,
        callSeq: 2,
      });
      expect(settled.query.response).to.deep.equal({ outcome: "NO_EFFECT" });
      expect(settled.original).to.equal(undefined);
      await rejection(
        h.settle({
          status: paymentStatus,
          of: logisticsShip,
          queried: { callSeq: 1, requestFields: [0n, 0n, 0n, 0n] },
          stepIndex: 3,
        }),
        HostConfigurationError,
      );
    });

    it("a status answer whose response is not the one it signed, or that shows none for TOOK_EFFECT, is no settlement (InvalidResponseError)", async function () {
      const key = await loadOrCreateProviderKey({ dataDir, system: "payment" });
      const shown = { status: "CAPTURED", paymentRef: "PAY-000001", amountCents: 6780 } as const;
      const signedHash = hashFields(paymentCharge.encodeResponse({ ...shown, amountCents: 1 })).toString();
      const lying = async (original: unknown) => {
        const server = http.createServer((req, res) => {
          let text = "";
          req.on("data", (chunk: Buffer) => (text += chunk.toString()));
          req.on("end", async () => {
            const body = JSON.parse(text) as { callSeq: number; request: never };
            const response = { outcome: "TOOK_EFFECT", responseHash: signedHash } as const;
            const signature = await signMessage(
              key.privateKey,
              attestationMessage({
                workflowId,
                callSeq: body.callSeq,
                operation: paymentStatus.code,
                requestHash: hashFields(paymentStatus.encodeRequest(body.request)),
                responseHash: hashFields(paymentStatus.encodeResponse(response)),
              }),
            );
            const answer = {
              response,
              attestation: {
                publicKey: key.publicKey.map(String),
                signature: { R8: signature.R8.map(String), S: signature.S.toString() },
              },
              ...(original === undefined ? {} : { original: { response: original } }),
            };
            res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(answer));
          });
        });
        await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
        return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
      };
      for (const [original, why] of [
        [shown, /hash is not the one it signed/],
        [undefined, /shows no response of the queried call/],
      ] as const) {
        const { server, url } = await lying(original);
        try {
          const error = await rejection(
            host({ endpoints: { payment: url } }).settle({
              status: paymentStatus,
              of: paymentCharge,
              queried: { callSeq: 1, requestFields: paymentCharge.encodeRequest(CHARGE) },
              stepIndex: 3,
              callSeq: 2,
            }),
            InvalidResponseError,
          );
          expect(error.message).to.match(why);
          expect(error.retryable).to.equal(false);
        } finally {
          server.closeAllConnections();
          await new Promise((resolve) => server.close(resolve));
        }
      }
    });
  });
});
