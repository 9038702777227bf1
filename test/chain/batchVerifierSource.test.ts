import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

import {
  batchVerifierContractOf,
  circuitInstance,
  isBatchVerifierCurrent,
  readVerificationKey,
  renderBatchVerifier,
  verificationKeyWords,
  verifyingKeyHash,
} from "../../src/prover";

// The batch verifier's generator (src/prover/batchVerifier.ts), without a chain: what it writes from a
// verification key. test/chain/batchProofs.test.ts runs real proofs through what it writes.

const INSTANCES = ["OrderStateWorkflow_4_3_10", "WorkflowTrace_8_4"];

describe("the batch verifier's generator", () => {
  for (const name of INSTANCES) {
    it(`${name}: one contract of the instance's kind, the key's words and their hash, the key file's sha256`, () => {
      const instance = circuitInstance(name);
      const vkey = readVerificationKey(instance.paths.vkey);
      const source = renderBatchVerifier({
        contractName: batchVerifierContractOf(instance),
        instanceName: name,
        kind: instance.kind,
        vkey,
        vkeySha256: "ab".repeat(32),
      });
      const interfaceName =
        instance.kind === "state" ? "IWorkflowStateBatchVerifier" : "IWorkflowDefinitionBatchVerifier";
      expect(source).to.include(`contract ${name}BatchVerifier is ${interfaceName} {`);
      expect(source).to.include(`bytes32 public constant VERIFYING_KEY_HASH = ${verifyingKeyHash(vkey)};`);
      expect(source).to.include(`sha256 ${"ab".repeat(32)}`);
      for (const word of verificationKeyWords(vkey)) expect(source).to.include(` = ${word};`);
      // Per proof: every signal but a definition's shared hash.
      const perProof = instance.kind === "definition" ? vkey.nPublic - 1 : vkey.nPublic;
      expect(source).to.include(`uint256[${perProof}][] calldata pubSignals`);
      expect(isBatchVerifierCurrent(instance), "setup wrote it from the current key").to.equal(true);
    });
  }

  it("keeps out of the scratch space, which the optimizer's constant loads overwrite (codecopy to 0x00)", () => {
    const instance = circuitInstance(INSTANCES[0]);
    const source = renderBatchVerifier({
      contractName: "X",
      instanceName: instance.name,
      kind: instance.kind,
      vkey: readVerificationKey(instance.paths.vkey),
      vkeySha256: "00",
    });
    const assembly = source.slice(source.indexOf("assembly {"));
    // Every literal memory address the assembly reads or writes is 0x80 or above.
    const addresses = [
      ...assembly.matchAll(/\b(?:mstore|mload|keccak256|return|calldatacopy)\((0x[0-9a-f]+|\d+)\b/g),
    ].map((m) => Number(m[1]));
    expect(addresses.length).to.be.greaterThan(10);
    for (const address of addresses) expect(address).to.be.at.least(0x80);
    expect(assembly).to.not.match(/staticcall\([^)]*,\s*(?:0|0x0+|0x20)\s*,\s*0x20\)/);
  });

  it("refuses a key file that is not a Groth16 bn128 key with an IC point per public signal", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "wesflow-vkey-"));
    try {
      const good = JSON.parse(fs.readFileSync(circuitInstance(INSTANCES[0]).paths.vkey, "utf8"));
      const write = (value: unknown) => {
        const file = path.join(dir, "vkey.json");
        fs.writeFileSync(file, JSON.stringify(value));
        return file;
      };
      expect(() => readVerificationKey(write({ ...good, protocol: "plonk" }))).to.throw(/protocol/);
      expect(() => readVerificationKey(write({ ...good, IC: good.IC.slice(1) }))).to.throw(/IC points/);
      const offField = structuredClone(good);
      offField.vk_alpha_1[0] = (2n ** 255n).toString();
      expect(() => readVerificationKey(write(offField))).to.throw(/base field/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
