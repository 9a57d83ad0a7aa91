import type { NetqQueues } from '../src/queue.js';
import type { RebuildallResult } from '../src/types.js';
import { type BenchRun, baseEnv, REDIS_URL } from './benchRun.js';
import { runTimed, type Timed } from './runTimed.js';

export interface NetqRound extends Timed {
  /** summary job created → finished, from BullMQ's own timestamps */
  queueMs: number;
  runId: string;
  startedAt: number;
  /** other rebuildalls (the worker's own host rebuilds) that ran while this one did */
  overlaps: number;
  /** what the CLI printed: "<configured> of <containers> configured, <failed> failed" */
  outcome: string;
}

/**
 * Contender C: `netq network:rebuildall` as a user runs it, against the warm worker, its printed counts
 * checked; also its time in the queue and whether one of the worker's own host rebuilds ran alongside.
 */
export async function runNetq(run: BenchRun, n: number, queues: NetqQueues): Promise<NetqRound> {
  const startedAt = Date.now();
  const r = await runTimed(
    process.execPath,
    ['bin/netq.js', 'network:rebuildall', '--format', 'json', '--timeout', '300'],
    {
      cwd: run.build,
      env: { ...baseEnv(), REDIS_URL, NETQ_PREFIX: run.netqPrefix, ...run.dokkuEnv() },
      timeoutMs: 320_000,
    },
  );
  let s: RebuildallResult | undefined;
  try {
    s = JSON.parse(r.stdout) as RebuildallResult;
  } catch {}
  if (
    r.code !== 0 ||
    !s ||
    s.apps !== n ||
    s.containers !== n * 2 ||
    s.configured !== n * 2 ||
    s.failed !== 0 ||
    s.hostFailures.length !== 0
  ) {
    const got = s ? `${s.apps} apps, ${s.containers} containers, ${s.configured} configured, ${s.failed} failed` : '';
    run.problem(
      `netq: exit ${r.code}, ${got || r.stdout.slice(0, 200)} (want ${n} apps, ${n * 2} configured, 0 failed) ${r.stderr.slice(0, 300)}`,
    );
  }
  // this CLI's run: the first summary added after it started (the worker's own host rebuild is older)
  const recent = await queues.summaryQueue().getJobs(['completed'], 0, 20, false);
  const job = recent.filter((j) => j.timestamp >= startedAt).sort((a, b) => a.timestamp - b.timestamp)[0];
  const queueMs = job?.finishedOn && job.timestamp ? job.finishedOn - job.timestamp : Number.NaN;
  // the worker's own host rebuilds (its event watcher queues one on every reconnect) that ran at the same time
  const overlaps = job
    ? recent.filter(
        (j) => j.id !== job.id && j.timestamp <= (job.finishedOn ?? 0) && (j.finishedOn ?? 0) >= job.timestamp,
      ).length
    : 0;
  const outcome = s ? `${s.configured} of ${s.containers} configured, ${s.failed} failed` : 'no summary';
  return { ...r, queueMs, runId: String(job?.id ?? ''), startedAt, overlaps, outcome };
}
