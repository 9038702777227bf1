import pino from "pino";
import pretty from "pino-pretty";

/**
 * The library's logger: warnings and errors by default, one readable line each on stderr (stdout
 * stays for results and --json). WESFLOW_LOG_LEVEL=debug shows every call and step;
 * WESFLOW_LOG_FORMAT=json writes pino's JSON lines instead.
 */
export function createLogger(name = "wesflow"): pino.Logger {
  const level = process.env.WESFLOW_LOG_LEVEL ?? "warn";
  if (process.env.WESFLOW_LOG_FORMAT === "json") return pino({ name, level }, pino.destination(2));
  return pino(
    { name, level },
    pretty({
      destination: 2,
      sync: true,
      colorize: false,
      ignore: "pid,hostname,name",
      translateTime: "HH:MM:ss",
    }),
  );
}

export type Logger = pino.Logger;
