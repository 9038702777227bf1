import { mkdtemp, readFile, rm, stat, writeFile, mkdir } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import pino from "pino";

import { derivePublicKey } from "../../src/crypto";
import { loadOrCreateProviderKey, ProviderKeyError, providerKeyFile } from "../../src/systems";

/** A pino logger whose lines land in `lines` (parsed). */
function capturingLogger() {
  const lines: { level: number; msg: string; system?: string }[] = [];
  const logger = pino({ level: "debug" }, { write: (line: string) => lines.push(JSON.parse(line)) });
  return { logger, lines };
}

const WARN = 40;

describe("provider keys (loadOrCreateProviderKey)", function () {
  let dataDir: string;
  const saved: Record<string, string | undefined> = {};

  beforeEach(async function () {
    dataDir = await mkdtemp(path.join(os.tmpdir(), "wesflow-keys-"));
    for (const name of ["WESFLOW_KEY_PAYMENT", "WESFLOW_KEY_LOGISTICS"]) {
      saved[name] = process.env[name];
      delete process.env[name];
    }
  });

  afterEach(async function () {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    await rm(dataDir, { recursive: true, force: true });
  });

  it("generates a key file with mode 0600, warns that it is a DEV key, and reuses it afterwards", async function () {
    const first = capturingLogger();
    const created = await loadOrCreateProviderKey({ dataDir, system: "payment", logger: first.logger });
    const file = path.join(dataDir, "keys", "payment.key");
    expect(created.source).to.equal("generated");
    expect(created.file).to.equal(file);
    expect(providerKeyFile(dataDir, "payment")).to.equal(file);
    expect((await stat(file)).mode & 0o777).to.equal(0o600);
    expect((await readFile(file, "utf8")).trim()).to.equal(created.privateKey.toString("hex"));
    expect(created.privateKey).to.have.length(32);
    expect(created.publicKey).to.deep.equal(await derivePublicKey(created.privateKey));
    const warnings = first.lines.filter((l) => l.level === WARN);
    expect(warnings).to.have.length(1);
    expect(warnings[0].msg)
      .to.match(/DEV/)
      .and.to.match(/not for production/);

    const second = capturingLogger();
    const reused = await loadOrCreateProviderKey({ dataDir, system: "payment", logger: second.logger });
    expect(reused.source).to.equal("file");
    expect(reused.privateKey.equals(created.privateKey)).to.equal(true);
    expect(reused.publicKey).to.deep.equal(created.publicKey);
    expect(second.lines.filter((l) => l.level >= WARN)).to.have.length(0);
  });

  it("gives each system its own key", async function () {
    const payment = await loadOrCreateProviderKey({ dataDir, system: "payment" });
    const logistics = await loadOrCreateProviderKey({ dataDir, system: "logistics" });
    expect(payment.privateKey.equals(logistics.privateKey)).to.equal(false);
    expect(payment.publicKey).to.not.deep.equal(logistics.publicKey);
  });

  it("WESFLOW_KEY_<SYSTEM> overrides the key file and writes nothing", async function () {
    const fileKey = await loadOrCreateProviderKey({ dataDir, system: "logistics" });
    const hex = "11".repeat(32);
    process.env.WESFLOW_KEY_LOGISTICS = "0x" + hex;
    const fromEnv = await loadOrCreateProviderKey({ dataDir, system: "logistics" });
    expect(fromEnv.source).to.equal("env");
    expect(fromEnv.privateKey.toString("hex")).to.equal(hex);
    expect(fromEnv.publicKey).to.deep.equal(await derivePublicKey(Buffer.from(hex, "hex")));
    expect(fromEnv.publicKey).to.not.deep.equal(fileKey.publicKey);
    expect((await readFile(providerKeyFile(dataDir, "logistics"), "utf8")).trim()).to.equal(
      fileKey.privateKey.toString("hex"),
    );

    process.env.WESFLOW_KEY_PAYMENT = "22".repeat(32);
    const payment = await loadOrCreateProviderKey({ dataDir, system: "payment" });
    expect(payment.source).to.equal("env");
    let missing: unknown;
    try {
      await stat(providerKeyFile(dataDir, "payment"));
    } catch (error) {
      missing = error;
    }
    expect((missing as NodeJS.ErrnoException | undefined)?.code).to.equal("ENOENT");
  });

  it("refuses a malformed key in the environment or in the file", async function () {
    process.env.WESFLOW_KEY_PAYMENT = "not-hex";
    let error: unknown;
    try {
      await loadOrCreateProviderKey({ dataDir, system: "payment" });
    } catch (caught) {
      error = caught;
    }
    expect(error).to.be.instanceOf(ProviderKeyError);
    expect((error as Error).message).to.match(/WESFLOW_KEY_PAYMENT/);

    delete process.env.WESFLOW_KEY_PAYMENT;
    await mkdir(path.join(dataDir, "keys"), { recursive: true });
    await writeFile(providerKeyFile(dataDir, "payment"), "abcd\n");
    error = undefined;
    try {
      await loadOrCreateProviderKey({ dataDir, system: "payment" });
    } catch (caught) {
      error = caught;
    }
    expect(error).to.be.instanceOf(ProviderKeyError);
    expect((error as Error).message).to.match(/payment\.key/);
  });
});
