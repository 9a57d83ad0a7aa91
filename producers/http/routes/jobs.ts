import { BadInputError } from '../../../src/errors.js';
import type { NetqQueues } from '../../../src/queue.js';
import type { OperationContext } from '../../operations/context.js';
import { jobParams, jobQuerySchema } from '../input.js';
import { knownQueueNames } from '../liveQueues.js';
import { errorResponses, jobSchema } from '../responses.js';
import type { Api } from './api.js';

/** GET /v1/jobs/:id: a job that a command queued (its answer named it), in its queue or in any known one. */
export function registerJobRoutes(api: Api, ops: OperationContext): void {
  api.get(
    '/v1/jobs/:id',
    {
      schema: {
        tags: ['jobs'],
        operationId: 'job',
        summary: "a job's queue, state, result or failure, and attempts; 404 when unknown",
        params: jobParams,
        querystring: jobQuerySchema,
        response: { 200: jobSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const asked = request.query.queue;
      const queues: NetqQueues = await ops.queues();
      // only the queues of hosts that ever reported, so that a lookup does not make a Queue for any name
      const known = await knownQueueNames(queues);
      const where = asked === undefined ? known : known.filter((q) => q === asked);
      // the state first, then the job: a job that finishes in between is read with its result (BullMQ records
      // the result and the state in one step)
      const found = (
        await Promise.all(where.map(async (q) => ({ q, state: await queues.queue(q).getJobState(id) })))
      ).filter((f) => f.state !== 'unknown');
      if (found.length > 1) {
        const names = found.map((f) => f.q).join(', ');
        throw new BadInputError(`job id ${id} is in several queues (${names}): name one with ?queue=`);
      }
      const [hit] = found;
      const job = hit && (await queues.queue(hit.q).getJob(id));
      if (!hit || !job) {
        return reply
          .code(404)
          .send({ error: `no job ${id} in ${asked === undefined ? 'any queue' : `queue ${asked}`}` });
      }
      const { q: queue, state } = hit;
      return reply.code(200).send({
        id: String(job.id),
        queue,
        name: job.name,
        state,
        returnvalue: job.returnvalue ?? null,
        failedReason: job.failedReason || null,
        attemptsMade: job.attemptsMade,
        timestamp: job.timestamp,
        processedOn: job.processedOn ?? null,
        finishedOn: job.finishedOn ?? null,
      });
    },
  );
}
