import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import { expect } from "chai";
import type { Command } from "commander";

import { buildProgram } from "../../src/cli/main";
import { Journal } from "../../src/journal";
import { packStateValue, StateStore } from "../../src/state";

/** The program, throwing instead of exiting, and silent on stderr. */
function program(): Command {
  const built = buildProgram();
  for (const command of [built, ...built.commands]) {
    command.exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
  }
  return built;
}

/** What `wesflow <args>` prints on stdout. */
async function output(args: string[]): Promise<string> {
  const written: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array) => {
    written.push(String(chunk));
    return true;
  }) as typeof process.stdout.write;
  try {
    await program().parseAsync(["node", "wesflow", ...args]);
  } finally {
    process.stdout.write = write;
  }
  return written.join("");
}

describe("wesflow state: a domain of named value fields shows each field by name", () => {
  let dir: string;
  let file: string;

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "wesflow-cli-state-"));
    file = path.join(dir, "journal.sqlite");
    const journal = Journal.open(file);
    try {
      const store = StateStore.open(journal);
      store.createDomain("supply/materials", { STEEL: [500n, 0n] }, { valueFields: ["stock", "scrap"] });
      await store.commit("supply/materials", "run-1", [{ key: "STEEL", deltas: [-24n, 24n] }]);
      store.createDomain("order/stock", { "SKU-COFFEE-1KG": 500n });
    } finally {
      journal.close();
    }
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("prints the fields of every key, and the packed value with the fields in --json", async () => {
    const text = await output(["state", "--journal", file, "--domain", "supply/materials"]);
    expect(text).to.contain("  fields stock, scrap (64 bits each)\n");
    expect(text).to.match(/^ {2}STEEL {20}stock 476, scrap 24 {3,}slot \d+$/m);

    const [domain] = JSON.parse(
      await output(["state", "--journal", file, "--domain", "supply/materials", "--json"]),
    ) as {
      valueFields: string[];
      entries: { key: string; value: string; fields: Record<string, string> }[];
    }[];
    expect(domain.valueFields).to.deep.equal(["stock", "scrap"]);
    expect(domain.entries).to.have.length(1);
    expect(domain.entries[0]).to.deep.include({
      key: "STEEL",
      value: packStateValue([476n, 24n]).toString(),
      fields: { stock: "476", scrap: "24" },
    });
  });

  it("a domain of one unnamed field prints as before: its value, no fields", async () => {
    const text = await output(["state", "--journal", file, "--domain", "order/stock"]);
    expect(text).to.match(/^ {2}SKU-COFFEE-1KG {11} +500 {3}slot \d+$/m);
    expect(text).to.not.contain("fields");
    const [domain] = JSON.parse(
      await output(["state", "--journal", file, "--domain", "order/stock", "--json"]),
    ) as {
      entries: Record<string, unknown>[];
    }[];
    expect(domain).to.not.have.property("valueFields");
    expect(domain.entries[0]).to.deep.equal({
      key: "SKU-COFFEE-1KG",
      slot: domain.entries[0].slot,
      value: "500",
    });
  });
});
