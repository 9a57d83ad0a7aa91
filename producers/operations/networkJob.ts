import { DokkuError, JobFailedError, quoteInput } from '../../src/errors.js';
import {
  type ControlJobName,
  describeZodError,
  type JobData,
  type JobResults,
  networkNameSchema,
} from '../../src/jobs.js';
import { hostForCommand, runControl } from '../client.js';
import type { OperationContext } from './context.js';

/**
 * What the network:* operations share: the name checks, and running one job on a host's control queue,
 * answered by its worker (the host named, else the only live host).
 */

/**
 * netq's own refusal of a name it will not send to a worker (Docker itself takes almost any name, `a b` too):
 * a Dokku-style failure line (exit 1 in the CLI, 400 over HTTP).
 */
export function checkNetworkName(network: string): void {
  const parsed = networkNameSchema.safeParse(network);
  if (!parsed.success) {
    throw new DokkuError(`invalid network name ${quoteInput(network)}: ${describeZodError(parsed.error)}`);
  }
}

/** Dokku's refusal of a command without a network name. */
export function requireNetworkName(network: string | undefined): asserts network is string {
  if (network === undefined || network === '') throw new DokkuError('No network name specified');
}

export interface NetworkJobRun<K extends ControlJobName> {
  /** the job name (`JOB.network…`) */
  name: K;
  /** the host named, if any */
  host: string | undefined;
  /** the payload, for the host chosen */
  data: (host: string) => JobData[K];
  timeoutMs: number;
  /**
   * Dokku's prefix for a refusal (`Unable to create network`): a job the worker failed (the engine refused, or the
   * worker refused the payload) becomes a DokkuError `<prefix>: <the worker's reason>`. Redis, worker and timeout
   * failures stay netq's own.
   */
  refusal?: string;
}

/** Runs one network:* job on its host's control queue and returns its result. */
export async function runNetworkJob<K extends ControlJobName>(
  ctx: OperationContext,
  run: NetworkJobRun<K>,
): Promise<JobResults[K]> {
  const queues = await ctx.queues();
  const host = await hostForCommand(queues, run.host, ctx.hostInput);
  try {
    const { result } = await runControl(queues, host, run.name, run.data(host), {
      wait: true,
      timeoutMs: run.timeoutMs,
    });
    return result as JobResults[K];
  } catch (err) {
    if (run.refusal !== undefined && err instanceof JobFailedError && err.reason !== undefined) {
      throw new DokkuError(`${run.refusal}: ${err.reason}`);
    }
    throw err;
  }
}
