import type { Redis } from 'ioredis';
import { GLOBAL_SCOPE, PROPERTY_KEYS, type PropertyKey, type RawProperties } from '../properties/properties.js';

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
  else await redis.hset(k, key, value);
}
