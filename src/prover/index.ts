export * from "./types";
export * from "./instances";
export * from "./progress";
export * from "./setup";
export * from "./sagaInput";
export * from "./workflowTraceInput";
export * from "./prove";
export * from "./stateUpdatesInput";
