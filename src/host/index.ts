export * from "./types";
export * from "./errors";
export * from "./operation";
export * from "./status";
export * from "./protocol";
export * from "./host";
export * from "./receipts";
export * from "./http";
