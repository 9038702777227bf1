import { expect } from "chai";
import Database from "better-sqlite3";
import { z } from "zod";

import { bundleVerificationJson, formatStateTransition, type BundleVerification } from "../../src/audit";
import { checkState } from "../../src/audit/verify/state";
import { Findings } from "../../src/audit/verify/findings";
import type { BundleState, RunBundle } from "../../src/bundle";
import { toHex32 } from "../../src/crypto";
import { defineWorkflow } from "../../src/definition";
import { stateMoveOf } from "../../src/pipeline";
import { SCENARIOS, type Scenario } from "../../src/scenarios";
import { packStateValue, StateStore, type StateChange } from "../../src/state";

const SCENARIO = "packed-state-test";
const DOMAIN = "test/materials";
const FIELDS = ["stock", "scrap"];

/** What the scenario's `changes(trace)` returns for a committed run (each test sets it). */
let scenarioChanges: StateChange[] = [];

const definition = defineWorkflow<unknown>({
  name: SCENARIO,
  template: "T_1_1",
  description: "a committed run moves 24 units of STEEL from stock to scrap",
  inputSchema: z.unknown(),
  steps: [{ name: "cut", code: 1, run: async () => ({ result: null }) }],
  state: {
    domain: DOMAIN,
    genesis: { STEEL: [500n, 0n] },
    valueFields: FIELDS,
    changes: (trace) => (trace.outcome === "COMMITTED" ? scenarioChanges : []),
  },
});

/** The bundle's state as a run leaves it: the store's transition of `changes` from the genesis. */
function bundleStateOf(changes: StateChange[]): BundleState {
  const store = new StateStore(new Database(":memory:"));
  store.createDomain(DOMAIN, { STEEL: [500n, 0n] }, { valueFields: FIELDS });
  return stateMoveOf(store.prepareTransition(DOMAIN, "run-1", changes)).bundle;
}

/** A bundle-like input of what the state check reads: scenario, outcome, an empty trace and the state. */
function bundleWith(state: BundleState): RunBundle {
  return {
    workflowId: "1",
    binding: { submitter: "0x0000000000000000000000000000000000000001", workflowTag: "1", runNonce: "1" },
    scenario: SCENARIO,
    template: "T_1_1",
    outcome: "COMMITTED",
    steps: [],
    calls: [],
    state,
  } as unknown as RunBundle;
}

function check(bundle: RunBundle) {
  const findings = new Findings();
  const result = checkState({ bundle, instance: undefined, findings });
  return {
    summary: result!.summary,
    problems: findings.problems.get("state")!,
    status: findings.status("state"),
  };
}

