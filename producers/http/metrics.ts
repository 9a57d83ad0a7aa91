import { type Job, type JobType, QueueEvents } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { changeHookStats } from '../../src/changeHook.js';
import { parseQueueName } from '../../src/jobs.js';
import { LIVE_MS, liveSince } from '../../src/liveness.js';
import type { Logger } from '../../src/logger.js';
import type { NetqQueues } from '../../src/queue.js';
import { duplicateClient, type RedisClient as Redis } from '../../src/redis.js';
import { liveWorkerHealth } from './health.js';
import { knownQueueNames, withDeadline } from './liveQueues.js';

/**
 * `/metrics` for Prometheus, on a registry of its own. Job counts, live workers and watcher health are
 * read from Redis on each scrape; completions, failures, durations and failed containers are counted
 * from the QueueEvents of every netq queue (subscribed at start and again whenever a host appears).
 */

const STATES: JobType[] = ['waiting', 'active', 'delayed', 'prioritized', 'waiting-children', 'completed', 'failed'];
const SCRAPE_DEADLINE_MS = 3_000;
const RESUBSCRIBE_MS = 10_000;

export class NetqMetrics {
  readonly registry = new Registry();
  private readonly events = new Map<string, { events: QueueEvents; connection: Redis }>();
  private timer: NodeJS.Timeout | undefined;
  private closing: Promise<void> | undefined;

  private readonly jobs = new Gauge({
    name: 'netq_queue_jobs',
    help: 'jobs in each netq queue by state (read with getJobCounts on scrape)',
    labelNames: ['queue', 'state'],
    registers: [this.registry],
  });
  private readonly completed = new Counter({
    name: 'netq_jobs_completed_total',
    help: 'jobs completed (processed), from the queue events since this server started',
    labelNames: ['queue'],
    registers: [this.registry],
  });
  private readonly failed = new Counter({
    name: 'netq_jobs_failed_total',
    help: 'jobs failed for good (retries exhausted or bad input), from the queue events since this server started',
    labelNames: ['queue'],
    registers: [this.registry],
  });
  private readonly duration = new Histogram({
    name: 'netq_job_duration_seconds',
    help: 'processing time of completed jobs (finishedOn - processedOn)',
    labelNames: ['queue'],
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
    registers: [this.registry],
  });
  private readonly containersFailed = new Counter({
    name: 'netq_containers_failed_total',
    help: 'containers that failed: from completed rebuild jobs, plus those a rebuildall job that failed for good had',
    labelNames: ['host'],
    registers: [this.registry],
  });
  private readonly reconnects = new Gauge({
    name: 'netq_watcher_reconnects',
    help: "times each live worker's Docker event watcher re-established its stream (worker-health hash)",
    labelNames: ['worker', 'host'],
    registers: [this.registry],
  });
  private readonly watcherConnected = new Gauge({
    name: 'netq_watcher_connected',
    help: "1 when a live worker's Docker event watcher is connected, else 0",
    labelNames: ['worker', 'host'],
    registers: [this.registry],
  });
  private readonly workersLive = new Gauge({
    name: 'netq_workers_live',
    help: `workers of each host with a heartbeat in the last ${LIVE_MS / 1000} s`,
    labelNames: ['host'],
    registers: [this.registry],
  });
  private readonly hookFailures = new Counter({
    name: 'netq_change_hook_failures_total',
    help: 'NETQ_ON_CHANGE runs that failed (exit status, signal, timeout, start error) or were cut short, per host (counted in Redis)',
    labelNames: ['host'],
    registers: [this.registry],
  });
  private readonly hookPending = new Gauge({
    name: 'netq_change_hook_pending',
    help: 'apps whose NETQ_ON_CHANGE run failed and waits for its retry, per host',
    labelNames: ['host'],
    registers: [this.registry],
  });
  private readonly redisUp = new Gauge({
    name: 'netq_redis_up',
    help: '1 when Redis answered the last scrape in time, else 0',
    registers: [this.registry],
  });

  constructor(
    private readonly queues: NetqQueues,
    private readonly logger: Logger,
  ) {}

  /** Subscribes to the queues of the live hosts now (bounded in time) and every 10 s after. */
  async start(): Promise<void> {
    this.timer = setInterval(() => {
      this.subscribe().catch((err: unknown) => this.logger.debug({ err }, 'resubscribe'));
    }, RESUBSCRIBE_MS);
    this.timer.unref();
    await withDeadline(this.subscribe(), SCRAPE_DEADLINE_MS, 'subscribing to queue events').catch((err: unknown) =>
      this.logger.warn({ err }, 'metrics: queue events not subscribed yet'),
    );
  }

