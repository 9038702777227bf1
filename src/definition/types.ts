import type { z } from "zod";
import type { AnyOperationSpec, OperationSpec } from "../host";
import type { StateChange, StateGenesisValue, StateMove } from "../state";
import type { ProviderSet, Trace } from "../trace";
import type { RetryPolicy } from "./retry";

/** What a step's code sees: the run's id and input, earlier steps' results, and the host interface. */
export interface StepContext<Input> {
  workflowId: bigint;
  input: Input;
  /** Results of the forward steps that completed, by step name. */
  results: Readonly<Record<string, unknown>>;
  /** 1 for the first attempt, 2 for the first retry, ... (a resume after a crash starts at 1 again). */
  attempt: number;
  /**
   * Calls an external system through the host interface: journaled before it is sent, attested,
   * recorded. A step calls at most once, and only the operation it declares (`operation`). A retry
   * of the step sends the same call again under the same callSeq and idempotency key.
   */
  call<Req, Res>(operation: OperationSpec<Req, Res>, request: Req): Promise<Res>;
}

/** What a compensation's code sees: the step context plus the result of the forward step it undoes. */
export interface CompensationContext<Input> extends StepContext<Input> {
  /** The result the forward step returned. */
  forward: unknown;
}

/**
 * What a step returns. A local step gives the request and response fields (RECORD_FIELDS field
 * elements each) that the trace commits to; a step that made an external call takes the call's.
 * `result` must be JSON-serialisable (bigints allowed): the journal keeps it for a resume.
 */
export interface StepOutcome {
  result: unknown;
  request?: bigint[];
  response?: bigint[];
}

/**
 * Undoes a completed forward step when a later step fails for good (saga). Runs in reverse order of
 * the forward steps; a compensation that still fails after its retries parks the run as
 * NEEDS_ATTENTION (`wesflow resume` retries it), it is never skipped.
 */
export interface CompensationDefinition<Input> {
  /** Shown in the audit trail; default `${step}.compensate`. */
  name?: string;
  /** The one external call it makes, if any (its answer must say "succeeded", status 1). */
  operation?: AnyOperationSpec;
  /** Overrides the step's retry policy for the compensation. */
  retry?: Partial<RetryPolicy>;
  run(ctx: CompensationContext<Input>): Promise<StepOutcome>;
}

export interface StepDefinition<Input> {
  /** snake_case name shown in the audit trail. */
  name: string;
  /** The step's code in the trace; the template's circuit checks the order of codes. */
  code: number;
  /** The one external call the step makes, if any; `ctx.call` must use exactly it. */
  operation?: AnyOperationSpec;
  compensation?: CompensationDefinition<Input>;
  /** Overrides the workflow's retry policy for this step. */
  retry?: Partial<RetryPolicy>;
  /**
   * Must be deterministic given the input and earlier results: it runs again on a retry, after a
   * crash, and once more when its call got no usable answer and the status query showed it took
   * effect (its call then returns the response the query showed, and the result it returns is what
   * its compensation gets as `forward`).
   */
  run(ctx: StepContext<Input>): Promise<StepOutcome>;
}

export interface WorkflowDefinition<Input> {
  /** The scenario name used on the command line (`wesflow run order`). */
  name: string;
  /**
   * The circuit instance (circuits.json) that proves committed runs of this workflow. Given to
   * defineWorkflow it is optional: default GENERIC_TEMPLATE, which proves any workflow within its
   * maxima (committed and rolled back) against the definition's hash.
   */
  template: string;
  /** The circuit instance that proves rolled-back runs; default: `template`. */
  rollbackTemplate?: string;
  description: string;
  inputSchema: z.ZodType<Input>;
  /** Default retry policy of every step (fields not given: DEFAULT_RETRY_POLICY). */
  retry?: Partial<RetryPolicy>;
  steps: StepDefinition<Input>[];
  /**
   * The business state the workflow's runs move, for templates whose proofs carry a state
   * transition (stateRootBefore, stateRootAfter: e.g. the order's stock). Built-in scenarios only:
   * the generic template of user-defined workflows proves no state.
   */
  state?: WorkflowStateEffect;
  /**
   * Builds the circuit input of the definition's own templates (not the generic one, whose input the
   * prover builds from the definition's layout): a built-in scenario's witness builder. Required
   * when `template` or `rollbackTemplate` is not a generic (definition-bound) instance.
   */
  witness?: WitnessBuilder;
  /**
   * Looks at a new run's (parsed) input against the business state before anything of the run is
   * journaled or called, and returns why it is refused (undefined: admitted); e.g. a clearing whose
   * balances would go negative. Not asked again when a run is resumed: its input was admitted.
   */
  admit?(input: Input): string | undefined;
}

/** A circuit input: signal name → value, array or nested array (as snarkjs takes it). */
export type WitnessValues = Record<string, bigint | bigint[] | bigint[][]>;

/** What a definition's witness builder is given for one run's proof. */
export interface WitnessRequest {
  /** The circuit instance's template (circuits.json `template`) and parameters. */
  template: string;
  params: readonly number[];
  trace: Trace;
  providers: ProviderSet;
  /** The submitter address as a field element (the public `submitter`). */
  submitter: bigint;
  /**
   * A state instance's run: the domain's move its proof shows, as the recorded state holds it (the
   * writes of `changes(trace)` in order; none for a run that leaves the state as it was).
   */
  state?: StateMove;
}

export type WitnessBuilder = (request: WitnessRequest) => WitnessValues;

/**
 * What a run does to a state domain (src/state): the executor keeps the domain in the journal's
 * database, and the run's proof shows the transition from the root it starts from to the root after.
 */
export interface WorkflowStateEffect {
  /** The state domain, e.g. "order/stock"; on chain `stateDomainId(domain)`. */
  domain: string;
  /**
   * The domain's initial values, used when the journal's state store does not hold it yet. With
   * `valueFields`, a value may be given per field (`{ STEEL: [500n, 0n] }`: stock 500, scrap 0) or
   * packed (`packStateValue`); the genesis root is that of the packed values.
   */
  genesis: Readonly<Record<string, StateGenesisValue>>;
  /**
   * The run's changes, from its trace, whatever its outcome: a committed order takes its quantity, a
   * rolled-back one none; a rolled-back supply chain whose lot was scrapped writes it off.
   * With `valueFields` of two or three names, a change gives `deltas`, one per field in their order
   * (`{ key: "STEEL", deltas: [-24n, 24n] }`), not `delta`.
   */
  changes(trace: Trace): StateChange[];
  /**
   * Whether a change may add a key the domain does not hold (default false): only when the
   * template's state updates allow inserts (StateUpdates' ALLOW_INSERT).
   */
  allowInsert?: boolean;
  /** What a value of the domain is, for the audit's lines ("stock": `stock of SKU-1 500 → 497`); default "value". */
  valueName?: string;
  /**
   * The names of the fields one value of the domain holds (1 to 3, distinct; e.g. ["stock", "scrap"]),
   * when one leaf keeps several 64-bit quantities of a key: a value packs them as unsigned 64-bit
   * limbs, field 0 lowest (`packStateValue`: Σ fᵢ · 2^(64·i) < 2^192), and each field stays within
   * 64 bits. The audit shows them by name (`STEEL stock 500 → 476, scrap 0 → 24`). Absent: a value
   * is one 64-bit field called `valueName` (give one or the other, not both).
   */
  valueFields?: readonly string[];
}

/** What defineWorkflow takes: a definition whose template may be left to the generic one. */
export type WorkflowDefinitionInput<Input> = Omit<WorkflowDefinition<Input>, "template"> & {
  template?: string;
};
