#!/usr/bin/env node
// The wesflow command line. In the checkout it runs the TypeScript sources through ts-node
// (type-checked by `npm run lint`); the installed package (npm pack) runs its compiled dist/.
const fs = require("node:fs");
const path = require("node:path");
const root = path.join(__dirname, "..");
if (fs.existsSync(path.join(root, "src", "cli", "main.ts"))) {
  require("ts-node").register({ transpileOnly: true, project: path.join(root, "tsconfig.json") });
  require("../src/cli/main").main(process.argv);
} else {
  require("../dist/src/cli/main").main(process.argv);
}
