import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { type Job, Worker } from 'bullmq';
import type { Config } from '../src/config.js';
import { type DockerEngine, DockerodeEngine } from '../src/docker/engine.js';
import type { Logger } from '../src/logger.js';
import { createRedis, NetqQueues, queueName } from '../src/queue.js';
import type { WorkerContext } from './context.js';
import { controlProcessor } from './control.js';
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
}

export interface WorkerPool {
  workerId: string;
  workers: Worker[];
  /** Stops taking jobs, lets active ones finish, unregisters and disconnects. Idempotent. */
  close(): Promise<void>;
}

/** Starts the BullMQ workers of one host, with a heartbeat so producers know the host is served. */
export async function startWorkerPool(opts: PoolOptions): Promise<WorkerPool> {
  const { config } = opts;
  const workerId = `${config.hostId}-${os.hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const logger = opts.logger.child({ hostId: config.hostId, workerId });
  const redis = createRedis(config.redisUrl);
  redis.on('error', (err) => logger.warn({ err: err.message }, 'redis connection error'));
  const queues = new NetqQueues(config, redis);
  const ctx: WorkerContext = {
    config,
    docker: opts.docker ?? new DockerodeEngine(config.dockerHost, config.scopeLabel),
    queues,
    redis,
    logger,
    workerId,
    ...(opts.onAppWork ? { onAppWork: opts.onAppWork } : {}),
  };
  const roles = opts.roles ?? ALL_ROLES;
  const base = { connection: redis, prefix: config.prefix, autorun: true };
  const workers: Worker[] = [];
  if (roles.includes('rebuild')) {
    workers.push(
      new Worker(queueName.rebuild(config.hostId), rebuildProcessor(ctx), { ...base, concurrency: config.concurrency }),
    );
  }
  if (roles.includes('scan')) {
    workers.push(new Worker(queueName.scan(config.hostId), scanProcessor(ctx), { ...base, concurrency: 4 }));
  }
  if (roles.includes('control')) {
    workers.push(new Worker(queueName.control(config.hostId), controlProcessor(ctx), { ...base, concurrency: 4 }));
  }
  if (roles.includes('summary')) {
    workers.push(new Worker(queueName.summary, summaryProcessor(ctx), { ...base, concurrency: 4 }));
  }
  for (const w of workers) {
    w.on('error', (err) => logger.error({ err, queue: w.name }, 'worker error'));
    w.on('failed', (job: Job | undefined, err: Error) => {
      const final = job ? job.attemptsMade >= (job.opts.attempts ?? 1) || err.name === 'UnrecoverableError' : true;
      logger.warn(
        {
          queue: w.name,
          jobId: job?.id,
          app: (job?.data as { app?: unknown } | undefined)?.app,
          attempt: job?.attemptsMade,
          final,
          err: err.message,
        },
        final ? 'job failed for good' : 'job failed, will retry',
      );
    });
  }
  await Promise.all(workers.map((w) => w.waitUntilReady()));

  const keys = queues.keys;
  const beat = async () => {
    const now = Date.now();
    await redis
      .multi()
      .zadd(keys.hosts, now, config.hostId)
      .zadd(keys.workers(config.hostId), now, workerId)
      .zremrangebyscore(keys.workers(config.hostId), '-inf', now - 3 * HEARTBEAT_MS)
      .exec();
  };
  await beat();
  const timer = setInterval(
    () => beat().catch((err: Error) => logger.warn({ err: err.message }, 'heartbeat failed')),
    HEARTBEAT_MS,
  );
  timer.unref();
  logger.info({ roles, concurrency: config.concurrency }, 'worker pool started');

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      clearInterval(timer);
      const results = await Promise.allSettled(workers.map((w) => w.close()));
      for (const r of results) if (r.status === 'rejected') logger.warn({ err: r.reason }, 'worker close failed');
      await redis.zrem(keys.workers(config.hostId), workerId).catch(() => {});
      await queues.close();
      logger.info('worker pool stopped');
    })();
    return closing;
  };
  return { workerId, workers, close };
}
