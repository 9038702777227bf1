// Submits a run bundle's proof to the wesflow registry of a network, from the account the proof is
// bound to (its submitter signal), and completes the bundle with the transaction, so that
// `wesflow verify --network` and `wesflow disclose` find it.
//
//   BUNDLE=.wesflow/runs/<workflowId>/bundle.json npx hardhat run scripts/submit.ts --network localhost
//
// The registry's address comes from <data dir>/deployments/<network>.json (scripts/deploy.ts).
// Data dir: WESFLOW_DATA_DIR or .wesflow/.
import path from "node:path";
import { ethers, network } from "hardhat";
import { readBundle, writeBundleFile } from "../src/bundle";
import { STATE_PUBLIC_SIGNAL_NAMES, submitRun, submitRunWithState } from "../src/chain";
import { toHex32 } from "../src/crypto";
import { IN_PROCESS_NETWORK, openRegistryReader } from "../src/pipeline";
import { defaultDataDir } from "../src/project";

async function main(): Promise<void> {
  if (network.name === IN_PROCESS_NETWORK) {
    throw new Error(
      "the in-process network forgets the registry when this script ends: use --network localhost",
    );
  }
  if (!process.env.BUNDLE) throw new Error("say which bundle: BUNDLE=<path of a run bundle>");
  const file = path.resolve(process.env.BUNDLE);
  const bundle = readBundle(file);
  if (!bundle.proof)
    throw new Error(`${file} has no proof: the run was not proven (wesflow resume proves it)`);

  const dataDir = defaultDataDir();
  const reader = await openRegistryReader({ network: network.name, dataDir });
  const template = reader.deployment.templates[bundle.template];
  if (template?.templateId !== bundle.templateId) {
    throw new Error(`template ${bundle.template} (${bundle.templateId}) is not deployed on ${network.name}`);
  }
  const bound = BigInt(bundle.proof.publicSignals[4]);
  const signer = (await ethers.getSigners()).find((s) => BigInt(s.address) === bound);
  if (!signer) {
    throw new Error(
      `the proof is bound to submitter 0x${bound.toString(16).padStart(40, "0")}, which is not an account of ${network.name}`,
    );
  }

  const started = performance.now();
  // A state template's proof (seven signals: the state roots last) goes through submitWithState,
  // which refuses it when its stateRootBefore is not the domain's current root on this registry.
  const submit =
    bundle.proof.publicSignals.length === STATE_PUBLIC_SIGNAL_NAMES.length ? submitRunWithState : submitRun;
  const tx = await submit({
    registry: reader.registry.connect(signer),
    templateId: bundle.templateId,
    proof: bundle.proof.proof,
    publicSignals: bundle.proof.publicSignals,
  });
  const submitMs = Math.round(performance.now() - started);
  const previous = bundle.submission;
  writeBundleFile(file, {
    ...bundle,
    submission: {
      network: network.name,
      chainId: reader.deployment.chainId,
      registry: reader.deployment.registry,
      submitter: signer.address,
      txHash: tx.txHash,
      blockNumber: tx.blockNumber,
      gasUsed: tx.gasUsed,
      submitMs,
    },
  });
  process.stdout.write(
    [
      `workflow      ${toHex32(BigInt(bundle.workflowId))} (${bundle.template}, ${bundle.outcome})`,
      `registry      ${reader.deployment.registry} (chain ${reader.deployment.chainId})`,
      `tx            ${tx.txHash}`,
      `block         ${tx.blockNumber}`,
      `gas           ${tx.gasUsed}`,
      `bundle        ${file} completed with the transaction` +
        (previous ? ` (it said: recorded on ${previous.network} in tx ${previous.txHash})` : ""),
    ].join("\n") + "\n",
  );
}

main().catch((error: Error) => {
  process.stderr.write(`submit: ${error.message}\n`);
  process.exitCode = 1;
});
