import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import pino from "pino";

import { verifySignature } from "../../src/crypto";
import {
  AttestationError,
  CallTimeoutError,
  HostInterface,
  InvalidRequestError,
  OperationDecodingError,
  SystemUnavailableError,
  type OperationSpec,
} from "../../src/host";
import {
  codeLimb,
  ERP_OPERATIONS,
  erpCancelPlan,
  erpCancelPurchase,
  erpId,
  erpPlan,
  erpProduce,
  erpPurchase,
  erpScrapLot,
  erpStatus,
  erpSystem,
  packLimbs,
  startSystems,
  unpackLimbs,
  type StartedSystems,
} from "../../src/systems";
import { attestationMessage, CALL_SUCCEEDED, hashFields } from "../../src/trace";
import { SYSTEM_CODES } from "../../src/systems";
import { expectRejection } from "../fixtures/rejection";

const silent = pino({ level: "silent" });
const newWorkflowId = () => BigInt("0x" + randomBytes(31).toString("hex"));

describe("ERP system (src/systems/erp): plan, purchase, produce and their compensations over HTTP", function () {
  this.timeout(60_000);
  let dataDir: string;
  let systems: StartedSystems;

  before(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "wesflow-erp-"));
    systems = await startSystems({
      systems: ["erp"],
      dataDir,
      providerSetDepth: 3,
      logger: silent,
      timeoutHoldMs: 2_000,
    });
  });

  afterEach(() => systems.systems.erp!.clearFaults());

  after(async () => {
    await systems?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  /** A host for one fresh workflow, and a caller that also checks the answer's fields decode back to it. */
  function run(options: { timeoutMs?: number } = {}) {
    const host = new HostInterface({
      workflowId: newWorkflowId(),
      endpoints: systems.endpoints,
      providers: systems.providers,
      logger: silent,
      timeoutMs: options.timeoutMs,
    });
    const call = async <Req, Res>(operation: OperationSpec<Req, Res>, request: Req, callSeq?: number) => {
      const result = await host.call({ operation, request, stepIndex: 0, callSeq });
      expect(operation.decodeRequest(result.requestFields)).to.deep.equal(request);
      expect(operation.decodeResponse(result.responseFields)).to.deep.equal(result.response);
      return result;
    };
    return { host, call };
  }

  it("plans, purchases and produces: typed answers, signed by the ERP's registered key over the packed fields", async () => {
    const { host, call } = run();
    const plan = await call(erpPlan, { product: "GEARBOX-7", quantity: 10 });
    expect(plan.response).to.deep.equal({
      status: "PLANNED",
      planId: "PL000001",
      bom: [
        { material: "STEEL", perUnit: 12 },
        { material: "BEARING", perUnit: 4 },
        { material: "OIL", perUnit: 1 },
      ],
      specMin: 4950,
      specMax: 5050,
    });
    // The fields the signature covers: planId | specMin << 64 | specMax << 128, then the BOM's slots.
    expect(plan.responseFields).to.deep.equal([
      CALL_SUCCEEDED,
      codeLimb("PL000001") + (4950n << 64n) + (5050n << 128n),
      packLimbs([codeLimb("STEEL"), codeLimb("BEARING"), codeLimb("OIL")]),
      packLimbs([12n, 4n, 1n]),
    ]);
    expect(unpackLimbs(plan.responseFields[3])).to.deep.equal([12n, 4n, 1n]);

    const purchase = await call(erpPurchase, {
      planId: "PL000001",
      lines: [
        { material: "STEEL", quantity: 80 },
        { material: "OIL", quantity: 10 },
      ],
    });
    expect(purchase.response).to.deep.equal({ status: "ORDERED", poIds: ["PO000001", "PO000002"] });

    const lot = await call(erpProduce, { planId: "PL000001", quantity: 10 });
    expect(lot.response).to.deep.equal({
      status: "PRODUCED",
      lotId: "LT000001",
      quantity: 10,
      consumed: [120, 40, 10],
    });
    expect(lot.responseFields.slice(0, 3)).to.deep.equal([CALL_SUCCEEDED, codeLimb("LT000001"), 10n]);

    // Each record's attestation verifies, on its own, under the key the provider set registers for erp.
    const registered = systems.providers.keyOf("erp")!;
    expect(registered.systemCode).to.equal(SYSTEM_CODES.erp);
    for (const record of host.calls) {
      expect(record.attestation!.publicKey).to.deep.equal(registered.publicKey);
      const message = attestationMessage({
        workflowId: host.workflowId,
        callSeq: record.callSeq,
        operation: record.operation,
        requestHash: record.requestHash,
        responseHash: record.responseHash,
      });
      expect(await verifySignature(message, record.attestation!.signature, registered.publicKey)).to.equal(
        true,
      );
    }
    expect(host.calls.map((c) => [c.operationName, c.operation])).to.deep.equal([
      ["erp.plan", 401],
      ["erp.purchase", 402],
      ["erp.produce", 403],
    ]);
  });

  it("rolls back before production: the purchase is cancelled with every unit returned, then the plan", async () => {
    const { call } = run();
    const { response: plan } = await call(erpPlan, { product: "PUMP-3", quantity: 4 });
    expect(plan.bom).to.deep.equal([
      { material: "STEEL", perUnit: 5 },
      { material: "SEAL", perUnit: 2 },
    ]);
    const { response: purchase } = await call(erpPurchase, {
      planId: plan.planId,
      lines: [{ material: "SEAL", quantity: 8 }],
    });
    const cancel = { planId: plan.planId, poIds: purchase.poIds };
    expect((await call(erpCancelPurchase, cancel)).response).to.deep.equal({
      status: "CANCELLED",
      poIds: purchase.poIds,
      returned: [8],
    });
    expect((await call(erpCancelPurchase, cancel)).response.status).to.equal("REFUSED"); // already cancelled
    expect((await call(erpCancelPlan, { planId: plan.planId })).response).to.deep.equal({
      status: "CANCELLED",
    });
    expect((await call(erpCancelPlan, { planId: plan.planId })).response.status).to.equal("REFUSED");
    // A cancelled plan is neither produced nor purchased for.
    expect((await call(erpProduce, { planId: plan.planId, quantity: 4 })).response.status).to.equal(
      "REFUSED",
    );
    expect((await call(erpPurchase, { planId: plan.planId, lines: [] })).response.status).to.equal("REFUSED");
  });

  it("rolls back after production: the lot is scrapped (its materials written off), received goods stay, the plan is cancelled", async () => {
    const { call } = run();
    const { response: plan } = await call(erpPlan, { product: "PUMP-3", quantity: 3 });
    const { response: purchase } = await call(erpPurchase, {
      planId: plan.planId,
      lines: [
        { material: "STEEL", quantity: 15 },
        { material: "SEAL", quantity: 6 },
      ],
    });
    const { response: lot } = await call(erpProduce, { planId: plan.planId, quantity: 3 });
    expect(lot.consumed).to.deep.equal([15, 6]);
    // A plan whose lot exists is not cancelled; its lot is scrapped first.
    expect((await call(erpCancelPlan, { planId: plan.planId })).response.status).to.equal("REFUSED");
    expect((await call(erpScrapLot, { lotId: lot.lotId })).response).to.deep.equal({
      status: "SCRAPPED",
      quantity: 3,
      writtenOff: [15, 6],
    });
    expect((await call(erpScrapLot, { lotId: lot.lotId })).response.status).to.equal("REFUSED");
    expect(
      (await call(erpCancelPurchase, { planId: plan.planId, poIds: purchase.poIds })).response,
    ).to.deep.equal({ status: "CANCELLED", poIds: purchase.poIds, returned: [0, 0] });
    expect((await call(erpCancelPlan, { planId: plan.planId })).response.status).to.equal("CANCELLED");
    // Produced once: no second lot of the plan.
    expect((await call(erpProduce, { planId: plan.planId, quantity: 3 })).response.status).to.equal(
      "REFUSED",
    );
  });

  it("refuses (signed, status 2, every other field 0) what the business does not allow", async () => {
    const { call } = run();
    const unknown = await call(erpPlan, { product: "TELEPORTER", quantity: 1 });
    expect(unknown.response).to.deep.equal({
      status: "REFUSED",
      planId: "",
      bom: [],
      specMin: 0,
      specMax: 0,
    });
    expect(unknown.responseFields).to.deep.equal([2n, 0n, 0n, 0n]);
    // A need (quantity × perUnit) beyond 2^53 is refused: 64-bit in the circuit, exact in JSON.
    const huge = await call(erpPlan, {
      product: "GEARBOX-7",
      quantity: Math.floor(Number.MAX_SAFE_INTEGER / 2),
    });
    expect(huge.response.status).to.equal("REFUSED");
    // __proto__ and the like are no products.
    expect((await call(erpPlan, { product: "constructor", quantity: 1 })).response.status).to.equal(
      "REFUSED",
    );

    const { response: plan } = await call(erpPlan, { product: "VALVE-1", quantity: 2 });
    const foreign = await call(erpPurchase, {
      planId: plan.planId,
      lines: [{ material: "STEEL", quantity: 1 }],
    });
    expect(foreign.response).to.deep.equal({ status: "REFUSED", poIds: [] });
    expect((await call(erpPurchase, { planId: "PL999999", lines: [] })).response.status).to.equal("REFUSED");
    expect((await call(erpProduce, { planId: plan.planId, quantity: 3 })).response.status).to.equal(
      "REFUSED",
    );
    expect((await call(erpScrapLot, { lotId: "LT999999" })).response.status).to.equal("REFUSED");
    expect(
      (await call(erpCancelPurchase, { planId: plan.planId, poIds: ["PO999999"] })).response.status,
    ).to.equal("REFUSED");
    // Nothing to buy is a purchase too: no purchase orders.
    expect((await call(erpPurchase, { planId: plan.planId, lines: [] })).response).to.deep.equal({
      status: "ORDERED",
      poIds: [],
    });
  });

  it("refuses requests its fields cannot hold before anything is sent", async () => {
    const { host } = run();
    const before = systems.systems.erp!.ledger().length;
    const bad: [OperationSpec<unknown, unknown>, unknown, RegExp][] = [
      [erpPlan as OperationSpec<unknown, unknown>, { product: "GEARBOX-7", quantity: 0 }, /quantity/],
      [erpPurchase as OperationSpec<unknown, unknown>, { planId: "pl000001", lines: [] }, /planId/],
      [erpPurchase as OperationSpec<unknown, unknown>, { planId: "PL0000001", lines: [] }, /planId/],
      [
        erpPurchase as OperationSpec<unknown, unknown>,
        {
          planId: "PL000001",
          lines: [
            { material: "STEEL", quantity: 1 },
            { material: "STEEL", quantity: 2 },
          ],
        },
        /one line/,
      ],
      [
        erpPurchase as OperationSpec<unknown, unknown>,
        { planId: "PL000001", lines: ["A", "B", "C", "D"].map((material) => ({ material, quantity: 1 })) },
        /at most 3/,
      ],
      [erpProduce as OperationSpec<unknown, unknown>, { planId: "PL000001", quantity: 1.5 }, /whole/],
      [erpScrapLot as OperationSpec<unknown, unknown>, { lotId: "LT000001", extra: 1 }, /extra/],
    ];
    for (const [operation, request, message] of bad) {
      const error = await expectRejection(
        host.call({ operation, request, stepIndex: 0 }),
        InvalidRequestError,
      );
      expect(error.message).to.match(message);
    }
    expect(systems.systems.erp!.ledger()).to.have.length(before);
    expect(host.nextCallSeq).to.equal(1);
  });

  it("honours idempotency keys: a retry gets the original signed answer, performed once", async () => {
    const { host, call } = run();
    const first = await call(erpPlan, { product: "VALVE-1", quantity: 5 });
    const plans = systems.systems.erp!.ledger().filter((e) => e.operation === "erp.plan").length;
    const again = await call(erpPlan, { product: "VALVE-1", quantity: 5 }, 1);
    expect(again.response).to.deep.equal(first.response);
    expect(again.record.attestation!.signature).to.deep.equal(first.record.attestation!.signature);
    expect(systems.systems.erp!.ledger().filter((e) => e.operation === "erp.plan")).to.have.length(plans);
    expect(host.calls).to.have.length(1);
  });

  it("keeps its books in its store file: after a restart a retry gets the original answer and ids go on", async () => {
    const storeDir = path.join(dataDir, "store");
    const start = () =>
      startSystems({ systems: ["erp"], dataDir, providerSetDepth: 3, logger: silent, storeDir });
    let erp = await start();
    const workflowId = newWorkflowId();
    const host = () =>
      new HostInterface({ workflowId, endpoints: erp.endpoints, providers: erp.providers, logger: silent });
    const plan = await host().call({
      operation: erpPlan,
      request: { product: "PUMP-3", quantity: 1 },
      stepIndex: 0,
    });
    await erp.stop();
    erp = await start();
    try {
      const replay = await host().call({
        operation: erpPlan,
        request: { product: "PUMP-3", quantity: 1 },
        stepIndex: 0,
        callSeq: 1,
      });
      expect(replay.response).to.deep.equal(plan.response);
      const next = await host().call({
        operation: erpProduce,
        request: { planId: plan.response.planId, quantity: 1 },
        stepIndex: 1,
        callSeq: 2,
      });
      expect(next.response).to.deep.include({ status: "PRODUCED", lotId: erpId("LT", 1) });
    } finally {
      await erp.stop();
    }
  });

  it("fails as told: decline (signed refusal), error (503), timeout (the effect kept for the retry), bad signature, unknown key", async () => {
    const erp = systems.systems.erp!;
    const { call } = run();
    erp.injectFault({ operation: "erp.produce", kind: "decline" });
    const { response: plan } = await call(erpPlan, { product: "VALVE-1", quantity: 1 });
    expect((await call(erpProduce, { planId: plan.planId, quantity: 1 })).response.status).to.equal(
      "REFUSED",
    );
    erp.injectFault({ kind: "decline" }); // any operation: the compensation too
    expect((await call(erpCancelPlan, { planId: plan.planId })).response.status).to.equal("REFUSED");

    const produce = { operation: erpProduce, request: { planId: plan.planId, quantity: 1 }, stepIndex: 0 };
    erp.injectFault({ operation: "erp.produce", kind: "error" });
    const { host } = run({ timeoutMs: 400 });
    const outage = await expectRejection(host.call(produce), SystemUnavailableError);
    expect(outage).to.include({ status: 503, retryable: true });

    erp.injectFault({ operation: "erp.produce", kind: "timeout-after-effect" });
    const timeout = await expectRejection(host.call({ ...produce, callSeq: 1 }), CallTimeoutError);
    expect(timeout.retryable).to.equal(true);
    const retried = await host.call({ ...produce, callSeq: 1 });
    expect(retried.response.status).to.equal("PRODUCED");
    const produced = erp
      .ledger()
      .filter(
        (e) => e.operation === "erp.produce" && (e.response as { status: string }).status === "PRODUCED",
      )
      .filter((e) => (e.request as { planId: string }).planId === plan.planId);
    expect(produced).to.have.length(1);

    erp.injectFault({ operation: "erp.scrapLot", kind: "bad-signature" });
    const scrap = { operation: erpScrapLot, request: { lotId: retried.response.lotId }, stepIndex: 1 };
    expect((await expectRejection(host.call(scrap), AttestationError)).reason).to.equal("bad-signature");
    erp.injectFault({ operation: "erp.scrapLot", kind: "unknown-key" });
    expect((await expectRejection(host.call({ ...scrap, callSeq: 2 }), AttestationError)).reason).to.equal(
      "unknown-key",
    );
    // The lot was scrapped once (by the first call); its answer, correctly signed, is there for a retry.
    const scrapped = await host.call({ ...scrap, callSeq: 2 });
    expect(scrapped.response).to.deep.equal({ status: "SCRAPPED", quantity: 1, writtenOff: [3] });
  });

  it("decodes only canonical fields: one encoding per value, nothing beyond 3 × 64 bits", async () => {
    const planFields = erpPlan.encodeResponse({
      status: "PLANNED",
      planId: "PL000007",
      bom: [{ material: "BRASS", perUnit: 3 }],
      specMin: 0,
      specMax: 15,
    });
    expect(planFields[2]).to.equal(codeLimb("BRASS"));
    const tampered: [string, bigint[]][] = [
      // An empty material slot before a used one (the same BOM could then be written two ways).
      ["gap", [planFields[0], planFields[1], codeLimb("BRASS") << 64n, 3n << 64n]],
      // A material with no quantity.
      ["no quantity", [planFields[0], planFields[1], planFields[2], 0n]],
      // More than 192 bits in a packed field.
      ["wide", [planFields[0], planFields[1] + (1n << 200n), planFields[2], planFields[3]]],
      // A refusal carrying data.
      ["refusal with data", [2n, planFields[1], 0n, 0n]],
      // specMin above specMax.
      ["spec", [1n, codeLimb("PL000007") + (16n << 64n) + (15n << 128n), planFields[2], planFields[3]]],
      // A field 3 that must be 0.
      ["field 3", [1n, codeLimb("PL000001"), 0n, 1n]],
    ];
    for (const [what, fields] of tampered) {
      const spec = what === "field 3" ? erpPurchase : erpPlan;
      expect(() => spec.decodeResponse(fields), what).to.throw(OperationDecodingError);
    }
    // A cancellation's returned quantities count by its purchase orders (0 is a quantity there).
    const cancelled = { status: "CANCELLED" as const, poIds: ["PO000001", "PO000002"], returned: [0, 0] };
    expect(erpCancelPurchase.decodeResponse(erpCancelPurchase.encodeResponse(cancelled))).to.deep.equal(
      cancelled,
    );
    expect(() =>
      erpCancelPurchase.decodeResponse([1n, packLimbs([codeLimb("PO000001")]), packLimbs([0n, 5n]), 0n]),
    ).to.throw(OperationDecodingError);
  });

  it("names each call for the audit from its request", () => {
    expect(erpPlan.describe!({ product: "GEARBOX-7", quantity: 10 })).to.equal(
      "erp.plan(product=GEARBOX-7, quantity=10)",
    );
    expect(
      erpPurchase.describe!({
        planId: "PL000001",
        lines: [
          { material: "STEEL", quantity: 80 },
          { material: "OIL", quantity: 10 },
        ],
      }),
    ).to.equal("erp.purchase(plan=PL000001, lines=[STEEL×80, OIL×10])");
    expect(erpProduce.describe!({ planId: "PL000001", quantity: 10 })).to.equal(
      "erp.produce(plan=PL000001, quantity=10)",
    );
    expect(erpCancelPurchase.describe!({ planId: "PL000001", poIds: ["PO000001"] })).to.equal(
      "erp.cancelPurchase(plan=PL000001, pos=[PO000001])",
    );
    expect(erpCancelPlan.describe!({ planId: "PL000001" })).to.equal("erp.cancelPlan(plan=PL000001)");
    expect(erpScrapLot.describe!({ lotId: "LT000001" })).to.equal("erp.scrapLot(lot=LT000001)");
    expect(erpSystem.operations).to.deep.equal([...ERP_OPERATIONS, erpStatus]);
    expect(erpSystem.status).to.equal(erpStatus);
    expect(ERP_OPERATIONS.map((o) => o.code)).to.deep.equal([401, 402, 403, 404, 405, 406]);
    // Every operation's request and response is 4 fields whatever it holds.
    expect(hashFields(erpScrapLot.encodeRequest({ lotId: "LT000001" }))).to.be.a("bigint");
  });
});
