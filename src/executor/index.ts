export * from "./errors";
export * from "./execute";
