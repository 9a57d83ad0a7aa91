import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import type { Config } from '../../src/config.js';
import type { Logger } from '../../src/logger.js';
import type { NetqQueues } from '../../src/queue.js';
import { registerApiRoutes } from './apiRoutes.js';
import { authHook } from './auth.js';
import { registerDashboard } from './dashboard.js';
import { errorReply } from './errorReply.js';
import { registerHealth } from './health.js';
import { NetqMetrics, registerMetrics } from './metrics.js';

/**
 * The fastify instance of `netq serve`: the JSON API under /v1, the dashboard under /ui, /metrics (all
 * three behind NETQ_API_TOKEN when it is set) and /healthz. The caller owns `queues` and closes them
 * after `app.close()`; the server closes what it opened itself (the metrics' queue events).
 */

export interface ServerOptions {
  config: Pick<Config, 'apiToken'>;
  queues: NetqQueues;
  logger: Logger;
}

const BODY_LIMIT = 64 * 1024;
const QUIET = /^\/(healthz|metrics)(\?|$)/;

export async function buildServer({ config, queues, logger }: ServerOptions): Promise<FastifyInstance> {
  const app = Fastify({
    // the token travels in the Authorization header: never log it, whatever the log level
    loggerInstance: logger.child(
      { component: 'http' },
      { redact: { paths: ['req.headers.authorization', 'headers.authorization'], censor: '***' } },
    ) as FastifyBaseLogger,
    // probes and scrapes every few seconds would drown the log; /healthz logs when it is unhealthy
    logController: new LogController({ disableRequestLogging: (request) => QUIET.test(request.url) }),
    bodyLimit: BODY_LIMIT,
    forceCloseConnections: 'idle',
  });

  // an empty JSON body is no body (curl -X POST -H 'content-type: application/json' sends one)
  const json = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = body.toString();
    if (text.trim() === '') {
      done(null, undefined);
      return;
    }
    json(request, text, done);
  });

  if (config.apiToken !== undefined) app.addHook('onRequest', authHook(config.apiToken));
  app.setErrorHandler((err, request, reply) => errorReply(err, request, reply));
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({ error: `no route ${request.method} ${request.url.split('?')[0]?.slice(0, 200)}` }),
  );

  registerHealth(app, queues);
  registerApiRoutes(app, queues);
  const metrics = new NetqMetrics(queues, logger.child({ component: 'metrics' }));
  registerMetrics(app, metrics);
  await registerDashboard(app, queues);
  app.addHook('onClose', () => metrics.close());
  await metrics.start();
  await app.ready();
  return app;
}
