import { RedisUnreachableError } from '../../src/errors.js';
import { queueNamesOf } from '../../src/jobs.js';
import type { NetqQueues } from '../../src/queue.js';

/**
 * Every netq queue: rebuild, scan and control of each known host (live or not: a backlog growing on a host
 * whose workers died is what one wants to see on /metrics and /ui; `knownHosts`), and summary.
 */
export async function knownQueueNames(queues: NetqQueues): Promise<string[]> {
  return queueNamesOf((await queues.knownHosts()).sort());
}

/**
 * Rejects with a RedisUnreachableError when the promise takes longer than ms (Redis commands wait for a lost
 * connection forever).
 */
export function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new RedisUnreachableError(`${what}: no answer within ${ms} ms`)), ms);
    timer.unref();
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}
