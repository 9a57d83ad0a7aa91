import type { NetqKeys } from '../keys.js';
import { GLOBAL_SCOPE, PROPERTY_KEYS, type PropertyKey, type RawProperties } from '../properties/properties.js';
import type { RedisClient as Redis } from '../redis.js';
import { fieldsOf, type KeyCommand } from './keyCommands.js';

function toRaw(hash: Record<string, string>): RawProperties {
  const out: RawProperties = {};
  for (const k of PROPERTY_KEYS) if (hash[k] !== undefined) out[k] = hash[k];
  return out;
}

/** Reads an app's raw properties and the global ones in one round trip. */
export async function readProperties(
  redis: Redis,
  keys: NetqKeys,
  app: string,
): Promise<{ app: RawProperties; global: RawProperties }> {
  const [a, g] = await Promise.all([redis.hgetall(keys.props(app)), redis.hgetall(keys.props(GLOBAL_SCOPE))]);
  return { app: toRaw(a), global: toRaw(g) };
}

/** readProperties as commands to send with others (the per-app job's start); `parsePropertyReplies` reads their replies. */
export function readPropertyCommands(keys: NetqKeys, app: string): KeyCommand[] {
  return [
    ['hgetall', keys.props(app)],
    ['hgetall', keys.props(GLOBAL_SCOPE)],
  ];
}

export function parsePropertyReplies(app: unknown, global: unknown): { app: RawProperties; global: RawProperties } {
  return { app: toRaw(fieldsOf(app)), global: toRaw(fieldsOf(global)) };
}

/** Stores (or, with an empty value, clears) one property of a scope. */
export async function writeProperty(
  redis: Redis,
  keys: NetqKeys,
  scope: string,
  key: PropertyKey,
  value: string,
): Promise<void> {
  const k = keys.props(scope);
  if (value === '') await redis.hdel(k, key);
  else await redis.multi().hset(k, key, value).sadd(keys.propScopes, scope).exec();
}

/** Apps known to netq: those with stored network config or with properties. */
export async function knownApps(redis: Redis, keys: NetqKeys): Promise<string[]> {
  const [configured, scoped] = await Promise.all([redis.hkeys(keys.netconfig), redis.smembers(keys.propScopes)]);
  return [...new Set([...configured.map((f) => f.slice(0, f.lastIndexOf('/'))), ...scoped])]
    .filter((a) => a !== GLOBAL_SCOPE)
    .sort();
}

/**
 * Dokku mode: the writes that make Redis's copy of an app's and the global properties what Dokku's files say
 * (the report, the HTTP API and other hosts read the copy); a scope with no property leaves no key. Sent with
 * the per-app job's other writes, in one script: as much one transaction.
 */
export function mirrorPropertyCommands(
  keys: NetqKeys,
  app: string,
  raw: { app: RawProperties; global: RawProperties },
): KeyCommand[] {
  const out: KeyCommand[] = [];
  for (const [scope, props] of [
    [app, raw.app],
    [GLOBAL_SCOPE, raw.global],
  ] as const) {
    const k = keys.props(scope);
    out.push(['del', k]);
    const entries = Object.entries(props).filter((e): e is [string, string] => e[1] !== undefined && e[1] !== '');
    if (entries.length) out.push(['hset', k, ...entries.flat()], ['sadd', keys.propScopes, scope]);
  }
  return out;
}
