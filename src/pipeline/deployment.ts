import type { Signer } from "ethers";
import {
  definitionTemplateName,
  deployBatchVerifier,
  deployRegistry,
  deploymentBlockOf,
  readTemplate,
  registerDefinitionTemplate,
  deployVerifier,
  readStateRoot,
  registerProviderSet,
  registerStateDomain,
  registerStateTemplate,
  registerTemplate,
  readTemplateBatchVerifier,
  setTemplateBatchVerifier,
  templateIdOf,
  type DeploymentRecord,
} from "../chain";
import type { WorkflowRegistry } from "../../typechain-types";
import {
  batchVerifierContractOf,
  isInstanceBuilt,
  loadCircuitInstances,
  readSetupRecord,
  type CircuitInstance,
} from "../prover";
import { stateDomainId } from "../state";
import type { ProviderSet } from "../trace";

/**
 * Deploys the registry and, for each circuit instance that setup has built, its generated verifier,
 * registered as a template (metadata hash = the circuit build's source hash) with its batch verifier
 * (setup generates both from the instance's verification key); registers the provider
 * set; registers the state domains of `stateRoots` with the roots given (the state the executor holds:
 * the registry's domain starts where the journal's state store is). A state instance (one that moves a
 * domain) is registered bound to its domain, when that domain is among `stateRoots`. The record
 * keeps the registry's deployment block, where queries of its events start. Used by
 * scripts/deploy.ts, by runs on the in-process network, and by the tests. An instance built later is
 * added with {@link addTemplate}.
 */
export async function deployWesflow(args: {
  signer: Signer;
  providers: ProviderSet;
  /** State domains to register, by name, with the root each starts from. */
  stateRoots?: Readonly<Record<string, bigint>>;
}): Promise<DeploymentRecord> {
  const { signer, providers } = args;
  const registry = await deployRegistry({ signer });
  const deploymentBlock = await deploymentBlockOf(registry);
  const templates: DeploymentRecord["templates"] = {};
  const verifiers: Record<string, string> = {};
  const batchVerifiers: Record<string, string> = {};
  const stateDomains: NonNullable<DeploymentRecord["stateDomains"]> = {};
  for (const [domain, root] of Object.entries(args.stateRoots ?? {})) {
    const domainId = stateDomainId(domain);
    await registerStateDomain({ registry, domainId, root });
    stateDomains[domain] = { domainId, initialRoot: root.toString() };
  }
  for (const instance of loadCircuitInstances().filter(isInstanceBuilt)) {
    if (instance.stateDomain !== undefined) {
      if (stateDomains[instance.stateDomain]) {
        templates[instance.name] = await addTemplate({ registry, signer, instance });
      }
    } else if (isDefinitionBound(instance)) {
      // A generic instance is no template by itself: each workflow definition is registered with
      // its hash when first run (registerDefinition).
      verifiers[instance.name] = await deployVerifier({ signer, contractName: instance.verifierContract });
      batchVerifiers[instance.name] = await deployBatchVerifier({
        signer,
        contractName: batchVerifierContractOf(instance),
      });
    } else {
      templates[instance.name] = await addTemplate({ registry, signer, instance });
    }
  }
  await registerProviderSet({
    registry,
    root: providers.root,
    providers: providers.providers.map((p) => ({
      systemCode: p.systemCode,
      pubKeyX: p.publicKey[0],
      pubKeyY: p.publicKey[1],
    })),
  });
  const network = await signer.provider!.getNetwork();
  return {
    chainId: Number(network.chainId),
    registry: await registry.getAddress(),
    deploymentBlock,
    templates,
    verifiers,
    batchVerifiers,
    stateDomains,
    providerSetRoot: providers.root,
    deployedAt: new Date().toISOString(),
  };
}

/** Whether an instance is generic: its proofs take a workflow definition's hash as sixth public signal. */
export function isDefinitionBound(instance: CircuitInstance): boolean {
  return instance.kind === "definition";
}

/**
 * Registers a user-defined workflow's template: the generic instance's verifier (deployed once per
 * deployment) bound to the definition's hash. A template registered before (by another process)
 * is taken as it is when it binds the same hash. Needs the registrar role on the registry.
 */
