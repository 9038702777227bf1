import { PoseidonMerkleTree, type MerklePath, type PublicKey } from "../crypto";
import { providerLeaf } from "./commitment";

export interface ProviderKey {
  system: string;
  systemCode: number;
  publicKey: PublicKey;
}

export class UnknownProviderError extends Error {
  override name = "UnknownProviderError";
  constructor(
    readonly systemCode: number,
    readonly publicKey: PublicKey,
  ) {
    super(`key (${publicKey[0]}, ${publicKey[1]}) of system ${systemCode} is not in the provider set`);
  }
}

/**
 * The registered external systems' keys, committed by a Poseidon Merkle tree of fixed depth whose
 * root the registry knows. The circuit proves each attestation's key is a leaf of it.
 */
export class ProviderSet {
  private readonly tree: PoseidonMerkleTree;

  constructor(
    readonly depth: number,
    readonly providers: readonly ProviderKey[],
  ) {
    this.tree = new PoseidonMerkleTree(depth, providers.map(providerLeaf));
  }

  get root(): bigint {
    return this.tree.root;
  }

  /** The Merkle path of a key, or UnknownProviderError when the key is not in the set for that system. */
  pathOf(systemCode: number, publicKey: PublicKey): MerklePath {
    const index = this.providers.findIndex(
      (p) =>
        p.systemCode === systemCode && p.publicKey[0] === publicKey[0] && p.publicKey[1] === publicKey[1],
    );
    if (index < 0) throw new UnknownProviderError(systemCode, publicKey);
    return this.tree.path(index);
  }

  keyOf(system: string): ProviderKey | undefined {
    return this.providers.find((p) => p.system === system);
  }
}
