import { expect } from "chai";
import { z } from "zod";
import { parseFaultSpec } from "../../src/cli/faults";
import { encodeString } from "../../src/crypto";
import { defineOperation } from "../../src/host";
import { scenario } from "../../src/scenarios";
import {
  describeSystems,
  FAULT_KINDS,
  paymentStatus,
  SYSTEMS,
  type SystemDescription,
  type SystemModule,
} from "../../src/systems";
import { lastLine, wesflow } from "../fixtures/cli";

describe("wesflow operations: every system's operations, generated from the system modules", function () {
  this.timeout(120_000);

  it("--json lists every registered system with each operation of its module, its fields' elements, compensations and fault kinds", async () => {
    const result = await wesflow(["operations", "--json"]);
    expect(result.code, result.stderr).to.equal(0);
    const listed = JSON.parse(lastLine(result.stdout)) as SystemDescription[];
    expect(listed.map((s) => s.system)).to.deep.equal(SYSTEMS.map((s) => s.name));
    for (const system of SYSTEMS) {
      const described = listed.find((s) => s.system === system.name)!;
      expect(described.operations.map((o) => o.name)).to.deep.equal(system.operations.map((o) => o.name));
      expect(described.faultKinds).to.deep.equal([...FAULT_KINDS]);
      expect(described.statusQuery).to.equal(system.status.name);
      for (const op of described.operations) {
        const spec = system.operations.find((o) => o.name === op.name)!;
        expect(op.code).to.equal(spec.code);
        expect(op.compensates).to.equal(spec.compensates);
        for (const other of op.compensatedBy) {
          expect(system.operations.find((o) => o.name === other)?.compensates).to.equal(op.name);
        }
      }
    }
    const payment = listed.find((s) => s.system === "payment")!;
    const charge = payment.operations.find((o) => o.name === "payment.charge")!;
    expect(charge).to.deep.include({ role: "call", forward: true, compensatedBy: ["payment.refund"] });
    expect(charge.request.elements).to.deep.equal(["orderId", "customerId", "amountCents", "currency"]);
    expect(charge.response.elements).to.deep.equal(["status", "paymentRef", "amountCents", "constant 0"]);
    expect(charge.response.fields[0]).to.deep.include({
      name: "status",
      elements: [0],
      codes: { CAPTURED: "1", DECLINED: "2" },
    });
    expect(charge.refusalReasons).to.have.property("DECLINED");
    const invoicing = listed.find((s) => s.system === "invoicing")!;
    expect(invoicing.operations.find((o) => o.name === "invoice.void")).to.deep.include({
      role: "compensation",
      compensates: "invoice.issue",
    });
    const statusQuery = payment.operations.find((o) => o.name === "payment.status")!;
    expect(statusQuery.role).to.equal("status query");
    expect(statusQuery.response.fields[0].codes).to.have.keys("TOOK_EFFECT", "REFUSED", "NO_EFFECT");
    expect(listed.find((s) => s.system === "bank")!.operations[0].refusals).to.be.an("object");
  });

  it("prints the same as text: fields with their types and elements, links, refusals and --fail targets", async () => {
    const result = await wesflow(["operations", "--system", "payment"]);
    expect(result.code, result.stderr).to.equal(0);
    expect(result.stdout).to.include(
      "payment.charge (code 101, call): the system's forward call; compensated by payment.refund; settled by payment.status",
    );
    expect(result.stdout).to.include("--fail payment:<kind> fails payment.charge");
    expect(result.stdout).to.match(/status\s+CAPTURED \| DECLINED \(CAPTURED = 1, DECLINED = 2\); element 0/);
    expect(result.stdout).to.include("refused REFUSED: the refund names no capture");
    const unknown = await wesflow(["operations", "--system", "payments"]);
    expect(unknown.code).to.equal(1);
    expect(unknown.stderr).to.include('no system "payments" (systems: payment, logistics, invoicing');
  });

  it("describes whatever a module declares: a new system's operation is listed from its schema and encoder", () => {
    const Request = z.object({ ticket: z.string().max(31), seats: z.number().int().min(1) }).strict();
    const Response = z.object({ status: z.enum(["BOOKED", "FULL"]), seat: z.number().int() }).strict();
    const book = defineOperation({
      name: "box.book",
      code: 901,
      system: "payment",
      requestSchema: Request,
      responseSchema: Response,
      encodeRequest: (r) => [0n, BigInt(r.seats), encodeString(r.ticket), 0n],
      encodeResponse: (r) => [r.status === "BOOKED" ? 1n : 2n, BigInt(r.seat), 0n, 7n],
      decodeRequest: () => ({ ticket: "", seats: 1 }),
      decodeResponse: () => ({ status: "BOOKED" as const, seat: 0 }),
    });
    const box: SystemModule = {
      name: "payment",
      code: 99,
      operations: [book, paymentStatus],
      status: paymentStatus,
      forward: book.name,
      handlers: () => ({}),
    };
    const [described] = describeSystems([box]);
    const op = described.operations[0];
    expect(op.request.elements).to.deep.equal(["constant 0", "seats", "ticket", "constant 0"]);
    expect(op.response.elements).to.deep.equal(["status", "seat", "constant 0", "constant 7"]);
    expect(op.response.fields[0].codes).to.deep.equal({ BOOKED: "1", FULL: "2" });
    expect(op.request.fields.map((f) => f.type)).to.deep.equal([
      "text (≤ 31 UTF-8 bytes, one field element)",
      "integer ≥ 1",
    ]);
  });
});

describe("--fail names the system as its module does (invoicing); the older invoice is kept, deprecated", () => {
  const order = scenario("order");

  it("invoicing:decline targets invoice.issue without a note; invoice:decline does the same with a deprecation note", () => {
    const notes: string[] = [];
    const canonical = parseFaultSpec("invoicing:decline", order, (text) => notes.push(text));
    expect(canonical).to.deep.include({ system: "invoicing" });
    expect(notes).to.deep.equal([]);
    const older = parseFaultSpec("invoice:decline", order, (text) => notes.push(text));
    expect(older).to.deep.equal({ ...canonical, text: "invoice:decline" });
    expect(notes).to.deep.equal([
      "--fail invoice:decline is deprecated: the system is named invoicing (--fail invoicing:decline)",
    ]);
  });
});
