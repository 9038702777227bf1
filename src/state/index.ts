/**
 * Committed business state (issue 4): per state domain (e.g. "order/stock"), a key → value map
 * committed by a Poseidon Merkle tree that the circuits can open.
 *
 * Encoding (the state circuit relies on exactly this):
 *  - depth STATE_DEPTH = 10 (1,024 slots), node = Poseidon(left, right) (circomlib Poseidon(2),
 *    `MerkleInclusionRoot`); an empty slot's leaf is 0 and empty subtrees are hashed like any other
 *    node, so the empty tree's root is `emptyStateRoot()`;
 *  - a used slot's leaf is Poseidon(keyField, value): keyField = `stateKeyField(key)` (the key's
 *    UTF-8 bytes packed big-endian, `encodeString`; for stock the SKU), value an unsigned 64-bit
 *    integer (0 ≤ v < 2^64; anything else is refused with a StateValueError) or, in a domain of
 *    named fields (`valueFields`, 1 to 3), their 64-bit limbs packed field 0 lowest
 *    (`packStateValue`: value = Σ fᵢ · 2^(64·i) < 2^192), each field within 64 bits;
 *  - slots are given to keys in the order they first appear in the domain (genesis order, then
 *    transitions) and a key keeps its slot forever; pathIndices[i] is bit i of the slot (1: the
 *    node at level i is a right child), pathElements are the siblings bottom-up (`MerklePath`);
 *  - a domain is named by a string and identified on chain by `stateDomainId(name)` =
 *    keccak256(utf8 name) (ethers `id`).
 *
 * Transitions: `prepareTransition(domain, runId, changes)` computes, against the domain's current
 * root, a StateTransition (rootBefore, rootAfter and per write: key, slot, values and leaves before
 * and after, and the Merkle path — with several writes, each write's path is taken in the tree as
 * the previous writes of the same transition left it, so write i's rootBefore is write i-1's
 * rootAfter) and journals it PENDING; `applyTransition(id)` applies it atomically only if the
 * domain's root is still its rootBefore (else StaleStateError), `discardTransition(id)` drops it.
 * A run's changes are its scenario's (`changes(trace)`): a ROLLED_BACK order's cancel out (its stock
 * was taken and given back: no changes, rootAfter == rootBefore); a rolled-back supply chain whose
 * lot was scrapped writes the consumed materials off. A run has at
 * most one APPLIED transition per domain.
 *
 * Concurrency policy: REBASING, serialized per domain. A run's effect on a domain is expressed as
 * deltas (stock −qty), not as absolute values, so it does not depend on the root current when the
 * run executed: it is turned into a transition against the root current when the run is proven.
 * `commit(domain, runId, changes, record)` takes the domain's in-process lock (p-limit(1) per
 * domain), prepares the transition against the current root, awaits `record` (prove and submit it)
 * and applies it, so transitions of one domain are prepared, proven, submitted and applied one at
 * a time and a submission is never stale because of this process. Runs still execute concurrently
 * (their external calls are not queued); only their state transitions wait for each other, and the
 * proofs of one domain's runs are serialized (the prover is one-at-a-time by default anyway). A
 * transition made stale by something else (another process on the same journal, or a registry
 * that moved) is refused by `applyTransition` (and by the registry): discard it and prepare the
 * run's deltas again against the new root. Note for the executor: a step that checks a business
 * rule during execution (reserve-inventory: enough stock?) sees the state at execution time; the
 * transition re-checks it (stock ≥ 0) when it is prepared, and refuses a run that no longer fits.
 *
 * Crash recovery: pending transitions survive a crash; `reconcile(domain, chainRoot)` applies the
 * one that leads from the local root to the registry's current root, keeps those prepared against
 * that root (they may be resubmitted) and discards the rest. Runs submitted together (a batch,
 * `submitBatchWithState`) are prepared as a chain (`prepareTransition(..., { onTopOf })`): each on
 * top of the pending ones before it (the pipeline's StateChain discards a broken chain's rest), and
 * `reconcile(domain, chainRoot, recorded)` applies what the registry recorded of a chain, in order.
 */
export * from "./errors";
export * from "./encoding";
export * from "./tree";
export * from "./store";
export * from "./leaf";
export * from "./fields";
