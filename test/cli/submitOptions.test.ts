import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import { expect } from "chai";
import { CommanderError, type Command } from "commander";

import { buildProgram } from "../../src/cli/main";
import { UsageError } from "../../src/cli/errors";
import { NetworkError } from "../../src/pipeline";

/** The program, throwing instead of exiting, and silent. */
function program(): Command {
  const built = buildProgram();
  for (const command of [built, ...built.commands]) {
    command.exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
  }
  return built;
}

async function failure(args: string[]): Promise<unknown> {
  try {
    await program().parseAsync(["node", "wesflow", ...args]);
  } catch (error) {
    return error;
  }
  expect.fail(`wesflow ${args.join(" ")} did not fail`);
}

describe("wesflow: --confirmations and --tx-timeout of the commands that submit", () => {
  let dataDir: string;

  beforeEach(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), "wesflow-cli-options-"));
  });

  afterEach(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  for (const command of [["run", "order"], ["resume"], ["demo"]]) {
    it(`${command[0]} refuses a number of confirmations that is not an integer ≥ 1, and a bad timeout`, async () => {
      for (const value of ["0", "-1", "1.5", "two", "1e3"]) {
        const error = await failure([...command, "--confirmations", value, "--data-dir", dataDir]);
        expect(error).to.be.instanceOf(CommanderError);
        expect((error as CommanderError).code).to.equal("commander.invalidArgument");
        expect((error as Error).message).to.contain("expected a number of blocks, an integer ≥ 1");
      }
      const error = await failure([...command, "--tx-timeout", "0", "--data-dir", dataDir]);
      expect((error as CommanderError).code).to.equal("commander.invalidArgument");
      expect((error as Error).message).to.contain("expected milliseconds");
    });
  }

  it("demo refuses more than 1 confirmation before building anything (it runs on the in-process network)", async () => {
    const error = await failure(["demo", "--confirmations", "2", "--data-dir", dataDir]);
    expect(error).to.be.instanceOf(UsageError);
    expect((error as Error).message).to.contain("--confirmations must be 1");
  });

  it("run hands its confirmations to the chain connection", async () => {
    // The in-process network refuses 3 confirmations: the flag reached openChain. (Quiet: the run
    // generates dev keys in the fresh data dir and warns about them.)
    const level = process.env.WESFLOW_LOG_LEVEL;
    process.env.WESFLOW_LOG_LEVEL = "error";
    const error = await failure(["run", "order", "--confirmations", "3", "--data-dir", dataDir]).finally(
      () => {
        if (level === undefined) delete process.env.WESFLOW_LOG_LEVEL;
        else process.env.WESFLOW_LOG_LEVEL = level;
      },
    );
    expect(error).to.be.instanceOf(NetworkError);
    expect((error as Error).message).to.contain("never get 3 confirmations");
  });

  it("run refuses a batch size outside 1-32 and a bad batch window", async () => {
    for (const value of ["0", "33", "1.5", "many"]) {
      const error = await failure(["run", "order", "--batch", value, "--data-dir", dataDir]);
      expect((error as CommanderError).code).to.equal("commander.invalidArgument");
      expect((error as Error).message).to.contain("expected an integer from 1 to 32");
    }
    const error = await failure([
      "run",
      "order",
      "--batch",
      "8",
      "--batch-window",
      "0",
      "--data-dir",
      dataDir,
    ]);
    expect((error as Error).message).to.contain("expected milliseconds");
  });

  it("submit refuses the in-process network, whose registry ends with the command", async () => {
    const error = await failure([
      "submit",
      dataDir,
      "--network",
      "hardhat",
      "--batch",
      "--data-dir",
      dataDir,
    ]);
    expect(error).to.be.instanceOf(NetworkError);
    expect((error as Error).message).to.contain("use --network localhost");
  });
});
