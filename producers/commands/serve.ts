import { redactUrl } from '../../src/config.js';
import { BadInputError, coerceError, NetqError } from '../../src/errors.js';
import { createLogger } from '../../src/logger.js';
import { NetqQueues } from '../../src/queue.js';
import { listenProblem } from '../http/auth.js';
import type { RegisterCommand } from './commandContext.js';

const CLOSE_DEADLINE_MS = 30_000;

/**
 * `netq serve`: the commands over HTTP (NETQ_API_LISTEN), the BullMQ dashboard at /ui, /metrics and
 * /healthz, until SIGTERM/SIGINT; a second signal, or a close that takes 30 s, exits at once.
 */
export const registerServe: RegisterCommand = (program, ctx) => {
  program
    .command('serve')
    .description('serve the commands over HTTP with a token, the BullMQ dashboard (/ui), /metrics and /healthz')
    .action(async () => {
      const config = ctx.getConfig();
      const problem = listenProblem(config);
      if (problem) throw new BadInputError(problem);
      // fastify, bull-board and prom-client load only for this command, not for every netq call
      const { buildServer } = await import('../http/server.js');
      const logger = createLogger(config.logLevel);
      const queues = new NetqQueues(config);
      let lastRedisError = '';
      queues.redis.on('error', (err: Error) => {
        if (err.message === lastRedisError) return;
        lastRedisError = err.message;
        logger.warn({ err, redis: redactUrl(config.redisUrl) }, 'redis connection error'); // once per distinct error
      });
      queues.redis.on('ready', () => {
        lastRedisError = '';
      });
      const app = await buildServer({ config, queues, logger }).catch(async (err: unknown) => {
        await queues.close();
        throw err;
      });
      const { host, port } = config.apiListen;
      try {
        const address = await app.listen({ host, port });
        logger.info(
          { address, auth: config.apiToken === undefined ? 'none (loopback only)' : 'bearer token' },
          'netq serve listening',
        );
      } catch (err) {
        await app.close().catch(() => {});
        await queues.close();
        throw new NetqError(`cannot listen on ${host}:${port}: ${coerceError(err).message}`, { cause: err });
      }
      await new Promise<void>((resolve) => {
        const stop = (signal: NodeJS.Signals) => {
          logger.info({ signal }, 'stopping: no new requests, finishing those in flight');
          process.once(signal, () => {
            logger.warn({ signal }, 'second signal: exiting without waiting for requests in flight');
            ctx.forceExit(130);
          });
          setTimeout(() => {
            logger.warn('requests in flight did not finish in 30 s: exiting');
            ctx.forceExit(1);
          }, CLOSE_DEADLINE_MS).unref();
          app
            .close()
            .catch((err: unknown) => logger.warn({ err }, 'close failed'))
            .then(() => queues.close())
            .then(resolve, resolve);
        };
        process.once('SIGTERM', stop);
        process.once('SIGINT', stop);
      });
      logger.info('netq serve stopped');
    });
};
