export * from "./types";
export * from "./catalog";
export * from "./commitment";
export * from "./providerSet";
export * from "./layout";
export * from "./binding";
export * from "./receipt";
