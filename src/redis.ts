import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { DEFAULTS } from './config.js';

/** ioredis options for a URL; BullMQ needs maxRetriesPerRequest null on worker connections. */
export function redisOptions(extra: Partial<RedisOptions> = {}): RedisOptions {
  return { maxRetriesPerRequest: null, enableReadyCheck: true, lazyConnect: false, ...extra };
}

/** A single Redis, one behind Sentinel, or a Cluster: netq uses only what all three offer. */
export type RedisClient = Redis | Cluster;

/** Where Redis is: REDIS_URL, or Sentinel or Cluster nodes (the URL then gives password, TLS and db). */
export interface RedisTarget {
  redisUrl: string;
  redisSentinels?: { host: string; port: number }[] | undefined;
  redisSentinelName?: string | undefined;
  redisClusterNodes?: { host: string; port: number }[] | undefined;
}

/** Connection options taken from a redis:// or rediss:// URL: password, user, TLS, db. */
function urlOptions(url: string): RedisOptions {
  const u = new URL(url);
  return {
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
    ...(u.pathname.length > 1 ? { db: Number(u.pathname.slice(1)) } : {}),
  };
}

/** Another connection to the same Redis (blocking commands need their own). */
export function duplicateClient(c: RedisClient): RedisClient {
  return c instanceof Cluster ? c.duplicate() : c.duplicate();
}

export function createRedis(target: string | RedisTarget, extra: Partial<RedisOptions> = {}): RedisClient {
  const t: RedisTarget = typeof target === 'string' ? { redisUrl: target } : target;
  if (t.redisClusterNodes?.length) {
    return new Cluster(t.redisClusterNodes, {
      redisOptions: redisOptions({ ...urlOptions(t.redisUrl), ...extra }),
      enableReadyCheck: true,
    });
  }
  if (t.redisSentinels?.length) {
    return new Redis(
      redisOptions({
        ...urlOptions(t.redisUrl),
        sentinels: t.redisSentinels,
        name: t.redisSentinelName ?? DEFAULTS.redisSentinelName,
        ...extra,
      }),
    );
  }
  return new Redis(t.redisUrl, redisOptions(extra));
}
