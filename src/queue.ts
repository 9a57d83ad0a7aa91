import { FlowProducer, Queue, QueueEvents } from 'bullmq';
import type { Config } from './config.js';
import { parseQueueName, type QueueKind, queueName, type RebuildJob, type ScanJob, type SummaryJob } from './jobs.js';
import { type NetqKeys, netqKeys } from './keys.js';
import { hostsWithin, KNOWN_HOST_MS, LIVE_MS, REDIS_NOW_LUA } from './liveness.js';
import { createRedis, duplicateClient, type RedisClient, type RedisTarget } from './redis.js';
import type { RebuildallResult, RebuildResult } from './types.js';

/**
 * Job locks of a worker that died lapse after LOCK_MS; every worker checks for such stalled jobs each
 * STALLED_CHECK_MS and hands them back to the queue (BullMQ's defaults are 30 s each).
 */
export const WORKER_LOCKS = { lockDuration: 15_000, stalledInterval: 10_000 } as const;

/**
 * How many events each queue's event stream keeps (BullMQ trims it to about this many; its default is 10,000,
 * whatever the size of an event). A summary's and a scan's `completed` event carries the whole result of a run
 * (about 400 bytes per app), so their streams keep a few dozen runs; rebuild and control events are small. A
 * reader that waits on a job (the CLI) reads the stream as it grows and is never that far behind.
 */
export const EVENTS_KEPT: Record<QueueKind, number> = { summary: 100, scan: 100, rebuild: 2000, control: 1000 };

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
      const maxLen = EVENTS_KEPT[parseQueueName(name)?.kind ?? 'control'];
      q = new Queue(name, { connection: this.redis, prefix: this.prefix, streams: { events: { maxLen } } });
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
    // BullMQ's own key of the queue's event stream
    const last = await this.redis.xrevrange(this.queue(name).keys.events as string, '+', '-', 'COUNT', 1);
    const lastEventId = last[0]?.[0] ?? '0-0';
    const conn = duplicateClient(this.redis);
    // without a listener ioredis prints "Unhandled error event" on every failed reconnect
    conn.on('error', () => {});
    this.dupes.push(conn);
    const ev = new QueueEvents(name, { connection: conn, prefix: this.prefix, lastEventId });
    ev.on('error', () => {});
    // every waiter of a job listens for its end; many requests merged into one job (a hook storm) are many waiters
    ev.setMaxListeners(0);
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

  /** The live hosts: their heartbeat is within LIVE_MS by Redis's clock (src/liveness.ts). */
  liveHosts(): Promise<string[]> {
    return hostsWithin(this.redis, this.keys.hosts, LIVE_MS);
  }

  /** The known hosts, live or not: their heartbeat is within KNOWN_HOST_MS by Redis's clock (src/liveness.ts). */
  knownHosts(): Promise<string[]> {
    return hostsWithin(this.redis, this.keys.hosts, KNOWN_HOST_MS);
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
