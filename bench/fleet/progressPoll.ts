// What one poll of the CLI's progress bar costs Redis: HGETALL of a finished run's progress hash (one field
// per app, src/store/runProgress.ts), as producers/client.ts `readProgress` reads it every 200 ms while a
// rebuildall runs on a terminal. Measured on the terminal round's own hash, in Redis's own time.
import type { FleetRun } from './fleetRun.js';
import { snapshot } from './redisFigures.js';

export interface ProgressPoll {
  fields: number;
  /** Redis time of one HGETALL of the hash, µs */
  usec: number;
}

/** How often the CLI's progress bar reads the run's progress (producers/client.ts). */
export const POLL_MS = 200;

export async function measureProgressPoll(run: FleetRun, runId: string, polls = 20): Promise<ProgressPoll> {
  const { redis, queues } = run.ready();
  const key = queues.keys.run(runId);
  const fields = await redis.client.hlen(key);
  const a = await snapshot(redis.client);
  for (let i = 0; i < polls; i++) await redis.client.hgetall(key);
  const b = await snapshot(redis.client);
  const usec = ((b.commands.hgetall?.usec ?? 0) - (a.commands.hgetall?.usec ?? 0)) / polls;
  return { fields, usec };
}
