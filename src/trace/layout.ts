import { poseidon } from "../crypto";
import type { PhaseName, StepStatusName } from "./types";

/**
 * A workflow definition as the generic circuit (circuits/lib/workflowTrace.circom) sees it: per
 * forward step, in order, its code, the operation and system it calls (both 0 for a local step),
 * the status query of that system that settles its call when the call gets no usable answer (a
 * calling step only), and its compensation if it has one (operation and system both 0 for a local
 * compensation).
 */
export interface WorkflowLayoutStep {
  code: number;
  operation: number;
  system: number;
  settle?: { operation: number };
  compensation?: { operation: number; system: number };
}

export interface WorkflowLayout {
  steps: WorkflowLayoutStep[];
}

/**
 * One definition row as the circuit takes it: [stepCode, stepOp, stepSystem, settleOp, hasComp,
 * compOp, compSystem]. Rows after the last step are all zero.
 */
export type LayoutRow = [number, number, number, number, number, number, number];

/**
 * How a failed step's call was settled, as the circuits' private `settlement` takes it: NONE (no
 * failed call, a local one, or a signed refusal), NOTHING_TO_UNDO (no usable answer; its status
 * query says NO_EFFECT or REFUSED), TOOK_EFFECT (no usable answer; its status query says it took
 * effect: the step is compensated too).
 */
export const Settlement = { NONE: 0, NOTHING_TO_UNDO: 1, TOOK_EFFECT: 2 } as const;
export type SettlementName = keyof typeof Settlement;

export class WorkflowLayoutError extends Error {
  override name = "WorkflowLayoutError";
}

/** Poseidon takes at most 16 inputs: the step count and one hash per row. */
export const MAX_LAYOUT_STEPS = 15;

function checkCode(value: number, what: string): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new WorkflowLayoutError(`${what} must be a non-negative integer, got ${value}`);
  }
}

function checkCall(operation: number, system: number, what: string): void {
  checkCode(operation, `${what}: operation`);
  checkCode(system, `${what}: system`);
  if ((operation === 0) !== (system === 0)) {
    throw new WorkflowLayoutError(
      `${what}: a call names both an operation and a system, a local step neither (operation ${operation}, system ${system})`,
    );
  }
}

/**
 * The definition rows of a layout, padded with zero rows to maxSteps, checked the way the circuit
 * constrains them (1..maxSteps steps, operation 0 exactly when system 0).
 */
export function layoutRows(layout: WorkflowLayout, maxSteps: number): LayoutRow[] {
  if (!Number.isSafeInteger(maxSteps) || maxSteps < 1 || maxSteps > MAX_LAYOUT_STEPS) {
    throw new WorkflowLayoutError(`maxSteps must be 1..${MAX_LAYOUT_STEPS}, got ${maxSteps}`);
  }
  const n = layout.steps.length;
  if (n < 1) throw new WorkflowLayoutError("a workflow has at least one step");
  if (n > maxSteps) {
    throw new WorkflowLayoutError(`the workflow has ${n} steps; the circuit holds at most ${maxSteps}`);
  }
  const rows = layout.steps.map((step, j): LayoutRow => {
    checkCode(step.code, `step ${j}: code`);
    checkCall(step.operation, step.system, `step ${j}`);
    const comp = step.compensation;
    if (comp) checkCall(comp.operation, comp.system, `step ${j}'s compensation`);
    const settleOp = step.settle?.operation ?? 0;
    checkCode(settleOp, `step ${j}: status query`);
    if (settleOp !== 0 && step.operation === 0) {
      throw new WorkflowLayoutError(`step ${j}: a local step has no status query`);
    }
    return [
      step.code,
      step.operation,
      step.system,
      settleOp,
      comp ? 1 : 0,
      comp?.operation ?? 0,
      comp?.system ?? 0,
    ];
  });
  while (rows.length < maxSteps) rows.push([0, 0, 0, 0, 0, 0, 0]);
  return rows;
}

/**
 * Poseidon(stepCount, Poseidon(row 0), ..., Poseidon(row maxSteps-1)), as the circuit's
 * WorkflowDefinitionHash computes it, for rows given as they are (no checks).
 */
export function layoutRowsHash(stepCount: number, rows: readonly (readonly number[])[]): bigint {
  return poseidon([BigInt(stepCount), ...rows.map((row) => poseidon(row.map(BigInt)))]);
}

/**
 * The hash that identifies a workflow definition for the generic circuit of maxSteps rows: the
 * public `definitionHash` a proof of one of its runs is verified against.
 */
export function workflowDefinitionHash(layout: WorkflowLayout, maxSteps: number): bigint {
  return layoutRowsHash(layout.steps.length, layoutRows(layout, maxSteps));
}

/** One record of the trace a layout prescribes (what the circuit derives for a failedStep). */
export interface LayoutRecord {
  /** The definition step it belongs to (the step compensated or settled, for those records). */
  step: number;
  phase: PhaseName;
  status: StepStatusName;
  stepCode: number;
  operation: number;
  system: number;
  /** 1, 2, ... for calls in trace order; 0 for a local record. */
  callSeq: number;
  /** The call carries a signature of its own (every call but a failed call that was settled). */
  signed: boolean;
}

/**
 * The records of the run of a layout whose step `failedStep` failed for good (the number of steps
 * = none: committed), its call settled as `settlement` says: steps 0..failedStep-1 OK, the failed
 * step, its status query (settled), its own compensation (TOOK_EFFECT, if it has one), then the
 * compensations of the completed steps that have one, last step first. The circuit proves exactly
 * this layout.
 */
export function layoutRecords(
  layout: WorkflowLayout,
  failedStep: number,
  settlement: SettlementName = "NONE",
): LayoutRecord[] {
  const n = layout.steps.length;
  if (!Number.isSafeInteger(failedStep) || failedStep < 0 || failedStep > n) {
    throw new WorkflowLayoutError(`failedStep must be 0..${n}, got ${failedStep}`);
  }
  const failed = layout.steps[failedStep];
  if (settlement !== "NONE" && !failed?.settle) {
    throw new WorkflowLayoutError(
      `only a failed step with a status query is settled (step ${failedStep} ${failed ? "has none" : "is no step"})`,
    );
  }
  const records: LayoutRecord[] = [];
  let calls = 0;
  const push = (r: Omit<LayoutRecord, "callSeq" | "signed">, signed = true) =>
    records.push({ ...r, callSeq: r.operation !== 0 ? ++calls : 0, signed: r.operation !== 0 && signed });
  for (let j = 0; j < Math.min(failedStep + 1, n); j++) {
    const { code, operation, system } = layout.steps[j];
    const status = j < failedStep ? "OK" : "FAILED";
    push(
      { step: j, phase: "FORWARD", status, stepCode: code, operation, system },
      j < failedStep || settlement === "NONE",
    );
  }
  if (failedStep < n) {
    if (settlement !== "NONE") {
      push({
        step: failedStep,
        phase: "SETTLE",
        status: "OK",
        stepCode: failed.code,
        operation: failed.settle!.operation,
        system: failed.system,
      });
    }
    for (let j = settlement === "TOOK_EFFECT" ? failedStep : failedStep - 1; j >= 0; j--) {
      const { code, compensation } = layout.steps[j];
      if (!compensation) continue;
      push({ step: j, phase: "COMPENSATE", status: "OK", stepCode: code, ...compensation });
    }
  }
  return records;
}
