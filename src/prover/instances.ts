import fs from "node:fs";
import path from "node:path";
import { z } from "zod";
import { PROJECT_ROOT } from "../project";

/**
 * What an instance's proofs state, declared in circuits.json (never inferred): `saga`, a workflow's
 * statement (public runClaim = submitter + outcome * 2^160, workflowId, traceRoot, providerSetRoot);
 * `state`, the same plus stateRootBefore, stateRootAfter of its `stateDomain`; `definition`, the
 * generic statement of any user-defined workflow, bound to a definition's hash that the registry
 * supplies as the last public signal.
 */
export const INSTANCE_KINDS = ["saga", "state", "definition"] as const;
export type InstanceKind = (typeof INSTANCE_KINDS)[number];

/**
 * The circuit's public outputs, which snarkjs lists before its public inputs (circuits.json's `pubs`):
 * every template's main computes runClaim from its private outcome and submitter (RunClaim,
 * circuits/lib/trace.circom).
 */
export const CIRCUIT_OUTPUTS = ["runClaim"] as const;

const BASE_PUBS = ["workflowId", "traceRoot", "providerSetRoot"];
const KIND_PUBS: Record<InstanceKind, string[]> = {
  saga: BASE_PUBS,
  state: [...BASE_PUBS, "stateRootBefore", "stateRootAfter"],
  definition: [...BASE_PUBS, "definitionHash"],
};

const InstanceSchema = z
  .object({
    file: z.string().min(1),
    template: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/),
    kind: z.enum(INSTANCE_KINDS),
    params: z.array(z.number().int().nonnegative()),
    pubs: z.array(z.string().min(1)).min(1),
    /**
     * The state domain whose root the instance's proofs move (public stateRootBefore/After): its
     * template is registered bound to that domain (registerStateTemplate).
     */
    stateDomain: z.string().min(1).optional(),
    /**
     * The constant by which the template's circuit names its workflow (a built-in scenario's, e.g.
     * "wesflow/order"; the field element is `fixedWorkflowTag` of it): run ids are
     * Poseidon(submitter, tag, nonce). A definition-bound (generic) template has none: its tag is the
     * definition's hash, which the registry supplies.
     */
    workflowTag: z.string().min(1).optional(),
    /**
     * The template checks one receipt per system (src/trace/receipt.ts; lib/saga.circom's RECEIPTS =
     * 1) instead of each call's signature: a run proven with it needs its systems' receipts, which the
     * pipeline asks for after the run. Default false.
     */
    receipts: z.boolean().optional(),
  })
  .superRefine((instance, ctx) => {
    const problem = (message: string) => ctx.addIssue({ code: z.ZodIssueCode.custom, message });
    const pubs = KIND_PUBS[instance.kind];
    if (JSON.stringify(instance.pubs) !== JSON.stringify(pubs)) {
      problem(`a ${instance.kind} instance's pubs are ${pubs.join(", ")}`);
    }
    if ((instance.kind === "state") !== (instance.stateDomain !== undefined)) {
      problem(`a stateDomain is named by state instances, and only by them`);
    }
    if ((instance.kind === "definition") === (instance.workflowTag !== undefined)) {
      problem(
        `saga and state instances name their workflowTag; a definition instance's tag is the definition's hash`,
      );
    }
  });
const CircuitsFileSchema = z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), InstanceSchema);

export type CircuitInstanceConfig = z.infer<typeof InstanceSchema>;

export interface CircuitInstance extends CircuitInstanceConfig {
  name: string;
  /** Build outputs, laid out as circomkit writes them. */
  paths: {
    dir: string;
    r1cs: string;
    wasm: string;
    zkey: string;
    vkey: string;
    meta: string;
    verifierSol: string;
  };
  verifierContract: string;
}

export const BUILD_DIR = path.join(PROJECT_ROOT, "build", "circuits");
export const VERIFIERS_DIR = path.join(PROJECT_ROOT, "contracts", "verifiers");

/**
 * The circuit instances of the project's circuits.json, then those of circuits.json files registered
 * from outside it (a scenario folder's, see `registerCircuitInstances`).
 */
