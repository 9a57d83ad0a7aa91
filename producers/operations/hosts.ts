import { type HostInfo, listHosts } from '../hosts.js';
import type { OperationContext } from './context.js';

/** `netq hosts` (GET /v1/hosts): the Docker hosts netq knows. */

export interface HostsResult {
  /** every host that sent a heartbeat in the last day, by name */
  hosts: HostInfo[];
  /** Redis's clock (ms since the epoch), which the heartbeats are stamped with */
  now: number;
}

/** The hosts with their live workers, apps and last heartbeat, and Redis's clock to tell their age by. */
export async function hosts(ctx: OperationContext): Promise<HostsResult> {
  const q = await ctx.queues();
  return { hosts: await listHosts(q), now: await q.redisNow() };
}
