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
import { OPERATION_CODES, SYSTEM_CODES } from "../../src/trace";

describe("systems catalog: one module per external system (src/systems/<name>/)", () => {
  it("holds every system of the trace catalog, each operation once with its catalog code", () => {
    expect(SYSTEMS.map((s) => s.name).sort()).to.deep.equal(Object.keys(SYSTEM_CODES).sort());
    const served = SYSTEMS.flatMap((s) => s.operations.map((o) => [o.name, o.code]));
    expect(Object.fromEntries(served)).to.deep.equal(OPERATION_CODES);
    expect(operationSystems()).to.include({ "payment.refund": "payment", "invoice.void": "invoicing" });
    expect(forwardOperations()).to.deep.equal({
      payment: "payment.charge",
      logistics: "logistics.ship",
      invoicing: "invoice.issue",
      erp: "erp.plan",
      sql: "lab.inspection_result",
    });
    expect(systemModule("logistics")).to.equal(logisticsSystem);
    expect(() => systemModule("bank")).to.throw(
      SystemCatalogError,
      /unknown system "bank"; registered: payment, logistics, invoicing, erp, sql/,
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
    const foreignForward: SystemModule = { ...paymentSystem, forward: "logistics.ship" };
    expect(() => checkSystemCatalog([foreignForward])).to.throw(
      SystemCatalogError,
      /forward operation logistics.ship is not one of its own/,
    );
    expect(() => checkSystemCatalog(SYSTEMS)).to.not.throw();
  });
});
