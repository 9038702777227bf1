import type { ProgressReporter } from "../prover";

/** Shows long work on stderr (stdout stays for results and --json): a line per stage with its time. */
export function terminalProgress(stream: NodeJS.WriteStream = process.stderr): ProgressReporter {
  let stage: string | undefined;
  let started = 0;
  let ticker: NodeJS.Timeout | undefined;
  const seconds = () => ((performance.now() - started) / 1000).toFixed(1);
  const stopTicker = () => {
    if (ticker) clearInterval(ticker);
    ticker = undefined;
  };
  return {
    start(name, estimate) {
      stage = name;
      started = performance.now();
      const line = `▸ ${name}${estimate ? ` (${estimate})` : ""}`;
      if (stream.isTTY) {
        stream.write(line);
        ticker = setInterval(() => {
          stream.clearLine(0);
          stream.cursorTo(0);
          stream.write(`${line} ${seconds()} s`);
        }, 500);
        ticker.unref();
      } else {
        stream.write(line + "\n");
      }
    },
    done(detail) {
      stopTicker();
      if (stream.isTTY) {
        stream.clearLine(0);
        stream.cursorTo(0);
      }
      stream.write(`✓ ${stage ?? "done"} — ${seconds()} s${detail ? `, ${detail}` : ""}\n`);
      stage = undefined;
    },
    note(message) {
      stream.write(`• ${message}\n`);
    },
  };
}
