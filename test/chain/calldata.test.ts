import { randomBytes } from "node:crypto";

import { expect } from "chai";
import * as snarkjs from "snarkjs";

import {
  BN254_BASE_FIELD,
  ProofFormatError,
  decodeRunClaim,
  encodeRunClaim,
  submitterOfSignals,
  splitPublicSignals,
  toPublicSignalValues,
  toSolidityProof,
} from "../../src/chain";

type Groth16Proof = Parameters<typeof snarkjs.groth16.exportSolidityCallData>[0];

function randomCoordinate(): string {
  return (BigInt(`0x${randomBytes(32).toString("hex")}`) % BN254_BASE_FIELD).toString();
}

/** Well-formed as snarkjs writes proofs (projective coordinates), though not a valid proof. */
function fakeProof(): Groth16Proof {
  return {
    pi_a: [randomCoordinate(), randomCoordinate(), "1"],
    pi_b: [
      [randomCoordinate(), randomCoordinate()],
      [randomCoordinate(), randomCoordinate()],
      ["1", "0"],
    ],
    pi_c: [randomCoordinate(), randomCoordinate(), "1"],
    protocol: "groth16",
    curve: "bn128",
  };
}

/** snarkjs' calldata string, `[a],[[b0],[b1]],[c],[signals]` in hex, as bigints. */
async function snarkjsCalldata(proof: Groth16Proof, publicSignals: string[]) {
  const calldata = await snarkjs.groth16.exportSolidityCallData(proof, publicSignals);
  const [a, b, c, signals] = JSON.parse(`[${calldata}]`) as [string[], string[][], string[], string[]];
  return {
    a: a.map(BigInt),
    b: b.map((pair) => pair.map(BigInt)),
    c: c.map(BigInt),
    signals: signals.map(BigInt),
  };
}

describe("chain calldata", () => {
  describe("toSolidityProof", () => {
    it("matches snarkjs' exportSolidityCallData, pi_b's pairs swapped", async () => {
      for (let sample = 0; sample < 5; sample++) {
        const proof = fakeProof();
        const publicSignals = ["1", "2", "3", "4"];
        const expected = await snarkjsCalldata(proof, publicSignals);

        const solidityProof = toSolidityProof(proof);
        expect(solidityProof).to.deep.equal({ a: expected.a, b: expected.b, c: expected.c });
        expect(solidityProof.b[0]).to.deep.equal([BigInt(proof.pi_b[0][1]), BigInt(proof.pi_b[0][0])]);
        expect(toPublicSignalValues(publicSignals)).to.deep.equal(expected.signals);
      }
    });

    it("accepts affine points without the projective coordinate", () => {
      const proof = fakeProof();
      const affine = {
        pi_a: proof.pi_a.slice(0, 2),
        pi_b: proof.pi_b.slice(0, 2),
        pi_c: proof.pi_c.slice(0, 2),
      };
      expect(toSolidityProof(affine)).to.deep.equal(toSolidityProof(proof));
    });

    it("rejects a coordinate at or above the base field", () => {
      const proof = { ...fakeProof(), pi_c: [BN254_BASE_FIELD.toString(), "1", "1"] };
      expect(() => toSolidityProof(proof))
        .to.throw(ProofFormatError)
        .with.property("issues")
        .that.deep.equals(["pi_c.0: coordinate is not below the BN254 base field"]);
    });

    it("rejects non-decimal coordinates and missing pairs", () => {
      expect(() => toSolidityProof({ ...fakeProof(), pi_a: ["0x12", "3", "1"] })).to.throw(
        ProofFormatError,
        /pi_a\.0: expected a decimal integer string/,
      );
      expect(() => toSolidityProof({ ...fakeProof(), pi_b: [["1", "2"]] })).to.throw(
        ProofFormatError,
        /pi_b/,
      );
    });
  });

  describe("toPublicSignalValues", () => {
    it("takes decimal strings and bigints", () => {
      expect(toPublicSignalValues(["10", 20n, "30", 40n])).to.deep.equal([10n, 20n, 30n, 40n]);
    });

    it("rejects anything but four signals", () => {
      expect(() => toPublicSignalValues(["1", "2", "3"])).to.throw(
        ProofFormatError,
        /expected 4 public signals/,
      );
      expect(() => toPublicSignalValues(["1", "2", "3", "4", "5"])).to.throw(ProofFormatError);
    });

    it("rejects signals that are not non-negative integers", () => {
      expect(() => toPublicSignalValues(["1", "-2", "3", "4"])).to.throw(
        ProofFormatError,
        /^malformed proof: 1:/,
      );
      expect(() => toPublicSignalValues(["1", "2", "3", -4n])).to.throw(ProofFormatError, /3:/);
    });
  });

  describe("splitPublicSignals", () => {
    it("takes four signals as they are", () => {
      expect(splitPublicSignals(["10", 20n, "30", 40n])).to.deep.equal({ signals: [10n, 20n, 30n, 40n] });
    });

    it("sets a fifth signal, the definition hash, apart from the four the registry takes", () => {
      expect(splitPublicSignals(["10", "20", "30", "40", "50"])).to.deep.equal({
        signals: [10n, 20n, 30n, 40n],
        definitionHash: 50n,
      });
    });

    it("rejects fewer than four or more than five signals, naming both shapes", () => {
      for (const count of [0, 3, 6]) {
        const signals = Array.from({ length: count }, (_, i) => String(i + 1));
        expect(() => splitPublicSignals(signals)).to.throw(
          ProofFormatError,
          new RegExp(
            `expected 4 public signals \\(runClaim, workflowId, traceRoot, providerSetRoot\\), ` +
              `or 5 for a proof of a user-defined workflow \\(then definitionHash\\); got ${count}`,
          ),
        );
      }
    });

    it("rejects a fifth signal that is not a non-negative integer", () => {
      expect(() => splitPublicSignals(["1", "2", "3", "4", "0x5"])).to.throw(ProofFormatError, /4:/);
      expect(() => splitPublicSignals(["1", "2", "3", "4", -5n])).to.throw(ProofFormatError, /4:/);
    });
  });

  describe("run claims", () => {
    const submitter = 0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266n;
    it("encode submitter + outcome * 2^160 and decode back; the submitter of a proof's signals", () => {
      for (const outcome of [1n, 2n]) {
        const claim = encodeRunClaim(submitter, outcome);
        expect(claim).to.equal(submitter + outcome * 2n ** 160n);
        expect(decodeRunClaim(claim)).to.deep.equal({ submitter, outcome });
        expect(decodeRunClaim(claim.toString())).to.deep.equal({ submitter, outcome });
        expect(submitterOfSignals([claim.toString(), "1", "2", "3"])).to.equal(submitter);
      }
    });

    it("refuse to encode a submitter of 160 bits or more, or an outcome but 1 and 2", () => {
      expect(() => encodeRunClaim(1n << 160n, 1n)).to.throw(RangeError, /not 160 bits/);
      expect(() => encodeRunClaim(-1n, 1n)).to.throw(RangeError);
      for (const outcome of [0n, 3n]) expect(() => encodeRunClaim(submitter, outcome)).to.throw(RangeError);
    });
  });
});
