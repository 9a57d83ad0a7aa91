import { BadInputError } from '../../src/errors.js';
import { queueNamesOf } from '../../src/jobs.js';
import type { OperationContext } from './context.js';

/** GET /v1/jobs/:id (no CLI command): a job that a command queued, as its answer named it. */

export interface JobInput {
  id: string;
  /** the job's queue; without it every queue of every known host (live or not) is looked in */
  queue?: string | undefined;
}

/** A job's queue, state, result or failure, and attempts. */
export interface JobFacts {
  id: string;
  queue: string;
  name: string;
  state: string;
  /** its result, or null */
  returnvalue: unknown;
  failedReason: string | null;
  attemptsMade: number;
  timestamp: number;
  processedOn: number | null;
  finishedOn: number | null;
}

/**
 * The job of this id, or undefined when no queue has it. Only the queues of hosts that ever reported are
 * looked in, so that a look-up makes no Queue for any name. An id in several queues (a control job's BullMQ
 * number) is refused: the caller names the queue.
 */
export async function job(ctx: OperationContext, input: JobInput): Promise<JobFacts | undefined> {
  const queues = await ctx.queues();
  const known = queueNamesOf((await queues.knownHosts()).sort());
  const where = input.queue === undefined ? known : known.filter((q) => q === input.queue);
  // the state first, then the job: a job that finishes in between is read with its result (BullMQ records
  // the result and the state in one step)
  const found = (
    await Promise.all(where.map(async (q) => ({ q, state: await queues.queue(q).getJobState(input.id) })))
  ).filter((f) => f.state !== 'unknown');
  if (found.length > 1) {
    const names = found.map((f) => f.q).join(', ');
    throw new BadInputError(`job id ${input.id} is in several queues (${names}): name one with ?queue=`);
  }
  const [hit] = found;
  const j = hit && (await queues.queue(hit.q).getJob(input.id));
  if (!hit || !j) return undefined;
  return {
    id: String(j.id),
    queue: hit.q,
    name: j.name,
    state: hit.state,
    returnvalue: j.returnvalue ?? null,
    failedReason: j.failedReason || null,
    attemptsMade: j.attemptsMade,
    timestamp: j.timestamp,
    processedOn: j.processedOn ?? null,
    finishedOn: j.finishedOn ?? null,
  };
}
