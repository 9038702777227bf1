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
