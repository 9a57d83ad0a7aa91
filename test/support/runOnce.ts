import { randomUUID } from 'node:crypto';
import { DelayedError, type Job, Worker } from 'bullmq';
import type { Config } from '../../src/config.js';
import type { DockerEngine } from '../../src/docker/engine.js';
import { FixedFactsCache } from '../../src/docker/fixedFactsCache.js';
import { silentLogger } from '../../src/logger.js';
import { NetqQueues, WORKER_LOCKS } from '../../src/queue.js';
import type { RebuildResult } from '../../src/types.js';
import type { WorkerContext } from '../../workers/context.js';
import { failFastOnBadInput } from '../../workers/failFast.js';
import { rebuildProcessor } from '../../workers/rebuild.js';

/**
 * How one job ended: `retrying` is a failed attempt BullMQ will try again (after its backoff). By id: the
 * job objects runOnce used are bound to its connection, closed when it returns (read the job through a
 * producer's queue).
 */
export type JobOutcome =
  | { jobId: string; state: 'completed'; result: RebuildResult }
  | { jobId: string; state: 'retrying' | 'failed'; err: Error }
  | { jobId: string; state: 'delayed' };

/**
 * Runs the host's per-app jobs that are ready now, one at a time, with the worker's own processor
 * (workers/rebuild.ts behind workers/failFast.ts), and returns when none is left: graphile-worker's
 * `runTaskListOnce`, for a test that steps through a job's attempts instead of starting a pool and polling
 * for what it did. BullMQ's manual processing does the queue's part as a Worker does: the job is taken with a
 * lock, and completed or failed with `moveToCompleted`/`moveToFailed`, which decide retries and backoff from
 * the job's options. A retry waits for its backoff in the delayed set, where `job.promote()` makes it ready.
 */
export async function runOnce(config: Config, docker: DockerEngine): Promise<JobOutcome[]> {
  const queues = new NetqQueues(config);
  const worker = new Worker(queues.rebuildQueue(config.hostId).name, null, {
    connection: queues.redis,
    prefix: config.prefix,
    ...WORKER_LOCKS,
  });
  const ctx: WorkerContext = {
    config,
    docker,
    facts: new FixedFactsCache(),
    queues,
    redis: queues.redis,
    logger: silentLogger(),
    workerId: `run-once-${randomUUID().slice(0, 8)}`,
  };
  const processor = failFastOnBadInput(rebuildProcessor(ctx));
  const outcomes: JobOutcome[] = [];
  try {
    for (;;) {
      const token = randomUUID();
      const job: Job | undefined = await worker.getNextJob(token, { block: false });
      if (!job) return outcomes;
      const jobId = String(job.id);
      try {
        const result = await processor(job, token);
        await job.moveToCompleted(result, token, false);
        outcomes.push({ jobId, state: 'completed', result });
      } catch (err) {
        // the app was locked: the processor moved the job back to delayed itself
        if (err instanceof DelayedError) {
          outcomes.push({ jobId, state: 'delayed' });
          continue;
        }
        const error = err instanceof Error ? err : new Error(String(err));
        await job.moveToFailed(error, token, false);
        outcomes.push({ jobId, state: (await job.getState()) === 'failed' ? 'failed' : 'retrying', err: error });
      }
    }
  } finally {
    await worker.close();
    await queues.close();
  }
}
