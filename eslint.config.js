// @ts-check
const tseslint = require("typescript-eslint");

module.exports = tseslint.config(
  {
    ignores: [
      "node_modules/",
      "build/",
      "artifacts/",
      "cache/",
      "typechain-types/",
      "coverage/",
      "circuits/",
      ".wesflow/",
      "eslint.config.js",
      "bin/",
      "dist/",
      // CommonJS entry of the library (like bin/): picks the sources or the compiled dist/
      "index.js",
    ],
  },
  ...tseslint.configs.recommended,
  {
    rules: {
      "no-console": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_" }],
      "@typescript-eslint/ban-ts-comment": "error",
    },
  },
);
