import type { OperationContext } from '../../operations/context.js';
import { forget } from '../../operations/forget.js';
import { rename } from '../../operations/rename.js';
import { appParams, noQuerySchema, renameBodySchema } from '../input.js';
import { errorResponses, forgetSchema, renameSchema } from '../responses.js';
import type { Api } from './api.js';

/** `network:forget` and `network:rename` over HTTP (Dokku's delete and rename triggers): Redis only, no job. */
export function registerAppLifecycleRoutes(api: Api, ops: OperationContext): void {
  api.post(
    '/v1/apps/:app/forget',
    {
      schema: {
        tags: ['network:forget'],
        operationId: 'forget',
        summary: "forget a deleted app's network properties, config, hosts and attach record",
        params: appParams,
        querystring: noQuerySchema,
        response: { 200: forgetSchema, ...errorResponses },
      },
    },
    async (request) => forget(ops, { app: request.params.app }),
  );

  api.post(
    '/v1/apps/:app/rename',
    {
      schema: {
        tags: ['network:rename'],
        operationId: 'rename',
        summary: 'move an app\'s network properties to its new name (body: {"to": "<new-app>"})',
        params: appParams,
        querystring: noQuerySchema,
        body: renameBodySchema,
        response: { 200: renameSchema, ...errorResponses },
      },
    },
    async (request) => rename(ops, { from: request.params.app, to: request.body.to }),
  );
}
