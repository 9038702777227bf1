import { promises as fs } from "node:fs";
import path from "node:path";
import { derivePublicKey, newPrivateKey, type PublicKey } from "../crypto";
import type { Logger } from "../project";
import type { SystemName } from "../trace";

export class ProviderKeyError extends Error {
  override name = "ProviderKeyError";
  constructor(
    message: string,
    readonly system: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface ProviderKeyMaterial {
  system: SystemName;
  privateKey: Buffer;
  publicKey: PublicKey;
  /** Where the key came from: the environment, an existing key file, or generated just now. */
  source: "env" | "file" | "generated";
  /** The key file, unless the key came from the environment. */
  file?: string;
}

/** `WESFLOW_KEY_PAYMENT`, `WESFLOW_KEY_LOGISTICS`, ...: a hex private key that overrides the key file. */
export function providerKeyEnvVar(system: SystemName): string {
  return `WESFLOW_KEY_${system.toUpperCase()}`;
}

export function providerKeyFile(dataDir: string, system: SystemName): string {
  return path.join(dataDir, "keys", `${system}.key`);
}

/**
 * The private key a simulated system signs with: `WESFLOW_KEY_<SYSTEM>` (hex) if set, else
 * `${dataDir}/keys/${system}.key` (hex), else a new random key written there with mode 0600. A
 * generated key is a development key and the log says so.
 */
export async function loadOrCreateProviderKey(args: {
  dataDir: string;
  system: SystemName;
  logger?: Logger;
}): Promise<ProviderKeyMaterial> {
  const { dataDir, system, logger } = args;
  const envVar = providerKeyEnvVar(system);
  const fromEnv = process.env[envVar];
  if (fromEnv !== undefined && fromEnv.trim() !== "") {
    const privateKey = parseHexKey(fromEnv, system, `environment variable ${envVar}`);
    logger?.info({ system, source: envVar }, "provider key from the environment");
    return { system, privateKey, publicKey: await derivePublicKey(privateKey), source: "env" };
  }

  const file = providerKeyFile(dataDir, system);
  const existing = await readKeyFile(file, system);
  if (existing) {
    logger?.debug({ system, file }, "provider key from file");
    return { system, privateKey: existing, publicKey: await derivePublicKey(existing), source: "file", file };
  }

  const privateKey = newPrivateKey();
  await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  try {
    // "wx": never overwrite a key another process wrote in the meantime.
    await fs.writeFile(file, privateKey.toString("hex") + "\n", { mode: 0o600, flag: "wx" });
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === "EEXIST") {
      const raced = await readKeyFile(file, system);
      if (raced)
        return { system, privateKey: raced, publicKey: await derivePublicKey(raced), source: "file", file };
    }
    throw new ProviderKeyError(`cannot write the key file ${file}: ${(cause as Error).message}`, system, {
      cause,
    });
  }
  await fs.chmod(file, 0o600); // in case the umask dropped bits we did not ask for
  logger?.warn(
    { system, file },
    `generated a DEV signing key for ${system} (not for production: set ${envVar} or provide the key file)`,
  );
  return { system, privateKey, publicKey: await derivePublicKey(privateKey), source: "generated", file };
}

async function readKeyFile(file: string, system: SystemName): Promise<Buffer | undefined> {
  let text: string;
  try {
    text = await fs.readFile(file, "utf8");
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new ProviderKeyError(`cannot read the key file ${file}: ${(cause as Error).message}`, system, {
      cause,
    });
  }
  return parseHexKey(text, system, `key file ${file}`);
}

function parseHexKey(text: string, system: string, where: string): Buffer {
  const hex = text.trim().replace(/^0x/i, "");
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) {
    throw new ProviderKeyError(`${where} must hold a 32-byte private key as 64 hex digits`, system);
  }
  return Buffer.from(hex, "hex");
}
