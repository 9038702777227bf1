/**
 * Fails unless the registry's Solidity line coverage (from `hardhat coverage`'s json-summary report,
 * coverage/coverage-summary.json) is at least the floor. Run by `npm run coverage` after the report.
 */
import fs from "node:fs";
import path from "node:path";

const FLOOR_PCT = 95;
const CONTRACT = "contracts/WorkflowRegistry.sol";
const summaryFile = path.join(__dirname, "..", "coverage", "coverage-summary.json");

type Totals = { pct: number; covered: number; total: number };
type Summary = Record<string, { lines: Totals; branches: Totals }>;

function fail(message: string): never {
  process.stderr.write(`coverage: ${message}\n`);
  process.exit(1);
}

if (!fs.existsSync(summaryFile)) fail(`${summaryFile} not found: run \`npx hardhat coverage\` first`);
const summary = JSON.parse(fs.readFileSync(summaryFile, "utf8")) as Summary;
const entry = Object.entries(summary).find(([file]) => file.endsWith(CONTRACT))?.[1];
if (entry === undefined) fail(`${CONTRACT} is not in ${summaryFile}`);
const { lines, branches } = entry;
const figures = `${lines.pct} % of lines (${lines.covered}/${lines.total}), ${branches.pct} % of branches (${branches.covered}/${branches.total})`;
if (lines.pct < FLOOR_PCT) fail(`${CONTRACT}: ${figures}, below the floor of ${FLOOR_PCT} % of lines`);
process.stdout.write(`coverage: ${CONTRACT}: ${figures} (floor ${FLOOR_PCT} % of lines)\n`);
