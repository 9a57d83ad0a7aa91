import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import type { Config } from '../../src/config.js';
import { BadInputError } from '../../src/errors.js';
import type { Logger } from '../../src/logger.js';
import type { NetqQueues } from '../../src/queue.js';
import { registerApiRoutes } from './apiRoutes.js';
import { authHook, dashboardWriteHook } from './auth.js';
import { registerDashboard } from './dashboard.js';
import { errorReply } from './errorReply.js';
import { registerHealth } from './health.js';
import { hostHook, hostMatcher } from './hostCheck.js';
import { NetqMetrics, registerMetrics } from './metrics.js';
import { registerOpenApi, registerOpenApiRoute } from './openapi.js';

/**
 * The fastify instance of `netq serve`: the JSON API under /v1 and its OpenAPI document at /openapi.json,
 * the dashboard under /ui, /metrics (all behind NETQ_API_TOKEN when it is set) and /healthz. Every request
 * first passes the Host check
 * (DNS rebinding), then the dashboard's write rule (read-only without a token, no cross-site writes),
 * then the token. The caller owns `queues` and closes them after `app.close()`; the server closes what it
 * opened itself (the metrics' queue events).
 */

export interface ServerOptions {
  /** the API's settings, and what the operations read (Dokku mode, the debounce) */
  config: Config;
  queues: NetqQueues;
  logger: Logger;
}

const BODY_LIMIT = 64 * 1024;
/** fastify's default: a longer path segment (an app name is at most 63) is refused with 414 */
const MAX_PARAM_LENGTH = 100;
const QUIET = /^\/(healthz|metrics)(\?|$)/;

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

const isObject = (v: unknown) => typeof v === 'object' && v !== null && !Array.isArray(v);

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
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    // errors the router meets before any route runs: netq's JSON error, without echoing the path
    frameworkErrors: (err, request, reply) => {
      const message =
        err.code === 'FST_ERR_MAX_PARAM_LENGTH'
          ? `a path segment is longer than ${MAX_PARAM_LENGTH} characters`
          : err.code === 'FST_ERR_BAD_URL'
            ? 'the path is not a valid URL (a malformed %-escape)'
            : err.message;
      return errorReply(Object.assign(new Error(message), { statusCode: err.statusCode }), request, reply);
    },
    forceCloseConnections: 'idle',
  });

  // JSON bodies only: text/plain gets a 415 like any other type, not a string body
  app.removeContentTypeParser('text/plain');
  // an empty JSON body is no body (curl -X POST -H 'content-type: application/json' sends one)
  const json = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = body.toString();
    if (text.trim() === '') {
      done(null, undefined);
      return;
    }
    json(request, text, (err, value) => {
      // a body is a JSON object (no body is no body: the routes take it as {})
      if (!err) return isObject(value) ? done(null, value) : done(new BadInputError('body must be a JSON object'));
      // fastify says "not valid JSON" for valid JSON that it refuses for its __proto__ or constructor keys
      if (!isJson(text)) return done(err, undefined);
      done(new BadInputError('body must not have "__proto__" or "constructor.prototype" keys'), undefined);
    });
  });

  // in this order, before any route: Host header, dashboard writes, token
  app.addHook('onRequest', hostHook(config));
  app.addHook('onRequest', dashboardWriteHook(config.apiToken !== undefined, hostMatcher(config)));
  if (config.apiToken !== undefined) app.addHook('onRequest', authHook(config.apiToken));
  app.setErrorHandler((err, request, reply) => errorReply(err, request, reply));
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({ error: `no route ${request.method} ${request.url.split('?')[0]?.slice(0, 200)}` }),
  );

  // the OpenAPI generator first: it collects the routes as they are added
  await registerOpenApi(app);
  registerHealth(app, queues);
  await registerApiRoutes(app, config, queues);
  registerOpenApiRoute(app);
  const metrics = new NetqMetrics(queues, logger.child({ component: 'metrics' }));
  registerMetrics(app, metrics);
  await registerDashboard(app, queues, { readOnly: config.apiToken === undefined });
  app.addHook('onClose', () => metrics.close());
  await metrics.start();
  await app.ready();
  return app;
}
