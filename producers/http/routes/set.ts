import type { FastifyReply } from 'fastify';
import { GLOBAL_SCOPE } from '../../../src/properties/properties.js';
import type { OperationContext } from '../../operations/context.js';
import { type SetInput, set, setAnswer } from '../../operations/set.js';
import { appKeyParams, globalKeyParams, hostOf, hostWaitSchema, setBodySchema, waitOf } from '../input.js';
import { errorResponses, queuedSchema, setAnswerSchema } from '../responses.js';
import { type Api, nameJobs } from './api.js';

/** `network:set <app>|--global <key> [<value>…]` over HTTP. */
export function registerSetRoutes(api: Api, ops: OperationContext): void {
  const response = { 200: setAnswerSchema, 202: queuedSchema, ...errorResponses };
  const description =
    'As `netq network:set`: stores the property as Dokku does (`"values": []` clears it), then, unless ' +
    '`"apply": false`, rebuilds to apply it and answers with the rebuild under `result`. Wait=false answers 202 ' +
    'with the set job.';

  /** Runs the set and answers as the CLI's `--format json`. */
  const answer = async (input: SetInput, reply: FastifyReply) => {
    const outcome = await set(ops, input);
    if (outcome.state === 'queued') {
      nameJobs(reply, [outcome]);
      return reply.code(202).send({ jobId: outcome.jobId, queue: outcome.queue });
    }
    if (outcome.state === 'set') nameJobs(reply, [{ jobId: outcome.jobId, queue: outcome.queue }]);
    return reply.code(200).send(setAnswer(outcome));
  };

  api.put(
    '/v1/apps/:app/properties/:key',
    {
      schema: {
        tags: ['network:set'],
        operationId: 'setAppProperty',
        summary: 'set or clear a network property of an app',
        description:
          `${description} The property is stored once and applied on every live host where the app runs (or ` +
          "on `host` alone): `result` is one host's rebuild, or several hosts' sum with one result per host.",
        params: appKeyParams,
        querystring: hostWaitSchema,
        body: setBodySchema,
        response,
      },
    },
    async (request, reply) => {
      const { app, key } = request.params;
      const host = hostOf(request.query, request.body);
      return answer(
        {
          scope: app,
          key,
          values: request.body.values,
          apply: request.body.apply,
          ...(host === undefined ? {} : { host }),
          ...waitOf(request.query, request.body),
        },
        reply,
      );
    },
  );

  api.put(
    '/v1/global/properties/:key',
    {
      schema: {
        tags: ['network:set'],
        operationId: 'setGlobalProperty',
        summary: 'set or clear a global network property (network:set --global)',
        description: `${description} Without a host, the first live host stores it and every other live host is asked whether it has the networks named.`,
        params: globalKeyParams,
        querystring: hostWaitSchema,
        body: setBodySchema,
        response,
      },
    },
    async (request, reply) => {
      const host = hostOf(request.query, request.body);
      return answer(
        {
          scope: GLOBAL_SCOPE,
          key: request.params.key,
          values: request.body.values,
          apply: request.body.apply,
          ...(host === undefined ? {} : { host }),
          ...waitOf(request.query, request.body),
        },
        reply,
      );
    },
  );
}
