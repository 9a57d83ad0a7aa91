import { GLOBAL_SCOPE, PROPERTY_KEYS, type PropertyKey, type RawProperties } from '../properties/properties.js';
import type { RedisClient as Redis } from '../queue.js';

/** Redis hash of one scope's properties (an app name or `--global`). */
export const propertiesKey = (prefix: string, scope: string) => `${prefix}:props:${scope}`;

function toRaw(hash: Record<string, string>): RawProperties {
  const out: RawProperties = {};
  for (const k of PROPERTY_KEYS) if (hash[k] !== undefined) out[k] = hash[k];
  return out;
}

/** Reads an app's raw properties and the global ones in one round trip. */
export async function readProperties(
  redis: Redis,
  prefix: string,
  app: string,
): Promise<{ app: RawProperties; global: RawProperties }> {
  const [a, g] = await Promise.all([
    redis.hgetall(propertiesKey(prefix, app)),
    redis.hgetall(propertiesKey(prefix, GLOBAL_SCOPE)),
  ]);
  return { app: toRaw(a), global: toRaw(g) };
}

/** Stores (or, with an empty value, clears) one property of a scope. */
export async function writeProperty(
  redis: Redis,
  prefix: string,
  scope: string,
  key: PropertyKey,
  value: string,
): Promise<void> {
  const k = propertiesKey(prefix, scope);
  if (value === '') await redis.hdel(k, key);
  else await redis.multi().hset(k, key, value).sadd(propertyScopesKey(prefix), scope).exec();
}

/** Set of the scopes (apps and `--global`) that ever had a property. */
export const propertyScopesKey = (prefix: string) => `${prefix}:prop-scopes`;

/** Apps known to netq: those with stored network config or with properties. */
export async function knownApps(redis: Redis, prefix: string, netconfigKey: string): Promise<string[]> {
  const [configured, scoped] = await Promise.all([
    redis.hkeys(netconfigKey),
    redis.smembers(propertyScopesKey(prefix)),
  ]);
  return [...new Set([...configured.map((f) => f.slice(0, f.lastIndexOf('/'))), ...scoped])]
    .filter((a) => a !== GLOBAL_SCOPE)
    .sort();
}

/**
 * Dokku mode: makes Redis's copy of an app's and the global properties what Dokku's files say (the report,
 * the HTTP API and other hosts read the copy). One transaction; a scope with no property leaves no key.
 */
export async function mirrorProperties(
  redis: Redis,
  prefix: string,
  app: string,
  raw: { app: RawProperties; global: RawProperties },
): Promise<void> {
  const tx = redis.multi();
  for (const [scope, props] of [
    [app, raw.app],
    [GLOBAL_SCOPE, raw.global],
  ] as const) {
    const k = propertiesKey(prefix, scope);
    tx.del(k);
    const entries = Object.entries(props).filter(([, v]) => v !== undefined && v !== '');
    if (entries.length) tx.hset(k, Object.fromEntries(entries)).sadd(propertyScopesKey(prefix), scope);
  }
  await tx.exec();
}
