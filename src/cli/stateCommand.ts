import fs from "node:fs";
import type { Command, Option } from "commander";
import { toHex32 } from "../crypto";
import { defaultJournalFile, Journal } from "../journal";
import { UsageError } from "./errors";
import {
  StateStore,
  unpackStateValue,
  type StateDomainInfo,
  type StateEntry,
  type StateTransition,
} from "../state";

const out = (line: string) => process.stdout.write(`${line}\n`);

interface DomainView {
  info: StateDomainInfo;
  entries: StateEntry[];
  pending: StateTransition[];
}

/** An entry's fields by name, decimal (a domain of named fields). */
function fieldsOf(entry: StateEntry, valueFields: readonly string[]): Record<string, string> {
  const fields = unpackStateValue(entry.value, valueFields.length);
  return Object.fromEntries(valueFields.map((name, i) => [name, fields[i].toString()]));
}

function domainJson({ info, entries, pending }: DomainView) {
  const { valueFields } = info;
  return {
    domain: info.name,
    domainId: info.domainId,
    root: toHex32(info.root),
    genesisRoot: toHex32(info.genesisRoot),
    version: info.version,
    ...(valueFields === undefined ? {} : { valueFields }),
    entries: entries.map((e) => ({
      key: e.key,
      slot: e.slot,
      value: e.value.toString(),
      ...(valueFields === undefined ? {} : { fields: fieldsOf(e, valueFields) }),
    })),
    pending: pending.map((t) => ({
      id: t.id,
      runId: t.runId,
      rootBefore: toHex32(t.rootBefore),
      rootAfter: toHex32(t.rootAfter),
    })),
  };
}

/** An entry's value on a line: the value, or each field by name (`stock 500, scrap 0`). */
function entryValueText(entry: StateEntry, valueFields: readonly string[] | undefined): string {
  if (valueFields === undefined) return entry.value.toString().padStart(12);
  const fields = fieldsOf(entry, valueFields);
  return valueFields.map((name) => `${name} ${fields[name]}`).join(", ");
}

function domainLines({ info, entries, pending }: DomainView): string[] {
  // Named fields: padded to the longest, so that the slots line up.
  const texts = entries.map((e) => entryValueText(e, info.valueFields));
  const width = Math.max(0, ...texts.map((text) => text.length));
  const values = info.valueFields === undefined ? texts : texts.map((text) => text.padEnd(width));
  return [
    `${info.name} (${info.domainId})`,
    `  root ${toHex32(info.root)} after ${info.version} transitions (genesis ${toHex32(info.genesisRoot)})`,
    ...(info.valueFields === undefined ? [] : [`  fields ${info.valueFields.join(", ")} (64 bits each)`]),
    ...entries.map((e, i) => `  ${e.key.padEnd(24)} ${values[i]}   slot ${e.slot}`),
    ...(pending.length === 0
      ? []
      : [
          `  ${pending.length} pending transitions (prepared, not applied; a session reconciles them with the registry):`,
          ...pending.map(
            (t) =>
              `    #${t.id} run ${t.runId.slice(0, 18)}… ${toHex32(t.rootBefore)} → ${toHex32(t.rootAfter)}`,
          ),
        ]),
  ];
}

/**
 * `wesflow state`: the business state the executor keeps in the journal (per domain: root, values,
 * transitions prepared but not applied). Reads the journal only; the registry's root of a domain
 * is what `wesflow run`/`resume` reconcile with on a persistent network.
 */
export function registerStateCommand(
  program: Command,
  options: { dataDirOption: () => Option; journalOption: () => Option },
): void {
  program
    .command("state")
    .description(
      "the business state kept in the journal: per state domain its root and values (e.g. the order's stock)",
    )
    .option("--domain <name>", "only this domain (e.g. order/stock)")
    .addOption(options.dataDirOption())
    .addOption(options.journalOption())
    .option("--json", "print a JSON array")
    .action((opts: { domain?: string; dataDir: string; journal?: string; json?: boolean }) => {
      const file = opts.journal ?? defaultJournalFile(opts.dataDir);
      if (!fs.existsSync(file)) {
        out(opts.json ? "[]" : `No journal at ${file} yet: no state.`);
        return;
      }
      const journal = Journal.open(file);
      try {
        const store = StateStore.open(journal);
        let domains = store.domains();
        if (opts.domain !== undefined) {
          domains = domains.filter((d) => d.name === opts.domain);
          if (domains.length === 0) throw new UsageError(`no state domain "${opts.domain}" in ${file}`);
        }
        const views = domains.map((info) => ({
          info,
          entries: store.entries(info.name),
          pending: store.pendingTransitions(info.name),
        }));
        if (opts.json) out(JSON.stringify(views.map(domainJson)));
        else if (views.length === 0) out(`No state domains in ${file} yet.`);
        else views.flatMap(domainLines).forEach(out);
      } finally {
        journal.close();
      }
    });
}
