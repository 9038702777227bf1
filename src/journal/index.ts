export * from "./types";
export * from "./journal";
