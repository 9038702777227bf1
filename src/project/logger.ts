import pino from "pino";

/**
 * The library's logger. Quiet by default (warnings and errors, on stderr) so the CLI's output stays
 * readable; WESFLOW_LOG_LEVEL=debug shows every call and step.
 */
export function createLogger(name = "wesflow"): pino.Logger {
  return pino({ name, level: process.env.WESFLOW_LOG_LEVEL ?? "warn" }, pino.destination(2));
}

export type Logger = pino.Logger;
