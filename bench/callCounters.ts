// What a profiled rebuildall costs in calls: Docker API requests through a counting proxy, Redis commands
// through MONITOR, each with its time so that only the measured windows count.
import { readFile } from 'node:fs/promises';
import net from 'node:net';
import type { Redis } from 'ioredis';
import { inWindow, nowUs, type Window } from './timeWindow.js';

/** Counts per key, most first. */
export function countBy<T>(items: T[], key: (t: T) => string): [string, number][] {
  const m = new Map<string, number>();
  for (const it of items) m.set(key(it), (m.get(key(it)) ?? 0) + 1);
  return [...m].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
}

/**
 * A unix-socket proxy in front of the Docker engine that records every API request (method and path with
 * ids replaced by `:id`). Point a worker's DOCKER_HOST at `unix://<path>`.
 */
export class DockerCallCounter {
  readonly calls: { us: number; endpoint: string }[] = [];
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();

  constructor(
    readonly path: string,
    upstream = '/var/run/docker.sock',
  ) {
    this.server = net.createServer((client) => {
      const up = net.connect(upstream);
      this.sockets.add(client).add(up);
      let pending = '';
      client.on('data', (chunk: Buffer) => {
        // request lines only; bodies (JSON) never look like one
        pending = (pending + chunk.toString('latin1')).slice(-8192);
        for (const m of pending.matchAll(/(GET|POST|PUT|DELETE|HEAD) (\/\S*) HTTP\/1\.[01]\r\n/g)) {
          this.calls.push({ us: nowUs(), endpoint: `${m[1]} ${normalisePath(m[2] ?? '')}` });
        }
        pending = pending.slice(pending.lastIndexOf('\r\n') + 2);
      });
      client.pipe(up).pipe(client);
      const end = () => {
        client.destroy();
        up.destroy();
        this.sockets.delete(client);
        this.sockets.delete(up);
      };
      client.on('error', end).on('close', end);
      up.on('error', end).on('close', end);
    });
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.path, () => resolve());
    });
  }

  in(w: Window): string[] {
    return this.calls.filter((c) => inWindow(c.us, w)).map((c) => c.endpoint);
  }

  close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

function normalisePath(p: string): string {
  return p
    .replace(/^\/v\d+\.\d+/, '')
    .replace(/\?.*$/, '')
    .replace(/\/[0-9a-f]{12,64}(?=\/|$)/g, '/:id')
    .replace(/\/containers\/[^/]+\/json$/, '/containers/:id/json');
}

export interface RedisCall {
  us: number;
  command: string;
  /** 'lua' for commands run inside a script, else the client's address */
  source: string;
}

/** Redis MONITOR, keeping only commands that touch one key prefix. Costs Redis time: timings taken with it are off. */
export class RedisCallCounter {
  readonly calls: RedisCall[] = [];
  private monitor: Redis | undefined;

  constructor(
    private readonly redis: Redis,
    private readonly prefixTag: string,
  ) {}

  async start(): Promise<void> {
    this.monitor = await this.redis.monitor();
    this.monitor.on('monitor', (_time: string, args: string[], source: string) => {
      if (!args.some((a) => typeof a === 'string' && a.includes(this.prefixTag))) return;
      this.calls.push({ us: nowUs(), command: String(args[0]).toLowerCase(), source });
    });
  }

  in(w: Window): RedisCall[] {
    return this.calls.filter((c) => inWindow(c.us, w));
  }

  stop(): void {
    this.monitor?.disconnect();
  }
}

/** Addresses of the Redis clients connected now (to tell the CLI's new connections from the worker's). */
export async function clientAddresses(redis: Redis): Promise<Set<string>> {
  const list = (await redis.client('LIST')) as string;
  return new Set([...list.matchAll(/ addr=(\S+)/g)].map((m) => m[1] ?? ''));
}

/** The worker log's length in lines now: where the lines of the next run start. */
export async function logLength(file: string): Promise<number> {
  return (await readFile(file, 'utf8')).split('\n').length - 1;
}

/**
 * The Redis round trips of each per-app job whose "rebuilt app" line the worker logged after line `from`: the
 * job counts them itself (src/store/roundTrips.ts: each command sent alone is one, each pipeline, MULTI/EXEC or
 * script is one; BullMQ's own calls for the job, taking it and completing it, are not in it).
 */
export async function perAppRoundTrips(file: string, from: number): Promise<number[]> {
  const out: number[] = [];
  for (const line of (await readFile(file, 'utf8')).split('\n').slice(from)) {
    if (!line.includes('"msg":"rebuilt app"')) continue;
    const n = (JSON.parse(line) as { redisRoundTrips?: unknown }).redisRoundTrips;
    if (typeof n === 'number') out.push(n);
  }
  return out;
}
