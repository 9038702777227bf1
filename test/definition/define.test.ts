import { expect } from "chai";
import { z } from "zod";

import {
  backoffMs,
  DEFAULT_RETRY_POLICY,
  defineWorkflow,
  resolveRetryPolicy,
  RetryPolicyError,
  WorkflowDefinitionError,
  type StepDefinition,
} from "../../src/definition";
import { paymentCharge, paymentRefund } from "../../src/scenarios/order/operations";

const local = async () => ({ result: null, request: [0n, 0n, 0n, 0n], response: [1n, 0n, 0n, 0n] });

function workflow(steps: StepDefinition<unknown>[], extra: Record<string, unknown> = {}) {
  return defineWorkflow<unknown>({
    name: "w",
    template: "T_1_1",
    description: "",
    inputSchema: z.unknown(),
    steps,
    ...extra,
  });
}

describe("workflow definitions: operations, compensations, retry policies", () => {
  it("accepts a step with an operation and a compensation with its own operation and retry policy", () => {
    const definition = workflow([
      {
        name: "pay",
        code: 1,
        operation: paymentCharge,
        retry: { maxAttempts: 5 },
        run: local,
        compensation: { name: "refund", operation: paymentRefund, retry: { callTimeoutMs: 50 }, run: local },
      },
    ]);
    expect(definition.steps[0].compensation?.name).to.equal("refund");
  });

  it("rejects an operation that is not the catalog's, a bad retry policy, and clashing names", () => {
    expect(() =>
      workflow([{ name: "pay", code: 1, operation: { ...paymentCharge, code: 999 }, run: local }]),
    ).to.throw(WorkflowDefinitionError, /operation code differs from the catalog/);
    expect(() => workflow([{ name: "pay", code: 1, retry: { maxAttempts: 0 }, run: local }])).to.throw(
      WorkflowDefinitionError,
      /steps\.0\.retry\.maxAttempts/,
    );
    expect(() => workflow([{ name: "pay", code: 1, retry: { jitter: true } as never, run: local }])).to.throw(
      WorkflowDefinitionError,
    );
    expect(() =>
      workflow([
        { name: "a", code: 1, run: local, compensation: { name: "b", run: local } },
        { name: "b", code: 2, run: local },
      ]),
    ).to.throw(WorkflowDefinitionError, /compensation name "b" is used twice/);
    expect(() =>
      workflow([{ name: "a", code: 1, run: local }], { retry: { backoffMultiplier: 0.5 } }),
    ).to.throw(WorkflowDefinitionError, /retry\.backoffMultiplier/);
  });

  it("names the rule, the field and the value a definition breaks", () => {
    const refund = { name: "Refund", run: local };
    expect(() =>
      workflow([
        { name: "quote", code: 1, run: local },
        { name: "pay", code: 2, operation: paymentCharge, run: local, compensation: refund },
      ]),
    ).to.throw(
      WorkflowDefinitionError,
      'invalid workflow definition at steps.1.compensation.name (step "pay"): compensation names are snake_case: ' +
        'a lower-case letter, then lower-case letters, digits, _ or . (e.g. refund_card): got "Refund"',
    );
    expect(() => workflow([{ name: "Charge-Card", code: 1, run: local }])).to.throw(
      WorkflowDefinitionError,
      /at steps\.0\.name: step names are snake_case: .*: got "Charge-Card"$/,
    );
    expect(() => workflow([{ name: "pay", code: 0, run: local }])).to.throw(
      WorkflowDefinitionError,
      /at steps\.0\.code \(step "pay"\): step codes are positive integers, distinct within the workflow: got 0$/,
    );
    expect(() => workflow([{ name: "a", code: 1, run: local }], { name: "My Flow" })).to.throw(
      WorkflowDefinitionError,
      /at name: workflow names are lower-case letters, digits and dashes, starting with a letter .*: got "My Flow"$/,
    );
    expect(() =>
      workflow([
        { name: "pay", code: 1, operation: { ...paymentCharge, name: "payment.capture" }, run: local },
      ]),
    ).to.throw(
      WorkflowDefinitionError,
      /steps\.0\.operation\.name \(step "pay"\): not an operation of the registered systems \(`wesflow operations`/,
    );
  });

  it("resolves a retry policy layer by layer and computes capped exponential backoff", () => {
    expect(resolveRetryPolicy()).to.deep.equal(DEFAULT_RETRY_POLICY);
    const policy = resolveRetryPolicy({ maxAttempts: 5 }, undefined, {
      initialBackoffMs: 100,
      maxBackoffMs: 350,
    });
    expect(policy).to.include({
      maxAttempts: 5,
      initialBackoffMs: 100,
      backoffMultiplier: 2,
      maxBackoffMs: 350,
    });
    expect([1, 2, 3, 4].map((retry) => backoffMs(policy, retry))).to.deep.equal([100, 200, 350, 350]);
    expect(() => resolveRetryPolicy({ callTimeoutMs: 0 })).to.throw(RetryPolicyError, /callTimeoutMs/);
  });
});

describe("workflow definitions: a state effect's value fields", () => {
  const effect = (extra: Record<string, unknown> = {}) => ({
    domain: "supply/materials",
    genesis: { STEEL: [500n, 0n] },
    valueFields: ["stock", "scrap"],
    changes: () => [],
    ...extra,
  });
  const withState = (state: Record<string, unknown>) =>
    workflow([{ name: "cut", code: 1, run: local }], { state });

  it("accepts 1 to 3 distinct field names, with genesis values per field or packed", () => {
    expect(withState(effect()).state?.valueFields).to.deep.equal(["stock", "scrap"]);
    expect(
      withState(effect({ valueFields: ["a", "b", "c"], genesis: { K: [1n, 2n, 3n], L: 5n } })).state?.genesis,
    ).to.deep.equal({ K: [1n, 2n, 3n], L: 5n });
    // Without valueFields, one field as today (valueName, bigint genesis).
    expect(
      withState({ domain: "order/stock", genesis: { SKU: 5n }, valueName: "stock", changes: () => [] }).state,
    ).to.not.have.property("valueFields");
  });

  it("refuses no fields, more than 3, a name twice or empty, and valueFields with valueName", () => {
    const refused = (state: Record<string, unknown>, reason: RegExp) =>
      expect(() => withState(state)).to.throw(WorkflowDefinitionError, reason);
    refused(effect({ valueFields: [] }), /state\.valueFields: valueFields names 1 to 3 fields/);
    refused(
      effect({ valueFields: ["a", "b", "c", "d"] }),
      /state\.valueFields: a state value packs at most 3 fields of 64 bits/,
    );
    refused(
      effect({ valueFields: ["stock", "stock"] }),
      /state\.valueFields: valueFields names a field twice/,
    );
    refused(
      effect({ valueFields: ["stock", ""] }),
      /state\.valueFields\.1: a value field's name is non-empty/,
    );
    refused(effect({ valueFields: [" stock", "scrap"] }), /state\.valueFields\.0: .*no surrounding spaces/);
    refused(
      effect({ valueName: "stock" }),
      /state\.valueName: give either valueName \(one field\) or valueFields/,
    );
  });

  it("refuses genesis values of another number of fields or outside 64 bits, naming the key and field", () => {
    const refused = (state: Record<string, unknown>, reason: RegExp) =>
      expect(() => withState(state)).to.throw(WorkflowDefinitionError, reason);
    refused(
      effect({ genesis: { STEEL: [500n] } }),
      /state\.genesis\.STEEL: gives 1 fields; the domain's values have 2 \(stock, scrap\)/,
    );
    refused(
      effect({ genesis: { STEEL: [500n, 1n << 64n] } }),
      /state\.genesis\.STEEL: scrap is 18446744073709551616/,
    );
    refused(effect({ genesis: { STEEL: [-1n, 0n] } }), /state\.genesis\.STEEL: stock is -1/);
    refused(
      effect({ genesis: { STEEL: 1n << 128n } }),
      /state\.genesis\.STEEL: .* is not 2 packed unsigned 64-bit fields/,
    );
    refused(
      { domain: "order/stock", genesis: { SKU: 1n << 64n }, changes: () => [] },
      /state\.genesis\.SKU: the value of "SKU" would be 18446744073709551616, above 2\^64 - 1/,
    );
    refused(effect({ genesis: { STEEL: 5 } }), /state\.genesis\.STEEL/);
    refused(effect({ changes: undefined }), /state\.changes/);
  });
});
