import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { type Job, UnrecoverableError, Worker } from 'bullmq';
import type { Config } from '../src/config.js';
import { DockerodeEngine } from '../src/docker/dockerodeEngine.js';
import type { DockerEngine } from '../src/docker/engine.js';
import { FixedFactsCache } from '../src/docker/fixedFactsCache.js';
import { enqueueRebuild, enqueueRebuildall } from '../src/enqueue.js';
import { quoteInput } from '../src/errors.js';
import { queueName } from '../src/jobs.js';
import { HEARTBEAT_MS, LIVE_MS, REDIS_NOW_LUA, RETIRED_MS, windowStartLua } from '../src/liveness.js';
import type { Logger } from '../src/logger.js';
import { NetqQueues, WORKER_LOCKS } from '../src/queue.js';
import { createRedis } from '../src/redis.js';
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
/** How often one of the workers sweeps the worker-health entries of gone workers. */
const HEALTH_SWEEP_MS = 60_000;

/**
 * One heartbeat, stamped with Redis's clock (TIME) so that no machine's clock decides liveness
 * (src/liveness.ts). KEYS: hosts, workers:<host>, worker-health, health-sweep. ARGV: host, workerId, the health JSON
 * without `at`, how long a worker stays in workers:<host>, how long a worker-health entry is kept, how often the
 * entries are swept. Returns Redis's now. Also drops the worker-health entries of workers gone for over
 * RETIRED_MS (and unreadable ones), so the hash does not grow with every worker that was ever killed: once
 * per HEALTH_SWEEP_MS over all workers (the beat that finds the sweep key gone), not at every beat, since a
 * sweep reads every entry and every worker beats (the cost would grow with the square of the workers).
 */
const HEARTBEAT_LUA = `if redis.replicate_commands then redis.replicate_commands() end
${REDIS_NOW_LUA}
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('ZADD', KEYS[2], now, ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - tonumber(ARGV[4]))
redis.call('HSET', KEYS[3], ARGV[2], '{"at":' .. string.format('%.0f', now) .. ',' .. string.sub(ARGV[3], 2))
if not redis.call('SET', KEYS[4], '1', 'PX', ARGV[6], 'NX') then return now end
local stale = now - tonumber(ARGV[5])
local all = redis.call('HGETALL', KEYS[3])
for i = 1, #all, 2 do
  local ok, h = pcall(cjson.decode, all[i + 1])
  if not ok or type(h) ~= 'table' or type(h.at) ~= 'number' or h.at <= stale then
    redis.call('HDEL', KEYS[3], all[i])
  end
end
return now`;

/**
 * A start that failed after its first heartbeat: the host's entry goes back to what it was before (ARGV[2], ''
 * when it had none) unless another live worker serves the host, so a host with no worker is not taken as live
 * for LIVE_MS. KEYS: hosts, workers:<host>. ARGV: host, its entry's score before the start, LIVE_MS.
 */
