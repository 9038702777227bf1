import { requestReceipts } from "../host";
import fs from "node:fs";
import path from "node:path";
import type { BatchRun } from "../chain";
import { executeWorkflow } from "../executor";
import { Journal } from "../journal";
import type { Logger } from "../project";
import { circuitInstance, Prover, type CircuitInput, type CircuitInstance } from "../prover";
import { resolveScenario, type Scenario } from "../scenarios";
import type { ProviderSet } from "../trace";
import { stateMoveOf, stateStoreOf, ensureDomain } from "./runState";
import { workflowTagOf } from "./runWorkflow";

/** Runs executed and proven by {@link proveRunChain}, ready to be submitted as a batch. */
export interface ProvenRunChain {
  /** The circuit instance that proved every run (the scenario's committed template). */
  instance: CircuitInstance;
  /** The provider set the runs' calls are attested under (register it before submitting). */
  providers: ProviderSet;
  /** For a state template: its domain and the root the chain starts from (the domain's genesis). */
  state?: { domain: string; initialRoot: bigint };
  /** In order; a state template's runs chain their roots from `state.initialRoot`. */
  runs: (BatchRun & { workflowId: bigint; submitter: string; proveMs: number; input: CircuitInput })[];
}

/**
 * Executes `count` committed runs of a scenario against its simulated systems and proves each with
 * the scenario's committed template, without recording anything: a state template's runs are chained
 * (run i's transition is prepared against the root run i−1 left, in a scratch state store of its own
 * that starts from the domain's genesis), so that they can be submitted together with
 * `submitBatchWithState` to a registry whose domain starts from that genesis root. Run i is bound to
 * `submitterOf(i)`. For the bench's batch figures and the batch tests: a chain of real proofs through
 * the real circuit.
 */
export async function proveRunChain(args: {
  scenario: string | Scenario;
  count: number;
  /** Where the systems' dev keys are (generated if missing) and a scratch journal is kept. */
  dataDir: string;
  submitterOf: (index: number) => string;
  logger?: Logger;
  onProof?: (index: number, proveMs: number) => void;
}): Promise<ProvenRunChain> {
  const chosen = typeof args.scenario === "string" ? resolveScenario(args.scenario) : args.scenario;
  fs.mkdirSync(args.dataDir, { recursive: true });
  const scratch = fs.mkdtempSync(path.join(args.dataDir, "run-chain-"));
  const journal = Journal.open(path.join(scratch, "journal.sqlite"));
  const store = stateStoreOf(journal);
  const definition = chosen.createDefinition({ state: store });
  const instance = circuitInstance(definition.template);
  const [, providerSetDepth] = instance.params;
  const witness = definition.witness;
  if (!witness) throw new Error(`${chosen.name}: its template ${instance.name} has no witness builder`);
  const effect = definition.state;
  if (effect) ensureDomain(store, effect);
  if ((instance.stateDomain !== undefined) !== (effect !== undefined)) {
    throw new Error(`${chosen.name}: template ${instance.name} and the definition disagree on state`);
  }
  const systems = await chosen.startSystems({ dataDir: args.dataDir, providerSetDepth, logger: args.logger });
  const prover = new Prover(instance);
  const workflowTag = workflowTagOf(definition);
  try {
    const initialRoot = effect ? store.root(effect.domain) : undefined;
    const runs: ProvenRunChain["runs"] = [];
    for (let index = 0; index < args.count; index += 1) {
      const submitter = args.submitterOf(index);
      const execution = await executeWorkflow({
        definition,
        input: chosen.demoInput(index + 1),
        endpoints: systems.endpoints,
        providers: systems.providers,
        binding: { submitter, workflowTag },
        journal,
        logger: args.logger,
      });
      if (execution.trace.outcome !== "COMMITTED") {
        throw new Error(`${chosen.name}: demo run ${index + 1} did not commit`);
      }
      let move;
      if (effect) {
        // Applied at once in the scratch store: the next run is prepared against the root it leaves.
        const transition = store.prepareTransition(
          effect.domain,
          execution.runId,
          effect.changes(execution.trace),
          {
            allowNewKeys: effect.allowInsert === true,
          },
        );
        store.applyTransition(transition.id);
        move = stateMoveOf(transition).move;
      }
      // A template that checks receipts: the systems' receipts of the run, as the pipeline asks for them.
      const trace = instance.receipts
        ? {
            ...execution.trace,
            receipts: await requestReceipts({
              trace: execution.trace,
              endpoints: systems.endpoints,
              providers: systems.providers,
            }),
          }
        : execution.trace;
      const input = witness({
        template: instance.template,
        params: instance.params,
        trace,
        providers: systems.providers,
        submitter: BigInt(submitter),
        ...(move ? { state: move } : {}),
      });
      const proof = await prover.prove(input);
      runs.push({
        input,
        proof: proof.proof,
        publicSignals: proof.publicSignals,
        workflowId: execution.trace.workflowId,
        submitter,
        proveMs: proof.proveMs,
      });
      args.onProof?.(index, proof.proveMs);
    }
    return {
      instance,
      providers: systems.providers,
      ...(effect && initialRoot !== undefined ? { state: { domain: effect.domain, initialRoot } } : {}),
      runs,
    };
  } finally {
    await systems.stop();
    journal.close();
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}
