import { isDockerNetwork } from '../../src/docker/networks.js';
import { DokkuError } from '../../src/errors.js';
import { JOB, networkJobSchema } from '../../src/jobs.js';
import type { NetworkFacts } from '../../src/types.js';
import { checkHost } from './checks.js';
import type { OperationContext } from './context.js';
import { checkNetworkName, runNetworkJob } from './networkJob.js';

/** `network:create <network>` (POST /v1/networks/:network). */

export interface NetworkCreateInput {
  network: string;
  /** the Docker host (default: the only live host) */
  host?: string;
  timeoutMs: number;
}

/** The checks before anything is printed or connected; `hostInput` names the host input in messages. */
export function checkNetworkCreate(input: Pick<NetworkCreateInput, 'network' | 'host'>, hostInput: string): void {
  checkHost(input.host, hostInput);
  checkNetworkName(input.network);
  if (isDockerNetwork(input.network)) {
    throw new DokkuError(`cannot create network ${input.network}: it is one of Docker's own networks`);
  }
}

/** Creates an attachable bridge network labelled for Dokku, on the host's engine (its worker does). */
export async function networkCreate(ctx: OperationContext, input: NetworkCreateInput): Promise<NetworkFacts> {
  checkNetworkCreate(input, ctx.hostInput);
  return runNetworkJob(ctx, {
    name: JOB.networkCreate,
    host: input.host,
    data: (host) => networkJobSchema.parse({ host, network: input.network }),
    timeoutMs: input.timeoutMs,
    refusal: 'Unable to create network',
  });
}
