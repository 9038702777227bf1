import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import pino from "pino";

import { SNARK_SCALAR_FIELD } from "../../src/crypto";
import {
  HostInterface,
  InvalidRequestError,
  OperationDecodingError,
  type OperationSpec,
} from "../../src/host";
import {
  BANK_ACCOUNTS,
  bankBalances,
  bankReverseBatch,
  bankStatement,
  bankTransferBatch,
  decodeTradeBatch,
  encodeTradeBatch,
  legOf,
  legsHashOf,
  netField,
  netPositions,
  readStoredLedger,
  startSystems,
  venueConfirmBatch,
  type StartedSystems,
  type TradeBatch,
} from "../../src/systems";
import { expectRejection } from "../fixtures/rejection";

const silent = pino({ level: "silent" });
const newWorkflowId = () => BigInt("0x" + randomBytes(31).toString("hex"));

const BATCH: TradeBatch = {
  batchId: "CB-SYS01",
  institutions: ["NORDBANK", "ALPBANK", "IBERBANK"],
  trades: [
    { tradeId: 1, payer: "NORDBANK", payee: "ALPBANK", amountCents: 50_000 },
    { tradeId: 2, payer: "ALPBANK", payee: "IBERBANK", amountCents: 20_000 },
    { tradeId: 3, payer: "IBERBANK", payee: "NORDBANK", amountCents: 5_000 },
  ],
};

