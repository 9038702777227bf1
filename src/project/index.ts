export * from "./paths";
export * from "./logger";
