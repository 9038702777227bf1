#!/usr/bin/env node
// The wesflow command line. Runs the TypeScript sources through ts-node (type-checked by `npm run lint`).
const path = require("node:path");
require("ts-node").register({ transpileOnly: true, project: path.join(__dirname, "..", "tsconfig.json") });
require("../src/cli/main").main(process.argv);
