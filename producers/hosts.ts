import { isLive, knownSince, liveSince } from '../src/liveness.js';
import type { NetqQueues } from '../src/queue.js';
import { appsByHost } from '../src/store/networkConfigStore.js';
import type { WorkerHealth } from '../src/types.js';

/** A host as `netq hosts` shows it. */
export interface HostInfo {
  host: string;
  live: boolean;
  workers: number;
  apps: number;
  /** ms since the epoch */
  lastHeartbeat: number;
  watchers: WorkerHealth['watcher']['state'][];
}

/** Every host that sent a heartbeat in the last day, with its live workers and the apps stored for it. */
export async function listHosts(queues: NetqQueues): Promise<HostInfo[]> {
  const r = queues.redis;
  const now = await queues.redisNow(); // Redis's clock, as the heartbeats'
  const flat = await r.zrangebyscore(queues.keys.hosts, knownSince(now), '+inf', 'WITHSCORES');
  const [apps, healthRaw] = await Promise.all([appsByHost(r, queues.keys), r.hgetall(queues.keys.workerHealth)]);
  const health = Object.values(healthRaw).map((h) => JSON.parse(h) as WorkerHealth);
  const out: HostInfo[] = [];
  for (let i = 0; i < flat.length; i += 2) {
    const host = flat[i] as string;
    const last = Number(flat[i + 1]);
    const workers = await r.zcount(queues.keys.workers(host), liveSince(now), '+inf');
    out.push({
      host,
      live: isLive(last, now),
      workers,
      apps: apps.get(host)?.length ?? 0,
      lastHeartbeat: last,
      watchers: health.filter((h) => h.host === host && isLive(h.at, now)).map((h) => h.watcher.state),
    });
  }
  return out.sort((a, b) => a.host.localeCompare(b.host));
}
