import { systemCodeOf } from "../systems";
import { layoutRecords, type SettlementName, type WorkflowLayout } from "../trace";
import type { AnyOperationSpec } from "../host";
import { WorkflowDefinitionError } from "./define";
import type { WorkflowDefinition } from "./types";

function callOf(operation: AnyOperationSpec | undefined): { operation: number; system: number } {
  if (!operation) return { operation: 0, system: 0 };
  return { operation: operation.code, system: systemCodeOf(operation.system) };
}

/**
 * The numbers a generic template's circuit knows of a workflow: per forward step its code, the
 * operation and system it calls (0 for a local step), the status query that settles that call, and
 * its compensation's. Their hash (workflowDefinitionHash) is what the registry binds the workflow's
 * template to.
 */
export function workflowLayoutOf<Input>(definition: WorkflowDefinition<Input>): WorkflowLayout {
  return {
    steps: definition.steps.map((step) => {
      const forward = callOf(step.operation);
      const status = step.operation?.settle?.statusQuery;
      return {
        code: step.code,
        operation: forward.operation,
        system: forward.system,
        ...(status ? { settle: { operation: status.code } } : {}),
        ...(step.compensation ? { compensation: callOf(step.compensation.operation) } : {}),
      };
    }),
  };
}

/** What a template of these maxima can prove, as a definition's worst case. */
export interface LayoutFit {
  steps: number;
  /**
   * Most signed external calls on one path (each takes an attestation slot): committed, or failed at
   * step k (signed refusal, or settled by its status query) and compensated.
   */
  calls: number;
  /** Most trace records on one path. */
  records: number;
}

/** The worst case of a workflow's runs: most calls and records over every outcome it can have. */
export function layoutNeeds(layout: WorkflowLayout): LayoutFit {
  const steps = layout.steps;
  let calls = 0;
  let records = 0;
  for (let k = 0; k <= steps.length; k++) {
    const settlements: SettlementName[] =
      k < steps.length && steps[k].settle ? ["NONE", "NOTHING_TO_UNDO", "TOOK_EFFECT"] : ["NONE"];
    for (const settlement of settlements) {
      const path = layoutRecords(layout, k, settlement);
      calls = Math.max(calls, path.filter((r) => r.signed).length);
      records = Math.max(records, path.length);
    }
  }
  return { steps: steps.length, calls, records };
}

/** Refuses, before anything runs, a workflow that the template could not prove on some path. */
export function checkLayoutFits(
  name: string,
  layout: WorkflowLayout,
  template: string,
  max: LayoutFit,
): void {
  const needs = layoutNeeds(layout);
  const over = (Object.keys(max) as (keyof LayoutFit)[]).filter((key) => needs[key] > max[key]);
  if (over.length > 0) {
    throw new WorkflowDefinitionError(
      `workflow ${name} does not fit template ${template}: ` +
        over
          .map((key) => `${needs[key]} ${key} on its longest path, the template proves ${max[key]}`)
          .join("; "),
    );
  }
}
