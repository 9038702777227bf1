module.exports = {
  // Generated verifiers (snarkjs) are not ours to cover.
  skipFiles: ["verifiers/"],
};
