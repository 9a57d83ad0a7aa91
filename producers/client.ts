import type { Job } from 'bullmq';
import { assertAppName } from '../src/appName.js';
import { redactUrl } from '../src/config.js';
import { enqueueRebuild, enqueueRebuildall } from '../src/enqueue.js';
import {
  BadInputError,
  JobFailedError,
  NoWorkerError,
  RedisUnreachableError,
  WaitTimeoutError,
} from '../src/errors.js';
import { type ControlJobName, type JobData, type JobResults, queueName, queueOf } from '../src/jobs.js';
import type { NetqQueues } from '../src/queue.js';
import { hostsOfApp } from '../src/store/networkConfigStore.js';
import { type RunProgress, readProgress } from '../src/store/runProgress.js';
import type { RebuildallResult, RebuildResult } from '../src/types.js';

/**
 * The queue side of the producers: enqueue a job and optionally wait for its result, on the right host.
 * The commands themselves (checks, which host, what to wait for) are in producers/operations/, one per command.
 */

export interface WaitOptions {
  /** debounce: the rebuild waits this long after the latest such request (merged requests share it) */
  delayMs?: number;
  /** false: enqueue only */
  wait: boolean;
  timeoutMs: number;
  /** told at once when the job waits on a host that no live worker serves (else the wait looks like a hang) */
  onNoWorker?: (host: string) => void;
}

export type Enqueued<T> = { jobId: string; result?: T };

/** Fails fast, naming REDIS_URL, when Redis does not answer within the deadline. */
export async function ensureRedis(queues: NetqQueues, deadlineMs: number): Promise<void> {
  let lastError = 'no answer';
  const onError = (err: Error) => {
    lastError = err.message;
  };
  queues.redis.on('error', onError);
  const where = `REDIS_URL=${redactUrl(queues.config.redisUrl)}`;
  try {
    await Promise.race([
      queues.redis.ping().catch((err: Error) => {
        // an answer that refuses us (a wrong password, a Redis that wants TLS) is as final as no answer
        throw new RedisUnreachableError(`Redis at ${where} refused the connection: ${err.message.split('\n')[0]}`, {
          cause: err,
        });
      }),
      new Promise((_, reject) =>
        setTimeout(
          () =>
            reject(
              new RedisUnreachableError(
                `cannot reach Redis at ${where} within ${Math.round(deadlineMs / 1000)}s (${lastError})`,
              ),
            ),
          deadlineMs,
        ).unref(),
      ),
    ]);
  } finally {
    queues.redis.off('error', onError);
  }
}

/** How long a look-up after a wait may take: commands to a Redis that went away wait for ever. */
const LOOKUP_DEADLINE_MS = 2_000;

