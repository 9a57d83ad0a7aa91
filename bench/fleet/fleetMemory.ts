// Redis memory of the fleet: after the runs, and at rest once job retention has done its work. netq keeps a
// completed job for a day (removeOnComplete age 24 h) and a run's progress hash for a day (EXPIRE): at rest
// is what is left a day later, so the bench removes completed jobs with Queue.clean (grace 0: what
// removeOnComplete's age does to a job a day old) and every key that expires within a day.
import { queueName } from '../../src/jobs.js';
import type { FleetRun } from './fleetRun.js';
import { type MemoryByKind, memoryByKind, type RedisSnapshot, snapshot } from './redisFigures.js';

export interface MemoryState {
  usedMemory: number;
  usedMemoryDataset: number;
  memClients: number;
  keys: number;
  byKind: MemoryByKind[];
}

export interface Retention {
  completedJobsCleaned: number;
  /** keys with a time to live of a day or less (run progress, pending requests, locks), deleted */
  expiringKeysDeleted: number;
}

export async function memoryState(run: FleetRun): Promise<MemoryState> {
  const { redis } = run.ready();
  const s: RedisSnapshot = await snapshot(redis.client);
  return {
    usedMemory: s.usedMemory,
    usedMemoryDataset: s.usedMemoryDataset,
    memClients: s.memClients,
    keys: s.keys,
    byKind: await memoryByKind(redis.client, `{${run.prefix}}`),
  };
}

/** What retention removes within a day: completed jobs of every queue, and keys that expire within a day. */
export async function applyRetention(run: FleetRun, hosts: string[]): Promise<Retention> {
  const { redis, queues } = run.ready();
  const names = [
    queueName.summary,
    ...hosts.flatMap((h) => [queueName.scan(h), queueName.rebuild(h), queueName.control(h)]),
  ];
  let completedJobsCleaned = 0;
  for (const name of names) completedJobsCleaned += (await queues.queue(name).clean(0, 0, 'completed')).length;
  let expiringKeysDeleted = 0;
  let cursor = '0';
  do {
    const [next, keys] = await redis.client.scan(cursor, 'COUNT', 2000);
    cursor = next;
    if (!keys.length) continue;
    const p = redis.client.pipeline();
    for (const k of keys) p.ttl(k);
    const ttls = (await p.exec()) ?? [];
    const expiring = keys.filter((_, i) => {
      const ttl = Number(ttls[i]?.[1] ?? -1);
      return ttl >= 0 && ttl <= 86_400;
    });
    if (expiring.length) expiringKeysDeleted += await redis.client.unlink(...expiring);
  } while (cursor !== '0');
  return { completedJobsCleaned, expiringKeysDeleted };
}
