import { expect } from "chai";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pino from "pino";

import { encodeString } from "../../src/crypto";
import {
  HostInterface,
  isStatusOperation,
  OperationDecodingError,
  type AnyOperationSpec,
  type CallResult,
} from "../../src/host";
import {
  invoiceIssue,
  invoiceVoid,
  logisticsCancel,
  logisticsShip,
  paymentCharge,
  paymentRefund,
} from "../../src/scenarios/order/operations";
import { startOrderSystems, type OrderSystems } from "../../src/scenarios/order/systems";
import {
  erpCancelPlan,
  erpCancelPurchase,
  erpPlan,
  erpProduce,
  erpPurchase,
  erpScrapLot,
  labInspectionResult,
  bankReverseBatch,
  bankStatement,
  bankTransferBatch,
  venueConfirmBatch,
  SYSTEMS,
} from "../../src/systems";

const silent = pino({ level: "silent" });
// Status queries have their own tests (test/systems/server.test.ts: what the shared server answers).
const ALL: AnyOperationSpec[] = SYSTEMS.flatMap((s) => s.operations).filter(
  (spec) => !isStatusOperation(spec),
);

describe("order operations: strict schemas, one encoding per value, decoders", function () {
  this.timeout(60_000);
  let dataDir: string;
  let systems: OrderSystems;

  before(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "wesflow-operations-"));
    systems = await startOrderSystems({ dataDir, providerSetDepth: 3, logger: silent });
  });
  after(async () => {
    await systems?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it("every answer the simulated systems give (success and refusal) passes the strict schemas and decodes back from its fields", async () => {
    const h = new HostInterface({
      workflowId: BigInt("0x" + randomBytes(31).toString("hex")),
      endpoints: systems.endpoints,
      providers: systems.providers,
      logger: silent,
    });
    const results: [AnyOperationSpec, unknown, CallResult<unknown>][] = [];
    const call = async <Req, Res>(operation: AnyOperationSpec, request: Req): Promise<Res> => {
      const result = await h.call({ operation, request, stepIndex: 0 });
      results.push([operation, request, result]);
      return result.response as Res;
    };
    const order = { orderId: "ORD-STRICT-1", customerId: "CUST-ÄÖÜ-1" };
    const capture = await call<object, { paymentRef: string }>(paymentCharge, {
      ...order,
      amountCents: 6779,
      currency: "EUR",
    });
    const shipment = await call<object, { trackingNumber: string }>(logisticsShip, {
      orderId: order.orderId,
      sku: "SKU-COFFEE-1KG",
      quantity: 3,
      destination: "Berlin",
    });
    const invoice = await call<object, { invoiceNumber: string }>(invoiceIssue, {
      ...order,
      amountCents: 6779,
      taxCents: 1082,
    });
    await call(invoiceVoid, {
      orderId: order.orderId,
      invoiceNumber: invoice.invoiceNumber,
      amountCents: 6779,
    });
    await call(logisticsCancel, { orderId: order.orderId, trackingNumber: shipment.trackingNumber });
    const refund = {
      orderId: order.orderId,
      paymentRef: capture.paymentRef,
      amountCents: 6779,
      currency: "EUR",
    };
    await call(paymentRefund, refund);
    await call(paymentRefund, refund); // nothing left to refund: REFUSED (signed)
    await call(invoiceVoid, { orderId: order.orderId, invoiceNumber: "INV-999999", amountCents: 1 }); // REFUSED
    await call(logisticsCancel, { orderId: order.orderId, trackingNumber: "TRK-999999" }); // REFUSED
    for (const system of ["payment", "logistics", "invoicing"] as const) {
      systems.systems[system].injectFault({ kind: "decline", times: 1 });
    }
    await call(paymentCharge, { ...order, amountCents: 1, currency: "EUR" }); // DECLINED
    await call(logisticsShip, { orderId: order.orderId, sku: "SKU-1", quantity: 1, destination: "Rome" }); // REJECTED
    await call(invoiceIssue, { ...order, amountCents: 1, taxCents: 0 }); // REJECTED

    const statuses = results.map(
      ([spec, , r]) => `${spec.name}:${(r.response as { status: string }).status}`,
    );
    expect(statuses).to.deep.equal([
      "payment.charge:CAPTURED",
      "logistics.ship:SCHEDULED",
      "invoice.issue:ISSUED",
      "invoice.void:VOIDED",
      "logistics.cancel:CANCELLED",
      "payment.refund:REFUNDED",
      "payment.refund:REFUSED",
      "invoice.void:REFUSED",
      "logistics.cancel:REFUSED",
      "payment.charge:DECLINED",
      "logistics.ship:REJECTED",
      "invoice.issue:REJECTED",
    ]);
    for (const [spec, request, result] of results) {
      expect(spec.responseSchema.safeParse(result.response).success, spec.name).to.equal(true);
      expect(spec.decodeResponse(result.responseFields), spec.name).to.deep.equal(result.response);
      expect(spec.decodeRequest(result.requestFields), spec.name).to.deep.equal(request);
      expect(result.record.responseJson).to.deep.equal(result.response);
    }
  });

  it("a request or response with a key its schema does not define, or without one it does, is refused", () => {
    const samples: [AnyOperationSpec, object, object][] = [
      [
        paymentCharge,
        { orderId: "O-1", customerId: "C-1", amountCents: 6779, currency: "EUR" },
        { status: "CAPTURED", paymentRef: "PAY-000001", amountCents: 6779 },
      ],
      [
        paymentRefund,
        { orderId: "O-1", paymentRef: "PAY-000001", amountCents: 6779, currency: "EUR" },
        { status: "REFUNDED", refundRef: "RFD-000001", amountCents: 6779 },
      ],
      [
        logisticsShip,
        { orderId: "O-1", sku: "SKU-1", quantity: 3, destination: "Berlin" },
        { status: "SCHEDULED", trackingNumber: "TRK-000001", carrier: "SIM-CARRIER", etaDays: 2 },
      ],
      [
        logisticsCancel,
        { orderId: "O-1", trackingNumber: "TRK-000001" },
        { status: "CANCELLED", trackingNumber: "TRK-000001", cancellationRef: "CXL-000001" },
      ],
      [
        invoiceIssue,
        { orderId: "O-1", customerId: "C-1", amountCents: 6779, taxCents: 1082 },
        { status: "ISSUED", invoiceNumber: "INV-000001", amountCents: 6779 },
      ],
      [
        invoiceVoid,
        { orderId: "O-1", invoiceNumber: "INV-000001", amountCents: 6779 },
        { status: "VOIDED", creditNoteNumber: "CN-000001", amountCents: 6779 },
      ],
      [
        erpPlan,
        { product: "GEARBOX-7", quantity: 10 },
        {
          status: "PLANNED",
          planId: "PL000001",
          bom: [{ material: "STEEL", perUnit: 12 }],
          specMin: 4950,
          specMax: 5050,
        },
      ],
      [
        erpPurchase,
        { planId: "PL000001", lines: [{ material: "STEEL", quantity: 40 }] },
        { status: "ORDERED", poIds: ["PO000001"] },
      ],
      [
        erpProduce,
        { planId: "PL000001", quantity: 10 },
        { status: "PRODUCED", lotId: "LT000001", quantity: 10, consumed: [120] },
      ],
      [erpCancelPlan, { planId: "PL000001" }, { status: "CANCELLED" }],
      [
        erpCancelPurchase,
        { planId: "PL000001", poIds: ["PO000001"] },
        { status: "CANCELLED", poIds: ["PO000001"], returned: [40] },
      ],
      [erpScrapLot, { lotId: "LT000001" }, { status: "SCRAPPED", quantity: 10, writtenOff: [120] }],
      [
        labInspectionResult,
        { lot: "LT000001" },
        {
          status: "PASSED",
          rows: [{ lot: "LT000001", passed: true, measuredValue: 5000, testId: "QT-000001" }],
        },
      ],
      [
        venueConfirmBatch,
        {
          batchId: "CB000001",
          institutions: ["NORDBANK", "ALPBANK"],
          trades: [{ tradeId: 1, payer: "NORDBANK", payee: "ALPBANK", amountCents: 500 }],
        },
        { status: "CONFIRMED", confirmation: "CF000001" },
      ],
      [
        bankTransferBatch,
        {
          batchId: "CB000001",
          legs: [
            { institution: "NORDBANK", amountCents: 500, side: "PAY" },
            { institution: "ALPBANK", amountCents: 500, side: "RECEIVE" },
          ],
        },
        { status: "EXECUTED", transfer: "TR000001", legsHash: "12345" },
      ],
      [
        bankReverseBatch,
        { batchId: "CB000001", transfer: "TR000001", legsHash: "12345" },
        { status: "REVERSED", reversal: "RV000001", legsHash: "12345" },
      ],
      [
        bankStatement,
        { batchId: "CB000001", balances: [{ institution: "NORDBANK", expectedCents: 39_999_500 }] },
        { status: "MATCHED", balances: [39_999_500], statement: "ST000001" },
      ],
    ];
    expect(samples.map(([spec]) => spec.name).sort()).to.deep.equal(ALL.map((spec) => spec.name).sort());
    for (const [spec, request, response] of samples) {
      for (const [what, schema, value] of [
        ["request", spec.requestSchema, request],
        ["response", spec.responseSchema, response],
      ] as const) {
        const label = `${spec.name} ${what}`;
        expect(schema.safeParse(value).success, label).to.equal(true);
        const extra = schema.safeParse({ ...value, refundedCents: 6779 });
        expect(extra.success, `${label} with an extra key`).to.equal(false);
        expect(JSON.stringify(extra.error?.issues)).to.match(/unrecognized_keys.*refundedCents/);
        const [first, ...rest] = Object.keys(value);
        const missing = schema.safeParse(Object.fromEntries(rest.map((k) => [k, (value as never)[k]])));
        expect(missing.success, `${label} without ${first}`).to.equal(false);
      }
    }
  });

  it("text the packing would not keep (a leading NUL, an unpaired surrogate) is refused: one value, one encoding", () => {
    const response = { status: "CAPTURED", paymentRef: "PAY-000001", amountCents: 6779 };
    expect(encodeString("\u0000PAY-000001")).to.equal(encodeString("PAY-000001"));
    expect(encodeString("\uD800")).to.equal(encodeString("\uFFFD"));
    expect(paymentCharge.responseSchema.safeParse(response).success).to.equal(true);
    for (const paymentRef of ["\u0000PAY-000001", "\u0000", "A\uD800"]) {
      const parsed = paymentCharge.responseSchema.safeParse({ ...response, paymentRef });
      expect(parsed.success, JSON.stringify(paymentRef)).to.equal(false);
      expect(parsed.error?.issues[0].message).to.match(/paymentRef must not start with a NUL/);
    }
  });

  it("fields that no value encodes to do not decode", () => {
    const text = encodeString("PAY-000001");
    const cases: [AnyOperationSpec, "request" | "response", bigint[], RegExp][] = [
      [paymentCharge, "response", [7n, text, 1n, 0n], /status code 7 is none of CAPTURED, DECLINED/],
      [paymentCharge, "response", [1n, text, 1n, 5n], /field 3 is 5, the value it decodes to encodes to 0/],
      [paymentCharge, "response", [1n, 0xffn, 1n, 0n], /field 1 is 255/], // not UTF-8
      [paymentCharge, "response", [1n, text, 2n ** 60n, 0n], /is not a safe integer/],
      [paymentCharge, "request", [text, text, 1n, encodeString("eur")], /currency must be an ISO 4217 code/],
      [invoiceIssue, "request", [text, text, 1n, 2n], /taxCents must not exceed amountCents/],
      [logisticsCancel, "request", [text, text, 0n, 1n], /field 3 is 1/],
    ];
    for (const [spec, what, fields, message] of cases) {
      const decode = () => (what === "request" ? spec.decodeRequest(fields) : spec.decodeResponse(fields));
      expect(decode, `${spec.name} ${what} ${fields.join(",")}`).to.throw(OperationDecodingError, message);
    }
  });
});
