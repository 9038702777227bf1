module.exports = {
  // Generated verifiers (snarkjs) are not ours to cover.
  skipFiles: ["verifiers/"],
  // json-summary feeds scripts/checkCoverage.ts (the registry's line coverage must stay ≥ 95 %).
  istanbulReporter: ["html", "lcov", "text", "json", "json-summary"],
};
