import path from "node:path";

// Tools that spawn `circom` (circomkit's WitnessTester through circom_tester) find the repo's shim,
// which runs circom2 (circom compiled to WebAssembly).
const shimDir = path.resolve(__dirname, "..", "bin");
if (!process.env.PATH?.split(path.delimiter).includes(shimDir)) {
  process.env.PATH = `${shimDir}${path.delimiter}${process.env.PATH ?? ""}`;
}
