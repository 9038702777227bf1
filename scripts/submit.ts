// Submits run bundles' proofs to the wesflow registry of a network, from the account the proofs are
// bound to (their submitter signal), and completes each bundle with its transaction, so that
// `wesflow verify --network` and `wesflow disclose` find it.
//
//   BUNDLE=.wesflow/runs/<workflowId>/bundle.json npx hardhat run scripts/submit.ts --network localhost
//   BUNDLE=a/bundle.json,b/bundle.json npx hardhat run scripts/submit.ts --network localhost
//   BUNDLE=.wesflow/runs npx hardhat run scripts/submit.ts --network localhost     (every bundle there)
//
// Several bundles of one template go out in batch transactions of up to 32 (submitBatch; BATCH=0 sends
// one transaction per bundle), a state template's in chain order from the registry's current root; a
// bundle the registry refuses is reported and the others are recorded. The registry's address comes
// from <data dir>/deployments/<network>.json (scripts/deploy.ts). Data dir: WESFLOW_DATA_DIR or .wesflow/.
import path from "node:path";
import { network } from "hardhat";
import { readBundle } from "../src/bundle";
import { toHex32 } from "../src/crypto";
import { submitBundleFiles } from "../src/pipeline";
import { defaultDataDir } from "../src/project";

async function main(): Promise<void> {
  if (!process.env.BUNDLE) {
    throw new Error("say which bundles: BUNDLE=<bundle file or runs folder>[,<another>...]");
  }
  const paths = process.env.BUNDLE.split(",")
    .map((p) => p.trim())
    .filter((p) => p.length > 0)
    .map((p) => path.resolve(p));
  const previous = new Map(paths.map((file) => [file, safeSubmission(file)]));
  const { deployment, submissions } = await submitBundleFiles({
    network: network.name,
    dataDir: defaultDataDir(),
    paths,
    batch: process.env.BATCH !== "0",
  });
  // One bundle: its refusal is the script's error, as before batches.
  if (submissions.length === 1 && submissions[0].error) throw submissions[0].error;
  const lines: string[] = [];
  for (const s of submissions) {
    const bundle = readBundle(s.file);
    lines.push(`workflow      ${toHex32(BigInt(s.workflowId))} (${s.template}, ${bundle.outcome})`);
    if (!s.tx) {
      lines.push(`not recorded  ${s.error?.message}`, "");
      continue;
    }
    const before = previous.get(s.file);
    lines.push(
      `registry      ${deployment.registry} (chain ${deployment.chainId})`,
      `tx            ${s.tx.txHash}` +
        (s.runsInTransaction && s.runsInTransaction > 1 ? ` (a batch of ${s.runsInTransaction} runs)` : ""),
      `block         ${s.tx.blockNumber}`,
      `gas           ${s.tx.gasUsed}`,
      `bundle        ${s.file} completed with the transaction` +
        (before ? ` (it said: recorded on ${before.network} in tx ${before.txHash})` : ""),
      "",
    );
  }
  process.stdout.write(lines.join("\n"));
  if (submissions.some((s) => !s.tx)) process.exitCode = 1;
}

/** A bundle file's submission before this script completes it, if it is a readable bundle. */
function safeSubmission(file: string) {
  try {
    return readBundle(file).submission;
  } catch {
    return undefined;
  }
}

main().catch((error: Error) => {
  process.stderr.write(`submit: ${error.message}\n`);
  process.exitCode = 1;
});
