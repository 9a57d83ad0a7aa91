import type { DokkuNetwork } from '../../format-networks.js';
import type { OperationContext } from '../../operations/context.js';
import { networkCreate } from '../../operations/networkCreate.js';
import { networkDestroy } from '../../operations/networkDestroy.js';
import { networkExists } from '../../operations/networkExists.js';
import { networkInfo } from '../../operations/networkInfo.js';
import { networkList } from '../../operations/networkList.js';
import { hostOf, hostTimeoutSchema, networkListQuerySchema, networkParams, optionalBody, waitOf } from '../input.js';
import {
  dokkuNetworkSchema,
  dokkuNetworksSchema,
  errorResponses,
  networkDestroySchema,
  networkExistsSchema,
  networkFactsSchema,
} from '../responses.js';
import type { Api } from './api.js';

/** `network:create|destroy|exists|info|list` over HTTP: jobs on the host's control queue, answered by its worker. */

/** The operations' input common to every network route: the host (body over query) and the timeout. */
function common(query: { host?: string | undefined; timeout?: number | undefined }, body?: typeof query | null) {
  const host = hostOf(query, body ?? null);
  return { ...(host === undefined ? {} : { host }), timeoutMs: waitOf(query, body ?? null).timeoutMs };
}

/** A network as Dokku's `--format json` shows it, its labels as an object. */
const asJson = (n: DokkuNetwork) => ({ ...n, Labels: Object.fromEntries(n.Labels) });

export function registerNetworkRoutes(api: Api, ops: OperationContext): void {
  api.post(
    '/v1/networks/:network',
    {
      schema: {
        tags: ['network:create'],
        operationId: 'networkCreate',
        summary: 'create an attachable docker network, labelled for Dokku',
        params: networkParams,
        querystring: hostTimeoutSchema,
        body: optionalBody(hostTimeoutSchema),
        response: { 201: networkFactsSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const input = { network: request.params.network, ...common(request.query, request.body) };
      return reply.code(201).send(await networkCreate(ops, input));
    },
  );

  api.delete(
    '/v1/networks/:network',
    {
      schema: {
        tags: ['network:destroy'],
        operationId: 'networkDestroy',
        summary: 'destroy a docker network (the DELETE is the confirmation, as --force)',
        params: networkParams,
        querystring: hostTimeoutSchema,
        body: optionalBody(hostTimeoutSchema),
        response: { 200: networkDestroySchema, ...errorResponses },
      },
    },
    async (request) => {
      const input = { network: request.params.network, force: true, ...common(request.query, request.body) };
      return networkDestroy(ops, input);
    },
  );

  api.get(
    '/v1/networks/:network/exists',
    {
      schema: {
        tags: ['network:exists'],
        operationId: 'networkExists',
        summary: 'whether a docker network of exactly this name exists (200 either way)',
        params: networkParams,
        querystring: hostTimeoutSchema,
        response: { 200: networkExistsSchema, ...errorResponses },
      },
    },
    async (request) => {
      const { network } = request.params;
      return { network, exists: await networkExists(ops, { network, ...common(request.query) }) };
    },
  );

  api.get(
    '/v1/networks/:network',
    {
      schema: {
        tags: ['network:info'],
        operationId: 'networkInfo',
        summary: 'a docker network as Dokku shows it (network:info --format json); 404 when there is none',
        params: networkParams,
        querystring: hostTimeoutSchema,
        response: { 200: dokkuNetworkSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const n = await networkInfo(ops, { network: request.params.network, ...common(request.query) });
      if (!n) return reply.code(404).send({ error: 'Network does not exist' });
      return reply.code(200).send(asJson(n));
    },
  );

  api.get(
    '/v1/networks',
    {
      schema: {
        tags: ['network:list'],
        operationId: 'networkList',
        summary: "the host's docker networks as Dokku lists them, by name (network:list --format json)",
        querystring: networkListQuerySchema,
        response: { 200: dokkuNetworksSchema, ...errorResponses },
      },
    },
    async (request) => {
      const managed = request.query.managed === true;
      return (await networkList(ops, { managed, ...common(request.query) })).map(asJson);
    },
  );
}
