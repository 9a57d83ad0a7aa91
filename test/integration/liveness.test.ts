import { afterAll, describe, expect, it } from 'vitest';
import {
  hostsWithin,
  isLive,
  isWithin,
  KNOWN_HOST_MS,
  LIVE_MS,
  liveSince,
  REDIS_NOW_LUA,
  RETIRED_MS,
  windowEnd,
  windowStart,
  windowStartLua,
} from '../../src/liveness.js';
import { configOf, producer, useTestEnvs } from '../helpers.js';

/**
 * The Redis score ranges of src/liveness.ts pick out exactly the heartbeats `isWithin` says, on a real
 * Redis: the boundary beat (exactly one window old) is outside in every reading, from TypeScript and from Lua.
 */
const env = useTestEnvs();

describe('liveness on Redis', () => {
  const queues = producer(configOf(env()));
  afterAll(() => queues.close());

  /** Beats around each window's edge, named by their age. */
  async function beatsAround(key: string, now: number): Promise<Map<string, number>> {
    const beats = new Map<string, number>();
    for (const w of [LIVE_MS, RETIRED_MS, KNOWN_HOST_MS]) {
      for (const d of [-1, 0, 1]) beats.set(`age-${w + d}`, now - (w + d));
    }
    beats.set('now', now);
    await queues.redis.zadd(key, ...[...beats].flatMap(([m, s]) => [s, m]));
    return beats;
  }

  it('windowStart and windowEnd split a zset as isWithin does, the boundary beat outside', async () => {
    const key = `${queues.prefix}:liveness-test`;
    const now = 1_733_000_000_123;
    const beats = await beatsAround(key, now);
    for (const w of [LIVE_MS, RETIRED_MS, KNOWN_HOST_MS]) {
      const within = [...beats].filter(([, s]) => isWithin(s, now, w)).map(([m]) => m);
      const outside = [...beats].filter(([, s]) => !isWithin(s, now, w)).map(([m]) => m);
      expect((await queues.redis.zrangebyscore(key, windowStart(now, w), '+inf')).sort()).toEqual(within.sort());
      expect((await queues.redis.zrangebyscore(key, '-inf', windowEnd(now, w))).sort()).toEqual(outside.sort());
      expect(outside).toContain(`age-${w}`);
      expect(within).toContain(`age-${w - 1}`);
    }
    const live = [...beats].filter(([, s]) => isLive(s, now)).map(([m]) => m);
    expect(await queues.redis.zcount(key, liveSince(now), '+inf')).toBe(live.length);
  });

  it("Lua's windowStart (scripts that read Redis's TIME) gives the same set", async () => {
    const key = `${queues.prefix}:liveness-lua`;
    const now = 1_733_000_000_123;
    const beats = await beatsAround(key, now);
    // REDIS_NOW_LUA's `now`, replaced by a fixed one
    const script = `${REDIS_NOW_LUA}\nnow = tonumber(ARGV[2])\nreturn redis.call('ZRANGEBYSCORE', KEYS[1], ${windowStartLua('tonumber(ARGV[1])')}, '+inf')`;
    for (const w of [LIVE_MS, RETIRED_MS, KNOWN_HOST_MS]) {
      const got = (await queues.redis.eval(script, 1, key, String(w), String(now))) as string[];
      expect(got.sort()).toEqual(
        [...beats]
          .filter(([, s]) => isWithin(s, now, w))
          .map(([m]) => m)
          .sort(),
      );
    }
  });

  it("hostsWithin and liveHosts judge by Redis's clock", async () => {
    const now = await queues.redisNow();
    await queues.redis.zadd(queues.keys.hosts, now + 60_000, 'fresh', now - LIVE_MS - 60_000, 'silent');
    await queues.redis.zadd(queues.keys.hosts, now - KNOWN_HOST_MS - 60_000, 'forgotten');
    expect(await queues.liveHosts()).toEqual(['fresh']);
    expect((await queues.knownHosts()).sort()).toEqual(['fresh', 'silent']);
    expect((await hostsWithin(queues.redis, queues.keys.hosts, RETIRED_MS)).sort()).toEqual(['fresh', 'silent']);
  });
});
