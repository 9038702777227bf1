// Prints the runs a network's wesflow registry recorded (its WorkflowRecorded events) as a JSON array,
// filtered by the environment: WORKFLOW (id), TEMPLATE (instance name or 0x templateId), SUBMITTER
// (address), OUTCOME (COMMITTED or ROLLED_BACK), FROM_BLOCK, TO_BLOCK.
//
//   OUTCOME=ROLLED_BACK npx hardhat run scripts/audit.ts --network localhost
//
// The registry's address comes from <data dir>/deployments/<network>.json (scripts/deploy.ts).
// Data dir: WESFLOW_DATA_DIR or .wesflow/.
import { isAddress, isHexString } from "ethers";
import { network } from "hardhat";
import { z } from "zod";
import { queryEntries, templateIdOf } from "../src/chain";
import { parseField, toHex32 } from "../src/crypto";
import { IN_PROCESS_NETWORK, openRegistryReader } from "../src/pipeline";
import { defaultDataDir } from "../src/project";

const block = z
  .string()
  .regex(/^\d+$/, "a block number")
  .transform((value) => Number(value));

const FiltersSchema = z.object({
  WORKFLOW: z
    .string()
    .transform((value) => parseField(value, "WORKFLOW"))
    .optional(),
  TEMPLATE: z
    .string()
    .min(1)
    .transform((value) => (isHexString(value, 32) ? value : templateIdOf(value)))
    .optional(),
  SUBMITTER: z
    .string()
    .refine((value) => isAddress(value), "an address")
    .optional(),
  OUTCOME: z.enum(["COMMITTED", "ROLLED_BACK"]).optional(),
  FROM_BLOCK: block.optional(),
  TO_BLOCK: block.optional(),
});

async function main(): Promise<void> {
  if (network.name === IN_PROCESS_NETWORK) {
    throw new Error(
      "the in-process network has recorded nothing when this script starts: use --network localhost",
    );
  }
  const parsed = FiltersSchema.safeParse(process.env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`${issue.path.join(".")}: ${issue.message}`);
  }
  const filters = parsed.data;
  const reader = await openRegistryReader({ network: network.name, dataDir: defaultDataDir() });
  const names = new Map(Object.entries(reader.deployment.templates).map(([name, t]) => [t.templateId, name]));
  const runs = await queryEntries({
    registry: reader.registry,
    workflowId: filters.WORKFLOW,
    templateId: filters.TEMPLATE,
    submitter: filters.SUBMITTER,
    deploymentBlock: reader.deployment.deploymentBlock,
    fromBlock: filters.FROM_BLOCK,
    toBlock: filters.TO_BLOCK,
  });
  const entries = runs
    .filter((run) => filters.OUTCOME === undefined || run.outcome === filters.OUTCOME)
    .map((run) => ({
      workflowId: toHex32(run.workflowId),
      templateId: run.templateId,
      template: names.get(run.templateId) ?? null,
      outcome: run.outcome,
      traceRoot: toHex32(run.traceRoot),
      providerSetRoot: toHex32(run.providerSetRoot),
      submitter: run.submitter,
      blockNumber: run.blockNumber,
      txHash: run.txHash,
    }));
  process.stdout.write(JSON.stringify(entries, null, 2) + "\n");
}

main().catch((error: Error) => {
  process.stderr.write(`audit: ${error.message}\n`);
  process.exitCode = 1;
});
