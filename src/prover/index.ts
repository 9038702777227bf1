export * from "./types";
export * from "./instances";
export * from "./progress";
export * from "./setup";
export * from "./orderInput";
export * from "./prove";
