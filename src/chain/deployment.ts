import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import path from "node:path";

import { isAddress, isHexString } from "ethers";
import { z } from "zod";

import { ChainArgumentError, DeploymentNotFoundError, formatZodIssues } from "./errors";

const address = z.string().refine((value): boolean => isAddress(value), "expected an address");
const bytes32 = z
  .string()
  .refine((value): boolean => isHexString(value, 32), "expected 0x-prefixed bytes32 hex");

/** Where a network's registry and templates live. The file form; field elements as decimal strings. */
export const deploymentRecordSchema = z.object({
  chainId: z.number().int().positive(),
  registry: address,
  /**
   * The block the registry was deployed in (its deployment receipt's): the registry's event queries
   * start there. A file written before it was recorded has none and is read as 0 (from genesis).
   */
  deploymentBlock: z.number().int().nonnegative().default(0),
  /**
   * Registered templates by name: a circuit instance's name, or `<instance>/<definition hash>` for a
   * user-defined workflow bound to a generic instance (with its definition hash, decimal).
   */
  templates: z.record(
    z.string().min(1),
    z.object({
      templateId: bytes32,
      verifier: address,
      definitionHash: z.string().regex(/^\d+$/, "expected a decimal integer string").optional(),
      /** For a state template: the name of the state domain its runs move (see `stateDomains`). */
      stateDomain: z.string().min(1).optional(),
      /**
       * The template's batch verifier (submitBatch), when it has one: generated at setup from the same
       * verification key as `verifier`. A record written before batches existed has none.
       */
      batchVerifier: address.optional(),
    }),
  ),
  /**
   * State domains registered on the registry by name: their id (keccak256 of the name) and the root
   * they were registered with (decimal). Their current roots are the registry's (currentStateRoot).
   */
  stateDomains: z
    .record(
      z.string().min(1),
      z.object({
        domainId: bytes32,
        initialRoot: z.string().regex(/^\d+$/, "expected a decimal integer string"),
      }),
    )
    .optional(),
  /** Deployed generic verifiers by instance name (the verifier every definition template shares). */
  verifiers: z.record(z.string().min(1), address).optional(),
  /** Deployed generic batch verifiers by instance name (shared by every definition template, as above). */
  batchVerifiers: z.record(z.string().min(1), address).optional(),
  providerSetRoot: z
    .string()
    .regex(/^\d+$/, "expected a decimal integer string")
    .transform((value) => BigInt(value)),
  deployedAt: z.string().datetime({ offset: true }),
});

/** A deployment record, as read: the provider set root as a bigint. */
export type DeploymentRecord = z.output<typeof deploymentRecordSchema>;

/** Writes a deployment record as JSON, creating its folder; the file is replaced atomically. */
export async function writeDeployment(filePath: string, record: DeploymentRecord): Promise<void> {
  const fileForm: z.input<typeof deploymentRecordSchema> = {
    ...record,
    providerSetRoot: record.providerSetRoot.toString(),
  };
  const checked = deploymentRecordSchema.safeParse(fileForm);
  if (!checked.success) {
    throw new ChainArgumentError("record", formatZodIssues(checked.error).join("; "), {
      cause: checked.error,
    });
  }
  await mkdir(path.dirname(filePath), { recursive: true });
  const temporaryPath = `${filePath}.${process.pid}.tmp`;
  await writeFile(temporaryPath, `${JSON.stringify(fileForm, null, 2)}\n`, "utf8");
  await rename(temporaryPath, filePath);
}

/** Reads a deployment record; DeploymentNotFoundError says whether it is missing, unreadable or malformed. */
export async function readDeployment(filePath: string): Promise<DeploymentRecord> {
  let text: string;
  try {
    text = await readFile(filePath, "utf8");
  } catch (error) {
    const missing = error instanceof Error && "code" in error && error.code === "ENOENT";
    throw new DeploymentNotFoundError(filePath, missing ? "missing" : "unreadable", [], { cause: error });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new DeploymentNotFoundError(filePath, "malformed", ["not JSON"], { cause: error });
  }
  const parsed = deploymentRecordSchema.safeParse(json);
  if (!parsed.success) {
    throw new DeploymentNotFoundError(filePath, "malformed", formatZodIssues(parsed.error), {
      cause: parsed.error,
    });
  }
  return parsed.data;
}
