import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { type Job, Worker } from 'bullmq';
import type { Config } from '../src/config.js';
import { type DockerEngine, DockerodeEngine } from '../src/docker/engine.js';
import { enqueueRebuild, enqueueRebuildall } from '../src/enqueue.js';
import { quoteInput } from '../src/errors.js';
import type { Logger } from '../src/logger.js';
import { createRedis, NetqQueues, queueName, WORKER_LOCKS } from '../src/queue.js';
import { ReplacementJournal } from '../src/store/replacementJournal.js';
import type { WorkerHealth } from '../src/types.js';
import type { WorkerContext } from './context.js';
import { controlProcessor } from './control.js';
import { DockerEventWatcher } from './eventWatcher.js';
import { failFastOnBadInput } from './failFast.js';
import { HostReaper } from './hostReaper.js';
import { rebuildProcessor } from './rebuild.js';
import { scanProcessor } from './scan.js';
import { summaryProcessor } from './summary.js';

export type WorkerRole = 'rebuild' | 'scan' | 'summary' | 'control';
const ALL_ROLES: WorkerRole[] = ['rebuild', 'scan', 'summary', 'control'];
const HEARTBEAT_MS = 5_000;

export interface PoolOptions {
  config: Config;
  logger: Logger;
  /** the engine to use; default: DOCKER_HOST through dockerode */
  docker?: DockerEngine;
  /** which queues this pool serves; default all */
  roles?: WorkerRole[];
  onAppWork?: WorkerContext['onAppWork'];
  /** watch the engine's events and queue rebuilds (default true) */
  watchEvents?: boolean;
}

export interface WorkerPool {
  workerId: string;
  workers: Worker[];
  watcher: DockerEventWatcher | undefined;
  health(): WorkerHealth;
  /** Stops taking jobs, lets active ones finish, unregisters and disconnects. Idempotent. */
  close(): Promise<void>;
}

