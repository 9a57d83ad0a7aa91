import { type Command, InvalidArgumentError, Option } from 'commander';
import type { Config } from '../../src/config.js';
import { BadInputError, quoteInput } from '../../src/errors.js';
import { describeZodError, hostIdSchema } from '../../src/jobs.js';
import { NetqQueues } from '../../src/queue.js';
import { ensureRedis } from '../client.js';
import type { DokkuOutput } from '../dokkuOutput.js';

/** What every command registration receives from the CLI entry. */
export interface CommandContext {
  getConfig: () => Config;
  /** ends the process at once; only for a second shutdown signal */
  forceExit: (code: number) => never;
  /** Dokku-style output, with the global --quiet and --trace applied */
  out: DokkuOutput;
}
export type RegisterCommand = (program: Command, ctx: CommandContext) => void;

export interface WaitFlags {
  wait: boolean;
  format: 'text' | 'json';
  timeout: number;
}

const REDIS_DEADLINE_MS = 10_000;

export function seconds(value: string): number {
  if (!/^\d+(\.\d+)?$/.test(value) || Number(value) <= 0 || Number(value) > 86_400) {
    throw new InvalidArgumentError('expected a number of seconds between 0 and 86400');
  }
  return Number(value);
}

/** Checks a --host value before anything connects: one line, exit 1. */
export function checkHost(host: string | undefined): void {
  if (host === undefined) return;
  const parsed = hostIdSchema.safeParse(host);
  if (!parsed.success) {
    throw new BadInputError(`invalid --host ${quoteInput(host)}: ${describeZodError(parsed.error)}`);
  }
}

export const formatOption = () =>
  new Option('--format <format>', 'output format').choices(['text', 'json']).default('text');
export const timeoutOption = () =>
  new Option('--timeout <seconds>', 'how long to wait for the result').argParser(seconds).default(600);

export function print(text: string, out: NodeJS.WriteStream = process.stdout) {
  out.write(text.endsWith('\n') ? text : `${text}\n`);
}

/** Connects to Redis (failing fast, naming REDIS_URL), runs fn, and always disconnects. */
export async function withQueues<T>(config: Config, timeoutS: number, fn: (q: NetqQueues) => Promise<T>): Promise<T> {
  const queues = new NetqQueues(config);
  queues.redis.on('error', () => {});
  try {
    await ensureRedis(queues, Math.min(timeoutS * 1000, REDIS_DEADLINE_MS));
    return await fn(queues);
  } finally {
    await queues.close();
  }
}
