import {
  computeTraceRoot,
  layoutRecords,
  layoutRows,
  layoutRowsHash,
  Outcome,
  UnknownProviderError,
  WorkflowLayoutError,
  type LayoutRow,
  type ProviderSet,
  type Trace,
  type WorkflowLayout,
} from "../trace";
import {
  attestationInput,
  recordFieldsInput,
  runNonceInput,
  settlementInput,
  settlementOf,
  signedCalls,
  sortedCalls,
  WitnessInputError,
} from "./sagaInput";
import type { CircuitInput } from "./types";

/** The parameters of the generic template, in the order circuits.json lists them. */
export interface WorkflowTraceParams {
  /** Record slots: 2^traceDepth. */
  traceDepth: number;
  /** Provider-set tree depth. */
  providerDepth: number;
  /** Definition rows: at most this many forward steps. */
  maxSteps: number;
  /** Attestation slots: at most this many calls per run. */
  maxCalls: number;
}

const WORKFLOW_TRACE_PARAMS = ["traceDepth", "providerDepth", "maxSteps", "maxCalls"] as const;

/**
 * The generic circom templates (circuits/lib/workflowTrace.circom), by template name: they prove any
 * workflow whose layout fits, the definition being a private input bound by the public
 * definitionHash (6th public signal). Their witness builder is `workflowTraceInput`.
 */
export const GENERIC_TEMPLATES: Readonly<Record<string, { params: readonly (keyof WorkflowTraceParams)[] }>> =
  {
    WorkflowTrace: { params: WORKFLOW_TRACE_PARAMS },
  };

export function isGenericTemplate(template: string): boolean {
  return Object.prototype.hasOwnProperty.call(GENERIC_TEMPLATES, template);
}

/** A generic instance's parameters by name (`params` as in circuits.json). */
export function genericTemplateParams(template: string, params: readonly number[]): WorkflowTraceParams {
  const shape = isGenericTemplate(template) ? GENERIC_TEMPLATES[template] : undefined;
  if (!shape) throw new WitnessInputError(`${template} is not a generic workflow template`);
  if (params.length !== shape.params.length) {
    throw new WitnessInputError(
      `${template} takes ${shape.params.length} parameters (${shape.params.join(", ")}), got ${params.length}`,
    );
  }
  const [traceDepth, providerDepth, maxSteps, maxCalls] = params;
  return { traceDepth, providerDepth, maxSteps, maxCalls };
}

/**
 * The input of WorkflowTrace(traceDepth, providers.depth, maxSteps, maxCalls) for a run of the
 * workflow `layout`: the definition rows (private) and their hash (public definitionHash), which
 * forward step failed (the number of steps = none), how its call was settled (settlementOf), every
 * record's request and response fields (slots after the last record are zeros), and per signed call
 * (in callSeq order) the provider's key, signature and Merkle path in the provider set under the
 * system the definition names for that call. Throws WitnessInputError for a run that cannot fit the
 * circuit; the circuit checks everything else (a trace without the layout's records fails to prove).
 */
export function workflowTraceInput(args: {
  trace: Trace;
  layout: WorkflowLayout;
  providers: ProviderSet;
  submitter: bigint;
  traceDepth: number;
  maxSteps: number;
  maxCalls: number;
}): CircuitInput {
  const { trace, layout, providers, submitter, traceDepth, maxSteps, maxCalls } = args;
  const circuit = `WorkflowTrace(${traceDepth}, ${providers.depth}, ${maxSteps}, ${maxCalls})`;
  let rows: LayoutRow[];
  try {
    rows = layoutRows(layout, maxSteps);
  } catch (cause) {
    if (cause instanceof WorkflowLayoutError) {
      throw new WitnessInputError(`${circuit}: ${cause.message}`, { cause });
    }
    throw cause;
  }
  const n = layout.steps.length;
  const slots = 1 << traceDepth;
  if (2 * maxSteps - 1 > slots) {
    throw new WitnessInputError(
      `${circuit}: ${slots} record slots cannot hold a rollback of ${maxSteps} steps (${2 * maxSteps - 1} records)`,
    );
  }
  if (trace.steps.length > slots) {
    throw new WitnessInputError(`the trace has ${trace.steps.length} records; ${circuit} holds ${slots}`);
  }
  const failed = trace.steps.find((s) => s.status === "FAILED");
  if ((trace.outcome === "ROLLED_BACK") !== Boolean(failed)) {
    throw new WitnessInputError(`a ${trace.outcome} run ${failed ? "has" : "lacks"} a failed step`);
  }
  if (failed && failed.index >= n) {
    throw new WitnessInputError(
      `the failed record is at position ${failed.index}; a workflow of ${n} steps fails at step 0..${n - 1}`,
    );
  }
  const failedStep = failed ? failed.index : n;
  const calls = signedCalls(sortedCalls(trace, maxCalls, circuit), maxCalls, circuit);
  // the system the circuit checks signed call c against: the definition's, for the calls the layout makes
  const settlement = settlementOf(trace);
  let expectedCalls: ReturnType<typeof layoutRecords>;
  try {
    expectedCalls = layoutRecords(layout, failedStep, settlement).filter((r) => r.signed);
  } catch (cause) {
    if (cause instanceof WorkflowLayoutError)
      throw new WitnessInputError(`${circuit}: ${cause.message}`, { cause });
    throw cause;
  }
  let attestations: ReturnType<typeof attestationInput>;
  try {
    attestations = attestationInput({
      calls,
      maxCalls,
      providers,
      systemCodeOf: (call, c) => expectedCalls[c]?.system ?? call.attestation?.systemCode ?? 0,
    });
  } catch (cause) {
    if (cause instanceof UnknownProviderError) {
      throw new WitnessInputError(
        `a call is signed by a key the provider set does not hold for the definition's system: ${cause.message}`,
        { cause },
      );
    }
    throw cause;
  }
  const column = (f: number) => rows.map((row) => BigInt(row[f]));
  const definitionHash = layoutRowsHash(n, rows);
  return {
    workflowId: trace.workflowId,
    outcome: BigInt(Outcome[trace.outcome]),
    traceRoot: computeTraceRoot(trace, traceDepth),
    providerSetRoot: providers.root,
    submitter,
    definitionHash,
    ...runNonceInput(trace, submitter, definitionHash),
    stepCount: BigInt(n),
    stepCode: column(0),
    stepOp: column(1),
    stepSystem: column(2),
    settleOp: column(3),
    hasComp: column(4),
    compOp: column(5),
    compSystem: column(6),
    failedStep: BigInt(failedStep),
    settlement: settlementInput(trace),
    ...recordFieldsInput(trace, slots),
    ...attestations,
  };
}
