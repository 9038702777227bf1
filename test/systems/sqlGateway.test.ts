import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { expect } from "chai";
import pino from "pino";

import { callLabel } from "../../src/audit/verify/calls";
import { formatTrailSteps } from "../../src/audit/format";
import { encodeString, poseidon, toHex32, verifySignature } from "../../src/crypto";
import { defineWorkflow } from "../../src/definition";
import { executeWorkflow } from "../../src/executor";
import {
  CallRejectedError,
  HostInterface,
  idempotencyKeyOf,
  InvalidRequestError,
  OperationDecodingError,
  type OperationSpec,
} from "../../src/host";
import { Journal } from "../../src/journal";
import {
  defaultLabDatabaseFile,
  describeSqlSource,
  labInspectionResult,
  paymentCharge,
  readOnlyQuery,
  SimulatedLab,
  SqlSourceError,
  sqlQuery,
  sqlSourceOf,
  sqlSystem,
  startSystems,
  UnknownQueryError,
  type StartedSystems,
} from "../../src/systems";
import { attestationMessage } from "../../src/trace";
import { SYSTEM_CODES } from "../../src/systems";
import { FAST_RETRY } from "../fixtures/orderRuns";
import { TEST_BINDING } from "../fixtures/orderTrace";
import { expectRejection } from "../fixtures/rejection";

const silent = pino({ level: "silent" });
const newWorkflowId = () => BigInt("0x" + randomBytes(31).toString("hex"));
const QUERY_NAME_FIELD = encodeString("lab.inspection_result");