/** Starts the BullMQ workers of one host, with a heartbeat so producers know the host is served. */
export async function startWorkerPool(opts: PoolOptions): Promise<WorkerPool> {
  const { config } = opts;
  const workerId = `${config.hostId}-${os.hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const logger = opts.logger.child({ hostId: config.hostId, workerId });
  const redis = createRedis(config);
  redis.on('error', (err) => logger.warn({ err: err.message }, 'redis connection error'));
  const queues = new NetqQueues(config, redis);
  const ctx: WorkerContext = {
    config,
    docker: opts.docker ?? new DockerodeEngine(config.dockerHost, config.scopeLabel, config.dockerTimeoutMs),
    queues,
    redis,
    logger,
    workerId,
    ...(opts.onAppWork ? { onAppWork: opts.onAppWork } : {}),
  };
  const roles = opts.roles ?? ALL_ROLES;
  // name: BullMQ records it on each job it takes (`processedBy`), so a job tells which worker ran it
  const base = { connection: redis, prefix: config.prefix, autorun: true, name: workerId, ...WORKER_LOCKS };
  const workers: Worker[] = [];
  if (roles.includes('rebuild')) {
    workers.push(
      new Worker(queueName.rebuild(config.hostId), failFastOnBadInput(rebuildProcessor(ctx)), {
        ...base,
        concurrency: config.concurrency,
      }),
    );
  }
  if (roles.includes('scan')) {
    workers.push(
      new Worker(queueName.scan(config.hostId), failFastOnBadInput(scanProcessor(ctx)), { ...base, concurrency: 4 }),
    );
  }
  if (roles.includes('control')) {
    workers.push(
      new Worker(queueName.control(config.hostId), failFastOnBadInput(controlProcessor(ctx)), {
        ...base,
        concurrency: 4,
      }),
    );
  }
  if (roles.includes('summary')) {
    workers.push(new Worker(queueName.summary, failFastOnBadInput(summaryProcessor(ctx)), { ...base, concurrency: 4 }));
  }
  for (const w of workers) {
    w.on('error', (err) => logger.error({ err, queue: w.name }, 'worker error'));
    w.on('failed', (job: Job | undefined, err: Error) => {
      const final = job ? job.attemptsMade >= (job.opts.attempts ?? 1) || err.name === 'UnrecoverableError' : true;
      logger.warn(
        {
          queue: w.name,
          jobId: job?.id,
          // a poison job's app may be anything, a megabyte of it included: clipped and quoted
          app: clipApp((job?.data as { app?: unknown } | undefined)?.app),
          host: config.hostId,
          attempt: job?.attemptsMade,
          durationMs: job?.processedOn ? Date.now() - job.processedOn : undefined,
          final,
          err: err.message,
        },
        final ? 'job failed for good' : 'job failed, will retry',
      );
    });
  }
  await Promise.all(workers.map((w) => w.waitUntilReady()));

  const watcher =
    opts.watchEvents === false
      ? undefined
      : new DockerEventWatcher({
          docker: ctx.docker,
          logger: logger.child({ component: 'events' }),
          scopeLabel: config.scopeLabel,
          onApp: async (app) => {
            // counted first: a rebuildall job whose scan listed the app before this event lists it afresh
            await redis.hincrby(queues.keys.appEvents(config.hostId), app, 1);
            await enqueueRebuild(queues, app, config.hostId, { delayMs: config.debounceMs });
          },
          onConnect: async () => {
            await enqueueRebuildall(queues, [config.hostId]);
          },
        });
  const health = (): WorkerHealth => ({
    workerId,
    host: config.hostId,
    pid: process.pid,
    at: Date.now(),
    watcher: watcher?.health() ?? { state: 'stopped', lastEventAt: null, reconnects: 0, lastError: 'not watching' },
  });

  const keys = queues.keys;
  const beat = async () => {
    const h = health();
    await redis
      .multi()
      .zadd(keys.hosts, h.at, config.hostId)
      .zadd(keys.workers(config.hostId), h.at, workerId)
      .zremrangebyscore(keys.workers(config.hostId), '-inf', h.at - 3 * HEARTBEAT_MS)
      .hset(keys.workerHealth, workerId, JSON.stringify(h))
      .exec();
  };
  await beat();
  // replacements a killed worker of this host left half-done: their apps' rebuilds finish or roll them back
  if (roles.includes('rebuild')) {
    const journal = new ReplacementJournal(redis, keys, config.hostId);
    const apps = [...new Set((await journal.entries()).map((e) => e.app))];
    for (const app of apps) await enqueueRebuild(queues, app, config.hostId);
    if (apps.length) logger.warn({ apps }, 'replacements left half-done: rebuilding their apps to settle them');
  }
  watcher?.start();
  const reaper = new HostReaper(config, queues, redis, logger.child({ component: 'reaper' }), workerId);
  reaper.start();
  const timer = setInterval(
    () => beat().catch((err: Error) => logger.warn({ err: err.message }, 'heartbeat failed')),
    HEARTBEAT_MS,
  );
  timer.unref();
  logger.info({ roles, concurrency: config.concurrency }, 'worker pool started');

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      // Stop fetching and let active jobs finish; after the grace period close without waiting: their
      // locks lapse and a worker's stalled-job check hands them back to the queue. Paused first, before
      // anything awaits: a job that completes meanwhile must not fetch the next one.
      let grace: NodeJS.Timeout | undefined;
      const graceOver = new Promise<'grace'>((resolve) => {
        grace = setTimeout(() => resolve('grace'), config.shutdownGraceMs);
        grace.unref();
      });
      const drained = Promise.allSettled(workers.map((w) => w.pause())).then(() => 'drained' as const);
      clearInterval(timer);
      watcher?.stop();
      await reaper.stop();
      const force = (await Promise.race([drained, graceOver])) === 'grace';
      clearTimeout(grace);
      if (force) logger.warn({ graceMs: config.shutdownGraceMs }, 'grace period over: handing active jobs back');
      const results = await Promise.allSettled(workers.map((w) => w.close(force)));
      for (const r of results) if (r.status === 'rejected') logger.warn({ err: r.reason }, 'worker close failed');
      await redis
        .multi()
        .zrem(keys.workers(config.hostId), workerId)
        .hdel(keys.workerHealth, workerId)
        .exec()
        .catch(() => {});
      await queues.close();
      logger.info('worker pool stopped');
    })();
    return closing;
  };
  return { workerId, workers, watcher, health, close };
}

function clipApp(app: unknown): string | undefined {
  if (app === undefined) return undefined;
  return typeof app === 'string' && app.length <= 64 ? app : quoteInput(app);
}
