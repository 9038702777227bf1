import type { RunBundle } from "../../bundle";
import {
  stateAdvancesOf,
  submitterOfSignals,
  verifyRegisteredProof,
  type RecordedRun,
  type StateAdvance,
} from "../../chain";
import { toHex20, toHex32 } from "../../crypto";
import {
  notRecordedProblem,
  openRegistryView,
  otherChainProblem,
  recordedRunOf,
  type ChainTarget,
  type RegistryView,
} from "../onChain";
import type { Findings } from "./findings";
import type { BundleVerification, VerifiedState } from "./types";

export async function checkChain(args: {
  bundle: RunBundle;
  workflowId: bigint;
  traceRoot: bigint | undefined;
  target: ChainTarget;
  findings: Findings;
}): Promise<
  Pick<BundleVerification, "recorded" | "entry"> & {
    verifierAccepts?: boolean;
    advance?: VerifiedState["advance"];
  }
> {
  const { bundle, workflowId, findings } = args;
  const fail = (problem: string) => findings.fail("chain", problem);
  const opened = await openRegistryView(args.target);
  if (!opened.view) {
    findings.skipped.add("chain");
    findings.notes.push(opened.skipped);
    return {};
  }
  const view = opened.view;
  if (bundle.submission) {
    const elsewhere = otherChainProblem("the bundle", bundle.submission, view);
    if (elsewhere) {
      fail(elsewhere);
      return {};
    }
  }
  const verifierAccepts = await registeredVerifierAccepts(view, bundle);
  const run = await recordedRunOf(view, workflowId);
  if (!run) {
    fail(notRecordedProblem(view, workflowId));
    return { recorded: false, verifierAccepts };
  }
  compareWithEntry({ bundle, run, traceRoot: args.traceRoot, fail });
  const [advance] = await stateAdvancesOf(view.registry, [run]);
  compareWithStateAdvance({ bundle, run, advance, fail });
  return {
    recorded: true,
    verifierAccepts,
    ...(advance ? { advance: { blockNumber: advance.blockNumber, txHash: advance.txHash } } : {}),
    entry: {
      network: view.network,
      chainId: view.chainId,
      registry: view.deployment.registry,
      txHash: run.txHash,
      blockNumber: run.blockNumber,
    },
  };
}

/**
 * Asks the verifier the registry has registered for the bundle's template (a view call, no
 * transaction): the key the run was accepted with. Undefined when there is no proof or the
 * template is not registered there.
 */
async function registeredVerifierAccepts(
  view: RegistryView,
  bundle: RunBundle,
): Promise<boolean | undefined> {
  if (!bundle.proof) return undefined;
  try {
    await view.registry.getTemplate(bundle.templateId);
  } catch {
    return undefined; // Registry__UnknownTemplate: the entry check says so
  }
  try {
    // A definition-bound template's verifier gets the definition hash the registry holds, not the bundle's.
    return await verifyRegisteredProof({
      registry: view.registry,
      templateId: bundle.templateId,
      proof: bundle.proof.proof,
      publicSignals: bundle.proof.publicSignals,
    });
  } catch {
    return false; // points or signals the verifier cannot even take
  }
}

function compareWithEntry(args: {
  bundle: RunBundle;
  run: RecordedRun;
  traceRoot: bigint | undefined;
  fail: (problem: string) => void;
}): void {
  const { bundle, run, fail } = args;
  const differs = (what: string, chain: string, own: string) =>
    fail(`the chain recorded ${what} ${chain}, the bundle has ${own}`);
  if (run.traceRoot !== BigInt(bundle.traceRoot)) {
    differs("trace root", toHex32(run.traceRoot), bundle.traceRoot);
  } else if (args.traceRoot !== undefined && run.traceRoot !== args.traceRoot) {
    fail(
      `the chain recorded trace root ${toHex32(run.traceRoot)}, the bundle's steps hash to ${toHex32(args.traceRoot)}`,
    );
  }
  if (run.outcome !== bundle.outcome) differs("outcome", run.outcome, bundle.outcome);
  if (run.templateId.toLowerCase() !== bundle.templateId)
    differs("template", run.templateId, bundle.templateId);
  if (run.providerSetRoot !== BigInt(bundle.providerSet.root)) {
    differs("provider set", String(run.providerSetRoot), bundle.providerSet.root);
  }
  const proven = bundle.proof && submitterOfSignals(bundle.proof.publicSignals);
  if (proven !== undefined && BigInt(run.submitter) !== proven)
    differs("submitter", run.submitter, toHex20(proven));
  const submission = bundle.submission;
  if (submission) {
    if (run.submitter.toLowerCase() !== submission.submitter.toLowerCase()) {
      differs("submitter", run.submitter, submission.submitter);
    }
    if (run.txHash !== submission.txHash) differs("the run in transaction", run.txHash, submission.txHash);
    if (run.blockNumber !== submission.blockNumber) {
      differs("the run in block", String(run.blockNumber), String(submission.blockNumber));
    }
  }
}

/**
 * A state run's move, from its WorkflowRecordedWithState event (the run's own record, so in its
 * transaction): the same domain and roots as the bundle's state.
 */
function compareWithStateAdvance(args: {
  bundle: RunBundle;
  run: RecordedRun;
  advance: StateAdvance | undefined;
  fail: (problem: string) => void;
}): void {
  const { bundle, run, advance, fail } = args;
  const state = bundle.state;
  if (!advance) {
    if (state) {
      fail(
        `the registry has no WorkflowRecordedWithState event for workflow ${toHex32(run.workflowId)}: the chain did not move state domain "${state.domain}" as the bundle's state says`,
      );
    }
    return;
  }
  if (!state) {
    fail(
      `the chain moved state domain ${advance.domainId} from root ${toHex32(advance.rootBefore)} to ${toHex32(advance.rootAfter)} for this run, the bundle states no state`,
    );
    return;
  }
  const differs = (what: string, chain: string, own: string) =>
    fail(
      `the chain's WorkflowRecordedWithState event recorded ${what} ${chain}, the bundle's state has ${own}`,
    );
  if (advance.domainId.toLowerCase() !== state.domainId.toLowerCase()) {
    differs("state domain", advance.domainId, `${state.domainId} ("${state.domain}")`);
  }
  const own = (decimal: string) => (/^\d+$/.test(decimal) ? toHex32(BigInt(decimal)) : decimal);
  if (own(state.rootBefore) !== toHex32(advance.rootBefore)) {
    differs("state root before", toHex32(advance.rootBefore), own(state.rootBefore));
  }
  if (own(state.rootAfter) !== toHex32(advance.rootAfter)) {
    differs("state root after", toHex32(advance.rootAfter), own(state.rootAfter));
  }
}
