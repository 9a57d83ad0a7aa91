import type { NetqKeys } from '../keys.js';
import type { ComputedProperties } from '../properties/properties.js';
import type { RedisClient as Redis } from '../redis.js';
import type { ContainerNetworkConfig, Failure } from '../types.js';
import type { KeyCommand } from './keyCommands.js';

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
  /** NETQ_ON_CHANGE failed for these listeners and waits for its next try (src/changeHook.ts) */
  hook?: { failing: string; attempts: number; nextAt: number };
}

const field = (app: string, host: string) => `${app}/${host}`;

/**
 * Writes an app's network config on one host and records where the app lives, in one transaction;
 * returns the previous config of that app on that host.
 */
export async function writeNetworkConfig(
  redis: Redis,
  keys: NetqKeys,
  stored: StoredNetworkConfig,
): Promise<StoredNetworkConfig | undefined> {
  const tx = redis.multi();
  for (const [command, key, ...args] of networkConfigWrite(keys, stored)) tx.call(command, key, ...args);
  const res = await tx.exec();
  return afterNetworkConfigWrite(redis, keys, stored, res?.[0]?.[1]);
}

/**
 * writeNetworkConfig as commands to send with others (in one script: as much one transaction). The first
 * one's reply is the previous config: hand it to afterNetworkConfigWrite.
 */
export function networkConfigWrite(keys: NetqKeys, stored: StoredNetworkConfig): KeyCommand[] {
  const f = field(stored.app, stored.host);
  const empty = stored.containers.length + stored.failures.length === 0;
  return [
    ['hget', keys.netconfig, f],
    ['hset', keys.netconfig, f, JSON.stringify(stored)],
    [empty ? 'srem' : 'sadd', keys.appHosts(stored.app), stored.host],
  ];
}

/** The previous config, from the reply of networkConfigWrite's first command; an empty new one with none before is removed. */
export async function afterNetworkConfigWrite(
  redis: Redis,
  keys: NetqKeys,
  stored: StoredNetworkConfig,
  previous: unknown,
): Promise<StoredNetworkConfig | undefined> {
  if (typeof previous === 'string') return JSON.parse(previous) as StoredNetworkConfig;
  // an app with no containers here and nothing stored before (deleted, renamed, or never on this host)
  // leaves nothing behind, so that it does not come back in `network:report`
  if (stored.containers.length + stored.failures.length === 0) {
    await redis.hdel(keys.netconfig, field(stored.app, stored.host));
  }
  return undefined;
}

/** An app's stored config on each host that has one, by host name. */
export async function readNetworkConfigs(redis: Redis, keys: NetqKeys, app: string): Promise<StoredNetworkConfig[]> {
  const hosts = (await redis.smembers(keys.appHosts(app))).sort();
  if (hosts.length === 0) {
    // an app with no containers left still has its last (empty) config somewhere: find it by its fields
    const fields = (await redis.hkeys(keys.netconfig)).filter((f) => f.startsWith(`${app}/`));
    hosts.push(...fields.map((f) => f.slice(app.length + 1)).sort());
  }
  if (hosts.length === 0) return [];
  const raws = await redis.hmget(keys.netconfig, ...hosts.map((h) => field(app, h)));
  return raws.filter((r): r is string => r !== null).map((r) => JSON.parse(r) as StoredNetworkConfig);
}

/** An app's stored config, merged over its hosts (listeners and failures of all; the first host's applied properties). */
export async function readNetworkConfig(
  redis: Redis,
  keys: NetqKeys,
  app: string,
): Promise<StoredNetworkConfig | undefined> {
  const all = await readNetworkConfigs(redis, keys, app);
  const [first] = all;
  if (!first || all.length === 1) return first;
  const listeners: Record<string, string[]> = {};
  for (const c of all)
    for (const [proc, l] of Object.entries(c.listeners)) listeners[proc] = [...(listeners[proc] ?? []), ...l];
  return {
    ...first,
    host: all.map((c) => c.host).join(' '),
    listeners,
    containers: all.flatMap((c) => c.containers),
    failures: all.flatMap((c) => c.failures),
  };
}

/** The hosts where an app had containers at its last rebuild. */
export async function hostsOfApp(redis: Redis, keys: NetqKeys, app: string): Promise<string[]> {
  return (await redis.smembers(keys.appHosts(app))).sort();
}

/** Apps with stored network config, and how many per host. */
export async function appsByHost(redis: Redis, keys: NetqKeys): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for (const f of await redis.hkeys(keys.netconfig)) {
    const i = f.lastIndexOf('/');
    const host = f.slice(i + 1);
    out.set(host, [...(out.get(host) ?? []), f.slice(0, i)]);
  }
  return out;
}

/**
 * The containers each app had on a host at its last rebuild (configured or failed), by app; apps that had
 * none are left out. What a rebuildall counts for a host whose workers vanished before it was scanned.
 */
export async function lastKnownContainers(
  redis: Redis,
  keys: NetqKeys,
  host: string,
): Promise<Record<string, string[]>> {
  const fields = (await redis.hkeys(keys.netconfig)).filter((f) => f.endsWith(`/${host}`));
  if (fields.length === 0) return {};
  const out: Record<string, string[]> = {};
  for (const raw of await redis.hmget(keys.netconfig, ...fields)) {
    if (raw === null) continue;
    const c = JSON.parse(raw) as StoredNetworkConfig;
    const names = [...new Set([...c.containers.map((x) => x.container), ...c.failures.map((x) => x.container)])];
    if (names.length > 0) out[c.app] = names.sort();
  }
  return out;
}
