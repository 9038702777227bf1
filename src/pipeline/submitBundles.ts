import fs from "node:fs";
import path from "node:path";
import { readBundle, writeBundleFile, type RunBundle } from "../bundle";
import { toHex20 } from "../crypto";
import {
  MAX_BATCH_SIZE,
  readStateRoot,
  recordBatch,
  submitterOfSignals,
  type BatchRun,
  type ConfirmedTransaction,
  type DeploymentRecord,
} from "../chain";
import type { WorkflowRegistry } from "../../typechain-types";
import { IN_PROCESS_NETWORK, loadHardhat, NetworkError, openRegistryReader } from "./network";

/** What became of one bundle handed to {@link submitBundles}. */
export interface BundleSubmission {
  file: string;
  workflowId: string;
  template: string;
  /** Recorded: the transaction, and how many of the bundles it recorded. */
  tx?: ConfirmedTransaction;
  runsInTransaction?: number;
  /** Not submitted, or refused by the registry. */
  error?: Error;
}

/** Every `bundle.json` under a runs folder (`.wesflow/runs/<workflowId>/bundle.json`), or the file given. */
export function bundleFilesOf(paths: readonly string[]): string[] {
  const files: string[] = [];
  for (const given of paths) {
    const stat = fs.statSync(given);
    if (!stat.isDirectory()) {
      files.push(path.resolve(given));
      continue;
    }
    for (const entry of fs
      .readdirSync(given, { withFileTypes: true })
      .sort((a, b) => a.name.localeCompare(b.name))) {
      const file = path.join(given, entry.name, "bundle.json");
      if (entry.isDirectory() && fs.existsSync(file)) files.push(path.resolve(file));
      else if (entry.isFile() && entry.name === "bundle.json") files.push(path.resolve(given, entry.name));
    }
  }
  return [...new Set(files)];
}

/**
 * Submits proven run bundles to a deployment's registry and completes each recorded bundle with its
 * transaction. Bundles are grouped by template; with `batch`, each group goes out in batch transactions
 * of up to 32 (recordBatch: a run the registry refuses is reported, the others recorded), else one
 * transaction per bundle. A state template's bundles are put in chain order first: from the domain's
 * current root on the registry, each next one starting from the root the one before it leaves (those
 * that do not fit the chain come last, and the registry refuses them as stale). Refused before any
 * transaction: a bundle without a proof, of a template the deployment lacks, or bound to another
 * submitter than `submitter`. The registry must be connected to the signer `submitter`.
 */
export async function submitBundles(args: {
  files: readonly string[];
  registry: WorkflowRegistry;
  deployment: DeploymentRecord;
  network: string;
  submitter: string;
  batch: boolean;
  confirmations?: number;
  timeoutMs?: number;
}): Promise<BundleSubmission[]> {
  const { registry, deployment } = args;
  const results: BundleSubmission[] = [];
  const groups = new Map<string, { file: string; bundle: RunBundle; result: BundleSubmission }[]>();
  for (const file of args.files) {
    const bundle = readBundle(file);
    const result: BundleSubmission = { file, workflowId: bundle.workflowId, template: bundle.template };
    results.push(result);
    const refuse = (message: string) => (result.error = new Error(`${file}: ${message}`));
    const registered = Object.values(deployment.templates).find((t) => t.templateId === bundle.templateId);
    if (!bundle.proof) refuse("no proof (the run was not proven: wesflow resume proves it)");
    else if (!registered)
      refuse(`template ${bundle.template} (${bundle.templateId}) is not deployed on ${args.network}`);
    else if (submitterOfSignals(bundle.proof.publicSignals) !== BigInt(args.submitter)) {
      refuse(
        `the proof is bound to submitter ${toHex20(submitterOfSignals(bundle.proof.publicSignals))}, not ${args.submitter}`,
      );
    } else {
      const group = groups.get(bundle.templateId) ?? [];
      group.push({ file, bundle, result });
      groups.set(bundle.templateId, group);
    }
  }
  for (const [templateId, group] of groups) {
    const ordered = await chainOrder(registry, group);
    const size = args.batch ? MAX_BATCH_SIZE : 1;
    for (let start = 0; start < ordered.length; start += size) {
      const chunk = ordered.slice(start, start + size);
      const runs: BatchRun[] = chunk.map(({ bundle }) => ({
        proof: bundle.proof!.proof,
        publicSignals: bundle.proof!.publicSignals,
      }));
      const started = performance.now();
      const outcomes = await recordBatch({
        registry,
        templateId,
        runs,
        confirmations: args.confirmations,
        timeoutMs: args.timeoutMs,
      });
      const submitMs = Math.round(performance.now() - started);
      const perTransaction = new Map<string, number>();
      for (const { tx } of outcomes)
        if (tx) perTransaction.set(tx.txHash, (perTransaction.get(tx.txHash) ?? 0) + 1);
      outcomes.forEach((outcome, index) => {
        const { file, bundle, result } = chunk[index];
        if (!outcome.tx) {
          result.error = outcome.error;
          return;
        }
        result.tx = outcome.tx;
        result.runsInTransaction = perTransaction.get(outcome.tx.txHash);
        writeBundleFile(file, {
          ...bundle,
          submission: {
            network: args.network,
            chainId: deployment.chainId,
            registry: deployment.registry,
            submitter: args.submitter,
            txHash: outcome.tx.txHash,
            blockNumber: outcome.tx.blockNumber,
            gasUsed: outcome.tx.gasUsed,
            submitMs,
          },
        });
      });
    }
  }
  return results;
}

