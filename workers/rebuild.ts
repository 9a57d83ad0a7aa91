import { DelayedError, type Job } from 'bullmq';
import { HOOK_KILL_AFTER_MS, runChangeHook } from '../src/changeHook.js';
import { enqueueRebuildLater } from '../src/enqueue.js';
import { JOB, type RebuildJob, rebuildJobSchema } from '../src/jobs.js';
import { rebuildApp } from '../src/rebuildApp.js';
import { appJobReads } from '../src/store/appJobStart.js';
import { AppLock } from '../src/store/appLock.js';
import { DEL_IF_EQUAL, type KeyCommand } from '../src/store/keyCommands.js';
import { countRoundTrips } from '../src/store/roundTrips.js';
import { recordAppCommands } from '../src/store/runProgress.js';
import type { RebuildResult } from '../src/types.js';
import type { WorkerContext } from './context.js';
import { parseJobData } from './jobData.js';

/** How long a job that finds its app locked waits before it tries again. */
const LOCKED_RETRY_MS = 100;

/**
 * The per-app job: one app on this worker's host, never two at once for one app anywhere. Its own Redis work
 * is three round trips when nothing changed (four when Dokku's files are rewritten): taking the app's lock with
 * everything the job reads, writing the config and all else under the lock, releasing it with the run's
 * progress (src/store/appLock.ts); BullMQ's own calls to take and complete the job come on top.
 */
export function rebuildProcessor(ctx: WorkerContext) {
  return async (job: Job<RebuildJob, RebuildResult>, token?: string): Promise<RebuildResult> => {
    const data = parseJobData(job, JOB.rebuild, rebuildJobSchema, ctx.config.hostId);
    const keys = ctx.queues.keys;

    const counted = countRoundTrips(ctx.redis);
    const redis = counted.client;
    const lock = new AppLock(redis, keys.appLock(data.app), `${ctx.workerId}:${job.id}`);
    const reads = appJobReads(keys, data.host, data.app, {
      properties: ctx.config.dokku === undefined,
      hook: ctx.config.onChange !== undefined,
    });
    // once the lock is taken this job reads Docker: a new request must make a new job (its pending marker goes)
    const forget: KeyCommand = [DEL_IF_EQUAL, ctx.queues.keys.pending(data.host, data.app), String(job.id)];
    const replies = await lock.acquireWith([forget, ...reads.commands]);
    if (replies === undefined) {
      await job.moveToDelayed(Date.now() + LOCKED_RETRY_MS + Math.floor(Math.random() * LOCKED_RETRY_MS), token);
      throw new DelayedError();
    }
    const start = reads.parse(replies.slice(1));
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
    // The scan's container ids save a label-filtered list on the first try, unless the app has had container
    // events since the scan listed it (a redeploy or a scale in between): then, as on a retry, Docker is read afresh.
    const known = job.attemptsMade === 0 && start.eventSeq === (data.eventSeq ?? 0) ? data.containerIds : undefined;
    let result: RebuildResult;
    try {
      result = await rebuildApp(
        {
          docker: ctx.docker,
          facts: ctx.facts,
          // a job outside a rebuildall answers an event or a request: it inspects what it reads
          inspectAll: data.runId === undefined,
          redis,
          keys,
          hostId: ctx.config.hostId,
          dokku: ctx.config.dokku,
          lock,
          start,
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
    } catch (err) {
      ctx.onAppWork?.({ app: data.app, phase: 'end', workerId: ctx.workerId, jobId: String(job.id) });
      // the end of a failed attempt, logged before the lock goes (the job's failure line comes after it)
      log.debug({ endedAt: Date.now() }, 'rebuild attempt ended');
      await lock.release().catch((e: unknown) => log.warn({ err: e }, 'could not release app lock'));
      throw err;
    }
    ctx.onAppWork?.({ app: data.app, phase: 'end', workerId: ctx.workerId, jobId: String(job.id) });
    // the end of the work on the app, taken before the lock goes: another job may start on it right after
    const endedAt = Date.now();
    const durationMs = Math.round(performance.now() - started);
    // the run's progress bar hears of the app as the lock goes (a failure to record it fails the job, as before)
    await lock.release(
      data.runId === undefined ? [] : recordAppCommands(keys, data.runId, data.host, data.app, result.failed),
    );
    log.info(
      {
        endedAt,
        durationMs,
        containers: result.containers,
        configured: result.configured,
        failed: result.failed,
        // what this job asked of Redis, its lock's release included (BullMQ's own calls for the job are not)
        redisRoundTrips: counted.roundTrips(),
      },
      'rebuilt app',
    );
    return result;
  };
}
