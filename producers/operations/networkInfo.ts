import { JOB, networkJobSchema } from '../../src/jobs.js';
import type { NetworkFacts } from '../../src/types.js';
import { type DokkuNetwork, dokkuNetwork } from '../format-networks.js';
import { checkHost } from './checks.js';
import type { OperationContext } from './context.js';
import { checkNetworkName, requireNetworkName, runNetworkJob } from './networkJob.js';

/** `network:info <network>` (GET /v1/networks/:network). */

export interface NetworkInfoInput {
  /** Dokku refuses a missing name: `No network name specified` */
  network: string | undefined;
  /** the Docker host (default: the only live host) */
  host?: string;
  timeoutMs: number;
}

/** The network of exactly this name, as the host's worker sees it, or undefined (Dokku: getNetworks()[name]). */
export async function findNetwork(ctx: OperationContext, input: NetworkInfoInput): Promise<NetworkFacts | undefined> {
  checkHost(input.host, ctx.hostInput);
  const network = input.network;
  requireNetworkName(network);
  checkNetworkName(network);
  const facts = await runNetworkJob(ctx, {
    name: JOB.networkInfo,
    host: input.host,
    data: (host) => networkJobSchema.parse({ host, network }),
    timeoutMs: input.timeoutMs,
  });
  return facts ?? undefined;
}

/** The network as Dokku shows it (ID, name, driver, scope, whether Dokku manages it), or undefined when there is none. */
export async function networkInfo(ctx: OperationContext, input: NetworkInfoInput): Promise<DokkuNetwork | undefined> {
  const facts = await findNetwork(ctx, input);
  return facts && dokkuNetwork(facts);
}
