import { z } from 'zod';
import type { NetqKeys } from '../keys.js';
import type { RedisClient as Redis } from '../redis.js';
import type { KeyCommand } from './keyCommands.js';

/**
 * Replacements that failed, remembered per container and per change asked for, so that a replacement that
 * does not stay up is retried with backoff (10 s, doubling to 1 h) instead of in a loop. A record no longer
 * applies when the properties ask for another change or the container is another one (a deploy).
 */

export const FIRST_RETRY_MS = 10_000;
export const MAX_RETRY_MS = 3_600_000;

const recordSchema = z.object({
  change: z.string(),
  attempts: z.number().int(),
  nextAt: z.number(),
  reason: z.string(),
});
export type ReplaceFailure = z.infer<typeof recordSchema>;

export class ReplacementFailures {
  private readonly key: string;
  constructor(
    private readonly redis: Redis,
    keys: NetqKeys,
    host: string,
    app: string,
  ) {
    this.key = keys.replaceFailures(host, app);
  }

  /** The failure record of this container for this change, if any. */
  async get(containerId: string, change: string): Promise<ReplaceFailure | undefined> {
    const raw = await this.redis.hget(this.key, containerId);
    if (raw === null) return undefined;
    try {
      const r = recordSchema.safeParse(JSON.parse(raw));
      if (r.success && r.data.change === change) return r.data;
    } catch {
      // not JSON: treated as no record
    }
    return undefined;
  }

  /** Counts one more failed attempt and returns the record with its next try. */
  async failed(containerId: string, change: string, reason: string, now: number): Promise<ReplaceFailure> {
    const prev = await this.get(containerId, change);
    const attempts = (prev?.attempts ?? 0) + 1;
    const delay = Math.min(FIRST_RETRY_MS * 2 ** (attempts - 1), MAX_RETRY_MS);
    const rec: ReplaceFailure = { change, attempts, nextAt: now + delay, reason };
    await this.redis.multi().hset(this.key, containerId, JSON.stringify(rec)).expire(this.key, 86_400).exec();
    return rec;
  }

  /**
   * Forgets records of containers that are no longer the app's (and a success): a command to send with others,
   * given the containers with a record (HKEYS, read as the job started: src/store/appJobStart.ts).
   */
  keepOnlyCommands(recorded: unknown, containerIds: string[]): KeyCommand[] {
    const ids = Array.isArray(recorded) ? recorded.map(String) : [];
    const gone = ids.filter((id) => !containerIds.includes(id));
    return gone.length ? [['hdel', this.key, ...gone]] : [];
  }

  async forget(containerId: string): Promise<void> {
    await this.redis.hdel(this.key, containerId);
  }
}
