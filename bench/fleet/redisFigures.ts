// The private Redis's own figures (INFO): commands by name, CPU, memory; and where its memory is, by kind
// of key (MEMORY USAGE of every key, grouped).
import type { Redis } from 'ioredis';

export interface RedisSnapshot {
  at: number;
  /** calls by command, as Redis counts them: commands run inside a script count too */
  commands: Record<string, { calls: number; usec: number }>;
  /** CPU seconds of the main thread (user + system) */
  cpuS: number;
  usedMemory: number;
  usedMemoryDataset: number;
  /** what the connected clients' buffers take (part of usedMemory) */
  memClients: number;
  keys: number;
}

function parseInfo(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\r\n')) {
    const i = line.indexOf(':');
    if (i > 0 && !line.startsWith('#')) out[line.slice(0, i)] = line.slice(i + 1);
  }
  return out;
}

export async function snapshot(redis: Redis): Promise<RedisSnapshot> {
  const info = parseInfo(await redis.info('all'));
  const commands: RedisSnapshot['commands'] = {};
  for (const [k, v] of Object.entries(info)) {
    if (!k.startsWith('cmdstat_')) continue;
    const calls = Number(/calls=(\d+)/.exec(v)?.[1] ?? 0);
    const usec = Number(/usec=(\d+)/.exec(v)?.[1] ?? 0);
    commands[k.slice('cmdstat_'.length)] = { calls, usec };
  }
  const keys = Number(/keys=(\d+)/.exec(info.db0 ?? '')?.[1] ?? 0);
  return {
    at: performance.now(),
    commands,
    cpuS:
      Number(info.used_cpu_user_main_thread ?? info.used_cpu_user) +
      Number(info.used_cpu_sys_main_thread ?? info.used_cpu_sys),
    usedMemory: Number(info.used_memory),
    usedMemoryDataset: Number(info.used_memory_dataset),
    memClients: Number(info.mem_clients_normal ?? 0),
    keys,
  };
}

/** Scripts: their commands run inside them, and are counted again one by one. */
export const SCRIPT_COMMANDS = new Set(['evalsha', 'eval', 'evalsha_ro', 'eval_ro', 'fcall', 'fcall_ro']);
/** The bench's own (INFO, MEMORY USAGE, SCAN, …), left out of the counts. */
const BENCH_COMMANDS = new Set(['info', 'memory|usage', 'scan', 'config|resetstat', 'flushall', 'ping', 'client|list']);

export interface RedisDelta {
  seconds: number;
  /** every command Redis ran, those inside scripts included */
  calls: number;
  /** script calls (EVALSHA …): one round trip each, whatever they run */
  scripts: number;
  /** calls by command, most first */
  byCommand: [string, number][];
  /** usec by command (a script's includes what it ran) */
  usecByCommand: Record<string, number>;
  cpuS: number;
  /** usec Redis reports for the top-level commands (scripts with what they ran), summed */
  usec: number;
}

export function between(a: RedisSnapshot, b: RedisSnapshot): RedisDelta {
  const by: [string, number][] = [];
  const usecBy: Record<string, number> = {};
  let calls = 0;
  let scripts = 0;
  let usec = 0;
  for (const [cmd, v] of Object.entries(b.commands)) {
    if (BENCH_COMMANDS.has(cmd)) continue;
    const d = v.calls - (a.commands[cmd]?.calls ?? 0);
    const du = v.usec - (a.commands[cmd]?.usec ?? 0);
    if (d <= 0) continue;
    by.push([cmd, d]);
    usecBy[cmd] = du;
    calls += d;
    if (SCRIPT_COMMANDS.has(cmd)) scripts += d;
    usec += du;
  }
  by.sort((x, y) => y[1] - x[1]);
  return {
    seconds: (b.at - a.at) / 1000,
    calls,
    scripts,
    byCommand: by,
    usecByCommand: usecBy,
    cpuS: b.cpuS - a.cpuS,
    usec,
  };
}

/** Queue structures BullMQ keeps per queue (not per job). */
const QUEUE_PARTS = new Set([
  'wait',
  'active',
  'completed',
  'failed',
  'delayed',
  'prioritized',
  'paused',
  'meta',
  'id',
  'stalled',
  'stalled-check',
  'marker',
  'waiting-children',
  'pc',
  'limiter',
  'metrics',
  'de',
  'repeat',
  'events',
]);

/**
 * The kind of a key under netq's prefix: a queue's events stream, its lists and sets, its job hashes (and
 * their dependencies/processed sets), or one of netq's own keys by its first word (`netconfig`, `run`, …).
 */
export function keyKind(key: string, prefix: string): string {
  if (!key.startsWith(`${prefix}:`)) return 'outside the prefix';
  const rest = key.slice(prefix.length + 1);
  const q = /^(rebuild|scan|control)\.[^:]+:(.*)$/.exec(rest) ?? /^(summary):(.*)$/.exec(rest);
  if (q) {
    const [, kind, tail = ''] = q;
    if (tail === 'events') return `${kind} queue: events stream`;
    if (QUEUE_PARTS.has(tail)) return `${kind} queue: lists and sets`;
    const colon = tail.indexOf(':');
    return colon < 0 ? `${kind} jobs` : `${kind} jobs: ${tail.slice(colon + 1)}`;
  }
  return rest.split(':')[0] ?? rest;
}

export interface MemoryByKind {
  kind: string;
  keys: number;
  bytes: number;
  /** entries of the streams of this kind (events streams only) */
  entries: number;
}

/** MEMORY USAGE of every key, grouped by keyKind, largest first. */
export async function memoryByKind(redis: Redis, prefix: string): Promise<MemoryByKind[]> {
  const kinds = new Map<string, MemoryByKind>();
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'COUNT', 2000);
    cursor = next;
    if (!keys.length) continue;
    const p = redis.pipeline();
    for (const k of keys) p.memory('USAGE', k, 'SAMPLES', '0');
    const sizes = (await p.exec()) ?? [];
    const streams = keys.filter((k) => k.endsWith(':events'));
    const lengths = streams.length ? ((await streams.reduce((q, k) => q.xlen(k), redis.pipeline()).exec()) ?? []) : [];
    const entriesOf = new Map(streams.map((k, i) => [k, Number(lengths[i]?.[1] ?? 0)]));
    keys.forEach((k, i) => {
      const kind = keyKind(k, prefix);
      const e = kinds.get(kind) ?? { kind, keys: 0, bytes: 0, entries: 0 };
      e.keys += 1;
      e.bytes += Number(sizes[i]?.[1] ?? 0);
      e.entries += entriesOf.get(k) ?? 0;
      kinds.set(kind, e);
    });
  } while (cursor !== '0');
  return [...kinds.values()].sort((a, b) => b.bytes - a.bytes);
}
