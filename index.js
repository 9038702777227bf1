// The "wesflow" library entry: the checkout's TypeScript sources when they are here (loaded through
// the ts-node hook that bin/wesflow.js or Hardhat's test runner registered, so a workflow file in the
// checkout shares wesflow's modules with the CLI that loads it), else the compiled package's dist/.
const fs = require("node:fs");
const path = require("node:path");
const source = path.join(__dirname, "src", "index.ts");
module.exports = fs.existsSync(source) ? require(source) : require("./dist/src/index.js");
