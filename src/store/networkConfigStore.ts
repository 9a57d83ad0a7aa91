import type { Redis } from 'ioredis';
import type { ComputedProperties } from '../properties/properties.js';
import type { NetqKeys } from '../queue.js';
import type { ContainerNetworkConfig, Failure } from '../types.js';

/** What `network:report` reads for one app. */
export interface StoredNetworkConfig {
  app: string;
  host: string;
  updatedAt: string;
  listeners: Record<string, string[]>;
  containers: ContainerNetworkConfig[];
  failures: Failure[];
  /** the computed properties this rebuild applied (the report shows a drift against them) */
  applied: ComputedProperties;
}

/** Writes an app's network config and its host in one transaction; returns the previous config. */
export async function writeNetworkConfig(
  redis: Redis,
  keys: NetqKeys,
  stored: StoredNetworkConfig,
): Promise<StoredNetworkConfig | undefined> {
  const res = await redis
    .multi()
    .hget(keys.netconfig, stored.app)
    .hset(keys.netconfig, stored.app, JSON.stringify(stored))
    .hset(keys.appHost, stored.app, stored.host)
    .exec();
  const prev = res?.[0]?.[1];
  return typeof prev === 'string' ? (JSON.parse(prev) as StoredNetworkConfig) : undefined;
}

export async function readNetworkConfig(
  redis: Redis,
  keys: NetqKeys,
  app: string,
): Promise<StoredNetworkConfig | undefined> {
  const raw = await redis.hget(keys.netconfig, app);
  return raw === null ? undefined : (JSON.parse(raw) as StoredNetworkConfig);
}

/** The host that last reported an app, if any. */
export async function hostOfApp(redis: Redis, keys: NetqKeys, app: string): Promise<string | undefined> {
  return (await redis.hget(keys.appHost, app)) ?? undefined;
}
