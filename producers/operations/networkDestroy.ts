import { JOB, type NetworkDestroyResult, networkJobSchema } from '../../src/jobs.js';
import { checkHost } from './checks.js';
import type { OperationContext } from './context.js';
import { checkNetworkName, runNetworkJob } from './networkJob.js';

/** `network:destroy <network>` (DELETE /v1/networks/:network). */

export interface NetworkDestroyInput {
  network: string;
  /** the Docker host (default: the only live host) */
  host?: string;
  /** confirmed without asking (the CLI asks otherwise; a DELETE is its own confirmation) */
  force: boolean;
  timeoutMs: number;
}

/** The checks before anything is asked, printed or connected; `hostInput` names the host input in messages. */
export function checkNetworkDestroy(input: Pick<NetworkDestroyInput, 'network' | 'host'>, hostInput: string): void {
  checkHost(input.host, hostInput);
  checkNetworkName(input.network);
}

/** Removes the network of exactly this name from the host's engine (which refuses while containers are attached). */
export async function networkDestroy(ctx: OperationContext, input: NetworkDestroyInput): Promise<NetworkDestroyResult> {
  checkNetworkDestroy(input, ctx.hostInput);
  return runNetworkJob(ctx, {
    name: JOB.networkDestroy,
    host: input.host,
    data: (host) => networkJobSchema.parse({ host, network: input.network, force: input.force }),
    timeoutMs: input.timeoutMs,
    refusal: 'Unable to destroy network',
  });
}
