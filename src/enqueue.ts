import { randomBytes } from 'node:crypto';
import type { Job } from 'bullmq';
import { JOB, type RebuildJob, rebuildJobSchema, type SummaryJob, summaryJobSchema } from './jobs.js';
import { type NetqQueues, queueName } from './queue.js';
import type { RebuildallResult, RebuildResult } from './types.js';

/** Adding jobs, shared by the producers and by jobs that queue more work (a set that applies itself). */

/** Returns the id of the app's rebuild that has not started yet, or numbers a new one. */
const PENDING_OR_NEW = `
local id = redis.call('get', KEYS[1])
if id then return {id, 0} end
local n = redis.call('incr', KEYS[2])
id = ARGV[1] .. n
redis.call('set', KEYS[1], id, 'PX', ARGV[2])
return {id, 1}`;
const FORGET_PENDING = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;
const PENDING_TTL_MS = 3_600_000;
const MAX_WAIT_FACTOR = 4;

/** The key that holds an app's not-yet-started rebuild on a host. */
export const pendingKey = (queues: NetqQueues, host: string, app: string) => queues.keys.pending(`${host}.${app}`);

/** Called by the per-app job when it starts work: later requests must make a new job. */
export async function forgetPending(queues: NetqQueues, host: string, app: string, jobId: string): Promise<void> {
  await queues.redis.eval(FORGET_PENDING, 1, pendingKey(queues, host, app), jobId);
}

/**
 * Asks for a rebuild of an app. Requests merge: while one rebuild of the app is waiting (not yet
 * started), every request gets that same job, so all its requesters get its result. Once it starts, the
 * next request makes a new job, which runs after it (the app lock) and sees the newer state.
 * `delayMs` debounces (trailing): the job waits that long after the latest debounced request, but never
 * more than MAX_WAIT_FACTOR windows after the first, so a steady stream of requests cannot starve it.
 */
export async function enqueueRebuild(
  queues: NetqQueues,
  app: string,
  host: string,
  opts: { delayMs?: number } = {},
): Promise<Job<RebuildJob, RebuildResult>> {
  const data: RebuildJob = rebuildJobSchema.parse({ app, host });
  const key = pendingKey(queues, host, app);
  for (let tries = 0; ; tries++) {
    const [jobId, isNew] = (await queues.redis.eval(
      PENDING_OR_NEW,
      2,
      key,
      queues.keys.generation(`${host}.${app}`),
      `rb.${host}.${app}.`,
      String(PENDING_TTL_MS),
    )) as [string, number];
    const job = await queues.rebuildQueue(host).add(JOB.rebuild, data, {
      ...queues.retryOptions(),
      jobId,
      ...(opts.delayMs ? { delay: opts.delayMs } : {}),
    });
    if (isNew === 1 || tries > 0) return job;
    // A merge into a job that already finished (or vanished) would hand back an old result: start afresh.
    const state = await job.getState();
    if (state === 'delayed' && opts.delayMs) {
      const deadline = job.timestamp + MAX_WAIT_FACTOR * opts.delayMs;
      const delay = Math.min(opts.delayMs, deadline - Date.now());
      // it may start meanwhile; then this request simply joined it in time
      if (delay > 0) await job.changeDelay(delay).catch(() => {});
    }
    if (state !== 'completed' && state !== 'failed' && state !== 'unknown') return job;
    await queues.redis.eval(FORGET_PENDING, 1, key, jobId);
  }
}

/**
 * Asks for a rebuild of an app in `delayMs` (a failed replacement's next try), as its own job: it must not
 * move a merged request's job later. Requests for the same second are one job.
 */
export async function enqueueRebuildLater(
  queues: NetqQueues,
  app: string,
  host: string,
  delayMs: number,
): Promise<void> {
  if (delayMs <= 0) {
    await enqueueRebuild(queues, app, host);
    return;
  }
  const data: RebuildJob = rebuildJobSchema.parse({ app, host });
  const second = Math.ceil((Date.now() + delayMs) / 1000);
  await queues.rebuildQueue(host).add(JOB.rebuild, data, {
    ...queues.retryOptions(),
    jobId: `later.${host}.${app}.${second}`,
    delay: delayMs,
  });
}

/** Adds the rebuildall tree: a summary over one scan per host. Returns the summary job; its id is the run id. */
export async function enqueueRebuildall(
  queues: NetqQueues,
  hosts: string[],
): Promise<Job<SummaryJob, RebuildallResult>> {
  const runId = `run-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
  const data: SummaryJob = summaryJobSchema.parse({ runId, hosts });
  const retry = queues.retryOptions();
  const node = await queues.flowProducer().add({
    name: JOB.summary,
    queueName: queueName.summary,
    data,
    opts: { ...retry, jobId: runId },
    children: hosts.map((host) => ({
      name: JOB.scan,
      queueName: queueName.scan(host),
      data: { host, runId, step: 'initial' },
      opts: { ...retry, jobId: `${runId}.${host}`, ignoreDependencyOnFailure: true },
    })),
  });
  return node.job as Job<SummaryJob, RebuildallResult>;
}
