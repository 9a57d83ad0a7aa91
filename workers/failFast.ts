import { type Job, UnrecoverableError } from 'bullmq';
import { BadInputError } from '../src/errors.js';

/**
 * Bad input does not get better by retrying: a BadInputError thrown anywhere in a processor (a payload
 * the worker refuses, a symlinked app folder under NETQ_DOKKU_ROOT) fails its job at once, with the same
 * message, through BullMQ's UnrecoverableError (which keeps the BadInputError as its cause). Every queue of
 * the pool goes through this.
 */
export function failFastOnBadInput<D, R>(
  processor: (job: Job<D, R>, token?: string) => Promise<R>,
): (job: Job<D, R>, token?: string) => Promise<R> {
  return async (job, token) => {
    try {
      return await processor(job, token);
    } catch (err) {
      if (err instanceof BadInputError) {
        // BullMQ's UnrecoverableError takes no options: the cause is set on it
        const unrecoverable = new UnrecoverableError(err.message);
        unrecoverable.cause = err;
        throw unrecoverable;
      }
      throw err;
    }
  };
}
