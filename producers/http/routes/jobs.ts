import type { OperationContext } from '../../operations/context.js';
import { job } from '../../operations/job.js';
import { jobParams, jobQuerySchema } from '../input.js';
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
      const asked = request.query.queue;
      const found = await job(ops, { id: request.params.id, queue: asked });
      if (!found) {
        const where = asked === undefined ? 'any queue' : `queue ${asked}`;
        return reply.code(404).send({ error: `no job ${request.params.id} in ${where}` });
      }
      return reply.code(200).send(found);
    },
  );
}
