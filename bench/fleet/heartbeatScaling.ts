// What one heartbeat costs Redis as the number of workers grows. Every worker beats every HEARTBEAT_MS with a
// script that also reads and decodes every entry of the `worker-health` hash (to drop the stale ones), so a
// beat costs in proportion to the workers, and all beats together in proportion to their square. Measured on
// the live fleet, without more worker processes: the same idle window twice, the second with `extra`
// entries of fresh-looking workers added to `worker-health`; the difference in Redis's script time is what
// those entries cost the beats that ran meanwhile.
import { setTimeout as sleep } from 'node:timers/promises';
import { HEARTBEAT_MS } from '../../src/liveness.js';
import type { WorkerHealth } from '../../src/types.js';
import type { FleetRun } from './fleetRun.js';
import { SCRIPT_COMMANDS, snapshot } from './redisFigures.js';

export interface HeartbeatScaling {
  workers: number;
  extraEntries: number;
  windowS: number;
  /** script time per second (usec) in the idle window, without and with the extra entries */
  scriptUsecPerS: { without: number; with: number };
  /** Redis main-thread CPU share in the two windows */
  redisCpuShare: { without: number; with: number };
  /** what one worker-health entry adds to one heartbeat, in µs */
  usecPerEntryPerBeat: number;
}

const scriptUsec = (s: Awaited<ReturnType<typeof snapshot>>) =>
  Object.entries(s.commands)
    .filter(([c]) => SCRIPT_COMMANDS.has(c))
    .reduce((a, [, v]) => a + v.usec, 0);

async function window(run: FleetRun, seconds: number): Promise<{ usecPerS: number; cpuShare: number }> {
  const { redis } = run.ready();
  const a = await snapshot(redis.client);
  await sleep(seconds * 1000);
  const b = await snapshot(redis.client);
  const s = (b.at - a.at) / 1000;
  return { usecPerS: (scriptUsec(b) - scriptUsec(a)) / s, cpuShare: (b.cpuS - a.cpuS) / s };
}

export async function measureHeartbeatScaling(run: FleetRun, extra = 2000, seconds = 10): Promise<HeartbeatScaling> {
  const { queues } = run.ready();
  const key = queues.keys.workerHealth;
  const without = await window(run, seconds);
  const now = await queues.redisNow();
  const fields: string[] = [];
  for (let i = 0; i < extra; i++) {
    const workerId = `sim${String(i).padStart(4, '0')}-fleet-bench-${1000 + i}-abcdef`;
    const h: WorkerHealth = {
      workerId,
      host: `sim${String(i).padStart(4, '0')}`,
      pid: 1000 + i,
      // fresh: the beats keep these entries for an hour, as they keep live workers'
      at: now,
      watcher: { state: 'connected', lastEventAt: now, reconnects: 0, lastError: null },
    };
    fields.push(workerId, JSON.stringify(h));
  }
  for (let i = 0; i < fields.length; i += 1000) await queues.redis.hset(key, ...fields.slice(i, i + 1000));
  try {
    const withExtra = await window(run, seconds);
    const beatsPerS = run.workers.length / (HEARTBEAT_MS / 1000);
    return {
      workers: run.workers.length,
      extraEntries: extra,
      windowS: seconds,
      scriptUsecPerS: { without: without.usecPerS, with: withExtra.usecPerS },
      redisCpuShare: { without: without.cpuShare, with: withExtra.cpuShare },
      usecPerEntryPerBeat: (withExtra.usecPerS - without.usecPerS) / beatsPerS / extra,
    };
  } finally {
    for (let i = 0; i < fields.length; i += 2000) {
      await queues.redis.hdel(key, ...fields.slice(i, i + 2000).filter((_, j) => j % 2 === 0));
    }
  }
}

/**
 * Redis's CPU share that the heartbeats of `workers` workers take: each of workers ÷ (HEARTBEAT_MS / 1000)
 * beats per second reads `workers` entries.
 */
export const heartbeatShare = (workers: number, usecPerEntry: number) =>
  (workers / (HEARTBEAT_MS / 1000)) * workers * usecPerEntry * 1e-6;

/** The number of workers whose heartbeats alone take `share` of a Redis core. */
export const workersAtShare = (share: number, usecPerEntry: number) =>
  Math.sqrt((share * (HEARTBEAT_MS / 1000)) / (usecPerEntry * 1e-6));
