import { createLogger } from '../../src/logger.js';
import type { RegisterCommand } from './commandContext.js';

/** `netq worker`: serve this host's queues until SIGTERM/SIGINT; a second signal exits at once. */
export const registerWorker: RegisterCommand = (program, ctx) => {
  program
    .command('worker')
    .description('run a worker pool for this host (NETQ_HOST_ID) until SIGTERM or SIGINT')
    .action(async () => {
      const config = ctx.getConfig();
      const logger = createLogger(config.logLevel);
      // loaded here, not at start-up: dockerode and the workers cost every other command ~0.3 s
      const { startWorkerPool } = await import('../../workers/pool.js');
      const pool = await startWorkerPool({ config, logger });
      await new Promise<void>((resolve) => {
        const stop = (signal: NodeJS.Signals) => {
          logger.info({ signal }, 'stopping: no new jobs, finishing active ones');
          process.once(signal, () => {
            logger.warn({ signal }, 'second signal: exiting without waiting for active jobs');
            ctx.forceExit(130);
          });
          pool.close().then(resolve, resolve);
        };
        process.once('SIGTERM', stop);
        process.once('SIGINT', stop);
      });
    });
};