/** A Redis look-up after the wait ended, failing (naming REDIS_URL) when Redis is gone instead of hanging. */
async function lookup<T>(queues: NetqQueues, what: string, fn: () => Promise<T>): Promise<T> {
  const lost = () =>
    new RedisUnreachableError(
      `lost Redis at REDIS_URL=${redactUrl(queues.config.redisUrl)} while waiting for ${what} (the job stays queued)`,
    );
  if (queues.redis.status !== 'ready') throw lost();
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      fn(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(lost()), LOOKUP_DEADLINE_MS);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

async function waitFor<T>(job: Job, queues: NetqQueues, queue: string, timeoutMs: number, what: string): Promise<T> {
  const events = await queues.queueEvents(queue);
  try {
    return (await job.waitUntilFinished(events, timeoutMs)) as T;
  } catch (err) {
    const state = await lookup(queues, what, () => job.getState().catch(() => 'unknown'));
    if (state === 'failed') {
      const fresh = await lookup(queues, what, () => queues.queue(queue).getJob(String(job.id)));
      const reason = fresh?.failedReason ?? (err as Error).message;
      throw new JobFailedError(`${what} failed: ${reason}`, { cause: err, reason });
    }
    if (state === 'completed') {
      const fresh = await lookup(queues, what, () => queues.queue(queue).getJob(String(job.id)));
      return fresh?.returnvalue as T;
    }
    throw new WaitTimeoutError(
      `timed out after ${Math.round(timeoutMs / 1000)}s waiting for ${what} (job ${job.id} is ${state}; it stays queued)`,
      { cause: err },
    );
  }
}

/** Explains a wait that timed out when no worker serves the host. */
async function explainTimeout(queues: NetqQueues, host: string, err: unknown): Promise<never> {
  if (err instanceof WaitTimeoutError && !(await queues.liveHosts()).includes(host)) {
    throw new NoWorkerError(
      `${err.message}: no netq worker serves host ${host} (start one with NETQ_HOST_ID=${host} netq worker)`,
    );
  }
  throw err;
}

/** Which hosts run an app: the one named, else those where it was last seen, else every live host. */
export async function resolveHosts(queues: NetqQueues, app: string, host?: string): Promise<string[]> {
  if (host !== undefined) return [host];
  const known = await hostsOfApp(queues.redis, queues.keys, app);
  if (known.length) return known;
  const live = (await queues.liveHosts()).sort();
  if (live.length === 0) throw new NoWorkerError('no netq worker is running: start one with `netq worker`');
  return live;
}

/**
 * The one host for an app-level command: the one named, else where the app was seen, else the only live host.
 * `hostInput` is how the caller names a host (`--host` in the CLI), for the message that asks for one.
 */
export async function resolveHost(
  queues: NetqQueues,
  app: string,
  host?: string,
  hostInput = '--host',
): Promise<string> {
  if (host !== undefined) return host;
  const known = await hostsOfApp(queues.redis, queues.keys, app);
  if (known.length === 1 && known[0]) return known[0];
  if (known.length > 1) throw new BadInputError(`app ${app} runs on ${known.join(', ')}: name one with ${hostInput}`);
  const live = await queues.liveHosts();
  if (live.length === 1 && live[0]) return live[0];
  if (live.length === 0) throw new NoWorkerError(`no netq worker is running: start one with \`netq worker\``);
  throw new BadInputError(
    `app ${app} has not been seen on any host yet; name one with ${hostInput} (live: ${live.join(', ')})`,
  );
}

export async function rebuild(
  queues: NetqQueues,
  input: { app: string; host?: string },
  opts: WaitOptions,
): Promise<Enqueued<RebuildResult>> {
  assertAppName(input.app);
  const host = await resolveHost(queues, input.app, input.host);
  const name = queueName.rebuild(host);
  if (opts.wait) await queues.queueEvents(name);
  const job = await enqueueRebuild(queues, input.app, host, opts.delayMs ? { delayMs: opts.delayMs } : {});
  const jobId = String(job.id);
  if (!opts.wait) return { jobId };
  if (opts.onNoWorker && !(await queues.liveHosts()).includes(host)) opts.onNoWorker(host);
  const result = await waitFor<RebuildResult>(job, queues, name, opts.timeoutMs, `rebuild of ${input.app}`).catch(
    (err) => explainTimeout(queues, host, err),
  );
  return { jobId, result };
}

/**
 * `network:rebuild <app>`: on every host the app lives on (or the one named), in parallel; one result
 * per host. An app seen nowhere yet is looked for on every live host.
 */
export async function rebuildEverywhere(
  queues: NetqQueues,
  input: { app: string; host?: string },
  opts: WaitOptions,
): Promise<{ hosts: string[]; jobIds: string[]; results?: RebuildResult[] }> {
  assertAppName(input.app);
  const hosts = await resolveHosts(queues, input.app, input.host);
  const done = await Promise.all(hosts.map((host) => rebuild(queues, { app: input.app, host }, opts)));
  const jobIds = done.map((d) => d.jobId);
  if (!opts.wait) return { hosts, jobIds };
  const results = done.map((d) => d.result).filter((r): r is RebuildResult => r !== undefined);
  // looked for everywhere: report the hosts that have it, or one empty result when none has
  const found = input.host === undefined && hosts.length > 1 ? results.filter((r) => r.containers > 0) : results;
  return { hosts, jobIds, results: found.length ? found : results.slice(0, 1) };
}

/** A rebuildall's progress, as the CLI's progress bar shows it (src/store/runProgress.ts). */
export type RebuildallProgress = RunProgress;

export async function rebuildall(
  queues: NetqQueues,
  opts: WaitOptions & { onProgress?: (p: RebuildallProgress) => void },
): Promise<Enqueued<RebuildallResult>> {
  const hosts = (await queues.liveHosts()).sort();
  if (hosts.length === 0) throw new NoWorkerError('no netq worker is running: start one with `netq worker`');
  if (opts.wait) await queues.queueEvents(queueName.summary);
  const job = await enqueueRebuildall(queues, hosts);
  const runId = String(job.id);
  if (!opts.wait) return { jobId: runId };
  let timer: NodeJS.Timeout | undefined;
  if (opts.onProgress) {
    const report = opts.onProgress;
    timer = setInterval(() => {
      readProgress(queues.redis, queues.keys, runId, hosts.length).then(report, () => {});
    }, 200);
  }
  try {
    const result = await waitFor<RebuildallResult>(job, queues, queueName.summary, opts.timeoutMs, 'rebuildall');
    return { jobId: runId, result };
  } finally {
    if (timer) clearInterval(timer);
  }
}

/**
 * The host a host-level command (network:*) goes to: the one named, else the only live host. `hostInput` is
 * how the caller names a host (`--host` in the CLI), for the message that asks for one.
 */
export async function hostForCommand(queues: NetqQueues, host?: string, hostInput = '--host'): Promise<string> {
  if (host !== undefined) return host;
  const live = (await queues.liveHosts()).sort();
  if (live.length === 1 && live[0]) return live[0];
  if (live.length === 0) throw new NoWorkerError('no netq worker is running: start one with `netq worker`');
  throw new BadInputError(`several hosts are live (${live.join(', ')}): name one with ${hostInput}`);
}

/** Enqueues a control job (set-property, network:*) on a host and waits for its result (typed by the job registry). */
export async function runControl<K extends ControlJobName>(
  queues: NetqQueues,
  host: string,
  name: K,
  data: JobData[K],
  opts: WaitOptions,
): Promise<Enqueued<JobResults[K]>> {
  const queue = queueOf(name, host);
  if (opts.wait) await queues.queueEvents(queue);
  // control jobs change or read state once: bad input is not retried, an unreachable engine is
  const job = await queues.queue(queue).add(name, data, queues.retryOptions());
  const jobId = String(job.id);
  if (!opts.wait) return { jobId };
  const result = await waitFor<JobResults[K]>(job, queues, queue, opts.timeoutMs, name).catch((err) =>
    explainTimeout(queues, host, err),
  );
  return { jobId, result };
}

/** Waits for a job that someone else queued (a set's rebuild), by queue and id. */
export async function waitForJob<T>(queues: NetqQueues, queue: string, jobId: string, timeoutMs: number): Promise<T> {
  const job = await queues.queue(queue).getJob(jobId);
  if (!job) throw new JobFailedError(`job ${jobId} of ${queue} is gone`);
  return waitFor<T>(job, queues, queue, timeoutMs, `${job.name} ${jobId}`);
}
