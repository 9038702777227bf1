import fs from "node:fs";
import * as snarkjs from "snarkjs";
import type { RunBundle } from "../../bundle";
import {
  genericTemplateParams,
  isGenericTemplate,
  readSetupRecord,
  verificationKeyHash,
  type CircuitInstance,
} from "../../prover";
import { workflowDefinitionHash } from "../../trace";
import type { Findings } from "./findings";

/** The verification key of a circuit instance is missing or unreadable: the project is not set up. */
export class VerificationKeyError extends Error {
  override name = "VerificationKeyError";
  constructor(
    readonly file: string,
    options?: { cause?: unknown },
  ) {
    super(`cannot read the verification key ${file}: run \`npx wesflow setup\``, options);
  }
}

const verificationKeys = new Map<string, object>();

function verificationKey(instance: CircuitInstance): object {
  const file = instance.paths.vkey;
  let key = verificationKeys.get(file);
  if (!key) {
    try {
      key = JSON.parse(fs.readFileSync(file, "utf8")) as object;
    } catch (cause) {
      throw new VerificationKeyError(file, { cause });
    }
    verificationKeys.set(file, key);
  }
  return key;
}

/** Verifies the proof with this project's verification key; undefined when there is nothing to verify. */
export async function checkProof(args: {
  bundle: RunBundle;
  instance: CircuitInstance | undefined;
  findings: Findings;
}): Promise<{ verified: boolean; problem: string } | undefined> {
  const { bundle, instance, findings } = args;
  if (!bundle.proof) {
    findings.fail("proof", "the bundle has no proof (the run was not proven: wesflow resume proves it)");
    return undefined;
  }
  if (bundle.proof.instance !== bundle.template) {
    findings.fail(
      "proof",
      `the proof is of instance ${bundle.proof.instance}, the bundle's template is ${bundle.template}`,
    );
  }
  if (!instance) return undefined;
  const key = verificationKey(instance);
  let verified = false;
  try {
    verified = await snarkjs.groth16.verify(key, bundle.proof.publicSignals, bundle.proof.proof);
  } catch {
    verified = false; // points that do not parse are not a proof
  }
  let problem = `the Groth16 proof does not verify with the verification key of ${instance.name}`;
  const localHash = verificationKeyHash(key);
  const setupAt = readSetupRecord(instance)?.createdAt;
  if (!verified && bundle.proof.vkeyHash && bundle.proof.vkeyHash !== localHash) {
    problem += ` (the proof was made for verification key sha256 ${bundle.proof.vkeyHash.slice(0, 16)}…, this build's key is ${localHash.slice(0, 16)}…: another setup's keys)`;
  } else if (!verified && !bundle.proof.vkeyHash && setupAt && setupAt > bundle.createdAt) {
    problem += ` (the key was made by a setup at ${setupAt}, after this run: a proof made with another setup's keys fails here)`;
  }
  return { verified, problem };
}

/**
 * A run of a generic template names the workflow definition its proof is bound to: the definition's
 * hash is recomputed from its layout. Returns the hash (undefined for a template of its own circuit).
 */
export function checkDefinition(args: {
  bundle: RunBundle;
  instance: CircuitInstance | undefined;
  findings: Findings;
}): bigint | undefined {
  const { bundle, instance, findings } = args;
  const generic = instance ? isGenericTemplate(instance.template) : bundle.definition !== undefined;
  if (!bundle.definition) {
    if (generic)
      findings.fail(
        "proof",
        `template ${bundle.template} is generic: the bundle lacks the workflow definition`,
      );
    return undefined;
  }
  if (!generic) {
    findings.fail(
      "proof",
      `template ${bundle.template} is not generic, yet the bundle names a workflow definition`,
    );
    return undefined;
  }
  const stated = BigInt(bundle.definition.hash);
  if (instance) {
    const { maxSteps } = genericTemplateParams(instance.template, instance.params);
    const recomputed = findings.attempt("proof", "the workflow definition", () =>
      workflowDefinitionHash(bundle.definition!.layout, maxSteps),
    );
    if (recomputed !== undefined && recomputed !== stated) {
      findings.fail("proof", `the definition's hash is ${stated}, its layout hashes to ${recomputed}`);
    }
  }
  if (bundle.definition.name !== bundle.scenario) {
    findings.fail(
      "labels",
      `the definition is named ${bundle.definition.name}, the run's workflow ${bundle.scenario}`,
    );
  }
  return stated;
}
