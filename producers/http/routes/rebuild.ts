import type { OperationContext } from '../../operations/context.js';
import { rebuild, rebuildAnswer } from '../../operations/rebuild.js';
import { rebuildall } from '../../operations/rebuildall.js';
import { appParams, hostOf, hostWaitSchema, optionalBody, waitOf, waitSchema } from '../input.js';
import {
  errorResponses,
  queuedRebuildSchema,
  queuedSchema,
  rebuildAnswerSchema,
  rebuildallResultSchema,
} from '../responses.js';
import { type Api, nameJobs } from './api.js';

/** `network:rebuild` and `network:rebuildall` over HTTP. */
export function registerRebuildRoutes(api: Api, ops: OperationContext): void {
  api.post(
    '/v1/apps/:app/rebuild',
    {
      schema: {
        tags: ['network:rebuild'],
        operationId: 'rebuild',
        summary: "rebuild an app's network config",
        description:
          'On every host the app was last seen on (or the one named), else on every live host, as `netq ' +
          'network:rebuild`: one host answers its rebuild, several their sum with one result per host. ' +
          "`wait=false` only enqueues, debounced as the CLI's `--no-wait` (NETQ_DEBOUNCE_MS: the first request " +
          'of a quiet app runs at once, the rest of a burst once after it).',
        params: appParams,
        querystring: hostWaitSchema,
        body: optionalBody(hostWaitSchema),
        response: { 200: rebuildAnswerSchema, 202: queuedRebuildSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { app } = request.params;
      const host = hostOf(request.query, request.body);
      const { jobs, results } = await rebuild(ops, {
        app,
        ...(host === undefined ? {} : { host }),
        ...waitOf(request.query, request.body),
      });
      nameJobs(reply, jobs);
      const [only] = jobs;
      if (!results) return reply.code(202).send(jobs.length === 1 && only ? only : { jobs });
      return reply.code(200).send(rebuildAnswer(app, results));
    },
  );

  api.post(
    '/v1/rebuildall',
    {
      schema: {
        tags: ['network:rebuildall'],
        operationId: 'rebuildall',
        summary: 'rebuild every app on every live host',
        querystring: waitSchema,
        body: optionalBody(waitSchema),
        response: { 200: rebuildallResultSchema, 202: queuedSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { jobId, queue, result } = await rebuildall(ops, waitOf(request.query, request.body));
      nameJobs(reply, [{ jobId, queue }]);
      if (!result) return reply.code(202).send({ jobId, queue });
      return reply.code(200).send(result);
    },
  );
}
