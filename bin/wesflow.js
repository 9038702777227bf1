#!/usr/bin/env node
// The wesflow command line. In the checkout it runs the TypeScript sources through ts-node
// (type-checked by `npm run lint`), transpiled by swc when the checkout has @swc/core (a
// devDependency: a command starts in about a third of the time TypeScript's own transpiler takes)
// and by TypeScript otherwise; the installed package (npm pack) runs its compiled dist/.
const fs = require("node:fs");
const path = require("node:path");
const root = path.join(__dirname, "..");
if (fs.existsSync(path.join(root, "src", "cli", "main.ts"))) {
  require("ts-node").register({
    transpileOnly: true,
    project: path.join(root, "tsconfig.json"),
    ...(hasSwc() ? { transpiler: "ts-node/transpilers/swc" } : {}),
  });
  require("../src/cli/main").main(process.argv);
} else {
  require("../dist/src/cli/main").main(process.argv);
}

function hasSwc() {
  try {
    require.resolve("@swc/core", { paths: [root] });
    return true;
  } catch {
    return false;
  }
}