export function loadCircuitInstances(file = path.join(PROJECT_ROOT, "circuits.json")): CircuitInstance[] {
  const own = Object.entries(readCircuitsFile(file)).map(([name, config]) => describeInstance(name, config));
  if (file !== path.join(PROJECT_ROOT, "circuits.json")) return own;
  return [...own, ...registered.values()];
}

function readCircuitsFile(file: string): Record<string, CircuitInstanceConfig> {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (cause) {
    throw new Error(`cannot read circuit instances from ${file}: ${(cause as Error).message}`, { cause });
  }
  const parsed = CircuitsFileSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`invalid ${file}: ${issue.path.join(".")}: ${issue.message}`);
  }
  return parsed.data;
}

/** Instances registered from circuits.json files outside the project's (by name). */
const registered = new Map<string, CircuitInstance>();

/**
 * Adds the instances of another circuits.json (a scenario folder's, whose `file`s are relative to
 * that file's folder) to those `loadCircuitInstances` lists; setup builds them like the project's.
 * Their sources must lie inside the project (circom2 reads files under the project only). Refused:
 * a name the project's circuits.json or another registration already uses for another instance.
 * Registering the same file again changes nothing. Returns the file's instances.
 */
export function registerCircuitInstances(file: string): CircuitInstance[] {
  const absolute = path.resolve(file);
  const circuitsDir = path.join(PROJECT_ROOT, "circuits");
  const own = new Set(Object.keys(readCircuitsFile(path.join(PROJECT_ROOT, "circuits.json"))));
  const instances = Object.entries(readCircuitsFile(absolute)).map(([name, config]) => {
    const source = path.resolve(path.dirname(absolute), `${config.file}.circom`);
    const relative = path.relative(PROJECT_ROOT, source);
    if (relative.startsWith("..") || path.isAbsolute(relative)) {
      throw new Error(
        `${file}: instance ${name}'s circuit ${source} is outside the project (${PROJECT_ROOT}): circom2 compiles files under the project only`,
      );
    }
    const fileFromCircuits = path
      .relative(circuitsDir, source)
      .replace(/\.circom$/, "")
      .split(path.sep)
      .join("/");
    const instance = describeInstance(name, { ...config, file: fileFromCircuits });
    const held = registered.get(name);
    if (own.has(name) || (held && JSON.stringify(held) !== JSON.stringify(instance))) {
      throw new Error(`${file}: circuit instance ${name} is already declared by another circuits.json`);
    }
    return instance;
  });
  for (const instance of instances) registered.set(instance.name, instance);
  return instances;
}

/** Removes the instances `registerCircuitInstances(file)` added (a test's cleanup). */
export function unregisterCircuitInstances(file: string): void {
  for (const name of Object.keys(readCircuitsFile(path.resolve(file)))) registered.delete(name);
}

function describeInstance(name: string, config: CircuitInstanceConfig): CircuitInstance {
  const dir = path.join(BUILD_DIR, name);
  const verifierContract = `${name}Verifier`;
  return {
    name,
    ...config,
    verifierContract,
    paths: {
      dir,
      r1cs: path.join(dir, `${name}.r1cs`),
      wasm: path.join(dir, `${name}_js`, `${name}.wasm`),
      zkey: path.join(dir, "groth16_pkey.zkey"),
      vkey: path.join(dir, "groth16_vkey.json"),
      meta: path.join(dir, "setup.json"),
      verifierSol: path.join(VERIFIERS_DIR, `${verifierContract}.sol`),
    },
  };
}

export function circuitInstance(name: string): CircuitInstance {
  const instance = loadCircuitInstances().find((i) => i.name === name);
  if (!instance) {
    throw new Error(
      `circuit instance ${name} is not declared in circuits.json (nor by a registered scenario)`,
    );
  }
  return instance;
}

/** An instance's public signals in the order of its proofs: its outputs, then its public inputs. */
export function publicSignalNamesOf(instance: Pick<CircuitInstanceConfig, "pubs">): string[] {
  return [...CIRCUIT_OUTPUTS, ...instance.pubs];
}
