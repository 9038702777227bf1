import type { Signer } from "ethers";
import {
  deployRegistry,
  deployVerifier,
  registerProviderSet,
  registerTemplate,
  templateIdOf,
  type DeploymentRecord,
} from "../chain";
import { loadCircuitInstances, readSetupRecord } from "../prover";
import type { ProviderSet } from "../trace";

/**
 * Deploys the registry and one generated verifier per circuit instance, registers each instance as
 * a template (metadata hash = the circuit build's source hash) and registers the provider set.
 * Used by scripts/deploy.ts, by runs on the in-process network, and by the tests.
 */
export async function deployWesflow(args: {
  signer: Signer;
  providers: ProviderSet;
}): Promise<DeploymentRecord> {
  const { signer, providers } = args;
  const registry = await deployRegistry({ signer });
  const templates: DeploymentRecord["templates"] = {};
  for (const instance of loadCircuitInstances()) {
    const verifier = await deployVerifier({ signer, contractName: instance.verifierContract });
    const templateId = templateIdOf(instance.name);
    const sourceHash = readSetupRecord(instance)?.sourceHash;
    await registerTemplate({
      registry,
      templateId,
      verifier,
      metadataHash: sourceHash ? `0x${sourceHash}` : undefined,
    });
    templates[instance.name] = { templateId: templateId as `0x${string}`, verifier };
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
