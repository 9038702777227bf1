import { randomBytes } from "node:crypto";

import { expect } from "chai";
import * as snarkjs from "snarkjs";

import {
  BN254_BASE_FIELD,
  ProofFormatError,
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
        const publicSignals = ["1", "2", "3", "4", "5"];
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
      expect(toPublicSignalValues(["10", 20n, "30", 40n, "50"])).to.deep.equal([10n, 20n, 30n, 40n, 50n]);
    });

    it("rejects anything but five signals", () => {
      expect(() => toPublicSignalValues(["1", "2", "3", "4"])).to.throw(
        ProofFormatError,
        /expected 5 public signals/,
      );
      expect(() => toPublicSignalValues(["1", "2", "3", "4", "5", "6"])).to.throw(ProofFormatError);
    });

    it("rejects signals that are not non-negative integers", () => {
      expect(() => toPublicSignalValues(["1", "-2", "3", "4", "5"])).to.throw(
        ProofFormatError,
        /^malformed proof: 1:/,
      );
      expect(() => toPublicSignalValues(["1", "2", "3", "4", -5n])).to.throw(ProofFormatError, /4:/);
    });
  });

  describe("splitPublicSignals", () => {
    it("takes five signals as they are", () => {
      expect(splitPublicSignals(["10", 20n, "30", 40n, "50"])).to.deep.equal({
        signals: [10n, 20n, 30n, 40n, 50n],
      });
    });

    it("sets a sixth signal, the definition hash, apart from the five the registry takes", () => {
      expect(splitPublicSignals(["10", "20", "30", "40", "50", "60"])).to.deep.equal({
        signals: [10n, 20n, 30n, 40n, 50n],
        definitionHash: 60n,
      });
    });

    it("rejects fewer than five or more than six signals, naming both shapes", () => {
      for (const count of [0, 4, 7]) {
        const signals = Array.from({ length: count }, (_, i) => String(i + 1));
        expect(() => splitPublicSignals(signals)).to.throw(
          ProofFormatError,
          new RegExp(
            `expected 5 public signals \\(workflowId, outcome, traceRoot, providerSetRoot, submitter\\), ` +
              `or 6 for a proof of a user-defined workflow \\(then definitionHash\\); got ${count}`,
          ),
        );
      }
    });

    it("rejects a sixth signal that is not a non-negative integer", () => {
      expect(() => splitPublicSignals(["1", "2", "3", "4", "5", "0x6"])).to.throw(ProofFormatError, /5:/);
      expect(() => splitPublicSignals(["1", "2", "3", "4", "5", -6n])).to.throw(ProofFormatError, /5:/);
    });
  });
});
