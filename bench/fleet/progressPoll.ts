// What one poll of the CLI's progress bar costs Redis: `readProgress` (src/store/runProgress.ts) on a finished
// run, as producers/client.ts reads it every 200 ms while a rebuildall runs on a terminal (the count of the
// apps done, and the small hash of host totals and failing apps). Measured on the terminal round's own run, in
// Redis's own time.
import { readProgress } from '../../src/store/runProgress.js';
import type { FleetRun } from './fleetRun.js';
import { snapshot } from './redisFigures.js';

export interface ProgressPoll {
  /** apps the run marked done */
  fields: number;
  /** Redis time of one poll (all its commands), µs */
  usec: number;
}

/** How often the CLI's progress bar reads the run's progress (producers/client.ts). */
export const POLL_MS = 200;

export async function measureProgressPoll(run: FleetRun, runId: string, polls = 20): Promise<ProgressPoll> {
  const { redis, queues } = run.ready();
  const fields = await redis.client.hlen(queues.keys.run(runId));
  const a = await snapshot(redis.client);
  for (let i = 0; i < polls; i++) await readProgress(redis.client, queues.keys, runId, 1);
  const b = await snapshot(redis.client);
  const spent = (name: string) => (b.commands[name]?.usec ?? 0) - (a.commands[name]?.usec ?? 0);
  return { fields, usec: (spent('hlen') + spent('hgetall')) / polls };
}
