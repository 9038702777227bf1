import path from "node:path";
import { InvalidArgumentError, type Command, type Option } from "commander";
import { createLogger } from "../project";
import { loadOrCreateProviderKey, NOTARY_URL_ENV, startNotary, type RunningNotary } from "../systems";
import { UsageError } from "./errors";

const out = (line: string) => process.stdout.write(`${line}\n`);

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65_535) throw new InvalidArgumentError("a port number 0..65535");
  return n;
}

function milliseconds(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError("a positive number of milliseconds");
  return n;
}

/**
 * `wesflow notary --upstream URL --port N`: the signing notary in front of a REST API that signs
 * nothing (src/systems/notary/). It signs with the notary's provider key (`WESFLOW_KEY_NOTARY`, or
 * `<data-dir>/keys/notary.key`, generated on first use: the key of system `notary` in the provider
 * set the registry admits) and journals what it signed in `<data-dir>/notary/notary.sqlite` (or
 * --journal). Runs until stopped (SIGINT/SIGTERM).
 */
export function registerNotaryCommand(program: Command, options: { dataDirOption: () => Option }): void {
  program
    .command("notary")
    .description(
      "a forwarding proxy with its own registered key, in front of a REST API that signs nothing: " +
        "forwards each HTTP call of a workflow to --upstream and signs what passed through it",
    )
    .requiredOption("--upstream <url>", "the REST API it forwards to (http or https base URL)")
    .option("--port <n>", "port to listen on (0: any free port)", port, 8600)
    .option("--host <address>", "address to listen on (default loopback; 0.0.0.0 exposes it)", "127.0.0.1")
    .option("--upstream-timeout <ms>", "how long it waits for the upstream (default 8000)", milliseconds)
    .option("--journal <file>", "its SQLite journal (default <data-dir>/notary/notary.sqlite)")
    .addOption(options.dataDirOption())
    .option("--json", "print {url, upstream, publicKey, journal} as one JSON line once listening")
    .action(
      async (opts: {
        upstream: string;
        port: number;
        host: string;
        upstreamTimeout?: number;
        journal?: string;
        dataDir: string;
        json?: boolean;
      }) => {
        const logger = createLogger();
        const key = await loadOrCreateProviderKey({ dataDir: opts.dataDir, system: "notary", logger });
        const journalFile = opts.journal
          ? path.resolve(opts.journal)
          : path.join(opts.dataDir, "notary", "notary.sqlite");
        let notary: RunningNotary;
        try {
          notary = await startNotary({
            upstream: opts.upstream,
            privateKey: key.privateKey,
            journalFile,
            host: opts.host,
            port: opts.port,
            upstreamTimeoutMs: opts.upstreamTimeout,
            logger,
          });
        } catch (error) {
          const code = (error as NodeJS.ErrnoException).code;
          if (code === "EADDRINUSE")
            throw new UsageError(`port ${opts.port} is in use: choose another --port`);
          if ((error as Error).name === "NotaryConfigurationError")
            throw new UsageError((error as Error).message);
          throw error;
        }
        const publicKey = [notary.publicKey[0].toString(), notary.publicKey[1].toString()];
        if (opts.json) {
          out(
            JSON.stringify({ url: notary.url, upstream: notary.upstream, publicKey, journal: journalFile }),
          );
        } else {
          out(`notary listening on ${notary.url}, forwarding to ${notary.upstream}`);
          out(`  signs as system notary (code 8) with key (${publicKey[0]}, ${publicKey[1]})`);
          out(`  journal ${journalFile}`);
          out(`  runs find it with ${NOTARY_URL_ENV}=${notary.url}`);
        }
        await new Promise<void>((resolve) => {
          const stop = () => resolve();
          process.once("SIGINT", stop);
          process.once("SIGTERM", stop);
        });
        await notary.close();
      },
    );
}
