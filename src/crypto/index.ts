export * from "./field";
export * from "./poseidon";
export * from "./merkle";
export * from "./eddsa";
