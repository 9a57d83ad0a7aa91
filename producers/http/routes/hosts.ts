import type { OperationContext } from '../../operations/context.js';
import { hosts } from '../../operations/hosts.js';
import { noQuerySchema } from '../input.js';
import { errorResponses, hostsSchema } from '../responses.js';
import type { Api } from './api.js';

/** `netq hosts` over HTTP: what `netq hosts --format json` prints. */
export function registerHostsRoutes(api: Api, ops: OperationContext): void {
  api.get(
    '/v1/hosts',
    {
      schema: {
        tags: ['hosts'],
        operationId: 'hosts',
        summary: 'the hosts with their live workers, apps and last heartbeat (every host heard from in a day)',
        querystring: noQuerySchema,
        response: { 200: hostsSchema, ...errorResponses },
      },
    },
    async () => (await hosts(ops)).hosts,
  );
}
