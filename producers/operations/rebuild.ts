import { queueName } from '../../src/jobs.js';
import type { RebuildResult } from '../../src/types.js';
import { rebuildEverywhere } from '../client.js';
import { checkApp, checkHost } from './checks.js';
import type { OperationContext, QueuedJob } from './context.js';

/** `network:rebuild <app>` (POST /v1/apps/:app/rebuild). */

export interface RebuildInput {
  app: string;
  /** the host; default: every host where the app was last seen, else every live host */
  host?: string;
  /**
   * false: only enqueue, debounced (NETQ_DEBOUNCE_MS, as Docker events): such requests come in bursts (deploy
   * hooks), and a burst gives one run at its start and one after it
   */
  wait: boolean;
  timeoutMs: number;
  /** told at once when a rebuild waits on a host that no live worker serves */
  onNoWorker?: (host: string) => void;
}

export interface RebuildOutcome {
  app: string;
  /** one rebuild job per host */
  jobs: QueuedJob[];
  /** with `wait`: one result per host that has the app (one empty result when none has) */
  results?: RebuildResult[];
}

/** Several hosts' results as one answer: the counts summed, one result per host. */
export interface RebuildSum {
  app: string;
  containers: number;
  configured: number;
  failed: number;
  results: RebuildResult[];
}

/**
 * Rebuilds an app on every host it lives on (or the one named), in parallel, with one result per host. An app
 * seen nowhere yet is looked for on every live host. A request that does not wait is debounced: the first of a
 * quiet app runs at once, the rest of a burst once after it (src/enqueue.ts); a waited one runs at once.
 */
export async function rebuild(ctx: OperationContext, input: RebuildInput): Promise<RebuildOutcome> {
  checkApp(input.app);
  checkHost(input.host, ctx.hostInput);
  const queues = await ctx.queues();
  const { hosts, jobIds, results } = await rebuildEverywhere(
    queues,
    { app: input.app, ...(input.host === undefined ? {} : { host: input.host }) },
    {
      wait: input.wait,
      timeoutMs: input.timeoutMs,
      ...(input.wait ? {} : { delayMs: ctx.config.debounceMs }),
      ...(input.onNoWorker ? { onNoWorker: input.onNoWorker } : {}),
    },
  );
  const jobs = jobIds.map((jobId, i) => ({ jobId, queue: queueName.rebuild(hosts[i] ?? '') }));
  return { app: input.app, jobs, ...(results ? { results } : {}) };
}

/** The failed containers of all hosts. */
export const failedOf = (results: RebuildResult[]) => results.reduce((n, r) => n + r.failed, 0);

/** The answer to a waited rebuild (CLI `--format json`, HTTP): one host's result as it is, several hosts' summed. */
export function rebuildAnswer(app: string, results: RebuildResult[]): RebuildResult | RebuildSum {
  const [only] = results;
  if (results.length === 1 && only) return only;
  return {
    app,
    containers: results.reduce((n, r) => n + r.containers, 0),
    configured: results.reduce((n, r) => n + r.configured, 0),
    failed: failedOf(results),
    results,
  };
}
