#!/usr/bin/env node
// The wesflow command line. In the checkout it runs the TypeScript sources through tsx (esbuild: a
// command starts in about half the time ts-node takes; type-checked by `npm run lint`), or ts-node
// where the dev dependencies are not installed; the installed package (npm pack) runs its compiled dist/.
const fs = require("node:fs");
const path = require("node:path");
const root = path.join(__dirname, "..");
if (fs.existsSync(path.join(root, "src", "cli", "main.ts"))) {
  let tsx;
  try {
    tsx = require("tsx/cjs/api");
  } catch {
    tsx = undefined;
  }
  if (tsx) tsx.register();
  else require("ts-node").register({ transpileOnly: true, project: path.join(root, "tsconfig.json") });
  require("../src/cli/main").main(process.argv);
} else {
  require("../dist/src/cli/main").main(process.argv);
}
