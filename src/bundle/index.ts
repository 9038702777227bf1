export * from "./schema";
export * from "./codec";
export * from "./store";
