export * from "./trail";
export * from "./format";
export * from "./onChain";
export * from "./evidence";
export * from "./verify";
export * from "./disclose";
export * from "./report";
export * from "./labels";
