import type { RedisClient } from './redis.js';

/**
 * When a host counts as live, in one place. Workers beat every HEARTBEAT_MS; each beat stamps the host and the
 * worker with Redis's clock (`TIME`, workers/pool.ts), and liveness is judged by that clock too (`redisNow`),
 * never by a machine's own: a worker whose clock is off is neither reaped while alive nor kept alive when dead.
 *
 * Every window below has one boundary: a heartbeat stamped at `beatAtMs` is within a window of `windowMs` at
 * `nowMs` while it is younger than the window (`nowMs - beatAtMs < windowMs`); one exactly `windowMs` old is
 * outside. As Redis score ranges: within is `(now-window` … `+inf` (`windowStart`), outside is `-inf` …
 * `now-window` (`windowEnd`). Nothing else compares a heartbeat with a clock.
 */

/** How often every worker beats. */
export const HEARTBEAT_MS = 5_000;

/**
 * A host, or one of its workers, is live while its last heartbeat is under LIVE_MS old (three beats missed
 * is dead). A host whose last worker stopped cleanly stays live for the rest of that window, with no worker:
 * its jobs wait for a restart that quick before another host's reaper counts them as failed.
 */
export const LIVE_MS = 3 * HEARTBEAT_MS;

/**
 * A host silent for this long is taken as retired: /healthz no longer fails for it. The `worker-health` entry
 * of a worker silent this long (it died without unregistering) is dropped by the next heartbeat sweep.
 */
export const RETIRED_MS = 3600_000;

/** A host that beat within the last day is known (listed by `netq hosts`, its queues watched); older ones are forgotten. */
export const KNOWN_HOST_MS = 24 * 3600_000;

/** The one boundary: a heartbeat at `beatAtMs` is within `windowMs` of `nowMs` (both by Redis's clock). */
export const isWithin = (beatAtMs: number, nowMs: number, windowMs: number): boolean => nowMs - beatAtMs < windowMs;

/** A host or worker whose last heartbeat was stamped at `beatAtMs` is live at `nowMs`. */
export const isLive = (beatAtMs: number, nowMs: number): boolean => isWithin(beatAtMs, nowMs, LIVE_MS);

/** The lower bound (exclusive) of a Redis score range holding the heartbeats within `windowMs` of `nowMs`. */
export const windowStart = (nowMs: number, windowMs: number): string => `(${nowMs - windowMs}`;

/** The upper bound (inclusive) of a Redis score range holding the heartbeats outside `windowMs` of `nowMs`. */
export const windowEnd = (nowMs: number, windowMs: number): string => String(nowMs - windowMs);

/** The score range's lower bound of live heartbeats: `ZRANGEBYSCORE key liveSince(now) +inf`. */
export const liveSince = (nowMs: number): string => windowStart(nowMs, LIVE_MS);

/** The score range's lower bound of known hosts' heartbeats. */
export const knownSince = (nowMs: number): string => windowStart(nowMs, KNOWN_HOST_MS);

/** Redis's clock in ms since the epoch, as Lua: sets `now` from `TIME`. */
export const REDIS_NOW_LUA = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

/** The `windowStart` bound in Lua (for scripts that read `now` from REDIS_NOW_LUA): `'(' .. now - ms`. */
export const windowStartLua = (msExpr: string): string => `'(' .. string.format('%.0f', now - ${msExpr})`;

/** KEYS[1]: the hosts zset; ARGV[1]: the window in ms. The hosts within the window by Redis's clock. */
const HOSTS_WITHIN_LUA = `${REDIS_NOW_LUA}
return redis.call('ZRANGEBYSCORE', KEYS[1], ${windowStartLua('tonumber(ARGV[1])')}, '+inf')`;

/** The hosts whose heartbeat is within `windowMs` by Redis's clock (one script: TIME, then the zset). */
export async function hostsWithin(redis: RedisClient, hostsKey: string, windowMs: number): Promise<string[]> {
  return (await redis.eval(HOSTS_WITHIN_LUA, 1, hostsKey, String(windowMs))) as string[];
}
