import type { NetqKeys } from '../keys.js';
import type { RedisClient } from '../redis.js';
import type { KeyCommand } from './keyCommands.js';

/**
 * A rebuildall's progress, for the CLI's progress bar (hash `run:<runId>`, kept a day): each host's scan records
 * how many apps it found (`total:<host>`), each app's job how many containers failed (`app:<host>:<app>`).
 */

/** How long a run's progress hash is kept, in seconds. */
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
  await redis.multi().hset(keys.run(runId), `total:${host}`, String(apps)).expire(keys.run(runId), KEPT_S).exec();
}

/** An app's job in the run finished with `failed` containers not configured (sent as its lock is released). */
export function recordAppCommand(keys: NetqKeys, runId: string, host: string, app: string, failed: number): KeyCommand {
  return ['hset', keys.run(runId), `app:${host}:${app}`, String(failed)];
}

/** The run's progress so far, over `hosts` hosts. */
export async function readProgress(
  redis: RedisClient,
  keys: NetqKeys,
  runId: string,
  hosts: number,
): Promise<RunProgress> {
  const h = await redis.hgetall(keys.run(runId));
  const p: RunProgress = { hosts, hostsScanned: 0, apps: 0, appsDone: 0, failed: 0 };
  for (const [k, v] of Object.entries(h)) {
    if (k.startsWith('total:')) {
      p.hostsScanned += 1;
      p.apps += Number(v);
    } else if (k.startsWith('app:')) {
      p.appsDone += 1;
      p.failed += Number(v);
    }
  }
  return p;
}
