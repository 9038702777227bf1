import { expect } from "chai";
import { Command } from "commander";
import { templateIdOf } from "../../src/chain";
import { addAuditFilterOptions, auditFilters, type AuditFilterOptions } from "../../src/cli/auditCommands";

/** Parses `wesflow audit` filter options as commander does, without exiting on a usage error. */
function parse(args: string[]): AuditFilterOptions {
  const command = addAuditFilterOptions(new Command("audit"))
    .exitOverride()
    .configureOutput({ writeErr: () => undefined });
  command.parse(args, { from: "user" });
  return command.opts<AuditFilterOptions>();
}

describe("wesflow audit filters: template, submitter, outcome, block range", () => {
  it("turns the options into the registry query's filters", async () => {
    const submitter = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
    const options = parse([
      "--template",
      "OrderStateSaga_4_3_10",
      "--submitter",
      submitter,
      "--outcome",
      "ROLLED_BACK",
      "--from-block",
      "3",
      "--to-block",
      "9",
    ]);
    expect(await auditFilters(options)).to.deep.equal({
      templateId: templateIdOf("OrderStateSaga_4_3_10"),
      submitter,
      outcome: "ROLLED_BACK",
      fromBlock: 3,
      toBlock: 9,
    });
    const id = templateIdOf("OrderStateWorkflow_4_3_10");
    expect(await auditFilters(parse(["--template", id]))).to.deep.equal({ templateId: id });
    expect(await auditFilters(parse([]))).to.deep.equal({});
  });

  it("rejects a bad outcome, address, block number or an empty block range", async () => {
    expect(() => parse(["--outcome", "MAYBE"])).to.throw(/Allowed choices are COMMITTED, ROLLED_BACK/);
    expect(() => parse(["--submitter", "0x1234"])).to.throw(/0x1234 is not an address/);
    expect(() => parse(["--from-block", "-1"])).to.throw(/expected a block number/);
    const error = await auditFilters(parse(["--from-block", "9", "--to-block", "3"])).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(error?.message).to.match(/--from-block 9 is after --to-block 3/);
  });
});