describe("SQL gateway (src/systems/sql): named read-only queries of the lab's SQLite database, signed", function () {
  this.timeout(60_000);
  let dataDir: string;
  let systems: StartedSystems;
  let lab: SimulatedLab;
  let savedUrl: string | undefined;

  before(async () => {
    savedUrl = process.env.WESFLOW_SQL_URL;
    delete process.env.WESFLOW_SQL_URL; // the default: the data dir's SQLite file
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "wesflow-sql-"));
    lab = await SimulatedLab.open({ dataDir });
    systems = await startSystems({ systems: ["sql"], dataDir, providerSetDepth: 3, logger: silent });
  });

  afterEach(() => {
    systems.systems.sql!.clearFaults();
    lab.clearFaults();
  });

  after(async () => {
    await systems?.stop();
    await lab?.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
    if (savedUrl !== undefined) process.env.WESFLOW_SQL_URL = savedUrl;
  });

  const newHost = () =>
    new HostInterface({
      workflowId: newWorkflowId(),
      endpoints: systems.endpoints,
      providers: systems.providers,
      logger: silent,
    });
  const uniqueLot = () => `LT${randomBytes(3).toString("hex").toUpperCase()}`;

  it("answers lab.inspection_result(lot) with the lab's row, signed over H(queryName, lot) and H(verdict, row)", async () => {
    expect(lab.database.source).to.deep.equal({ kind: "sqlite", file: defaultLabDatabaseFile(dataDir) });
    const recorded = await lab.inspect({ lot: "LT000001", specMin: 4950, specMax: 5050 });
    expect(recorded).to.deep.include({
      lot: "LT000001",
      passed: true,
      measuredValue: 5000,
      testId: "QT-000001",
    });

    const host = newHost();
    const { response, requestFields, responseFields, record } = await host.call({
      operation: sqlQuery("lab.inspection_result"),
      request: { lot: "LT000001" },
      stepIndex: 4,
    });
    expect(response).to.deep.equal({
      status: "PASSED",
      rows: [{ lot: "LT000001", passed: true, measuredValue: 5000, testId: "QT-000001" }],
    });
    expect(requestFields).to.deep.equal([QUERY_NAME_FIELD, encodeString("LT000001"), 0n, 0n]);
    expect(responseFields).to.deep.equal([1n, encodeString("LT000001"), 5000n, encodeString("QT-000001")]);
    expect(record.requestHash).to.equal(poseidon(requestFields));
    expect(record.responseHash).to.equal(poseidon(responseFields));
    // The very message every system signs, under the key registered for sql (system code 5).
    const registered = systems.providers.keyOf("sql")!;
    expect(registered.systemCode).to.equal(SYSTEM_CODES.sql);
    const message = attestationMessage({
      workflowId: host.workflowId,
      callSeq: 1,
      operation: 501,
      requestHash: poseidon(requestFields),
      responseHash: poseidon(responseFields),
    });
    expect(await verifySignature(message, record.attestation!.signature, registered.publicKey)).to.equal(
      true,
    );
    expect(labInspectionResult.decodeResponse(responseFields)).to.deep.equal(response);
    expect(labInspectionResult.decodeRequest(requestFields)).to.deep.equal({ lot: "LT000001" });

    // The gateway keeps the answer under its idempotency key: a retry gets the rows it read then.
    await lab.inspect({ lot: "LT000001", specMin: 4950, specMax: 5050 }); // a second result, later
    const again = await host.call({
      operation: labInspectionResult,
      request: { lot: "LT000001" },
      stepIndex: 4,
      callSeq: 1,
    });
    expect(again.responseFields).to.deep.equal(responseFields);
    expect(systems.systems.sql!.ledger()).to.have.length(1);
  });

  it("reads a failing result (the lab's fail-inspection fault), no result, and the gateway's signed refusal", async () => {
    const failing = uniqueLot();
    lab.injectFault({ kind: "fail-inspection", lot: failing });
    const other = uniqueLot();
    expect((await lab.inspect({ lot: other, specMin: 180, specMax: 220 })).passed).to.equal(true);
    const recorded = await lab.inspect({ lot: failing, specMin: 180, specMax: 220 });
    expect(recorded).to.deep.include({ passed: false, measuredValue: 221 });

    const host = newHost();
    const read = (lot: string) =>
      host.call({ operation: labInspectionResult, request: { lot }, stepIndex: 0 });
    const failed = await read(failing);
    expect(failed.response).to.deep.equal({
      status: "FAILED",
      rows: [{ lot: failing, passed: false, measuredValue: 221, testId: recorded.testId }],
    });
    expect(failed.responseFields[0]).to.equal(2n); // an attested "no": what a saga's failed step carries

    const none = await read(uniqueLot());
    expect(none.response).to.deep.equal({ status: "NO_RESULT", rows: [] });
    expect(none.responseFields).to.deep.equal([3n, 0n, 0n, 0n]);

    systems.systems.sql!.injectFault({ kind: "decline" });
    const refused = await read(other);
    expect(refused.response).to.deep.equal({ status: "REFUSED", rows: [] });
    expect(refused.responseFields).to.deep.equal([4n, 0n, 0n, 0n]);
    expect(host.calls.map((c) => c.attestation !== undefined)).to.deep.equal([true, true, true]);
  });

  it("refuses bad queries with a clear error, answering and recording nothing: unknown name, wrong parameter types, too many rows, a row the fields cannot hold", async () => {
    const sql = systems.systems.sql!;
    const before = sql.ledger().length;
    const host = newHost();

    // An unknown name: no operation to call (host side), 404 from the gateway.
    expect(() => sqlQuery("lab.everything")).to.throw(
      UnknownQueryError,
      /no query "lab.everything"; named queries: lab.inspection_result/,
    );
    const envelope = (request: unknown) => ({
      workflowId: toHex32(1n),
      callSeq: 1,
      idempotencyKey: idempotencyKeyOf(1n, 1),
      request,
    });
    const post = (name: string, request: unknown) =>
      fetch(`${systems.endpoints.sql}/operations/${name}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(envelope(request)),
      });
    const unknown = await post("lab.everything", { lot: "LT000001" });
    expect(unknown.status).to.equal(404);
    expect(((await unknown.json()) as { error: { code: string } }).error.code).to.equal("UNKNOWN_OPERATION");
    // SQL text in the request is no parameter of any query.
    const sqlText = await post("lab.inspection_result", { sql: "DELETE FROM inspection_results" });
    expect(sqlText.status).to.equal(400);

    // Wrong parameter types: refused by the host before sending, and by the gateway.
    const wrongType = await expectRejection(
      host.call({
        operation: labInspectionResult as OperationSpec<unknown, unknown>,
        request: { lot: 42 },
        stepIndex: 0,
      }),
      InvalidRequestError,
    );
    expect(wrongType.message).to.match(/request\.lot: lot must be a string/);
    const overHttp = await post("lab.inspection_result", { lot: 42 });
    expect(overHttp.status).to.equal(400);
    expect(((await overHttp.json()) as { error: { message: string } }).error.message).to.match(/lot/);

    // Too many rows: two results for one lot do not fit the fields (never cut to one).
    const twice = uniqueLot();
    await lab.inspect({ lot: twice, specMin: 0, specMax: 15 });
    await lab.inspect({ lot: twice, specMin: 0, specMax: 15 });
    const tooMany = await expectRejection(
      host.call({ operation: labInspectionResult, request: { lot: twice }, stepIndex: 0 }),
      CallRejectedError,
    );
    expect(tooMany).to.include({ status: 422, code: "TOO_MANY_ROWS", retryable: false });
    expect(tooMany.message).to.match(
      new RegExp(`lab\\.inspection_result\\(lot=${twice}\\) returned more than 1 row\\(s\\)`),
    );

    // A row the fields cannot hold: a measured value beyond 2^53 (written behind the lab's back).
    const wide = uniqueLot();
    const db = new Database(defaultLabDatabaseFile(dataDir));
    db.prepare("INSERT INTO inspection_results VALUES (?, ?, 1, ?, 'x', '2026-01-01T00:00:00Z')").run(
      `QT-${wide}`,
      wide,
      1n << 60n,
    );
    db.close();
    const notEncodable = await expectRejection(
      host.call({ operation: labInspectionResult, request: { lot: wide }, stepIndex: 0 }),
      CallRejectedError,
    );
    expect(notEncodable).to.include({ status: 422, code: "ROW_NOT_ENCODABLE" });
    expect(notEncodable.message).to.match(/measured_value must be a whole number from 0 to 2\^53 - 1/);

    expect(sql.ledger()).to.have.length(before);
    expect(host.calls).to.have.length(0);
  });

  it("journals nothing as answered for a refused query: the step fails with a declared call, no answer kept", async () => {
    const lot = uniqueLot();
    await lab.inspect({ lot, specMin: 0, specMax: 15 });
    await lab.inspect({ lot, specMin: 0, specMax: 15 });
    const journal = Journal.open(path.join(dataDir, "journal.sqlite"));
    try {
      const definition = defineWorkflow({
        name: "inspection-read",
        description: "reads one lot's inspection through the SQL gateway",
        inputSchema: labInspectionResult.requestSchema,
        steps: [
          {
            name: "quality_inspection",
            code: 1,
            operation: labInspectionResult,
            run: async (ctx) => ({ result: await ctx.call(labInspectionResult, ctx.input) }),
          },
        ],
      });
      const execution = await executeWorkflow({
        definition,
        input: { lot },
        endpoints: systems.endpoints,
        providers: systems.providers,
        binding: TEST_BINDING,
        retry: FAST_RETRY,
        journal,
        logger: silent,
      });
      expect(execution.trace.outcome).to.equal("ROLLED_BACK");
      expect(execution.failure).to.deep.include({
        stepName: "quality_inspection",
        evidence: "DECLARED",
        retryable: false,
      });
      expect(execution.failure?.message).to.match(/TOO_MANY_ROWS/);
      const [step] = execution.trace.steps;
      expect(step).to.deep.include({ status: "FAILED", evidence: "DECLARED" });
      expect(step.response).to.deep.equal([0n, 0n, 0n, 0n]);
      const [call] = journal.loadRun(execution.runId).calls;
      expect(call).to.deep.include({ operationName: "lab.inspection_result", status: "FAILED", attempts: 1 });
      expect(call.answeredAt).to.equal(undefined);
      expect(call.response).to.equal(undefined);
    } finally {
      journal.close();
    }
  });

  it("runs only reads: the lab's file opened read-only, a statement that writes refused", async () => {
    const source = sqlSourceOf({ dataDir });
    const lot = uniqueLot();
    await lab.inspect({ lot, specMin: 0, specMax: 15 });
    const count = async () =>
      (
        await readOnlyQuery({
          source,
          sql: "SELECT COUNT(*) AS n FROM inspection_results",
          params: [],
          limit: 1,
        })
      )[0].n;
    const rowsBefore = await count();
    for (const write of [
      "DELETE FROM inspection_results",
      "UPDATE inspection_results SET passed = 0",
      "INSERT INTO inspection_results SELECT * FROM inspection_results",
    ]) {
      let refused = false;
      try {
        await readOnlyQuery({ source, sql: write, params: [], limit: 10 });
      } catch {
        refused = true;
      }
      expect(refused, write).to.equal(true);
    }
    expect(await count()).to.equal(rowsBefore);
    // Parameters are bound, never spliced: a lot that looks like SQL is just a lot nobody inspected.
    const injection = await newHost().call({
      operation: labInspectionResult,
      request: { lot: "x' OR '1'='1" },
      stepIndex: 0,
    });
    expect(injection.response.status).to.equal("NO_RESULT");
  });

  it("decodes only canonical fields: the verdict matches the row, field 0 of the request names the query", () => {
    const row = { lot: "LT000009", passed: true, measuredValue: 7, testId: "QT-000009" };
    const fields = labInspectionResult.encodeResponse({ status: "PASSED", rows: [row] });
    expect(fields).to.deep.equal([1n, encodeString("LT000009"), 7n, encodeString("QT-000009")]);
    // The verdict is the row's `passed`: field 0 says it once, the row JSON repeats it.
    expect(labInspectionResult.decodeResponse([2n, ...fields.slice(1)])).to.deep.equal({
      status: "FAILED",
      rows: [{ ...row, passed: false }],
    });
    expect(() => labInspectionResult.decodeResponse([3n, ...fields.slice(1)])).to.throw(
      OperationDecodingError,
    ); // no result, a row
    expect(() => labInspectionResult.decodeResponse([5n, 0n, 0n, 0n])).to.throw(OperationDecodingError); // no such verdict
    const schema = labInspectionResult.responseSchema;
    expect(schema.safeParse({ status: "PASSED", rows: [{ ...row, passed: false }] }).success).to.equal(false);
    expect(schema.safeParse({ status: "NO_RESULT", rows: [row] }).success).to.equal(false);
    expect(schema.safeParse({ status: "PASSED", rows: [row, row] }).success).to.equal(false);
    expect(() =>
      labInspectionResult.decodeRequest([encodeString("lab.other_query"), encodeString("LT000009"), 0n, 0n]),
    ).to.throw(OperationDecodingError, /names query "lab.other_query"/);
  });

  it("labels the call for the audit: sql lab.inspection_result(lot=…) [attested]", () => {
    const request = labInspectionResult.encodeRequest({ lot: "LT000042" });
    expect(callLabel({ operation: 501, request })).to.equal("lab.inspection_result(lot=LT000042)");
    // An operation that describes no call keeps its name; fields that encode no request get no label.
    expect(
      callLabel({
        operation: 101,
        request: paymentCharge.encodeRequest({
          orderId: "O",
          customerId: "C",
          amountCents: 1,
          currency: "EUR",
        }),
      }),
    ).to.equal(undefined);
    expect(callLabel({ operation: 501, request: [1n, 2n, 3n, 4n] })).to.equal(undefined);
    const [line] = formatTrailSteps({
      steps: [{ index: 4, name: "quality_inspection", phase: "FORWARD", status: "OK", callSeq: 4 }],
      calls: [
        {
          callSeq: 4,
          step: "quality_inspection",
          system: "sql",
          operation: "lab.inspection_result",
          label: callLabel({ operation: 501, request }),
          evidence: "attested",
          signatureVerified: true,
        },
      ],
    });
    expect(line).to.match(
      /quality_inspection +FORWARD +OK +→ sql lab\.inspection_result\(lot=LT000042\) \[attested\]$/,
    );
  });

  it("finds the lab's database: the data dir's SQLite file, file:PATH, or postgres:// (WESFLOW_SQL_URL)", () => {
    expect(sqlSourceOf({ dataDir: "/d" })).to.deep.equal({ kind: "sqlite", file: "/d/lab/lab.sqlite" });
    expect(sqlSourceOf({ dataDir: "/d", url: "file:/srv/lab.db" })).to.deep.equal({
      kind: "sqlite",
      file: "/srv/lab.db",
    });
    const url = "postgres://lab:secret@db.example:5432/lab";
    expect(sqlSourceOf({ dataDir: "/d", url })).to.deep.equal({ kind: "postgres", url });
    expect(describeSqlSource({ kind: "postgres", url })).to.equal(
      "PostgreSQL postgres://lab:***@db.example:5432/lab",
    );
    expect(() => sqlSourceOf({ dataDir: "/d", url: "mysql://lab:secret@x/lab" })).to.throw(
      SqlSourceError,
      /must be postgres:\/\/… \(PostgreSQL\) or file:PATH \(SQLite\), got "mysql:\/\/lab:\*\*\*@x\/lab"/,
    );
    expect(sqlSystem.operations.map((o) => [o.name, o.code, o.system])).to.deep.equal([
      ["lab.inspection_result", 501, "sql"],
      ["sql.status", 502, "sql"],
    ]);
  });
});
