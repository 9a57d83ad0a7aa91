import { type Command, InvalidArgumentError, Option } from 'commander';
import { type Config, DEFAULTS } from '../../src/config.js';
import { NetqQueues } from '../../src/queue.js';
import { ensureRedis } from '../client.js';
import type { DokkuOutput } from '../dokkuOutput.js';
import type { OperationContext } from '../operations/context.js';

/**
 * What every CLI command gets and shares: its context from the CLI entry, the common options (`--format`,
 * `--timeout`), printing, and the operation context (producers/operations/) that connects to Redis on demand.
 */

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

/** How the CLI names a host in the messages of the operations' checks. */
export const HOST_INPUT = '--host';

export function seconds(value: string): number {
  if (!/^\d+(\.\d+)?$/.test(value) || Number(value) <= 0 || Number(value) > 86_400) {
    throw new InvalidArgumentError('expected a number of seconds between 0 and 86400');
  }
  return Number(value);
}

export const formatOption = () =>
  new Option('--format <format>', 'output format').choices(['text', 'json']).default('text');
export const timeoutOption = () =>
  new Option('--timeout <seconds>', 'how long to wait for the result')
    .argParser(seconds)
    .default(DEFAULTS.waitTimeoutS);

export function print(text: string, out: NodeJS.WriteStream = process.stdout) {
  out.write(text.endsWith('\n') ? text : `${text}\n`);
}

/**
 * Runs fn with an operation context for one command: the config read when first needed, Redis connected
 * when the operation first asks for it (failing fast, naming REDIS_URL, within `timeoutS` or 10 s) and always
 * closed after fn. An operation that refuses its input never connects.
 */
export async function withOperations<T>(
  getConfig: () => Config,
  timeoutS: number,
  fn: (ops: OperationContext) => Promise<T>,
): Promise<T> {
  let queues: NetqQueues | undefined;
  let ready: Promise<NetqQueues> | undefined;
  const connect = async () => {
    const q = new NetqQueues(getConfig());
    queues = q;
    q.redis.on('error', () => {});
    await ensureRedis(q, Math.min(timeoutS * 1000, REDIS_DEADLINE_MS));
    return q;
  };
  const ops: OperationContext = {
    get config() {
      return getConfig();
    },
    queues: () => {
      ready ??= connect();
      return ready;
    },
    hostInput: HOST_INPUT,
  };
  try {
    return await fn(ops);
  } finally {
    if (queues) await queues.close();
  }
}