const RESTORE_HOST_LUA = `${REDIS_NOW_LUA}
if redis.call('ZCOUNT', KEYS[2], ${windowStartLua('tonumber(ARGV[3])')}, '+inf') > 0 then return 0 end
if ARGV[2] == '' then redis.call('ZREM', KEYS[1], ARGV[1]) else redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1]) end
return 1`;

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
  redis.on('error', (err) => logger.warn({ err }, 'redis connection error'));
  const queues = new NetqQueues(config, redis);
  const ctx: WorkerContext = {
    config,
    docker: opts.docker ?? new DockerodeEngine(config.dockerHost, config.scopeLabel, config.dockerTimeoutMs),
    facts: new FixedFactsCache(),
    queues,
    redis,
    logger,
    workerId,
    ...(opts.onAppWork ? { onAppWork: opts.onAppWork } : {}),
  };
  const roles = opts.roles ?? ALL_ROLES;
  const workers = createWorkers(ctx, roles);

  const watcher =
    opts.watchEvents === false
      ? undefined
      : new DockerEventWatcher({
          docker: ctx.docker,
          logger: logger.child({ component: 'events' }),
          scopeLabel: config.scopeLabel,
          onApp: async (app, canWait) => {
            // counted first: a rebuildall job whose scan listed the app before this event lists it afresh
            await redis.hincrby(queues.keys.appEvents(config.hostId), app, 1);
            await enqueueRebuild(queues, app, config.hostId, { delayMs: config.debounceMs, canWait });
          },
          onConnect: async () => {
            await enqueueRebuildall(queues, [config.hostId]);
          },
          onDestroy: (containerId) => ctx.facts.drop(containerId),
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
    // `at` is stamped by the script with Redis's clock, as are the two zsets
    const { at: _, ...h } = health();
    await redis.eval(
      HEARTBEAT_LUA,
      4,
      keys.hosts,
      keys.workers(config.hostId),
      keys.workerHealth,
      keys.healthSweep,
      config.hostId,
      workerId,
      JSON.stringify(h),
      String(LIVE_MS),
      String(RETIRED_MS),
      String(HEALTH_SWEEP_MS),
    );
  };
  /** Drops this worker's entries (workers:<host>, worker-health): close() and a failed start both do. */
  const unregister = async () => {
    await redis
      .multi()
      .zrem(keys.workers(config.hostId), workerId)
      .hdel(keys.workerHealth, workerId)
      .exec()
      .catch(() => {});
  };
  let hostBefore: string | null | undefined;
  try {
    await Promise.all(workers.map((w) => w.waitUntilReady()));
    // the queues' settings (their event streams' length, src/queue.ts) written before any job is taken: a
    // rebuildall's flow reads them, and would set BullMQ's defaults where it finds none
    await Promise.all(workers.map((w) => queues.queue(w.name).getVersion()));
    hostBefore = await redis.zscore(keys.hosts, config.hostId);
    await beat();
    if (roles.includes('rebuild')) await settleHalfDoneReplacements(ctx);
  } catch (err) {
    // a start that fails half-way leaves nothing behind: the workers already started would go on taking jobs,
    // and the heartbeat's entries would show a worker (and a host) that serves nothing
    await Promise.allSettled(workers.map((w) => w.close(true)));
    if (hostBefore !== undefined) {
      await unregister();
      await redis
        .eval(
          RESTORE_HOST_LUA,
          2,
          keys.hosts,
          keys.workers(config.hostId),
          config.hostId,
          hostBefore ?? '',
          String(LIVE_MS),
        )
        .catch((e: unknown) => logger.warn({ err: e }, 'failed start: host entry not restored'));
    }
    await queues.close();
    throw err;
  }
  watcher?.start();
  const reaper = new HostReaper(config, queues, redis, logger.child({ component: 'reaper' }), workerId);
  reaper.start();
  const timer = setInterval(() => beat().catch((err: Error) => logger.warn({ err }, 'heartbeat failed')), HEARTBEAT_MS);
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
      await unregister();
      await queues.close();
      logger.info('worker pool stopped');
    })();
    return closing;
  };
  return { workerId, workers, watcher, health, close };
}

/** The BullMQ workers of the pool's roles, each job's failure logged. They start fetching jobs at once. */
function createWorkers(ctx: WorkerContext, roles: WorkerRole[]): Worker[] {
  const { config, redis, logger, workerId } = ctx;
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
      const final = job ? job.attemptsMade >= (job.opts.attempts ?? 1) || err instanceof UnrecoverableError : true;
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
          err,
        },
        final ? 'job failed for good' : 'job failed, will retry',
      );
    });
  }
  return workers;
}

/** Replacements a killed worker of this host left half-done: their apps' rebuilds finish or roll them back. */
async function settleHalfDoneReplacements(ctx: WorkerContext): Promise<void> {
  const journal = new ReplacementJournal(ctx.redis, ctx.queues.keys, ctx.config.hostId);
  const apps = [...new Set((await journal.entries()).map((e) => e.app))];
  for (const app of apps) await enqueueRebuild(ctx.queues, app, ctx.config.hostId);
  if (apps.length) ctx.logger.warn({ apps }, 'replacements left half-done: rebuilding their apps to settle them');
}

function clipApp(app: unknown): string | undefined {
  if (app === undefined) return undefined;
  return typeof app === 'string' && app.length <= 64 ? app : quoteInput(app);
}
