export * from "./deployment";
export * from "./network";
export * from "./runWorkflow";
export * from "./session";
export * from "./bench";
export * from "./queues";
export * from "./runState";
export * from "./runChain";
