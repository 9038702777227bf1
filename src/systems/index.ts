export * from "./types";
export * from "./keys";
export * from "./server";
