import path from "node:path";
import type { Logger } from "../project";
import { circuitInstance, releaseProverResources, type Prover, type ProgressReporter } from "../prover";
import { scenario as findScenario, type RunningSystems, type Scenario } from "../scenarios";
import { openChain, type ChainContext } from "./network";
import { runWorkflow, type RunSummary } from "./runWorkflow";

/**
 * One process's work on one scenario and network: the simulated systems, the chain connection and
 * the provers, opened once and reused by every run; `close()` stops the systems and the provers.
 */
export class ScenarioSession {
  private readonly provers = new Map<string, Prover>();
  private readonly definition;

  private constructor(
    readonly scenario: Scenario,
    readonly systems: RunningSystems,
    readonly chain: ChainContext,
    readonly runsDir: string,
    private readonly logger?: Logger,
  ) {
    this.definition = scenario.createDefinition();
  }

  static async open(args: {
    scenario: string;
    network: string;
    dataDir: string;
    logger?: Logger;
  }): Promise<ScenarioSession> {
    const scenario = findScenario(args.scenario);
    const definition = scenario.createDefinition();
    const [, providerSetDepth] = circuitInstance(definition.template).params;
    const systems = await scenario.startSystems({
      dataDir: args.dataDir,
      providerSetDepth,
      logger: args.logger,
    });
    try {
      const chain = await openChain({
        network: args.network,
        dataDir: args.dataDir,
        providers: systems.providers,
      });
      return new ScenarioSession(scenario, systems, chain, path.join(args.dataDir, "runs"), args.logger);
    } catch (error) {
      await systems.stop();
      throw error;
    }
  }

  run(input: unknown, progress?: ProgressReporter): Promise<RunSummary> {
    return runWorkflow({
      definition: this.definition,
      input,
      chain: this.chain,
      endpoints: this.systems.endpoints,
      providers: this.systems.providers,
      runsDir: this.runsDir,
      provers: this.provers,
      progress,
      logger: this.logger,
    });
  }

  async close(): Promise<void> {
    await this.systems.stop();
    await releaseProverResources();
  }
}
