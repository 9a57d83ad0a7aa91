import { randomBytes } from 'node:crypto';
import type { Job } from 'bullmq';
import { JOB, type RebuildJob, rebuildJobSchema, type SummaryJob, summaryJobSchema } from './jobs.js';
import { type NetqQueues, queueName } from './queue.js';
import type { RebuildallResult, RebuildResult } from './types.js';

/** Adding jobs, shared by the producers and by jobs that queue more work (a set that applies itself). */

export async function enqueueRebuild(
  queues: NetqQueues,
  app: string,
  host: string,
): Promise<Job<RebuildJob, RebuildResult>> {
  const data: RebuildJob = rebuildJobSchema.parse({ app, host });
  return queues.rebuildQueue(host).add(JOB.rebuild, data, queues.retryOptions());
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