describe("settlement bank and trade venue (src/systems/bank, src/systems/venue) over HTTP", function () {
  this.timeout(60_000);
  let dataDir: string;
  let storeDir: string;
  let systems: StartedSystems;

  before(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "wesflow-bank-"));
    storeDir = path.join(dataDir, "systems");
    systems = await startSystems({
      systems: ["venue", "bank"],
      dataDir,
      providerSetDepth: 3,
      logger: silent,
      storeDir,
    });
  });

  afterEach(() => {
    systems.systems.bank!.clearFaults();
    systems.systems.venue!.clearFaults();
  });

  after(async () => {
    await systems?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  /** A host for one fresh workflow; each call's fields are checked to decode back to its JSON. */
  function run() {
    const host = new HostInterface({
      workflowId: newWorkflowId(),
      endpoints: systems.endpoints,
      providers: systems.providers,
      logger: silent,
    });
    const call = async <Req, Res>(operation: OperationSpec<Req, Res>, request: Req, callSeq?: number) => {
      const result = await host.call({ operation, request, stepIndex: 0, callSeq });
      expect(operation.decodeRequest(result.requestFields)).to.deep.equal(request);
      expect(operation.decodeResponse(result.responseFields)).to.deep.equal(result.response);
      return result;
    };
    return { host, call };
  }

  const balances = () => bankBalances(systems.systems.bank!.ledger());
  const legs = (batch: TradeBatch) => {
    const nets = netPositions(batch);
    return batch.institutions.map((code, j) => legOf(code, nets[j]));
  };

  it("the venue confirms a batch, signed over its packed fields; the fields decode back to the batch", async () => {
    const { call } = run();
    const confirmed = await call(venueConfirmBatch, BATCH);
    expect(confirmed.response).to.deep.equal({
      status: "CONFIRMED",
      confirmation: confirmed.response.confirmation,
    });
    expect(confirmed.response.confirmation).to.match(/^CF\d{6}$/);
    expect(decodeTradeBatch(encodeTradeBatch(BATCH))).to.deep.equal(BATCH);
    expect(confirmed.record.attestation?.system).to.equal("venue");
  });

  it("the bank executes the net legs in one transfer (its answer carries their hash), states the balances, reverses", async () => {
    const before = balances();
    const { call } = run();
    const transfer = await call(bankTransferBatch, { batchId: BATCH.batchId, legs: legs(BATCH) });
    expect(transfer.response.status).to.equal("EXECUTED");
    expect(transfer.response.legsHash).to.equal(legsHashOf(legs(BATCH)).toString());
    const after = balances();
    const nets = netPositions(BATCH);
    BATCH.institutions.forEach((code, j) => expect(after[code]).to.equal(before[code] + nets[j]));

    const expected = BATCH.institutions.map((institution) => ({
      institution,
      expectedCents: Number(after[institution]),
    }));
    const statement = await call(bankStatement, { batchId: BATCH.batchId, balances: expected });
    expect(statement.response.status).to.equal("MATCHED");
    expect(statement.response.balances).to.deep.equal(expected.map((b) => b.expectedCents));

    const reversal = await call(bankReverseBatch, {
      batchId: BATCH.batchId,
      transfer: transfer.response.transfer,
      legsHash: transfer.response.legsHash,
    });
    expect(reversal.response).to.deep.include({ status: "REVERSED", legsHash: transfer.response.legsHash });
    expect(balances()).to.deep.equal(before);
  });

  it("answers MISMATCH (signed, status 2) when its balances are not the expected ones, and with the `mismatch` refusal", async () => {
    const { call } = run();
    const transfer = await call(bankTransferBatch, {
      batchId: "CB-SYS02",
      legs: legs({ ...BATCH, batchId: "CB-SYS02" }),
    });
    const now = balances();
    const expected = BATCH.institutions.map((institution) => ({
      institution,
      expectedCents: Number(now[institution]),
    }));
    const off = expected.map((b, j) => (j === 0 ? { ...b, expectedCents: b.expectedCents + 1 } : b));
    const mismatch = await call(bankStatement, { batchId: "CB-SYS02", balances: off });
    expect(mismatch.response.status).to.equal("MISMATCH");
    expect(mismatch.responseFields[0]).to.equal(2n);
    expect(mismatch.response.balances).to.deep.equal(expected.map((b) => b.expectedCents));

    systems.systems.bank!.injectFault({ operation: "bank.statement", kind: "decline", refusal: "mismatch" });
    const told = await call(bankStatement, { batchId: "CB-SYS02", balances: expected });
    expect(told.response.status).to.equal("MISMATCH");
    expect(told.response.balances[0]).to.equal(expected[0].expectedCents + 1);
    // the books did not move: only the statement says otherwise
    expect(balances()).to.deep.equal(now);
    await call(bankReverseBatch, {
      batchId: "CB-SYS02",
      transfer: transfer.response.transfer,
      legsHash: transfer.response.legsHash,
    });
  });

  it("refuses (signed) a transfer that would take a balance below zero, names an unknown account, or does not balance", async () => {
    const { call } = run();
    const before = balances();
    const refused = async (request: Parameters<typeof bankTransferBatch.encodeRequest>[0]) => {
      const answer = await call(bankTransferBatch, request);
      expect(answer.response).to.deep.equal({ status: "REFUSED", transfer: "", legsHash: "0" });
      expect(answer.responseFields).to.deep.equal([2n, 0n, 0n, 0n]);
    };
    const broke = BANK_ACCOUNTS.BALTBANK + 1;
    await refused({
      batchId: "CB-NEG",
      legs: [legOf("BALTBANK", BigInt(-broke)), legOf("NORDBANK", BigInt(broke))],
    });
    await refused({ batchId: "CB-UNK", legs: [legOf("NORDBANK", -5n), legOf("NOBANK", 5n)] });
    await refused({ batchId: "CB-UNB", legs: [legOf("NORDBANK", -5n), legOf("ALPBANK", 4n)] });
    systems.systems.bank!.injectFault({ operation: "bank.transferBatch", kind: "decline" });
    await refused({ batchId: "CB-DEC", legs: legs(BATCH) });
    expect(balances()).to.deep.equal(before);
  });

  it("refuses a reversal of an unknown transfer or with another legs hash, and a statement without a transfer", async () => {
    const { call } = run();
    const transfer = await call(bankTransferBatch, {
      batchId: "CB-SYS04",
      legs: legs({ ...BATCH, batchId: "CB-SYS04" }),
    });
    const reverse = (request: Parameters<typeof bankReverseBatch.encodeRequest>[0]) =>
      call(bankReverseBatch, request);
    const { transfer: ref, legsHash } = transfer.response;
    expect((await reverse({ batchId: "CB-SYS04", transfer: "TR999999", legsHash })).response.status).to.equal(
      "REFUSED",
    );
    expect((await reverse({ batchId: "CB-SYS04", transfer: ref, legsHash: "1" })).response.status).to.equal(
      "REFUSED",
    );
    expect((await reverse({ batchId: "CB-OTHER", transfer: ref, legsHash })).response.status).to.equal(
      "REFUSED",
    );
    expect((await reverse({ batchId: "CB-SYS04", transfer: ref, legsHash })).response.status).to.equal(
      "REVERSED",
    );
    expect((await reverse({ batchId: "CB-SYS04", transfer: ref, legsHash })).response.status).to.equal(
      "REFUSED",
    );
    const none = await call(bankStatement, {
      batchId: "CB-NONE",
      balances: [{ institution: "NORDBANK", expectedCents: 1 }],
    });
    expect(none.response).to.deep.equal({ status: "REFUSED", balances: [], statement: "" });
    expect(none.responseFields).to.deep.equal([3n, 0n, 0n, 0n]);
  });

  it("refuses requests the fields cannot hold before anything is sent, and a named refusal of another operation", async () => {
    const { call } = run();
    await expectRejection(
      call(venueConfirmBatch, { ...BATCH, trades: [{ ...BATCH.trades[0], payee: "NORDBANK" }] }),
      InvalidRequestError,
    );
    await expectRejection(
      call(venueConfirmBatch, { ...BATCH, institutions: ["NORDBANK", "ALPBANK"] }),
      InvalidRequestError,
    );
    expect(() =>
      systems.systems.bank!.injectFault({
        operation: "bank.transferBatch",
        kind: "decline",
        refusal: "mismatch",
      }),
    ).to.throw(/no refusal of bank.transferBatch/);
  });

  it("decodes only canonical fields", () => {
    const fields = encodeTradeBatch(BATCH);
    expect(() =>
      venueConfirmBatch.decodeRequest([fields[0], fields[1], fields[2], fields[3] | (1n << 250n)]),
    ).to.throw(OperationDecodingError);
    const request = bankTransferBatch.encodeRequest({ batchId: "CB-1", legs: [legOf("NORDBANK", 0n)] });
    // a zero leg marked PAY (side bit 0 set): two encodings of one leg
    expect(() =>
      bankTransferBatch.decodeRequest([request[0], request[1], request[2], request[3] | (1n << 128n)]),
    ).to.throw(OperationDecodingError);
    expect(netField(-1n)).to.equal(SNARK_SCALAR_FIELD - 1n);
  });

  it("honours idempotency keys: a transfer re-sent under its callSeq gets the original signed answer, posted once", async () => {
    const { call } = run();
    const request = { batchId: "CB-IDEM", legs: legs({ ...BATCH, batchId: "CB-IDEM" }) };
    const first = await call(bankTransferBatch, request);
    const once = balances();
    const again = await call(bankTransferBatch, request, first.record.callSeq);
    expect(again.response).to.deep.equal(first.response);
    expect(again.record.attestation?.signature).to.deep.equal(first.record.attestation?.signature);
    expect(balances()).to.deep.equal(once);
    await call(bankReverseBatch, {
      batchId: "CB-IDEM",
      transfer: first.response.transfer,
      legsHash: first.response.legsHash,
    });
  });

  it("keeps its books in its store file: the balances survive a restart", async () => {
    const { call } = run();
    await call(bankTransferBatch, { batchId: "CB-SYS03", legs: legs({ ...BATCH, batchId: "CB-SYS03" }) });
    const now = balances();
    await systems.stop();
    expect(bankBalances(readStoredLedger(path.join(storeDir, "bank.sqlite")))).to.deep.equal(now);
    systems = await startSystems({
      systems: ["venue", "bank"],
      dataDir,
      providerSetDepth: 3,
      logger: silent,
      storeDir,
    });
    expect(balances()).to.deep.equal(now);
  });
});
