import type { Job } from 'bullmq';
import {
  JOB,
  jobId as jobIds,
  newRunId,
  queueName,
  type RebuildJob,
  rebuildJobSchema,
  type SummaryJob,
  summaryJobSchema,
} from './jobs.js';
import type { NetqQueues } from './queue.js';
import type { RebuildallResult, RebuildResult } from './types.js';

/** Adding jobs, shared by the producers and by jobs that queue more work (a set that applies itself). */

/**
 * Returns the id of the app's rebuild that has not started yet, or numbers a new one; and, for a debounced
 * request that may run at once (ARGV[3] = the window in ms, else 0), whether another such request of the app
 * came within the window (the app is in a burst), marking this one. KEYS: pending, generation, burst.
 */
const PENDING_OR_NEW = `
local burst = 0
if tonumber(ARGV[3]) > 0 then
  burst = redis.call('exists', KEYS[3])
  redis.call('set', KEYS[3], '1', 'PX', ARGV[3])
end
local id = redis.call('get', KEYS[1])
if id then return {id, 0, burst} end
local n = redis.call('incr', KEYS[2])
id = ARGV[1] .. n
redis.call('set', KEYS[1], id, 'PX', ARGV[2])
return {id, 1, burst}`;
const FORGET_PENDING = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;
const PENDING_TTL_MS = 3_600_000;
const MAX_WAIT_FACTOR = 4;

/** Called by the per-app job when it starts work: later requests must make a new job. */
export async function forgetPending(queues: NetqQueues, host: string, app: string, jobId: string): Promise<void> {
  await queues.redis.eval(FORGET_PENDING, 1, queues.keys.pending(host, app), jobId);
}

/**
 * Asks for a rebuild of an app. Requests merge: while one rebuild of the app is waiting (not yet
 * started), every request gets that same job, so all its requesters get its result. Once it starts, the
 * next request makes a new job, which runs after it (the app lock) and sees the newer state.
 * `delayMs` debounces on both edges: the first request of a quiet app (none within the window before it) runs
 * at once; a request that comes within the window of another (a burst) waits that long after the latest one,
 * but never more than MAX_WAIT_FACTOR windows after the first, so a steady stream cannot starve it. A burst
 * thus gives at most two runs: one at its start, one after it. A request that `canWait` (an event that gives
 * no new address: a container stopped) always waits, and leaves the immediate run to the next one.
 */
export async function enqueueRebuild(
  queues: NetqQueues,
  app: string,
  host: string,
  opts: { delayMs?: number; canWait?: boolean } = {},
): Promise<Job<RebuildJob, RebuildResult>> {
  const data: RebuildJob = rebuildJobSchema.parse({ app, host });
  const key = queues.keys.pending(host, app);
  for (let tries = 0; ; tries++) {
    const [jobId, isNew, inBurst] = (await queues.redis.eval(
      PENDING_OR_NEW,
      3,
      key,
      queues.keys.generation(host, app),
      queues.keys.burst(host, app),
      jobIds.rebuildPrefix(host, app),
      String(PENDING_TTL_MS),
      String(opts.canWait ? 0 : (opts.delayMs ?? 0)),
    )) as [string, number, number];
    const atOnce = !opts.delayMs || (!opts.canWait && inBurst === 0);
    const delay = atOnce ? 0 : (opts.delayMs ?? 0);
    const job = await queues.rebuildQueue(host).add(JOB.rebuild, data, {
      ...queues.retryOptions(),
      jobId,
      ...(delay > 0 ? { delay } : {}),
    });
    if (isNew === 1 || tries > 0 || (await joined(job, opts.delayMs, atOnce))) return job;
    await queues.redis.eval(FORGET_PENDING, 1, key, jobId);
  }
}

/**
 * A request merged into the app's job that has not started: debounced, it runs that job now (the first request
 * of a quiet app) or moves it later (within the burst's bound). False when the job already finished or
 * vanished: merging would hand back an old result, so the caller starts afresh.
 */
async function joined(job: Job<RebuildJob, RebuildResult>, delayMs: number | undefined, atOnce: boolean) {
  const state = await job.getState();
  if (state === 'delayed' && delayMs && atOnce) {
    await job.promote().catch(() => {}); // it may have started meanwhile
  } else if (state === 'delayed' && delayMs) {
    const deadline = job.timestamp + MAX_WAIT_FACTOR * delayMs;
    const delay = Math.min(delayMs, deadline - Date.now());
    // it may start meanwhile; then this request simply joined it in time
    if (delay > 0) await job.changeDelay(delay).catch(() => {});
  }
  return state !== 'completed' && state !== 'failed' && state !== 'unknown';
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
    jobId: jobIds.later(host, app, second),
    delay: delayMs,
  });
}

/** Adds the rebuildall tree: a summary over one scan per host. Returns the summary job; its id is the run id. */
export async function enqueueRebuildall(
  queues: NetqQueues,
  hosts: string[],
): Promise<Job<SummaryJob, RebuildallResult>> {
  const runId = newRunId();
  const data: SummaryJob = summaryJobSchema.parse({ runId, hosts });
  const retry = queues.retryOptions();
  const node = await queues.flowProducer().add({
    name: JOB.summary,
    queueName: queueName.summary,
    data,
    opts: { ...retry, jobId: jobIds.summary(runId) },
    children: hosts.map((host) => ({
      name: JOB.scan,
      queueName: queueName.scan(host),
      data: { host, runId, step: 'initial' },
      opts: { ...retry, jobId: jobIds.scan(runId, host), ignoreDependencyOnFailure: true },
    })),
  });
  return node.job as Job<SummaryJob, RebuildallResult>;
}
