import type { Signer } from "ethers";
import {
  deployRegistry,
  deployVerifier,
  registerProviderSet,
  registerTemplate,
  templateIdOf,
  type DeploymentRecord,
} from "../chain";
import type { WorkflowRegistry } from "../../typechain-types";
import { isInstanceBuilt, loadCircuitInstances, readSetupRecord, type CircuitInstance } from "../prover";
import type { ProviderSet } from "../trace";

/**
 * Deploys the registry and, for each circuit instance that setup has built, its generated verifier,
 * registered as a template (metadata hash = the circuit build's source hash); registers the provider
 * set. Used by scripts/deploy.ts, by runs on the in-process network, and by the tests. An instance
 * built later is added with {@link addTemplate}.
 */
export async function deployWesflow(args: {
  signer: Signer;
  providers: ProviderSet;
}): Promise<DeploymentRecord> {
  const { signer, providers } = args;
  const registry = await deployRegistry({ signer });
  const templates: DeploymentRecord["templates"] = {};
  for (const instance of loadCircuitInstances().filter(isInstanceBuilt)) {
    templates[instance.name] = await addTemplate({ registry, signer, instance });
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
    templates,
    providerSetRoot: providers.root,
    deployedAt: new Date().toISOString(),
  };
}

/** Deploys an instance's generated verifier and registers it as a template of the registry. */
export async function addTemplate(args: {
  registry: WorkflowRegistry;
  signer: Signer;
  instance: CircuitInstance;
}): Promise<DeploymentRecord["templates"][string]> {
  const { registry, signer, instance } = args;
  const verifier = await deployVerifier({ signer, contractName: instance.verifierContract });
  const templateId = templateIdOf(instance.name);
  const sourceHash = readSetupRecord(instance)?.sourceHash;
  await registerTemplate({
    registry,
    templateId,
    verifier,
    metadataHash: sourceHash ? `0x${sourceHash}` : undefined,
  });
  return { templateId: templateId as `0x${string}`, verifier };
}
