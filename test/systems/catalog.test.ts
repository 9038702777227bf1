import { expect } from "chai";
import {
  checkSystemCatalog,
  forwardOperations,
  operationSystems,
  paymentSystem,
  logisticsSystem,
  SystemCatalogError,
  systemModule,
  SYSTEMS,
  type SystemModule,
} from "../../src/systems";
import {
  OPERATION_CODES,
  operationNameOf,
  operationSpecOf,
  SYSTEM_CODES,
  systemCodeOf,
  systemNameOf,
} from "../../src/systems";

describe("systems catalog: one module per external system (src/systems/<name>/)", () => {
  it("maps the codes its modules declare to names and back (the codes the trace records and the circuits fix)", () => {
    // Codes are only added: changing one changes every trace root and the circuits' constants.
    expect(SYSTEM_CODES).to.deep.include({ payment: 1, logistics: 2, invoicing: 3 });
    expect(OPERATION_CODES).to.deep.include({
      "payment.charge": 101,
      "payment.refund": 102,
      "logistics.ship": 201,
      "logistics.cancel": 202,
      "invoice.issue": 301,
      "invoice.void": 302,
    });
    for (const system of SYSTEMS) {
      expect(systemCodeOf(system.name)).to.equal(system.code);
      expect(systemNameOf(system.code)).to.equal(system.name);
      for (const operation of system.operations) {
        expect(operationNameOf(operation.code)).to.equal(operation.name);
        expect(operationSpecOf(operation.code)).to.equal(operation);
      }
    }
    expect(() => systemNameOf(99)).to.throw(RangeError, /unknown system code 99/);
    expect(() => operationNameOf(999)).to.throw(RangeError, /unknown operation code 999/);
    expect(operationSystems()).to.include({ "payment.refund": "payment", "invoice.void": "invoicing" });
    expect(forwardOperations()).to.deep.equal({
      payment: "payment.charge",
      logistics: "logistics.ship",
      invoicing: "invoice.issue",
      erp: "erp.plan",
      sql: "lab.inspection_result",
      bank: "bank.transferBatch",
      venue: "venue.confirmBatch",
      notary: "notary.status",
    });
    expect(SYSTEM_CODES).to.deep.include({ bank: 6, venue: 7, notary: 8 });
    expect(OPERATION_CODES).to.deep.include({
      "bank.transferBatch": 601,
      "bank.reverseBatch": 602,
      "bank.statement": 603,
      "bank.status": 604,
      "venue.confirmBatch": 701,
      "venue.status": 702,
    });
    expect(systemModule("logistics")).to.equal(logisticsSystem);
    expect(() => systemModule("mint")).to.throw(
      SystemCatalogError,
      /unknown system "mint"; registered: payment, logistics, invoicing, erp, sql, bank, venue/,
    );
  });

  it("refuses a system registered twice, an operation code used twice, another system's operation, a foreign forward operation", () => {
    const twice: SystemModule[] = [paymentSystem, paymentSystem];
    expect(() => checkSystemCatalog(twice)).to.throw(SystemCatalogError, /registered twice/);
    const clash: SystemModule = {
      ...logisticsSystem,
      operations: [...logisticsSystem.operations, paymentSystem.operations[0]],
    };
    expect(() => checkSystemCatalog([clash])).to.throw(SystemCatalogError, /is payment's, not logistics's/);
    const sameCode: SystemModule = {
      ...paymentSystem,
      operations: [
        paymentSystem.operations[0],
        { ...paymentSystem.operations[1], code: paymentSystem.operations[0].code },
      ],
    };
    expect(() => checkSystemCatalog([sameCode])).to.throw(
      SystemCatalogError,
      /operation code 101 is used by payment.charge and payment.refund/,
    );
    const sameSystemCode: SystemModule = { ...logisticsSystem, code: paymentSystem.code };
    expect(() => checkSystemCatalog([paymentSystem, sameSystemCode])).to.throw(
      SystemCatalogError,
      /system code 1 is used by payment and logistics/,
    );
    const badName: SystemModule = {
      ...paymentSystem,
      operations: [{ ...paymentSystem.operations[0], name: "charge" }, paymentSystem.operations[1]],
      forward: "charge",
    };
    expect(() => checkSystemCatalog([badName])).to.throw(
      SystemCatalogError,
      /operation charge of payment is not named <system>.<verb>/,
    );
    const foreignForward: SystemModule = { ...paymentSystem, forward: "logistics.ship" };
    expect(() => checkSystemCatalog([foreignForward])).to.throw(
      SystemCatalogError,
      /forward operation logistics.ship is not one of its own/,
    );
    expect(() => checkSystemCatalog(SYSTEMS)).to.not.throw();
  });
});
