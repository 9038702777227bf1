pragma circom 2.1.9;

include "./lib/workflowTrace.circom";

// The generic workflow template: one circuit for every user-defined workflow of at most MAX_STEPS
// forward steps and MAX_CALLS external calls per run. The definition is a private input bound by the
// public definitionHash (the hash the registry recorded for the workflow), so no circom is written
// per workflow. Statement: lib/workflowTrace.circom.
//
// Instance (circuits.json): WorkflowTrace_8_4 = WorkflowTrace(4, 3, 8, 4): 16 record slots,
// provider-set depth 3, up to 8 steps and 4 calls.
// Public signals: runClaim (its output: submitter + outcome * 2^160, RunClaim in lib/trace.circom),
// workflowId, traceRoot, providerSetRoot, definitionHash.
