import type { z } from 'zod';
import { BadInputError, quoteInput } from '../src/errors.js';
import { describeZodError } from '../src/jobs.js';

/**
 * The prelude of every processor: the job's name is the one it serves, its payload passes the job's schema
 * (src/jobs.ts), and a job for a host reached a worker of that host. Anything else is bad input, failed at once
 * and never retried (failFastOnBadInput), with a one-line reason naming the problem.
 */
export function parseJobData<S extends z.ZodType>(
  job: { name: string; data: unknown },
  name: string,
  schema: S,
  hostId: string,
): z.infer<S> {
  if (job.name !== name) throw new BadInputError(`unknown job name on a ${name} queue: ${quoteInput(job.name)}`);
  const parsed = schema.safeParse(job.data);
  if (!parsed.success) throw new BadInputError(`bad ${name} job: ${describeZodError(parsed.error)}`);
  const host = (parsed.data as { host?: unknown }).host;
  if (typeof host === 'string' && host !== hostId) {
    throw new BadInputError(`${name} job for host ${host} reached a worker of host ${hostId}`);
  }
  return parsed.data;
}
