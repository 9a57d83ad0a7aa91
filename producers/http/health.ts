import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { coerceError } from '../../src/errors.js';
import { isLive, LIVE_MS, RETIRED_MS, windowEnd, windowStart } from '../../src/liveness.js';
import type { NetqQueues } from '../../src/queue.js';
import type { WorkerHealth } from '../../src/types.js';
import { withDeadline } from './liveQueues.js';

/** `/healthz` and the worker-health reading that /metrics shares. */

const REDIS_DEADLINE_MS = 2_000;

const workerHealthSchema = z.object({
  workerId: z.string().max(256),
  host: z.string().max(64),
  pid: z.number().int(),
  at: z.number(),
  watcher: z.object({
    state: z.enum(['connecting', 'connected', 'disconnected', 'stopped']),
    lastEventAt: z.number().nullable(),
    reconnects: z.number().int().min(0),
    lastError: z.string().nullable(),
  }),
});

/**
 * The entries of the `worker-health` hash of live workers (`isLive`) by Redis's clock (`now`, read
 * from Redis when not given); malformed ones are skipped.
 */
export async function liveWorkerHealth(queues: NetqQueues, now?: number): Promise<WorkerHealth[]> {
  const [all, clock] = await Promise.all([queues.redis.hgetall(queues.keys.workerHealth), now ?? queues.redisNow()]);
  const live: WorkerHealth[] = [];
  for (const raw of Object.values(all)) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      continue;
    }
    const r = workerHealthSchema.safeParse(parsed);
    if (r.success && isLive(r.data.at, clock)) live.push(r.data);
  }
  return live.sort((a, b) => a.host.localeCompare(b.host) || a.workerId.localeCompare(b.workerId));
}

export interface HealthReport {
  ok: boolean;
  /** 'ok', or why Redis is down */
  redis: string;
  workers: (WorkerHealth & { ok: boolean })[];
  /** one line per thing that is down */
  problems: string[];
}

/**
 * Healthy when Redis answers, the Docker event watcher of every live worker is connected, and no host
 * that sent heartbeats within the last hour has lost all its workers (its jobs would wait and its
 * events go unseen).
 */
export async function checkHealth(queues: NetqQueues): Promise<HealthReport> {
  let workers: WorkerHealth[];
  let silent: string[];
  let now: number;
  try {
    await withDeadline(queues.redis.ping(), REDIS_DEADLINE_MS, 'redis ping');
    // heartbeats carry Redis's clock: judged by it, not this machine's
    now = await withDeadline(queues.redisNow(), REDIS_DEADLINE_MS, "reading Redis's clock");
    [workers, silent] = await withDeadline(
      Promise.all([
        liveWorkerHealth(queues, now),
        // silent, but not retired (RETIRED_MS, src/liveness.ts)
        queues.redis.zrangebyscore(
          queues.keys.hosts,
          windowStart(now, RETIRED_MS),
          windowEnd(now, LIVE_MS),
          'WITHSCORES',
        ),
      ]),
      REDIS_DEADLINE_MS,
      'reading worker health and hosts',
    );
  } catch (raw) {
    const reason = `down: ${coerceError(raw).message}`;
    return { ok: false, redis: reason, workers: [], problems: [`redis ${reason}`] };
  }
  const problems: string[] = [];
  for (let i = 0; i + 1 < silent.length; i += 2) {
    const ago = Math.round((now - Number(silent[i + 1])) / 1000);
    problems.push(
      `host ${silent[i]}: no live worker (last heartbeat ${ago} s ago); its jobs wait and its events are not watched`,
    );
  }
  const shown = workers.map((w) => {
    const ok = w.watcher.state === 'connected';
    if (!ok) {
      const why = w.watcher.lastError ? ` (${w.watcher.lastError.split('\n')[0]})` : '';
      problems.push(`worker ${w.workerId} on host ${w.host}: Docker event watcher is ${w.watcher.state}${why}`);
    }
    return { ...w, ok };
  });
  return { ok: problems.length === 0, redis: 'ok', workers: shown, problems };
}

/** What /healthz shows to anyone, token or not. */
export interface PublicHealth {
  ok: boolean;
  /** 'ok', or 'down: <why>' */
  redis: string;
  workers: { workerId: string; host: string; ok: boolean; watcher: WorkerHealth['watcher']['state'] }[];
  problems: string[];
}

/** A URL (`redis://…`, `tcp://…`) in an error text: shown as `<url>`, whatever credentials or address it holds. */
const URL_IN_TEXT = /\b[a-z][a-z0-9+.-]*:\/\/[^\s()<>"']+/gi;
const MAX_LINE = 300;

/** One line of an error text, without URLs, for a page anyone may read. */
export function publicLine(text: string): string {
  const line = (text.split('\n')[0] ?? '').replace(URL_IN_TEXT, '<url>');
  return line.length > MAX_LINE ? `${line.slice(0, MAX_LINE)}…` : line;
}

/**
 * /healthz is public (a probe has no token), so it shows what a probe and an operator on call need and
 * nothing else: `ok`, `redis` ('ok' or 'down: <why>'), each live worker's id, host, watcher state and
 * `ok`, and one line per problem (a host without a live worker, a watcher that is not connected, with the
 * first line of its error). Never a job, an app, a queue or REDIS_URL: it reads no job, and URLs in error
 * texts show as `<url>`. A worker's pid, heartbeat times and reconnect count are left to /metrics.
 */
export function publicHealth(report: HealthReport): PublicHealth {
  return {
    ok: report.ok,
    redis: publicLine(report.redis),
    workers: report.workers.map((w) => ({ workerId: w.workerId, host: w.host, ok: w.ok, watcher: w.watcher.state })),
    problems: report.problems.map(publicLine),
  };
}

export function registerHealth(app: FastifyInstance, queues: NetqQueues) {
  app.get('/healthz', { config: { public: true } }, async (request, reply) => {
    const report = await checkHealth(queues);
    if (!report.ok) request.log.warn({ problems: report.problems }, 'unhealthy');
    return reply.code(report.ok ? 200 : 503).send(publicHealth(report));
  });
}
