import type { FastifyInstance } from 'fastify';
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Config } from '../../src/config.js';
import type { NetqQueues } from '../../src/queue.js';
import { serverOperations } from './routes/api.js';
import { registerAppLifecycleRoutes } from './routes/appLifecycle.js';
import { registerHostsRoutes } from './routes/hosts.js';
import { registerJobRoutes } from './routes/jobs.js';
import { registerNetworkRoutes } from './routes/networks.js';
import { registerRebuildRoutes } from './routes/rebuild.js';
import { registerReportRoutes } from './routes/report.js';
import { registerSetRoutes } from './routes/set.js';
import { validationError } from './validationError.js';

/**
 * The commands of the CLI under /v1, one route (or a few) per command, each calling the command's operation
 * (producers/operations/) that the CLI calls too. A route only parses the request (its zod schemas, checked by
 * fastify before it runs, so bad input touches no Redis and queues nothing), calls the operation and
 * serialises the answer (its response schemas). `wait=false` answers 202 with the job id and its queue, for
 * GET /v1/jobs/:id; a waited answer carries them in the netq-job-id and netq-queue headers.
 */
export async function registerApiRoutes(app: FastifyInstance, config: Config, queues: NetqQueues): Promise<void> {
  const ops = serverOperations(config, queues);
  await app.register(async (scope) => {
    // zod for these routes only: the dashboard and /metrics keep fastify's own compilers
    scope.setValidatorCompiler(validatorCompiler);
    scope.setSerializerCompiler(serializerCompiler);
    scope.setSchemaErrorFormatter(validationError);
    const api = scope.withTypeProvider<ZodTypeProvider>();
    registerRebuildRoutes(api, ops);
    registerSetRoutes(api, ops);
    registerReportRoutes(api, ops);
    registerNetworkRoutes(api, ops);
    registerAppLifecycleRoutes(api, ops);
    registerHostsRoutes(api, ops);
    registerJobRoutes(api, ops);
  });
}
