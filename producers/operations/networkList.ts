import { JOB, type NetworkListJob, networkListJobSchema } from '../../src/jobs.js';
import { type DokkuNetwork, dokkuNetwork, sortNetworks } from '../format-networks.js';
import { checkHost } from './checks.js';
import type { OperationContext } from './context.js';
import { runNetworkJob } from './networkJob.js';

/** `network:list [--dokku-managed]` (GET /v1/networks). */

export interface NetworkListInput {
  /** only the networks Dokku manages (labelled `com.dokku.network-name`) */
  managed: boolean;
  /** the Docker host (default: the only live host) */
  host?: string;
  timeoutMs: number;
}

/** Every network of the host's engine as Dokku lists it, by name. */
export async function networkList(ctx: OperationContext, input: NetworkListInput): Promise<DokkuNetwork[]> {
  checkHost(input.host, ctx.hostInput);
  const all = await runNetworkJob(ctx, {
    name: JOB.networkList,
    host: input.host,
    data: (host): NetworkListJob => networkListJobSchema.parse({ host }),
    timeoutMs: input.timeoutMs,
  });
  return sortNetworks(all.map(dokkuNetwork).filter((n) => !input.managed || n.DokkuManaged));
}
