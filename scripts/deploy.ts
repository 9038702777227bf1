// Deploys the wesflow registry and the generated verifiers, registers every circuit instance as a
// template and the built-in scenarios' provider keys as a provider set, and writes the addresses
// to <data dir>/deployments/<network>.json for `wesflow run` and `wesflow audit`.
//
//   npx hardhat run scripts/deploy.ts --network localhost
//
// Data dir: WESFLOW_DATA_DIR or .wesflow/ (provider dev keys are generated there if missing).
import { ethers, network } from "hardhat";
import { writeDeployment } from "../src/chain";
import { Journal, defaultJournalFile } from "../src/journal";
import {
  deployWesflow,
  deploymentFile,
  ensureDomain,
  IN_PROCESS_NETWORK,
  stateStoreOf,
} from "../src/pipeline";
import { createLogger, defaultDataDir } from "../src/project";
import { circuitInstance } from "../src/prover";
import { SCENARIOS } from "../src/scenarios";

async function main(): Promise<void> {
  if (network.name === IN_PROCESS_NETWORK) {
    throw new Error(
      "the in-process network forgets the deployment when this script ends: use --network localhost",
    );
  }
  const dataDir = defaultDataDir();
  const scenarios = Object.values(SCENARIOS);
  // One provider set for every registered system: each scenario's systems are among them (today all
  // scenarios call the same three), so their provider sets must be one and the same.
  const [, providerSetDepth] = circuitInstance(scenarios[0].createDefinition().template).params;
  const providers = await scenarios[0].loadProviderSet({ dataDir, providerSetDepth, logger: createLogger() });
  for (const other of scenarios.slice(1)) {
    const theirs = await other.loadProviderSet({ dataDir, providerSetDepth, logger: createLogger() });
    if (theirs.root !== providers.root) {
      throw new Error(
        `scenario ${other.name}'s provider set is not ${scenarios[0].name}'s: one deployment registers one set`,
      );
    }
  }
  // Each scenario's state domains start on the registry where the data dir's journal holds them.
  const journal = Journal.open(process.env.WESFLOW_JOURNAL ?? defaultJournalFile(dataDir));
  const stateRoots: Record<string, bigint> = {};
  try {
    const store = stateStoreOf(journal);
    for (const found of scenarios) {
      const effect = found.createDefinition({ state: store }).state;
      if (!effect) continue;
      ensureDomain(store, effect);
      stateRoots[effect.domain] = store.root(effect.domain);
    }
  } finally {
    journal.close();
  }
  const [signer] = await ethers.getSigners();
  const record = await deployWesflow({ signer, providers, stateRoots });
  const file = deploymentFile(dataDir, network.name);
  await writeDeployment(file, record);
  process.stdout.write(
    [
      `registry      ${record.registry} (chain ${record.chainId}, deployed in block ${record.deploymentBlock})`,
      ...Object.entries(record.templates).map(
        ([name, t]) => `template      ${name} ${t.templateId} → ${t.verifier}`,
      ),
      ...Object.entries(record.stateDomains ?? {}).map(
        ([name, d]) => `state domain  ${name} ${d.domainId} from root ${d.initialRoot}`,
      ),
      `provider set  ${record.providerSetRoot}`,
      `written to    ${file}`,
    ].join("\n") + "\n",
  );
}

main().catch((error: Error) => {
  process.stderr.write(`deploy: ${error.message}\n`);
  process.exitCode = 1;
});
