import { callRecordOf, receiptOf, type RunBundle } from "../../bundle";
import { verifySignature } from "../../crypto";
import type { CircuitInstance } from "../../prover";
import {
  receiptCallsOf,
  receiptChain,
  receiptMessage,
  receiptSystemsOf,
  type ProviderSet,
} from "../../trace";
import type { Findings } from "./findings";

/**
 * The systems' receipts of a run (src/trace/receipt.ts), for a template that checks them in place of
 * each call's signature: one per system with signed calls, each covering exactly that system's
 * signed calls of the bundle (count and chain recomputed here), signed by the key the provider set
 * holds for it over the run's id. A bundle of another template carrying receipts is told, not failed:
 * its proof did not use them. Findings under "calls".
 */
export async function checkReceipts(args: {
  bundle: RunBundle;
  workflowId: bigint;
  instance: CircuitInstance | undefined;
  providers: ProviderSet | undefined;
  findings: Findings;
}): Promise<void> {
  const { bundle, workflowId, instance, providers, findings } = args;
  const fail = (problem: string) => findings.fail("calls", problem);
  const required = instance?.receipts === true;
  if (!bundle.receipts) {
    if (required) fail(`${bundle.template} checks the systems' receipts of the run; the bundle carries none`);
    return;
  }
  if (instance && !required) {
    findings.notes.push(`the bundle carries receipts ${bundle.template} does not check`);
  }
  const calls = bundle.calls.map(callRecordOf);
  const owed = new Set(receiptSystemsOf({ calls }));
  const seen = new Set<string>();
  for (const raw of bundle.receipts) {
    const receipt = receiptOf(raw);
    const label = `the receipt of ${receipt.system}`;
    if (seen.has(receipt.system)) fail(`${label} appears twice`);
    seen.add(receipt.system);
    if (!owed.has(receipt.system)) {
      fail(`${label}: the run has no signed call of ${receipt.system}`);
      continue;
    }
    const own = receiptCallsOf({ calls }, receipt.system);
    if (receipt.count !== own.length)
      fail(`${label} covers ${receipt.count} calls; the run has ${own.length} signed calls of it`);
    if (receipt.chain !== receiptChain(own))
      fail(`${label}: its chain is not the chain of the run's signed calls of ${receipt.system}`);
    const registered = providers?.keyOf(receipt.system);
    if (!registered) {
      fail(`${label}: the provider set has no key for ${receipt.system}`);
      continue;
    }
    if (registered.systemCode !== receipt.systemCode) {
      fail(`${label}: system code ${receipt.systemCode}, the provider set's is ${registered.systemCode}`);
    }
    if (
      registered.publicKey[0] !== receipt.publicKey[0] ||
      registered.publicKey[1] !== receipt.publicKey[1]
    ) {
      fail(`${label} is signed with a key the provider set does not hold for ${receipt.system}`);
      continue;
    }
    const message = receiptMessage(workflowId, receipt.count, receipt.chain);
    if (!(await verifySignature(message, receipt.signature, registered.publicKey))) {
      fail(`${label}: the signature does not verify under ${receipt.system}'s key`);
    }
  }
  for (const system of owed) {
    if (!seen.has(system) && required) fail(`the run has signed calls of ${system} and no receipt of it`);
  }
}