export async function registerDefinition(args: {
  registry: WorkflowRegistry;
  signer: Signer;
  deployment: DeploymentRecord;
  instance: CircuitInstance;
  definitionHash: bigint;
}): Promise<DeploymentRecord["templates"][string]> {
  const { registry, signer, deployment, instance, definitionHash } = args;
  const name = definitionTemplateName(instance.name, definitionHash);
  const templateId = templateIdOf(name) as `0x${string}`;
  let verifier = deployment.verifiers?.[instance.name];
  const existing = await readTemplate({ registry, templateId }).catch(() => undefined);
  if (existing) {
    if (existing.definitionHash !== definitionHash) {
      throw new Error(`template ${name} is registered on this chain without that definition hash`);
    }
    verifier = existing.verifier;
  } else {
    if (!verifier) {
      verifier = await deployVerifier({ signer, contractName: instance.verifierContract });
      deployment.verifiers = { ...deployment.verifiers, [instance.name]: verifier };
    }
    await registerDefinitionTemplate({ registry, templateId, verifier, definitionHash });
  }
  // The generic batch verifier is shared like the verifier: deployed once per deployment.
  let batchVerifier = await readTemplateBatchVerifier({ registry, templateId });
  if (!batchVerifier) {
    batchVerifier = deployment.batchVerifiers?.[instance.name];
    if (!batchVerifier) {
      batchVerifier = await deployBatchVerifier({ signer, contractName: batchVerifierContractOf(instance) });
      deployment.batchVerifiers = { ...deployment.batchVerifiers, [instance.name]: batchVerifier };
    }
    await setTemplateBatchVerifier({ registry, templateId, batchVerifier });
  }
  return { templateId, verifier, batchVerifier, definitionHash: definitionHash.toString() };
}

/**
 * Makes sure the registry has a state domain: registers it with `root` (the state the executor
 * holds) when the registry does not know it, and notes it in the deployment record. Returns the
 * registry's current root of the domain. Needs the registrar role when it registers.
 */
export async function ensureStateDomain(args: {
  registry: WorkflowRegistry;
  deployment: DeploymentRecord;
  domain: string;
  root: bigint;
}): Promise<bigint> {
  const { registry, deployment, domain, root } = args;
  const domainId = stateDomainId(domain);
  const current = await readStateRoot({ registry, domainId });
  if (current !== undefined) return current;
  await registerStateDomain({ registry, domainId, root });
  deployment.stateDomains = {
    ...deployment.stateDomains,
    [domain]: { domainId, initialRoot: root.toString() },
  };
  return root;
}

/**
 * Deploys an instance's generated verifier and registers it as a template of the registry: bound to
 * its state domain (which must be registered) for a state instance; then deploys its batch verifier
 * and gives it to the template.
 */
export async function addTemplate(args: {
  registry: WorkflowRegistry;
  signer: Signer;
  instance: CircuitInstance;
}): Promise<DeploymentRecord["templates"][string]> {
  const { registry, signer, instance } = args;
  const verifier = await deployVerifier({ signer, contractName: instance.verifierContract });
  const templateId = templateIdOf(instance.name);
  const sourceHash = readSetupRecord(instance)?.sourceHash;
  const metadataHash = sourceHash ? `0x${sourceHash}` : undefined;
  const batchVerifier = await deployBatchVerifier({
    signer,
    contractName: batchVerifierContractOf(instance),
  });
  if (instance.stateDomain !== undefined) {
    const domainId = stateDomainId(instance.stateDomain);
    await registerStateTemplate({ registry, templateId, verifier, metadataHash, domainId });
    await setTemplateBatchVerifier({ registry, templateId, batchVerifier });
    return {
      templateId: templateId as `0x${string}`,
      verifier,
      batchVerifier,
      stateDomain: instance.stateDomain,
    };
  }
  await registerTemplate({ registry, templateId, verifier, metadataHash });
  await setTemplateBatchVerifier({ registry, templateId, batchVerifier });
  return { templateId: templateId as `0x${string}`, verifier, batchVerifier };
}
