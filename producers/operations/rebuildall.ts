import { queueName } from '../../src/jobs.js';
import type { RebuildallResult } from '../../src/types.js';
import { rebuildall as enqueueAndWait, type RebuildallProgress } from '../client.js';
import type { OperationContext } from './context.js';

/** `network:rebuildall` (POST /v1/rebuildall). */

export interface RebuildallInput {
  /** false: only enqueue */
  wait: boolean;
  timeoutMs: number;
  /** called every 200 ms while waiting */
  onProgress?: (p: RebuildallProgress) => void;
}

export interface RebuildallOutcome {
  /** the run id: the summary job's id */
  jobId: string;
  queue: string;
  /** with `wait`: the summary */
  result?: RebuildallResult;
}

/** Rebuilds every app on every live host: one scan per host, one rebuild per app, one summary. */
export async function rebuildall(ctx: OperationContext, input: RebuildallInput): Promise<RebuildallOutcome> {
  const queues = await ctx.queues();
  const { jobId, result } = await enqueueAndWait(queues, {
    wait: input.wait,
    timeoutMs: input.timeoutMs,
    ...(input.onProgress ? { onProgress: input.onProgress } : {}),
  });
  return { jobId, queue: queueName.summary, ...(result ? { result } : {}) };
}
