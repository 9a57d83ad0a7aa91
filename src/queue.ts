import { FlowProducer, Queue, QueueEvents } from 'bullmq';
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { Config } from './config.js';
import type { RebuildJob, ScanJob, SummaryJob } from './jobs.js';
import type { RebuildallResult, RebuildResult } from './types.js';

/** Queue names. Jobs that touch Docker go to their host's queues; the summary queue is shared. */
export const queueName = {
  rebuild: (host: string) => `rebuild.${host}`,
  scan: (host: string) => `scan.${host}`,
  /** set-property and network:* jobs, which need the host's Docker engine */
  control: (host: string) => `control.${host}`,
  summary: 'summary',
} as const;

/** Redis keys netq keeps beside BullMQ's, all under the same hash-tagged prefix. */
export function netqKeys(prefix: string) {
  return {
    /** hash `<app>/<host>` -> JSON of the app's stored network config on that host */
    netconfig: `${prefix}:netconfig`,
    /** set of the hosts where an app had containers at its last rebuild there */
    appHosts: (app: string) => `${prefix}:app-hosts:${app}`,
    /** zset host -> last heartbeat (ms) */
    hosts: `${prefix}:hosts`,
    /** zset workerId -> last heartbeat (ms), per host */
    workers: (host: string) => `${prefix}:workers:${host}`,
    /** hash workerId -> JSON WorkerHealth, refreshed with every heartbeat */
    workerHealth: `${prefix}:worker-health`,
    /** the id of an app's rebuild job that has not started yet (requests merge into it) */
    pending: (app: string) => `${prefix}:pending:${app}`,
    /** counter that numbers an app's merged rebuild jobs */
    generation: (app: string) => `${prefix}:generation:${app}`,
    /** per-app exclusion lock */
    appLock: (app: string) => `${prefix}:lock:${app}`,
    /** hash network -> JSON list of apps that netq attached to it (to detach what is no longer asked for) */
    attached: (app: string) => `${prefix}:attached:${app}`,
    /** hash host -> JSON list of the networks netq attached the app's containers to on that host */
    attachedOn: (app: string) => `${prefix}:attached-on:${app}`,
    /** hash app -> how many container events of the app this host's watcher has seen (a scan's list is stale when it moved) */
    appEvents: (host: string) => `${prefix}:app-events:${host}`,
    /** hash `<app>/<dyno>` -> JSON journal entry of a replacement under way on a host (replacementJournal.ts) */
    replacing: (host: string) => `${prefix}:replacing:${host}`,
    /** hash container id -> JSON of a replacement that failed, with its backoff (replacementFailures.ts) */
    replaceFailures: (host: string, app: string) => `${prefix}:replace-failures:${host}:${app}`,
    /**
     * hash app -> JSON of the app's NETQ_ON_CHANGE run on a host that failed or is under way (changeHook.ts;
     * kept until a run succeeds), and `#failures` -> how many runs failed on the host
     */
    changeHook: (host: string) => `${prefix}:change-hook:${host}`,
    /** hash of a rebuildall run's progress */
    run: (runId: string) => `${prefix}:run:${runId}`,
  };
}
export type NetqKeys = ReturnType<typeof netqKeys>;

/**
 * Job locks of a worker that died lapse after LOCK_MS; every worker checks for such stalled jobs each
 * STALLED_CHECK_MS and hands them back to the queue (BullMQ's defaults are 30 s each).
 */
export const WORKER_LOCKS = { lockDuration: 15_000, stalledInterval: 10_000 } as const;

/**
 * A host (or one of its workers) is live while its last heartbeat is under LIVE_MS old (workers beat every
 * 5 s). Heartbeats are stamped with Redis's clock (`TIME`, workers/pool.ts) and judged by it (`redisNow`,
 * `liveHosts`), never by a machine's own clock: a worker whose clock is off is neither reaped while alive
 * nor kept alive when dead.
 */
export const LIVE_MS = 15_000;

/** Redis's clock in ms since the epoch (Lua: `now` from `TIME`). */
export const REDIS_NOW_LUA = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

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
        name: t.redisSentinelName ?? 'mymaster',
        ...extra,
      }),
    );
  }
  return new Redis(t.redisUrl, redisOptions(extra));
}

/** How long close() waits for queues and event readers to close before it drops the connections. */
const CLOSE_DEADLINE_MS = 5_000;

/**
 * The shared base of producers and workers: one Redis connection, the prefix, the queues by name
 * and an idempotent close(). Producers touch only Queue/FlowProducer/QueueEvents through it.
 */
export class NetqQueues {
  readonly keys: NetqKeys;
  readonly prefix: string;
  private readonly queues = new Map<string, Queue>();
  private readonly events = new Map<string, QueueEvents>();
  private readonly eventsReady = new Map<string, Promise<QueueEvents>>();
  private readonly dupes: RedisClient[] = [];
  private flow: FlowProducer | undefined;
  private closing: Promise<void> | undefined;

