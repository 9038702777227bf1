// The Hardhat config of the installed package (compiled to dist/hardhat.runtime.config.js): what
// `wesflow run` loads for its networks when it runs from the package, in a user's folder that has
// no hardhat.config of its own (src/pipeline/network.ts sets HARDHAT_CONFIG to it). Only the
// networks and hardhat-ethers: the package ships its compiled contracts (artifacts/, the
// typechain factories), so nothing is compiled at the user's side. The checkout's own
// hardhat.config.ts (toolbox, solc, gas reporter) is for building and testing wesflow.
import "@nomicfoundation/hardhat-ethers";
import path from "node:path";
import type { HardhatUserConfig } from "hardhat/config";

const packageRoot = path.resolve(__dirname, "..");

const config: HardhatUserConfig = {
  networks: {
    hardhat: {},
    localhost: { url: process.env.WESFLOW_RPC_URL ?? "http://127.0.0.1:8545" },
  },
  paths: {
    root: packageRoot,
    artifacts: path.join(packageRoot, "artifacts"),
    cache: path.join(packageRoot, "cache"),
  },
};

export default config;
