import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { appNameProblem } from '../src/appName.js';
import { type Config, loadConfig } from '../src/config.js';
import { BadInputError, ConfigError, coerceError, ExitError, JobFailedError, NetqError } from '../src/errors.js';
import { createLogger } from '../src/logger.js';
import { NetqQueues } from '../src/queue.js';
import { startWorkerPool } from '../workers/pool.js';
import { ensureRedis, rebuild, rebuildall } from './client.js';
import { exitCodeOf, formatRebuild, formatRebuildall } from './format.js';
import { rebuildallProgressBar } from './progress.js';

/**
 * The `netq` command. This file is the only place that exits: commands return or throw, and
 * `main` maps errors to exit codes (bad input 1; rebuild: the number of failed containers, 255 at most).
 */

interface WaitFlags {
  wait: boolean;
  format: 'text' | 'json';
  timeout: number;
}

const REDIS_DEADLINE_MS = 10_000;

function seconds(value: string): number {
  if (!/^\d+(\.\d+)?$/.test(value) || Number(value) <= 0 || Number(value) > 86_400) {
    throw new InvalidArgumentError('expected a number of seconds between 0 and 86400');
  }
  return Number(value);
}

const formatOption = () => new Option('--format <format>', 'output format').choices(['text', 'json']).default('text');
const timeoutOption = () =>
  new Option('--timeout <seconds>', 'how long to wait for the result').argParser(seconds).default(600);

function print(out: NodeJS.WriteStream, text: string) {
  out.write(text.endsWith('\n') ? text : `${text}\n`);
}

async function withQueues<T>(config: Config, timeoutS: number, fn: (q: NetqQueues) => Promise<T>): Promise<T> {
  const queues = new NetqQueues(config);
  queues.redis.on('error', () => {});
  try {
    await ensureRedis(queues, Math.min(timeoutS * 1000, REDIS_DEADLINE_MS));
    return await fn(queues);
  } finally {
    await queues.close();
  }
}

export function buildProgram(getConfig: () => Config): Command {
  const program = new Command('netq')
    .description("Dokku's network plugin as a job queue: rebuild container network config through BullMQ workers")
    .showHelpAfterError(false)
    .exitOverride()
    .configureOutput({
      // commander's errors, as one line in netq's own form: `netq: unknown option '--x'`
      outputError: (str, write) => write(`netq: ${(str.split('\n')[0] ?? str).replace(/^error: /, '')}\n`),
    });

  program
    .command('worker')
    .description('run a worker pool for this host (NETQ_HOST_ID) until SIGTERM or SIGINT')
    .action(async () => {
      const config = getConfig();
      const logger = createLogger(config.logLevel);
      const pool = await startWorkerPool({ config, logger });
      await new Promise<void>((resolve) => {
        const stop = (signal: NodeJS.Signals) => {
          logger.info({ signal }, 'stopping: finishing active jobs');
          process.once(signal, () => {
            logger.warn({ signal }, 'second signal: exiting without waiting for active jobs');
            process.exit(130);
          });
          pool.close().then(resolve, resolve);
        };
        process.once('SIGTERM', stop);
        process.once('SIGINT', stop);
      });
    });

  program
    .command('network:rebuild')
    .description('rebuild the network config of an app')
    .argument('<app>', 'app name')
    .option('--no-wait', 'only enqueue; print the job id')
    .option('--host <host>', 'the host that runs the app (default: where it was last seen)')
    .addOption(formatOption())
    .addOption(timeoutOption())
    .action(async (app: string, flags: WaitFlags & { host?: string }) => {
      const problem = appNameProblem(app);
      if (problem) throw new BadInputError(`invalid app name ${JSON.stringify(app)}: ${problem}`);
      const config = getConfig();
      const { jobId, result } = await withQueues(config, flags.timeout, (q) =>
        rebuild(
          q,
          { app, ...(flags.host ? { host: flags.host } : {}) },
          { wait: flags.wait, timeoutMs: flags.timeout * 1000 },
        ),
      );
      if (!result) {
        print(process.stdout, flags.format === 'json' ? JSON.stringify({ jobId }) : jobId);
        return;
      }
      print(process.stdout, flags.format === 'json' ? JSON.stringify(result) : formatRebuild(result));
      const code = exitCodeOf(result.failed);
      if (code) throw new ExitError(code);
    });

  program
    .command('network:rebuildall')
    .description('rebuild the network config of every app on every live host')
    .option('--no-wait', 'only enqueue; print the run id')
    .addOption(formatOption())
    .addOption(timeoutOption())
    .action(async (flags: WaitFlags) => {
      const config = getConfig();
      const bar = flags.wait ? rebuildallProgressBar() : undefined;
      const { jobId, result } = await withQueues(config, flags.timeout, (q) =>
        rebuildall(q, {
          wait: flags.wait,
          timeoutMs: flags.timeout * 1000,
          ...(bar ? { onProgress: (p) => bar.update(p) } : {}),
        }),
      ).finally(() => bar?.stop());
      if (!result) {
        print(process.stdout, flags.format === 'json' ? JSON.stringify({ jobId }) : jobId);
        return;
      }
      print(process.stdout, flags.format === 'json' ? JSON.stringify(result) : formatRebuildall(result));
      const code = exitCodeOf(result.failed, result.hostFailures.length);
      if (code) throw new ExitError(code);
    });

  return program;
}

/** Runs the CLI and returns the exit code; never exits itself. */
export async function run(argv: string[]): Promise<number> {
  let config: Config | undefined;
  const getConfig = () => {
    config ??= loadConfig();
    return config;
  };
  try {
    await buildProgram(getConfig).parseAsync(argv, { from: 'user' });
    return 0;
  } catch (raw) {
    if (raw instanceof ExitError) return raw.code;
    if (raw instanceof CommanderError) return raw.exitCode === 0 ? 0 : 1;
    if (raw instanceof ConfigError) {
      for (const line of raw.lines) process.stderr.write(`netq: ${line}\n`);
      return 1;
    }
    const err = coerceError(raw);
    if (err instanceof BadInputError) {
      process.stderr.write(`netq: ${err.message}\n`);
      return 1;
    }
    if (err instanceof JobFailedError || err instanceof NetqError) {
      process.stderr.write(`netq: ${err.message}\n`);
      return 1;
    }
    process.stderr.write(
      `netq: internal error: ${err.stack ?? err.message}\nplease report this at the netq issue tracker\n`,
    );
    return 1;
  }
}

const code = await run(process.argv.slice(2));
process.exitCode = code;
// Let pending writes flush, then leave even if a library keeps a handle open.
setTimeout(() => process.exit(code), 50).unref();
