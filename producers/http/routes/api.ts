import type {
  FastifyBaseLogger,
  FastifyInstance,
  FastifyReply,
  RawReplyDefaultExpression,
  RawRequestDefaultExpression,
  RawServerDefault,
} from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Config } from '../../../src/config.js';
import type { NetqQueues } from '../../../src/queue.js';
import { ensureRedis } from '../../client.js';
import type { OperationContext, QueuedJob } from '../../operations/context.js';

/** What the route files share: the typed instance, the operation context of `netq serve`, the job headers. */

/** The API's fastify instance: request and answer types come from the routes' zod schemas. */
export type Api = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  ZodTypeProvider
>;

const REDIS_DEADLINE_MS = 5_000;

/** How the API names a host in the operations' messages (`… name one with "host" (query or body)`). */
export const HOST_INPUT = '"host" (query or body)';

/** The operations' context for `netq serve`: one shared connection, checked before each operation uses it. */
export function serverOperations(config: Config, queues: NetqQueues): OperationContext {
  return {
    config,
    hostInput: HOST_INPUT,
    queues: async () => {
      await ensureRedis(queues, REDIS_DEADLINE_MS);
      return queues;
    },
  };
}

/** every command's answer names its jobs, for GET /v1/jobs/:id?queue=… */
export const JOB_ID_HEADER = 'netq-job-id';
export const QUEUE_HEADER = 'netq-queue';

/** Names the answer's jobs in the headers (several, for an app on several hosts: comma-separated, in order). */
export function nameJobs(reply: FastifyReply, jobs: QueuedJob[]): void {
  if (jobs.length === 0) return;
  reply.header(JOB_ID_HEADER, jobs.map((j) => j.jobId).join(', '));
  reply.header(QUEUE_HEADER, jobs.map((j) => j.queue).join(', '));
}
