export * from "./types";
export * from "./retry";
export * from "./errors";
export * from "./define";
export * from "./layout";
