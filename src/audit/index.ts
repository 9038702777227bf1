export * from "./trail";
export * from "./format";
