import { expect } from "chai";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pino from "pino";

import { toHex32 } from "../../src/crypto";
import { HostInterface, type OperationSpec } from "../../src/host";
import {
  invoiceIssue,
  invoiceVoid,
  logisticsCancel,
  logisticsShip,
  paymentCharge,
  paymentRefund,
} from "../../src/scenarios/order/operations";
import { startOrderSystems, type OrderSystems } from "../../src/scenarios/order/systems";
import { readStoredLedger } from "../../src/systems";

const silent = pino({ level: "silent" });
const CHARGE = { orderId: "ORD-9", customerId: "CUST-1", amountCents: 6780, currency: "EUR" };

describe("order systems: compensating operations (refund, cancel, void)", function () {
  this.timeout(60_000);
  let dataDir: string;
  let systems: OrderSystems;

  before(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "wesflow-order-systems-"));
    systems = await startOrderSystems({ dataDir, providerSetDepth: 3, logger: silent });
  });
  after(async () => {
    await systems?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  /** A host for a fresh workflow: each call gets the next callSeq. */
  function host(endpoints = systems.endpoints, providers = systems.providers) {
    const h = new HostInterface({
      workflowId: BigInt("0x" + randomBytes(31).toString("hex")),
      endpoints,
      providers,
      logger: silent,
    });
    return {
      host: h,
      call: async <Req, Res>(operation: OperationSpec<Req, Res>, request: Req, callSeq?: number) =>
        (await h.call({ operation, request, stepIndex: 0, callSeq })).response,
    };
  }

  it("refunds only an existing capture of that order, never more than was captured", async () => {
    const { call } = host();
    const capture = await call(paymentCharge, CHARGE);
    const refund = {
      orderId: CHARGE.orderId,
      paymentRef: capture.paymentRef,
      amountCents: 6780,
      currency: "EUR",
    };
    expect(await call(paymentRefund, { ...refund, paymentRef: "PAY-999999" })).to.include({
      status: "REFUSED",
    });
    expect(await call(paymentRefund, { ...refund, orderId: "ORD-OTHER" })).to.include({ status: "REFUSED" });
    expect(await call(paymentRefund, { ...refund, amountCents: 6781 })).to.include({ status: "REFUSED" });
    const done = await call(paymentRefund, refund);
    expect(done.status).to.equal("REFUNDED");
    expect(done.refundRef).to.match(/^RFD-\d{6}$/);
    expect(done.amountCents).to.equal(6780);
    // A second refund (another idempotency key) of the same capture: nothing is left to refund.
    expect(await call(paymentRefund, refund)).to.include({ status: "REFUSED" });
  });

  it("a repeated refund (same idempotency key) is answered with the original signed response, one effect", async () => {
    const { call } = host();
    const capture = await call(paymentCharge, CHARGE);
    const refund = {
      orderId: CHARGE.orderId,
      paymentRef: capture.paymentRef,
      amountCents: 6780,
      currency: "EUR",
    };
    const first = await call(paymentRefund, refund, 2);
    const again = await call(paymentRefund, refund, 2);
    expect(again).to.deep.equal(first);
    const refunds = systems.systems.payment
      .ledger()
      .filter(
        (e) =>
          e.operation === "payment.refund" &&
          (e.request as { paymentRef: string }).paymentRef === capture.paymentRef,
      );
    expect(refunds).to.have.length(1);
  });

  it("cancels a scheduled shipment of that order once, and voids an issued invoice of that amount once", async () => {
    const { call } = host();
    const shipment = await call(logisticsShip, {
      orderId: "ORD-9",
      sku: "SKU-1",
      quantity: 2,
      destination: "Berlin",
    });
    const cancel = { orderId: "ORD-9", trackingNumber: shipment.trackingNumber };
    expect(await call(logisticsCancel, { ...cancel, orderId: "ORD-X" })).to.include({ status: "REFUSED" });
    const cancelled = await call(logisticsCancel, cancel);
    expect(cancelled).to.include({ status: "CANCELLED", trackingNumber: shipment.trackingNumber });
    expect(cancelled.cancellationRef).to.match(/^CXL-\d{6}$/);
    expect(await call(logisticsCancel, cancel)).to.include({ status: "REFUSED" });

    const invoice = await call(invoiceIssue, {
      orderId: "ORD-9",
      customerId: "C",
      amountCents: 1000,
      taxCents: 160,
    });
    const voiding = { orderId: "ORD-9", invoiceNumber: invoice.invoiceNumber, amountCents: 1000 };
    expect(await call(invoiceVoid, { ...voiding, amountCents: 999 })).to.include({ status: "REFUSED" });
    const voided = await call(invoiceVoid, voiding);
    expect(voided).to.include({ status: "VOIDED", amountCents: 1000 });
    expect(voided.creditNoteNumber).to.match(/^CN-\d{6}$/);
    expect(await call(invoiceVoid, voiding)).to.include({ status: "REFUSED" });
  });

  it("a decline fault makes a compensation answer REFUSED (signed), not an error", async () => {
    const { call } = host();
    const capture = await call(paymentCharge, CHARGE);
    systems.systems.payment.injectFault({ operation: "payment.refund", kind: "decline" });
    const refused = await call(paymentRefund, {
      orderId: CHARGE.orderId,
      paymentRef: capture.paymentRef,
      amountCents: 6780,
      currency: "EUR",
    });
    expect(refused).to.deep.equal({ status: "REFUSED", refundRef: "", amountCents: 0 });
  });

  it("a fault scoped to one workflow leaves the others alone", async () => {
    const a = host();
    const b = host();
    systems.systems.payment.injectFault({
      operation: "payment.charge",
      kind: "decline",
      workflowId: toHex32(b.host.workflowId),
      times: 5,
    });
    expect((await a.call(paymentCharge, CHARGE)).status).to.equal("CAPTURED");
    expect((await b.call(paymentCharge, CHARGE)).status).to.equal("DECLINED");
    systems.systems.payment.clearFaults();
  });

  it("with a store file, a restarted system keeps its effects and answers a repeat with the original signed response", async () => {
    const storeDir = path.join(dataDir, "store");
    const first = await startOrderSystems({ dataDir, providerSetDepth: 3, logger: silent, storeDir });
    const workflowId = BigInt("0x" + randomBytes(31).toString("hex"));
    const h1 = new HostInterface({
      workflowId,
      endpoints: first.endpoints,
      providers: first.providers,
      logger: silent,
    });
    const charged = await h1.call({ operation: paymentCharge, request: CHARGE, stepIndex: 0 });
    await first.stop();

    const second = await startOrderSystems({ dataDir, providerSetDepth: 3, logger: silent, storeDir });
    try {
      const h2 = new HostInterface({
        workflowId,
        endpoints: second.endpoints,
        providers: second.providers,
        logger: silent,
      });
      const repeated = await h2.call({ operation: paymentCharge, request: CHARGE, stepIndex: 0, callSeq: 1 });
      expect(repeated.response).to.deep.equal(charged.response);
      expect(repeated.record.attestation!.signature).to.deep.equal(charged.record.attestation!.signature);
      // The state survives too: the refund finds the capture made before the restart.
      const refund = await h2.call({
        operation: paymentRefund,
        request: {
          orderId: CHARGE.orderId,
          paymentRef: charged.response.paymentRef,
          amountCents: 6780,
          currency: "EUR",
        },
        stepIndex: 1,
      });
      expect(refund.response.status).to.equal("REFUNDED");
      expect(second.systems.payment.ledger()).to.have.length(2);
    } finally {
      await second.stop();
    }
    expect(readStoredLedger(path.join(storeDir, "payment.sqlite")).map((e) => e.operation)).to.deep.equal([
      "payment.charge",
      "payment.refund",
    ]);
  });
});
