import { expect } from "chai";
import Database from "better-sqlite3";

import { StateChain, stateChainOf } from "../../src/pipeline";
import { StateStore } from "../../src/state";

const DOMAIN = "test/stock";
const take = (n: bigint) => [{ key: "A", delta: -n }];

describe("pipeline: StateChain (a domain's runs prepared on top of each other, submitted in batches)", () => {
  let store: StateStore;
  let chain: StateChain;

  beforeEach(() => {
    store = new StateStore(new Database(":memory:"));
    store.createDomain(DOMAIN, { A: 100n });
    chain = new StateChain(store, DOMAIN);
  });

  /** Prepares a run on top of the chain, as recordWithStateInChain does under the domain's lock. */
  const link = (runId: string, n: bigint) =>
    chain.append(store.prepareTransition(DOMAIN, runId, take(n), { onTopOf: chain.tip() }));

  it("each link goes after the one before it handed off; recorded at the head, in order", async () => {
    const a = link("run-a", 1n);
    const b = link("run-b", 2n);
    const c = link("run-c", 3n);
    expect(chain.tip()).to.deep.equal([a, b, c].map((l) => l.transition.id));
    // Proofs finish in the reverse order: each run still hands off after the one before it.
    const order: string[] = [];
    const handOffWhenProven = async (l: typeof a, name: string, provenAfterMs: number) => {
      await new Promise((resolve) => setTimeout(resolve, provenAfterMs));
      await l.turn;
      order.push(name);
      l.handOff();
    };
    await Promise.all([
      handOffWhenProven(c, "c", 0),
      handOffWhenProven(b, "b", 5),
      handOffWhenProven(a, "a", 10),
    ]);
    expect(order).to.deep.equal(["a", "b", "c"]);
    expect(() => chain.recorded(b)).to.throw(/out of order/);
    chain.recorded(a);
    chain.recorded(b);
    expect(store.get(DOMAIN, "A")).to.equal(97n);
    expect(chain.tip()).to.deep.equal([c.transition.id]);
    // A run prepared now goes on top of c, the one left.
    const d = link("run-d", 4n);
    expect(d.transition.rootBefore).to.equal(c.transition.rootAfter);
  });

  it("a link that breaks takes the links after it out of the chain: their transitions discarded, marked to be prepared again", async () => {
    const a = link("run-a", 1n);
    const b = link("run-b", 2n);
    const c = link("run-c", 3n);
    chain.break(b);
    expect([a.broken, b.broken, c.broken]).to.deep.equal([false, false, true]);
    expect([a, b, c].map((l) => store.getTransition(l.transition.id)!.status)).to.deep.equal([
      "PENDING",
      "DISCARDED",
      "DISCARDED",
    ]);
    expect(chain.tip()).to.deep.equal([a.transition.id]);
    await c.turn; // b handed off by breaking: c does not wait for ever
    // c prepared again goes on top of a.
    c.handOff();
    const again = link("run-c", 3n);
    expect(again.transition.rootBefore).to.equal(a.transition.rootAfter);
    // A transaction whose fate is unknown keeps its own transition PENDING (a later reconcile settles it).
    chain.break(a, true);
    expect(store.getTransition(a.transition.id)!.status).to.equal("PENDING");
    expect(store.getTransition(again.transition.id)!.status).to.equal("DISCARDED");
    expect(again.broken).to.equal(true);
  });

  it("one chain per store and domain", () => {
    expect(stateChainOf(store, DOMAIN)).to.equal(stateChainOf(store, DOMAIN));
    expect(stateChainOf(store, DOMAIN)).to.not.equal(stateChainOf(store, "other"));
  });
});
