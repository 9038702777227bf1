import "@nomicfoundation/hardhat-toolbox";
import { HardhatUserConfig, subtask } from "hardhat/config";
import { TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD } from "hardhat/builtin-tasks/task-names";

const SOLC_VERSION = "0.8.28";

// `npm test` has Hardhat's ts-node transpile with swc (TS_NODE_SWC, @swc/core being a devDependency):
// registered by now, so the processes the tests start choose their own transpiler.
delete process.env.TS_NODE_SWC;

// This machine cannot download compilers: use the solc-js build shipped by the `solc` npm package
// (pinned to SOLC_VERSION in package.json).
subtask(TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD, async (args: { solcVersion: string }, _hre, runSuper) => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const solcJs = require("solc");
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  if (args.solcVersion !== require("solc/package.json").version) return runSuper();
  return {
    compilerPath: require.resolve("solc/soljson.js"),
    isSolcJs: true,
    version: args.solcVersion,
    longVersion: solcJs.version(),
  };
});

const config: HardhatUserConfig = {
  solidity: {
    version: SOLC_VERSION,
    settings: { optimizer: { enabled: true, runs: 200 }, evmVersion: "cancun" },
  },
  networks: {
    hardhat: {},
    localhost: { url: process.env.WESFLOW_RPC_URL ?? "http://127.0.0.1:8545" },
  },
  mocha: {
    timeout: 300_000,
  },
  // Gas per contract method over the test run: printed after `npm test` and written to
  // build/gas-report.txt. Offline (no price lookups); REPORT_GAS=false turns it off.
  gasReporter: {
    enabled: process.env.REPORT_GAS !== "false",
    offline: true,
    noColors: true,
    outputFile: "build/gas-report.txt",
    forceTerminalOutput: true,
    forceTerminalOutputFormat: "terminal",
  },
  typechain: { outDir: "typechain-types", target: "ethers-v6" },
};

export default config;
