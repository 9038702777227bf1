import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { lastLine, wesflow } from "../fixtures/cli";
import { batchOf, CLEARING_GENESIS, type ClearingInput } from "../../src/scenarios/clearing";
import { netPositions } from "../../src/systems";

const TRADES: ClearingInput = {
  batchId: "CLI-0001",
  trades: [
    { tradeId: 1, payer: "NORDBANK", payee: "LUSOBANK", amountCents: 250_000 },
    { tradeId: 2, payer: "LUSOBANK", payee: "BALTBANK", amountCents: 100_000 },
    { tradeId: 3, payer: "BALTBANK", payee: "ALPBANK", amountCents: 75_000 },
    { tradeId: 4, payer: "ALPBANK", payee: "NORDBANK", amountCents: 20_000 },
  ],
};

describe("wesflow command line: the clearing scenario", function () {
  this.timeout(600_000);
  let dataDir: string;
  let input: string;

  before(() => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "wesflow-cli-clearing-"));
    input = path.join(dataDir, "trades.json");
    fs.writeFileSync(input, JSON.stringify(TRADES));
  });
  after(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  it("run clearing --input trades.json --json: COMMITTED, the balances domain moved; state shows each balance", async () => {
    const result = await wesflow(["run", "clearing", "--input", input, "--json", "--data-dir", dataDir]);
    expect(result.code, result.stderr).to.equal(0);
    const summary = JSON.parse(lastLine(result.stdout));
    expect(summary).to.deep.include({ scenario: "clearing", outcome: "COMMITTED" });
    expect(summary.state.domain).to.equal("clearing/balances");
    expect(summary.state.rootAfter).to.not.equal(summary.state.rootBefore);

    const state = await wesflow(["state", "--domain", "clearing/balances", "--json", "--data-dir", dataDir]);
    expect(state.code, state.stderr).to.equal(0);
    const [domain] = JSON.parse(lastLine(state.stdout));
    expect(domain.version).to.equal(1);
    expect(domain.root).to.equal(summary.state.rootAfter);
    const batch = batchOf(TRADES);
    const nets = netPositions(batch);
    for (const [code, genesis] of Object.entries(CLEARING_GENESIS)) {
      const j = batch.institutions.indexOf(code);
      const entry = (domain.entries as { key: string; value: string }[]).find((e) => e.key === code);
      expect(entry?.value, code).to.equal((genesis + (j < 0 ? 0n : nets[j])).toString());
    }
  });

  it("run clearing --fail bank.statement:mismatch --json: ROLLED_BACK at reconcile, the transfer reversed, proven and recorded", async () => {
    const result = await wesflow([
      "run",
      "clearing",
      "--fail",
      "bank.statement:mismatch",
      "--json",
      "--data-dir",
      dataDir,
    ]);
    expect(result.code, result.stderr).to.equal(0);
    const summary = JSON.parse(lastLine(result.stdout));
    expect(summary).to.deep.include({ scenario: "clearing", outcome: "ROLLED_BACK" });
    expect(summary.failure).to.deep.include({ step: "reconcile", evidence: "ATTESTED" });
    expect(summary.state.rootAfter).to.equal(summary.state.rootBefore);
    expect(result.stderr).to.match(/fault injected: bank\.statement:mismatch/);
  });

  it("refuses a batch that would take a balance below zero before anything runs, and an unknown refusal", async () => {
    const broke = path.join(dataDir, "broke.json");
    fs.writeFileSync(
      broke,
      JSON.stringify({
        batchId: "CLI-0002",
        trades: [{ tradeId: 9, payer: "BALTBANK", payee: "NORDBANK", amountCents: 900_000_000 }],
      }),
    );
    const negative = await wesflow(["run", "clearing", "--input", broke, "--data-dir", dataDir]);
    expect(negative.code).to.equal(1);
    expect(negative.stderr).to.match(/BALTBANK's balance would go negative/);
    const unknown = await wesflow([
      "run",
      "clearing",
      "--fail",
      "bank.statement:explode",
      "--data-dir",
      dataDir,
    ]);
    expect(unknown.code).to.equal(1);
    expect(unknown.stderr).to.match(/unknown kind "explode".*refusals of bank\.statement: mismatch/);
  });
});