  constructor(
    readonly config: Pick<Config, 'redisUrl' | 'prefix' | 'attempts' | 'backoffMs'> & RedisTarget,
    readonly redis: RedisClient = createRedis(config),
  ) {
    this.prefix = config.prefix;
    this.keys = netqKeys(config.prefix);
  }

  queue(name: string): Queue {
    let q = this.queues.get(name);
    if (!q) {
      q = new Queue(name, { connection: this.redis, prefix: this.prefix });
      q.on('error', () => {}); // connection errors surface through the commands that fail
      this.queues.set(name, q);
    }
    return q;
  }

  rebuildQueue(host: string): Queue<RebuildJob, RebuildResult> {
    return this.queue(queueName.rebuild(host)) as Queue<RebuildJob, RebuildResult>;
  }

  scanQueue(host: string): Queue<ScanJob> {
    return this.queue(queueName.scan(host)) as Queue<ScanJob>;
  }

  controlQueue(host: string): Queue {
    return this.queue(queueName.control(host));
  }

  summaryQueue(): Queue<SummaryJob, RebuildallResult> {
    return this.queue(queueName.summary) as Queue<SummaryJob, RebuildallResult>;
  }

  flowProducer(): FlowProducer {
    if (!this.flow) {
      this.flow = new FlowProducer({ connection: this.redis, prefix: this.prefix });
      this.flow.on('error', () => {});
    }
    return this.flow;
  }

  /**
   * QueueEvents need their own blocking connection; call before adding the job you wait for.
   * They read the queue's event stream from its last entry as of this call, not from `$` (BullMQ's
   * default), which means "whatever comes after my first read": that read starts a little after the
   * reader is ready, and a job finishing in between would never be heard of by its waiter.
   */
  queueEvents(name: string): Promise<QueueEvents> {
    let ready = this.eventsReady.get(name);
    if (!ready) {
      // one reader per queue, however many waiters ask at once
      ready = this.openQueueEvents(name);
      this.eventsReady.set(name, ready);
      ready.catch(() => this.eventsReady.delete(name));
    }
    return ready;
  }

  private async openQueueEvents(name: string): Promise<QueueEvents> {
    const last = await this.redis.xrevrange(`${this.prefix}:${name}:events`, '+', '-', 'COUNT', 1);
    const lastEventId = last[0]?.[0] ?? '0-0';
    const conn = duplicateClient(this.redis);
    // without a listener ioredis prints "Unhandled error event" on every failed reconnect
    conn.on('error', () => {});
    this.dupes.push(conn);
    const ev = new QueueEvents(name, { connection: conn, prefix: this.prefix, lastEventId });
    ev.on('error', () => {});
    this.events.set(name, ev);
    await ev.waitUntilReady();
    return ev;
  }

  /** Default options of a job that touches Docker: retried with exponential backoff. */
  retryOptions() {
    return {
      attempts: this.config.attempts,
      backoff: { type: 'exponential' as const, delay: this.config.backoffMs },
      removeOnComplete: { age: 24 * 3600, count: 10_000 },
      removeOnFail: { age: 7 * 24 * 3600, count: 10_000 },
    };
  }

  /**
   * Redis's clock in ms, the one heartbeats are stamped and judged with. Read by a script on the hosts key,
   * so that in a Cluster it is the clock of the node that holds the heartbeats.
   */
  async redisNow(): Promise<number> {
    return Number(await this.redis.eval(`${REDIS_NOW_LUA}\nreturn now`, 1, this.keys.hosts));
  }

  /** Hosts whose heartbeat is newer than maxAgeMs by Redis's clock (one script: TIME, then the zset). */
  async liveHosts(maxAgeMs = LIVE_MS): Promise<string[]> {
    const hosts = await this.redis.eval(
      `${REDIS_NOW_LUA}\nreturn redis.call('ZRANGEBYSCORE', KEYS[1], now - tonumber(ARGV[1]), '+inf')`,
      1,
      this.keys.hosts,
      String(maxAgeMs),
    );
    return hosts as string[];
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      const closers: Promise<unknown>[] = [];
      for (const ev of this.events.values()) closers.push(ev.close().catch(() => {}));
      for (const q of this.queues.values()) closers.push(q.close().catch(() => {}));
      if (this.flow) closers.push(this.flow.close().catch(() => {}));
      // A Redis that is gone answers none of them (BullMQ's QueueEvents.close then waits for ever): give
      // them a bounded time, none when the connection is down, and drop the connections.
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, this.redis.status === 'ready' ? CLOSE_DEADLINE_MS : 0);
      });
      await Promise.race([Promise.all(closers), deadline]);
      clearTimeout(timer);
      for (const d of this.dupes) d.disconnect();
      this.redis.disconnect();
    })();
    return this.closing;
  }
}
