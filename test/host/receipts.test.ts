import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pino from "pino";
import { randomBytes } from "node:crypto";
import { toHex32, verifySignature } from "../../src/crypto";
import { HostInterface, ReceiptError, requestReceipts } from "../../src/host";
import { paymentCharge, paymentRefund } from "../../src/scenarios/order/operations";
import { startOrderSystems, type OrderSystems } from "../../src/scenarios/order/systems";
import { receiptCallsOf, receiptChain, receiptMessage, type CallRecord } from "../../src/trace";

/** Run receipts (src/trace/receipt.ts): the systems' server signs one, the host checks it, bad requests are refused. */
describe("run receipts: POST /receipt on the systems' server and requestReceipts", function () {
  this.timeout(60_000);
  let dataDir: string;
  let systems: OrderSystems;
  const workflowId = BigInt("0x" + randomBytes(31).toString("hex"));
  const calls: CallRecord[] = [];

  before(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "wesflow-receipts-"));
    systems = await startOrderSystems({ dataDir, providerSetDepth: 3, logger: pino({ level: "silent" }) });
    const host = new HostInterface({
      workflowId,
      endpoints: systems.endpoints,
      providers: systems.providers,
    });
    const charge = await host.call({
      operation: paymentCharge,
      request: { orderId: "ORD-R-1", customerId: "CUST-1", amountCents: 1200, currency: "EUR" },
      stepIndex: 2,
    });
    calls.push(charge.record);
    const refund = await host.call({
      operation: paymentRefund,
      request: {
        orderId: "ORD-R-1",
        paymentRef: charge.response.paymentRef,
        amountCents: 1200,
        currency: "EUR",
      },
      stepIndex: 3,
    });
    calls.push(refund.record);
  });

  after(async () => {
    await systems?.stop();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it("a system signs the chain of its signed calls of the run; the host checks count, chain and key", async () => {
    const [receipt] = await requestReceipts({
      trace: { workflowId, calls },
      endpoints: systems.endpoints,
      providers: systems.providers,
    });
    expect(receipt).to.include({ system: "payment", count: 2 });
    expect(receipt.chain).to.equal(receiptChain(receiptCallsOf({ calls }, "payment")));
    expect(
      await verifySignature(
        receiptMessage(workflowId, 2, receipt.chain),
        receipt.signature,
        receipt.publicKey,
      ),
    ).to.equal(true);
    // a pure read: asked again, the same receipt
    const [again] = await requestReceipts({
      trace: { workflowId, calls },
      endpoints: systems.endpoints,
      providers: systems.providers,
    });
    expect(again).to.deep.equal(receipt);
  });

  const post = (body: unknown) =>
    fetch(new URL("/receipt", systems.endpoints.payment), {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
  const wire = (c: CallRecord) => ({
    callSeq: c.callSeq,
    operation: c.operationName,
    requestHash: c.requestHash.toString(),
    responseHash: c.responseHash.toString(),
  });

  it("refuses, signing nothing: a call it did not answer so, another run's calls, a call it never answered", async () => {
    const changed = { ...wire(calls[1]), responseHash: (calls[1].responseHash + 1n).toString() };
    for (const [body, pattern] of [
      [
        { workflowId: toHex32(workflowId), calls: [wire(calls[0]), changed] },
        /call 2 \(payment.refund\).*another response/,
      ],
      [{ workflowId: toHex32(workflowId + 1n), calls: [wire(calls[0])] }, /answered no such call/],
      [
        { workflowId: toHex32(workflowId), calls: [wire(calls[0]), { ...wire(calls[1]), callSeq: 9 }] },
        /call 9/,
      ],
      [
        { workflowId: toHex32(workflowId), calls: [{ ...wire(calls[0]), operation: "payment.refund" }] },
        /it was payment.charge/,
      ],
    ] as const) {
      const res = await post(body);
      expect(res.status).to.equal(409);
      const answer = (await res.json()) as { error: { code: string; message: string } };
      expect(answer.error.code).to.equal("RECEIPT_MISMATCH");
      expect(answer.error.message).to.match(pattern);
    }
  });

  it("refuses malformed requests: no calls, calls out of order, SQL-like text where a hash goes", async () => {
    for (const body of [
      { workflowId: toHex32(workflowId), calls: [] },
      { workflowId: toHex32(workflowId), calls: [wire(calls[1]), wire(calls[0])] },
      { workflowId: toHex32(workflowId), calls: [{ ...wire(calls[0]), requestHash: "1; DROP TABLE" }] },
    ]) {
      const res = await post(body);
      expect(res.status).to.equal(400);
    }
  });

  it("requestReceipts: a trace the system did not answer so is refused with the system's reason, final", async () => {
    const forged = [calls[0], { ...calls[1], responseHash: calls[1].responseHash + 1n }];
    try {
      await requestReceipts({
        trace: { workflowId, calls: forged },
        endpoints: systems.endpoints,
        providers: systems.providers,
        attempts: 1,
      });
      expect.fail("a forged trace got a receipt");
    } catch (error) {
      expect(error).to.be.instanceOf(ReceiptError);
      expect((error as ReceiptError).retryable).to.equal(false);
      expect((error as Error).message).to.match(
        /payment refused the run's receipt: HTTP 409 RECEIPT_MISMATCH/,
      );
    }
  });
});
