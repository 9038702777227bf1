import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import pg from "pg";
import pino from "pino";

import { encodeString, verifySignature } from "../../src/crypto";
import { defineWorkflow } from "../../src/definition";
import { executeWorkflow } from "../../src/executor";
import { CallRejectedError, HostInterface } from "../../src/host";
import { Journal } from "../../src/journal";
import {
  labInspectionResult,
  readOnlyQuery,
  SimulatedLab,
  SqlReadOnlyError,
  sqlSourceOf,
  startSystems,
  type SqlSource,
  type StartedSystems,
} from "../../src/systems";
import { attestationMessage } from "../../src/trace";
import { FAST_RETRY } from "../fixtures/orderRuns";
import { TEST_BINDING } from "../fixtures/orderTrace";
import { startPostgres, type PostgresServer } from "../fixtures/postgres";
import { expectRejection } from "../fixtures/rejection";

const silent = pino({ level: "silent" });

describe("SQL gateway on a real PostgreSQL server (WESFLOW_SQL_URL=postgres://…), end to end", function () {
  this.timeout(180_000);
  let server: PostgresServer | undefined;
  let dataDir: string;
  let source: SqlSource;
  let lab: SimulatedLab;
  let systems: StartedSystems;
  let savedUrl: string | undefined;

  before(async function () {
    const started = await startPostgres();
    if ("skipped" in started) {
      process.stderr.write(`      (skipped: ${started.skipped})\n`);
      this.skip();
    }
    server = started as PostgresServer;
    savedUrl = process.env.WESFLOW_SQL_URL;
    process.env.WESFLOW_SQL_URL = server.url;
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "wesflow-sqlpg-"));
    source = sqlSourceOf({ dataDir });
    lab = await SimulatedLab.open({ source });
    systems = await startSystems({ systems: ["sql"], dataDir, providerSetDepth: 3, logger: silent });
  });

  after(async () => {
    await systems?.stop();
    await lab?.close();
    await server?.stop();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
    if (savedUrl === undefined) delete process.env.WESFLOW_SQL_URL;
    else process.env.WESFLOW_SQL_URL = savedUrl;
  });

  it("the lab writes PostgreSQL, a workflow reads it through the gateway: attested, journaled, the same fields as from SQLite", async () => {
    expect(source).to.deep.equal({ kind: "postgres", url: server!.url });
    const passed = await lab.inspect({ lot: "LT000001", specMin: 4950, specMax: 5050 });
    lab.injectFault({ kind: "fail-inspection" });
    const failed = await lab.inspect({ lot: "LT000002", specMin: 4950, specMax: 5050 });
    expect(failed).to.deep.include({ passed: false, measuredValue: 5051, testId: "QT-000002" });

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
      const execute = (lot: string) =>
        executeWorkflow({
          definition,
          input: { lot },
          endpoints: systems.endpoints,
          providers: systems.providers,
          binding: TEST_BINDING,
          retry: FAST_RETRY,
          journal,
          logger: silent,
        });

      const committed = await execute("LT000001");
      expect(committed.trace.outcome).to.equal("COMMITTED");
      const [record] = committed.trace.steps;
      expect(record).to.deep.include({ status: "OK", evidence: "ATTESTED", operation: 501 });
      // Exactly the fields the SQLite path gives for this row: the encoding is the gateway's, not the driver's.
      expect(record.request).to.deep.equal([
        encodeString("lab.inspection_result"),
        encodeString("LT000001"),
        0n,
        0n,
      ]);
      expect(record.response).to.deep.equal([
        1n,
        encodeString("LT000001"),
        5000n,
        encodeString(passed.testId),
      ]);
      const [call] = committed.trace.calls;
      expect(call.responseJson).to.deep.equal({
        status: "PASSED",
        rows: [{ lot: "LT000001", passed: true, measuredValue: 5000, testId: "QT-000001" }],
      });
      const message = attestationMessage({
        workflowId: committed.trace.workflowId,
        callSeq: 1,
        operation: 501,
        requestHash: call.requestHash,
        responseHash: call.responseHash,
      });
      const key = systems.providers.keyOf("sql")!.publicKey;
      expect(await verifySignature(message, call.attestation!.signature, key)).to.equal(true);
      expect(journal.loadRun(committed.runId).calls[0]).to.deep.include({ status: "ANSWERED" });

      // The failing result is the gateway's signed "no": the step fails with attested evidence.
      const rolledBack = await execute("LT000002");
      expect(rolledBack.trace.outcome).to.equal("ROLLED_BACK");
      expect(rolledBack.trace.steps[0]).to.deep.include({ status: "FAILED", evidence: "ATTESTED" });
      expect(rolledBack.trace.steps[0].response).to.deep.equal([
        2n,
        encodeString("LT000002"),
        5051n,
        encodeString("QT-000002"),
      ]);
    } finally {
      journal.close();
    }
  });

  it("refuses too many rows, and PostgreSQL itself refuses a write in the gateway's read-only transaction", async () => {
    await lab.inspect({ lot: "LT000003", specMin: 0, specMax: 15 });
    await lab.inspect({ lot: "LT000003", specMin: 0, specMax: 15 });
    const host = new HostInterface({
      workflowId: 0xabcden,
      endpoints: systems.endpoints,
      providers: systems.providers,
      logger: silent,
    });
    const before = systems.systems.sql!.ledger().length;
    const tooMany = await expectRejection(
      host.call({ operation: labInspectionResult, request: { lot: "LT000003" }, stepIndex: 0 }),
      CallRejectedError,
    );
    expect(tooMany).to.include({ status: 422, code: "TOO_MANY_ROWS" });
    expect(systems.systems.sql!.ledger()).to.have.length(before);

    const admin = new pg.Client({ connectionString: server!.url });
    await admin.connect();
    try {
      await admin.query("CREATE SEQUENCE IF NOT EXISTS wesflow_probe");
      const probe = () =>
        readOnlyQuery({ source, sql: "SELECT nextval('wesflow_probe') AS n", params: [], limit: 1 });
      await expectRejection(probe(), SqlReadOnlyError);
      const rows = await admin.query<{ last_value: string; is_called: boolean }>(
        "SELECT last_value, is_called FROM wesflow_probe",
      );
      expect(rows.rows[0].is_called).to.equal(false); // the sequence never moved
      const count = await readOnlyQuery({
        source,
        sql: "SELECT COUNT(*) AS n FROM inspection_results WHERE lot = $1",
        params: ["LT000003"],
        limit: 1,
      });
      expect(count).to.deep.equal([{ n: "2" }]);
    } finally {
      await admin.end();
    }
  });
});
