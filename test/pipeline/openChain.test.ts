import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import { expect } from "chai";
import { ethers } from "hardhat";

import { ChainArgumentError } from "../../src/chain";
import { NetworkError, openChain } from "../../src/pipeline";
import { providerFixtures, providerSetOf } from "../fixtures/orderTrace";

describe("openChain: how submissions are waited for", () => {
  let dataDir: string;

  beforeEach(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), "wesflow-open-chain-"));
  });

  afterEach(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  const open = async (settings: { confirmations?: number; txTimeoutMs?: number }) =>
    openChain({
      network: "hardhat",
      dataDir,
      providers: providerSetOf(await providerFixtures()),
      ...settings,
    });

  it("waits for 1 confirmation for at most 120 s by default, and records the registry's deployment block", async () => {
    const chain = await open({});
    expect(chain.confirmations).to.equal(1);
    expect(chain.txTimeoutMs).to.equal(120_000);
    const { registry, deploymentBlock } = chain.deployment;
    expect(await ethers.provider.getCode(registry, deploymentBlock - 1)).to.equal("0x");
    expect(await ethers.provider.getCode(registry, deploymentBlock)).to.not.equal("0x");
    expect((await open({ confirmations: 1, txTimeoutMs: 5_000 })).txTimeoutMs).to.equal(5_000);
  });

  it("refuses a number of confirmations or a timeout that is not an integer ≥ 1", async () => {
    for (const confirmations of [0, -2, 2.5, Number.NaN]) {
      try {
        await open({ confirmations });
        expect.fail(`confirmations ${confirmations} was accepted`);
      } catch (error) {
        expect(error).to.be.instanceOf(ChainArgumentError);
        expect((error as ChainArgumentError).argument).to.equal("confirmations");
      }
    }
    try {
      await open({ txTimeoutMs: 0 });
      expect.fail("a timeout of 0 ms was accepted");
    } catch (error) {
      expect(error).to.be.instanceOf(ChainArgumentError);
      expect((error as ChainArgumentError).argument).to.equal("timeoutMs");
    }
  });

  it("refuses more than 1 confirmation on the in-process network, which would never give them", async () => {
    try {
      await open({ confirmations: 2 });
      expect.fail("2 confirmations were accepted on the in-process network");
    } catch (error) {
      expect(error).to.be.instanceOf(NetworkError);
      expect((error as Error).message).to.match(/in-process network .* never get 2 confirmations/);
    }
  });
});