/**
 * A template's bundles in the order they can be recorded: for a state template, the chain from the
 * domain's current root on the registry (each next bundle's rootBefore the previous one's rootAfter),
 * then those off the chain; other templates' bundles as given.
 */
async function chainOrder<T extends { bundle: RunBundle }>(
  registry: WorkflowRegistry,
  group: readonly T[],
): Promise<T[]> {
  const state = group[0].bundle.state;
  if (!state) return [...group];
  let root = await readStateRoot({ registry, domainId: state.domainId });
  const left = [...group];
  const ordered: T[] = [];
  const startsAt = ({ bundle }: T) => bundle.state !== undefined && BigInt(bundle.state.rootBefore) === root;
  const staysAt = ({ bundle }: T) =>
    bundle.state !== undefined && bundle.state.rootAfter === bundle.state.rootBefore;
  for (;;) {
    // A run that leaves the root as it was (rolled back) first: it keeps the chain where it is.
    let next = left.findIndex((entry) => startsAt(entry) && staysAt(entry));
    if (next < 0) next = left.findIndex(startsAt);
    if (next < 0) break;
    const [found] = left.splice(next, 1);
    ordered.push(found);
    root = BigInt(found.bundle.state!.rootAfter);
  }
  return [...ordered, ...left];
}

/**
 * `wesflow submit` and scripts/submit.ts: submits the bundles at `paths` (files, or runs folders whose
 * `<workflowId>/bundle.json` are taken) to the registry deployed on `network` (its deployment file in
 * the data directory), from the account of the node that the first proven bundle is bound to. A bundle
 * recorded there before is refused by the registry (Registry__AlreadyRecorded). See {@link submitBundles}.
 */
export async function submitBundleFiles(args: {
  network: string;
  dataDir: string;
  paths: readonly string[];
  batch: boolean;
  confirmations?: number;
  timeoutMs?: number;
}): Promise<{ submitter: string; deployment: DeploymentRecord; submissions: BundleSubmission[] }> {
  if (args.network === IN_PROCESS_NETWORK) {
    throw new NetworkError(
      "the in-process network forgets the registry when this command ends: use --network localhost (npx hardhat node)",
    );
  }
  const reader = await openRegistryReader({ network: args.network, dataDir: args.dataDir });
  const files = bundleFilesOf(args.paths);
  if (files.length === 0) throw new Error(`no bundle found in ${args.paths.join(", ")}`);
  const signals = files.map((file) => readBundle(file).proof?.publicSignals).find((s) => s !== undefined);
  const bound = signals && submitterOfSignals(signals);
  const signers = await loadHardhat(args.network).ethers.getSigners();
  const signer = bound === undefined ? signers[0] : signers.find((s) => BigInt(s.address) === BigInt(bound));
  if (!signer) {
    throw new NetworkError(
      `the proofs are bound to submitter ${toHex20(bound!)}, which is not an account of ${args.network}`,
    );
  }
  const submissions = await submitBundles({
    files,
    registry: reader.registry.connect(signer),
    deployment: reader.deployment,
    network: args.network,
    submitter: signer.address,
    batch: args.batch,
    confirmations: args.confirmations,
    timeoutMs: args.timeoutMs,
  });
  return { submitter: signer.address, deployment: reader.deployment, submissions };
}
