/**
 * When a host counts as live, in one place. Workers beat every HEARTBEAT_MS; each beat stamps the host and the
 * worker with Redis's clock (`TIME`, workers/pool.ts), and liveness is judged by that clock too (`redisNow`),
 * never by a machine's own: a worker whose clock is off is neither reaped while alive nor kept alive when dead.
 */

/** How often every worker beats. */
export const HEARTBEAT_MS = 5_000;

/**
 * A host, or one of its workers, is live while its last heartbeat is under LIVE_MS old (three beats missed
 * is dead). A host whose last worker stopped cleanly stays live for the rest of that window, with no worker:
 * its jobs wait for a restart that quick before another host's reaper counts them as failed.
 */
export const LIVE_MS = 3 * HEARTBEAT_MS;

/** A host that beat within the last day is known (listed by `netq hosts`, its queues watched); older ones are forgotten. */
export const KNOWN_HOST_MS = 24 * 3600_000;

/** The one test of liveness: a heartbeat stamped at `lastBeat` by Redis's clock, judged at `now` by the same clock. */
export const isLive = (lastBeat: number, now: number): boolean => now - lastBeat < LIVE_MS;

/** Redis's clock in ms since the epoch, as Lua: sets `now` from `TIME`. */
export const REDIS_NOW_LUA = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;