describe("verify: a state domain of named fields (valueFields), checked field by field", () => {
  before(() => {
    // The state check reads only the registered scenario's definition (its state effect).
    SCENARIOS[SCENARIO] = { name: SCENARIO, createDefinition: () => definition } as unknown as Scenario;
  });
  after(() => {
    delete SCENARIOS[SCENARIO];
  });
  beforeEach(() => {
    scenarioChanges = [{ key: "STEEL", deltas: [-24n, 24n] }];
  });

  it("passes a run whose write moves each field by its delta, and reports the fields by name", () => {
    const { summary, problems, status } = check(bundleWith(bundleStateOf(scenarioChanges)));
    expect(problems).to.deep.equal([]);
    expect(status).to.equal("passed");
    expect(summary.valueFields).to.deep.equal(FIELDS);
    expect(summary.writes).to.deep.equal([
      {
        key: "STEEL",
        valueBefore: packStateValue([500n, 0n]).toString(),
        valueAfter: packStateValue([476n, 24n]).toString(),
        fieldsBefore: { stock: "500", scrap: "0" },
        fieldsAfter: { stock: "476", scrap: "24" },
      },
    ]);
  });

  it("a write whose scrap is not the one the run's change gives is refused, naming the field", () => {
    // The store's own (sound) transition of other deltas: only the field check can tell.
    const { problems } = check(bundleWith(bundleStateOf([{ key: "STEEL", deltas: [-24n, 25n] }])));
    expect(problems).to.deep.equal([
      `write 0 ("STEEL"): its scrap after is 25; the run's change (scrap: add 24) from 0 gives 24`,
    ]);

    // A tampered valueAfter (stock 476 → 477): the field and the roots both say so.
    const state = bundleStateOf(scenarioChanges);
    state.writes[0].valueAfter = packStateValue([477n, 24n]).toString();
    const tampered = check(bundleWith(state)).problems;
    expect(tampered[0]).to.equal(
      `write 0 ("STEEL"): its stock after is 477; the run's change (stock: take 24) from 500 gives 476`,
    );
    expect(tampered[1]).to.match(/the state's writes lead to root 0x[0-9a-f]{64}, not the state's rootAfter/);
  });

  it("a change that would take a field below 0 or above 2^64 - 1 is a finding naming the field", () => {
    const state = bundleStateOf(scenarioChanges);
    scenarioChanges = [{ key: "STEEL", deltas: [-600n, 24n] }];
    expect(check(bundleWith(state)).problems).to.deep.equal([
      `write 0 ("STEEL"): its stock before is 500: the run's change (stock: take 600) would make it negative`,
    ]);
    scenarioChanges = [{ key: "STEEL", deltas: [-24n, 1n << 64n] }];
    expect(check(bundleWith(state)).problems).to.deep.equal([
      `write 0 ("STEEL"): its scrap before is 0: the run's change (scrap: add 18446744073709551616) would take it above 2^64 - 1`,
    ]);
  });

  it("a single delta or deltas of another length are findings, and so is a value beyond the fields", () => {
    const state = bundleStateOf(scenarioChanges);
    scenarioChanges = [{ key: "STEEL", delta: -24n }];
    expect(check(bundleWith(state)).problems).to.deep.equal([
      `write 0 ("STEEL"): the run's change 0 gives one delta, but the domain's values have the fields stock, scrap: its scenario must give deltas, one per field`,
    ]);
    scenarioChanges = [{ key: "STEEL", deltas: [-24n] }];
    expect(check(bundleWith(state)).problems).to.deep.equal([
      `write 0 ("STEEL"): the run's change 0 gives 1 deltas; the domain's values have the fields stock, scrap`,
    ]);
    scenarioChanges = [{ key: "STEEL", deltas: [-24n, 24n] }];
    const beyond = bundleStateOf(scenarioChanges);
    beyond.writes[0].valueAfter = (1n << 128n).toString();
    const { problems, summary } = check(bundleWith(beyond));
    expect(problems[0]).to.equal(
      `write 0 ("STEEL"): its valueAfter ${1n << 128n} is not 2 packed unsigned 64-bit fields (stock, scrap)`,
    );
    // Not readable as fields: the report shows the packed values only.
    expect(summary.writes[0]).to.not.have.property("fieldsAfter");
  });

  it("the audit line shows the fields a write changed by name; --json gives them as decimal strings", () => {
    const { summary } = check(bundleWith(bundleStateOf(scenarioChanges)));
    const root = (hex: string) => `${hex.slice(0, 10)}…${hex.slice(-4)}`;
    expect(formatStateTransition(summary, "COMMITTED")).to.equal(
      `${DOMAIN}: STEEL stock 500 → 476, scrap 0 → 24, root ${root(summary.rootBefore)} → ${root(summary.rootAfter)}`,
    );
    scenarioChanges = [{ key: "STEEL", deltas: [-10n, 0n] }];
    const stockOnly = check(bundleWith(bundleStateOf(scenarioChanges))).summary;
    expect(formatStateTransition(stockOnly, "COMMITTED")).to.match(
      new RegExp(`^${DOMAIN}: STEEL stock 500 → 490, root `),
    );
    // A write that changes no field shows them all.
    scenarioChanges = [{ key: "STEEL", deltas: [0n, 0n] }];
    const none = check(bundleWith(bundleStateOf(scenarioChanges))).summary;
    expect(formatStateTransition(none, "COMMITTED")).to.match(
      new RegExp(`^${DOMAIN}: STEEL stock 500 → 500, scrap 0 → 0, root `),
    );

    const json = bundleVerificationJson({
      valid: true,
      onChain: false,
      reasons: [],
      workflowId: "1",
      outcome: "COMMITTED",
      checks: {},
      calls: [],
      state: summary,
    } as unknown as BundleVerification);
    const parsed = JSON.parse(JSON.stringify(json)) as { state: typeof summary };
    expect(parsed.state.valueFields).to.deep.equal(FIELDS);
    expect(parsed.state.writes[0]).to.deep.include({
      valueAfter: packStateValue([476n, 24n]).toString(),
      fieldsBefore: { stock: "500", scrap: "0" },
      fieldsAfter: { stock: "476", scrap: "24" },
    });
    expect(parsed.state.rootBefore).to.equal(toHex32(BigInt(bundleStateOf([]).rootBefore)));
  });

  it("a domain of one unnamed field still reads as before: `stock of KEY before → after`", () => {
    const line = formatStateTransition(
      {
        domain: "order/stock",
        domainId: "0x",
        valueName: "stock",
        writes: [{ key: "SKU-COFFEE-1KG", valueBefore: "500", valueAfter: "497" }],
        rootBefore: toHex32(1n),
        rootAfter: toHex32(2n),
        unchanged: false,
      },
      "COMMITTED",
    );
    expect(line).to.match(/^order\/stock: stock of SKU-COFFEE-1KG 500 → 497, root /);
  });
});