  /**
   * Adds QueueEvents for every netq queue not followed yet, and closes those of queues no longer known (a host
   * silent for KNOWN_HOST_MS), so that subscriptions and their connections do not grow over time; returns the
   * current queue names. A forgotten host's counters keep their values, and go on if it comes back.
   */
  async subscribe(): Promise<string[]> {
    const names = await knownQueueNames(this.queues);
    const known = new Set(names);
    const gone: { events: QueueEvents; connection: Redis }[] = [];
    for (const [name, sub] of this.events) {
      if (known.has(name)) continue;
      this.events.delete(name);
      gone.push(sub);
    }
    await Promise.all(
      gone.map(async ({ events, connection }) => {
        await events.close().catch((err: unknown) => this.logger.debug({ err }, 'closing queue events'));
        connection.disconnect();
      }),
    );
    const added: QueueEvents[] = [];
    for (const name of names) {
      if (this.events.has(name) || this.closing) continue;
      const connection = duplicateClient(this.queues.redis);
      connection.on('error', () => {});
      const events = new QueueEvents(name, { connection, prefix: this.queues.prefix });
      events.on('error', (err) => this.logger.debug({ err, queue: name }, 'queue events error'));
      events.on('completed', ({ jobId, returnvalue }) => this.onCompleted(name, jobId, returnvalue));
      events.on('failed', ({ jobId }) => this.onFailed(name, jobId));
      this.completed.inc({ queue: name }, 0);
      this.failed.inc({ queue: name }, 0);
      this.events.set(name, { events, connection });
      added.push(events);
    }
    await Promise.all(added.map((e) => e.waitUntilReady()));
    return names;
  }

  private onCompleted(queue: string, jobId: string, returnvalue: unknown) {
    this.completed.inc({ queue });
    const q = parseQueueName(queue);
    if (q?.kind === 'rebuild' && q.host !== undefined) {
      const failed = (returnvalue as { failed?: unknown } | null)?.failed;
      if (typeof failed === 'number' && failed > 0) this.containersFailed.inc({ host: q.host }, failed);
    }
    this.observeDuration(queue, jobId);
  }

  /**
   * A job that failed for good. A rebuild of a rebuildall counts every container its scan saw as failed
   * (as the summary does); a standalone rebuild does not know its containers and counts none.
   */
  private onFailed(queue: string, jobId: string) {
    this.failed.inc({ queue });
    this.observeDuration(queue, jobId, (job) => {
      const ids = (job.data as { containerIds?: unknown } | undefined)?.containerIds;
      const q = parseQueueName(queue);
      if (q?.kind === 'rebuild' && q.host !== undefined && Array.isArray(ids) && ids.length > 0) {
        this.containersFailed.inc({ host: q.host }, ids.length);
      }
    });
  }

  private observeDuration(queue: string, jobId: string, also?: (job: Job) => void) {
    this.queues
      .queue(queue)
      .getJob(jobId)
      .then((job) => {
        if (!job) return;
        if (job.finishedOn && job.processedOn) {
          this.duration.observe({ queue }, Math.max(0, job.finishedOn - job.processedOn) / 1000);
        }
        also?.(job);
      })
      .catch((err: unknown) => this.logger.debug({ err, queue, jobId }, 'job duration'));
  }

  /** Reads what is read on scrape; Redis that does not answer in time sets netq_redis_up to 0. */
  private async gather(): Promise<void> {
    const names = await this.subscribe();
    const counts = await Promise.all(names.map((n) => this.queues.queue(n).getJobCounts(...STATES)));
    // heartbeats carry Redis's clock: judged by it, not this machine's
    const now = await this.queues.redisNow();
    // every known host, so that one whose workers all died shows netq_workers_live 0
    const hosts = await this.queues.knownHosts();
    const [health, workers, hooks] = await Promise.all([
      liveWorkerHealth(this.queues, now),
      Promise.all(hosts.map((h) => this.queues.redis.zcount(this.queues.keys.workers(h), liveSince(now), '+inf'))),
      Promise.all(hosts.map((h) => changeHookStats(this.queues.redis, this.queues.keys, h, now))),
    ]);
    this.jobs.reset();
    for (const [i, queue] of names.entries()) {
      for (const [state, n] of Object.entries(counts[i] ?? {})) this.jobs.set({ queue, state }, n);
    }
    this.workersLive.reset();
    for (const [i, host] of hosts.entries()) this.workersLive.set({ host }, workers[i] ?? 0);
    // the failure count lives in Redis (it survives this server): the counter is set to it on each scrape
    this.hookFailures.reset();
    this.hookPending.reset();
    for (const [i, host] of hosts.entries()) {
      this.hookFailures.inc({ host }, hooks[i]?.failures ?? 0);
      this.hookPending.set({ host }, hooks[i]?.pending ?? 0);
    }
    this.reconnects.reset();
    this.watcherConnected.reset();
    for (const w of health) {
      this.reconnects.set({ worker: w.workerId, host: w.host }, w.watcher.reconnects);
      this.watcherConnected.set({ worker: w.workerId, host: w.host }, w.watcher.state === 'connected' ? 1 : 0);
    }
  }

  /** The Prometheus text of one scrape. */
  async scrape(): Promise<string> {
    try {
      await withDeadline(this.gather(), SCRAPE_DEADLINE_MS, 'reading metrics from Redis');
      this.redisUp.set(1);
    } catch (err) {
      this.logger.warn({ err }, 'metrics: Redis did not answer; gauges are stale');
      this.redisUp.set(0);
    }
    return this.registry.metrics();
  }

  /** The queues whose events are followed now. */
  subscribedQueues(): string[] {
    return [...this.events.keys()].sort();
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      clearInterval(this.timer);
      await Promise.all([...this.events.values()].map(({ events }) => events.close().catch(() => {})));
      for (const { connection } of this.events.values()) connection.disconnect();
    })();
    return this.closing;
  }
}

export function registerMetrics(app: FastifyInstance, metrics: NetqMetrics) {
  app.get('/metrics', async (_request, reply) => {
    const text = await metrics.scrape();
    return reply.type(metrics.registry.contentType).send(text);
  });
}
