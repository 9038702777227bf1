import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import { expect } from "chai";
import { ethers } from "hardhat";

import {
  ChainArgumentError,
  DeploymentNotFoundError,
  readDeployment,
  templateIdOf,
  writeDeployment,
  type DeploymentRecord,
} from "../../src/chain";
import { deployWesflow } from "../../src/pipeline";
import { providerFixtures, providerSetOf } from "../fixtures/orderTrace";

const RECORD: DeploymentRecord = {
  chainId: 31337,
  registry: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
  deploymentBlock: 7,
  templates: {
    OrderWorkflow_4_3: {
      templateId: templateIdOf("OrderWorkflow_4_3"),
      verifier: "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512",
    },
  },
  providerSetRoot: 21888242871839275222246405745257275088548364400416034343698204186575808495616n,
  deployedAt: "2025-11-26T09:40:00.000Z",
};

async function expectNotFound(filePath: string, reason: DeploymentNotFoundError["reason"]) {
  try {
    await readDeployment(filePath);
  } catch (error) {
    expect(error).to.be.instanceOf(DeploymentNotFoundError);
    const notFound = error as DeploymentNotFoundError;
    expect(notFound.reason).to.equal(reason);
    expect(notFound.path).to.equal(filePath);
    expect(notFound.message).to.contain(filePath);
    return notFound;
  }
  expect.fail("expected a DeploymentNotFoundError");
}

describe("chain deployment record", () => {
  let folder: string;

  beforeEach(async () => {
    folder = await mkdtemp(path.join(tmpdir(), "wesflow-deployment-"));
  });

  afterEach(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  it("writes and reads back a record, the provider set root as a decimal string on disk", async () => {
    const filePath = path.join(folder, "deployments", "localhost.json");
    await writeDeployment(filePath, RECORD);
    expect(await readDeployment(filePath)).to.deep.equal(RECORD);
    const onDisk = JSON.parse(await readFile(filePath, "utf8"));
    expect(onDisk.providerSetRoot).to.equal(RECORD.providerSetRoot.toString());
  });

  it("reads a record written before the deployment block was recorded as deployed in block 0", async () => {
    const filePath = path.join(folder, "older.json");
    const { deploymentBlock, ...older } = { ...RECORD, providerSetRoot: RECORD.providerSetRoot.toString() };
    expect(deploymentBlock).to.equal(7);
    await writeFile(filePath, JSON.stringify(older));
    expect(await readDeployment(filePath)).to.deep.equal({ ...RECORD, deploymentBlock: 0 });
  });

  it("records the block the registry was deployed in", async () => {
    const [signer] = await ethers.getSigners();
    const providers = providerSetOf(await providerFixtures());
    const record = await deployWesflow({ signer, providers });
    // The registry's code appears in that very block: no event of it can be older.
    expect(await ethers.provider.getCode(record.registry, record.deploymentBlock - 1)).to.equal("0x");
    expect(await ethers.provider.getCode(record.registry, record.deploymentBlock)).to.not.equal("0x");
    const filePath = path.join(folder, "deployments", "hardhat.json");
    await writeDeployment(filePath, record);
    expect(JSON.parse(await readFile(filePath, "utf8")).deploymentBlock).to.equal(record.deploymentBlock);
    expect((await readDeployment(filePath)).deploymentBlock).to.equal(record.deploymentBlock);
  });

  it("refuses to write an invalid record", async () => {
    const filePath = path.join(folder, "bad.json");
    try {
      await writeDeployment(filePath, { ...RECORD, registry: "0x1234" });
      expect.fail("expected a ChainArgumentError");
    } catch (error) {
      expect(error).to.be.instanceOf(ChainArgumentError);
      expect((error as ChainArgumentError).message).to.contain("registry");
    }
  });

  it("says the record is missing", async () => {
    await expectNotFound(path.join(folder, "absent.json"), "missing");
  });

  it("says the record is malformed when it is not JSON", async () => {
    const filePath = path.join(folder, "garbled.json");
    await writeFile(filePath, "{ chainId: ");
    await expectNotFound(filePath, "malformed");
  });

  it("names every field that does not match the schema", async () => {
    const filePath = path.join(folder, "wrong.json");
    const wrong = {
      ...RECORD,
      chainId: "31337",
      deploymentBlock: -1,
      templates: { OrderWorkflow_4_3: { templateId: "0x12", verifier: RECORD.registry } },
      providerSetRoot: "0x12",
    };
    await writeFile(filePath, JSON.stringify(wrong));
    const notFound = await expectNotFound(filePath, "malformed");
    expect(notFound.issues.map((issue) => issue.split(":")[0])).to.have.members([
      "chainId",
      "deploymentBlock",
      "templates.OrderWorkflow_4_3.templateId",
      "providerSetRoot",
    ]);
  });
});
