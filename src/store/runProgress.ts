import type { NetqKeys } from '../keys.js';
import type { RedisClient } from '../redis.js';
import type { KeyCommand } from './keyCommands.js';

/**
 * A rebuildall's progress, for the CLI's progress bar, kept a day. Each app's job marks the app done in
 * `run:<runId>` (a field per app: a retried job marks it again, never twice); `run-totals:<runId>` holds what
 * the bar adds up: each host's scan's app count (`total:<host>`) and each app that had failures
 * (`failed:<host>:<app>`). The bar polls the count of the first (HLEN) and the second whole, which stays small:
 * a poll costs the same at 10 apps and at 10,000 (reading every app's field did not).
 */

/** How long a run's progress is kept, in seconds. */
const KEPT_S = 24 * 3600;

export interface RunProgress {
  hosts: number;
  hostsScanned: number;
  apps: number;
  appsDone: number;
  failed: number;
}

/** A host's scan listed `apps` apps. */
export async function recordScan(
  redis: RedisClient,
  keys: NetqKeys,
  runId: string,
  host: string,
  apps: number,
): Promise<void> {
  await redis
    .multi()
    .hset(keys.runTotals(runId), `total:${host}`, String(apps))
    .expire(keys.runTotals(runId), KEPT_S)
    .expire(keys.run(runId), KEPT_S)
    .exec();
}

/** An app's job in the run finished with `failed` containers not configured (sent as its lock is released). */
export function recordAppCommands(
  keys: NetqKeys,
  runId: string,
  host: string,
  app: string,
  failed: number,
): KeyCommand[] {
  const done: KeyCommand = ['hset', keys.run(runId), `${host}:${app}`, '1'];
  // the scan set the run's expiry before this hash existed: each app's mark sets it (kept a day, like the totals)
  const kept: KeyCommand = ['expire', keys.run(runId), String(KEPT_S)];
  const failures: KeyCommand =
    failed > 0
      ? ['hset', keys.runTotals(runId), `failed:${host}:${app}`, String(failed)]
      : ['hdel', keys.runTotals(runId), `failed:${host}:${app}`];
  return [done, kept, failures];
}

/** The run's progress so far, over `hosts` hosts: two reads, neither of them of every app. */
export async function readProgress(
  redis: RedisClient,
  keys: NetqKeys,
  runId: string,
  hosts: number,
): Promise<RunProgress> {
  const [done, totals] = await Promise.all([redis.hlen(keys.run(runId)), redis.hgetall(keys.runTotals(runId))]);
  const p: RunProgress = { hosts, hostsScanned: 0, apps: 0, appsDone: done, failed: 0 };
  for (const [k, v] of Object.entries(totals)) {
    if (k.startsWith('total:')) {
      p.hostsScanned += 1;
      p.apps += Number(v);
    } else if (k.startsWith('failed:')) p.failed += Number(v);
  }
  return p;
}
