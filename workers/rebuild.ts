import { DelayedError, type Job } from 'bullmq';
import { HOOK_KILL_AFTER_MS, runChangeHook } from '../src/changeHook.js';
import { enqueueRebuildLater, forgetPending } from '../src/enqueue.js';
import { JOB, type RebuildJob, rebuildJobSchema } from '../src/jobs.js';
import { rebuildApp } from '../src/rebuildApp.js';
import { AppLock } from '../src/store/appLock.js';
import { recordApp } from '../src/store/runProgress.js';
import type { RebuildResult } from '../src/types.js';
import type { WorkerContext } from './context.js';
import { parseJobData } from './jobData.js';

/** How long a job that finds its app locked waits before it tries again. */
const LOCKED_RETRY_MS = 100;

/** The scan's container ids, when no event of the app came after the scan listed it; else undefined. */
async function freshEnough(ctx: WorkerContext, data: RebuildJob): Promise<string[] | undefined> {
  if (data.containerIds === undefined) return undefined;
  const seen = Number((await ctx.redis.hget(ctx.queues.keys.appEvents(data.host), data.app)) ?? 0);
  return seen === (data.eventSeq ?? 0) ? data.containerIds : undefined;
}

/** The per-app job: one app on this worker's host, never two at once for one app anywhere. */
export function rebuildProcessor(ctx: WorkerContext) {
  return async (job: Job<RebuildJob, RebuildResult>, token?: string): Promise<RebuildResult> => {
    const data = parseJobData(job, JOB.rebuild, rebuildJobSchema, ctx.config.hostId);

    const lock = new AppLock(ctx.redis, ctx.queues.keys.appLock(data.app), `${ctx.workerId}:${job.id}`);
    if (!(await lock.acquire())) {
      await job.moveToDelayed(Date.now() + LOCKED_RETRY_MS + Math.floor(Math.random() * LOCKED_RETRY_MS), token);
      throw new DelayedError();
    }
    // from here on this job reads Docker: a new request must make a new job
    await forgetPending(ctx.queues, data.host, data.app, String(job.id));
    const log = ctx.logger.child({
      queue: job.queueName,
      jobId: job.id,
      app: data.app,
      host: data.host,
      attempt: job.attemptsMade + 1,
    });
    const started = performance.now();
    log.debug({ startedAt: Date.now() }, 'rebuilding app');
    ctx.onAppWork?.({ app: data.app, phase: 'start', workerId: ctx.workerId, jobId: String(job.id) });
    try {
      // The scan's snapshot saves a list call on the first try, unless the app has had container events since
      // the scan listed it (a redeploy or a scale in between): then, as on a retry, Docker is read afresh.
      const known = job.attemptsMade === 0 ? await freshEnough(ctx, data) : undefined;
      const result = await rebuildApp(
        {
          docker: ctx.docker,
          redis: ctx.redis,
          keys: ctx.queues.keys,
          hostId: ctx.config.hostId,
          dokku: ctx.config.dokku,
          verifyLock: () => lock.verify(),
          rebuildLater: async (app: string, delayMs: number) => {
            await enqueueRebuildLater(ctx.queues, app, ctx.config.hostId, delayMs);
          },
          replace: ctx.config.replace,
          waitToRetireMs: ctx.config.waitToRetireMs,
          log,
          ...(ctx.config.onChange
            ? {
                onChange: {
                  run: (app: string, listeners: Record<string, string[]>) =>
                    runChangeHook(ctx.config.onChange ?? [], { app, hostId: ctx.config.hostId, listeners }, log, {
                      timeoutMs: ctx.config.onChangeTimeoutMs,
                    }),
                  // the timeout, the SIGKILL 2 s after the SIGTERM, and 2 s more for what the hook left behind
                  budgetMs: ctx.config.onChangeTimeoutMs + 2 * HOOK_KILL_AFTER_MS,
                },
              }
            : {}),
        },
        data.app,
        known,
      );
      if (data.runId !== undefined) {
        await recordApp(ctx.redis, ctx.queues.keys, data.runId, data.host, data.app, result.failed);
      }
      log.info(
        {
          endedAt: Date.now(),
          durationMs: Math.round(performance.now() - started),
          containers: result.containers,
          configured: result.configured,
          failed: result.failed,
        },
        'rebuilt app',
      );
      return result;
    } finally {
      ctx.onAppWork?.({ app: data.app, phase: 'end', workerId: ctx.workerId, jobId: String(job.id) });
      await lock.release().catch((err: unknown) => log.warn({ err }, 'could not release app lock'));
    }
  };
}
