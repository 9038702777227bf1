import { expect } from "chai";
import type { WitnessTester } from "circomkit";
import { encodeString, poseidon, PoseidonMerkleTree, rootFromPath, signMessage } from "../../src/crypto";
import { stateSlotOf } from "../../src/state";
import { attestationMessage, hashFields } from "../../src/trace";
import { SYSTEM_CODES } from "../../src/systems";
import { circomkit } from "../fixtures/circomkit";
import { PROVIDER_DEPTH, providerFixtures, providerSetOf } from "../fixtures/orderTrace";

const DEPTH = 4;
const s = encodeString;

/** A depth-4 state tree with the given keys at their own slots (or at `slot` when given: a forgery). */
function treeOf(entries: { key: string; value: bigint; slot?: number }[]): PoseidonMerkleTree {
  const leaves = new Array<bigint>(1 << DEPTH).fill(0n);
  for (const e of entries) leaves[e.slot ?? stateSlotOf(s(e.key), DEPTH)] = poseidon([s(e.key), e.value]);
  return new PoseidonMerkleTree(DEPTH, leaves);
}

describe("state positions and attestation bits (lib/state.circom, lib/attestation.circom)", function () {
  this.timeout(300_000);

  describe("StateSlot(4): the key's position is the low bits of Poseidon(key), as src/state computes", () => {
    let circuit: WitnessTester<["key"], ["bits"]>;
    before(async () => {
      circuit = await circomkit.WitnessTester("StateSlot_4", {
        file: "lib/state",
        template: "StateSlot",
        params: [DEPTH],
      });
    });
    it("agrees with stateSlotOf for several keys", async () => {
      for (const key of ["SKU-1", "SKU-COFFEE-1KG", "bank:A", ""]) {
        const slot = stateSlotOf(s(key), DEPTH);
        const bits = Array.from({ length: DEPTH }, (_, i) => BigInt((slot >> i) & 1));
        await circuit.expectPass({ key: s(key) }, { bits });
      }
    });
  });

  for (const allowInsert of [0, 1]) {
    describe(`StateLeafUpdate(4, ${allowInsert})`, () => {
      let circuit: WitnessTester<string[], ["rootAfter"]>;
      before(async () => {
        circuit = await circomkit.WitnessTester(`StateLeafUpdate_4_${allowInsert}`, {
          file: "lib/state",
          template: "StateLeafUpdate",
          params: [DEPTH, allowInsert],
        });
      });
      const base = [
        { key: "SKU-1", value: 50n },
        { key: "SKU-2", value: 9n },
      ];
      const update = (
        tree: PoseidonMerkleTree,
        key: string,
        valueBefore: bigint,
        valueAfter: bigint,
        slot?: number,
      ) => ({
        rootBefore: tree.root,
        key: s(key),
        valueBefore,
        valueAfter,
        pathElements: tree.path(slot ?? stateSlotOf(s(key), DEPTH)).pathElements,
        enabled: 1n,
        inserted: 0n,
      });

      it("updates a key's leaf at its own slot", async () => {
        const tree = treeOf(base);
        const after = treeOf([{ key: "SKU-1", value: 47n }, base[1]]);
        await circuit.expectPass(update(tree, "SKU-1", 50n, 47n), { rootAfter: after.root });
      });

      it("refuses the key's leaf placed at another slot (a wrong position)", async () => {
        const other = (stateSlotOf(s("SKU-1"), DEPTH) + 1) % (1 << DEPTH);
        const misplaced = treeOf([{ key: "SKU-1", value: 50n, slot: other }, base[1]]);
        await circuit.expectFail(update(misplaced, "SKU-1", 50n, 47n, other));
      });

      it("refuses a shadow leaf: a second leaf of the key elsewhere can never be opened", async () => {
        const other = (stateSlotOf(s("SKU-1"), DEPTH) + 3) % (1 << DEPTH);
        const shadowed = treeOf([...base, { key: "SKU-1", value: 1000n, slot: other }]);
        await circuit.expectFail(update(shadowed, "SKU-1", 1000n, 997n, other));
        // the real leaf, at the key's slot, still updates in that tree
        await circuit.expectPass(update(shadowed, "SKU-1", 50n, 47n));
      });

      it("refuses an empty slot opened as an existing key (value claimed, no insert)", async () => {
        const tree = treeOf([base[1]]);
        await circuit.expectFail(update(tree, "SKU-1", 50n, 47n));
      });

      if (allowInsert === 1) {
        it("inserts a key's first write into its empty slot (valueBefore 0)", async () => {
          const tree = treeOf([base[1]]);
          const after = treeOf([{ key: "SKU-1", value: 5n }, base[1]]);
          await circuit.expectPass(
            { ...update(tree, "SKU-1", 0n, 5n), inserted: 1n },
            { rootAfter: after.root },
          );
        });
        it("refuses an insert over a used slot, and an insert with a value before", async () => {
          const tree = treeOf(base);
          await circuit.expectFail({ ...update(tree, "SKU-1", 0n, 5n), inserted: 1n });
          const empty = treeOf([base[1]]);
          await circuit.expectFail({ ...update(empty, "SKU-1", 50n, 55n), inserted: 1n });
        });
      } else {
        it("refuses an insert where the template allows none", async () => {
          const tree = treeOf([base[1]]);
          const input = { ...update(tree, "SKU-1", 0n, 5n), inserted: 1n };
          await circuit.expectFail(input);
          // the same leaf written as an update of an existing 0 value does not open an empty slot either
          await circuit.expectFail({ ...input, inserted: 0n });
        });
      }
    });
  }

  describe("ProviderAttestation(3): enabled is a bit", () => {
    let circuit: WitnessTester<string[], string[]>;
    before(async () => {
      circuit = await circomkit.WitnessTester("ProviderAttestation_3", {
        file: "lib/attestation",
        template: "ProviderAttestation",
        params: [PROVIDER_DEPTH],
      });
    });

    it("accepts a valid signature with enabled = 1; refuses enabled = 2 with the same signature", async () => {
      const providers = await providerFixtures();
      const set = providerSetOf(providers);
      const payment = providers.find((p) => p.system === "payment")!;
      const call = {
        workflowId: 0xabcn,
        callSeq: 1,
        operation: 101,
        requestHash: hashFields([1n, 2n, 3n, 4n]),
      };
      const responseHash = hashFields([1n, 5n, 6n, 0n]);
      const signature = await signMessage(payment.privateKey, attestationMessage({ ...call, responseHash }));
      const path = set.pathOf(SYSTEM_CODES.payment, payment.publicKey);
      expect(rootFromPath(poseidon([BigInt(SYSTEM_CODES.payment), ...payment.publicKey]), path)).to.equal(
        set.root,
      );
      const input = {
        enabled: 1n,
        workflowId: call.workflowId,
        callSeq: 1n,
        operation: 101n,
        requestHash: call.requestHash,
        responseHash,
        systemCode: BigInt(SYSTEM_CODES.payment),
        providerSetRoot: set.root,
        publicKey: [...payment.publicKey],
        signatureR8: [...signature.R8],
        signatureS: signature.S,
        pathElements: path.pathElements,
        pathIndices: path.pathIndices.map(BigInt),
      };
      await circuit.expectPass(input);
      await circuit.expectFail({ ...input, enabled: 2n });
    });
  });
});
