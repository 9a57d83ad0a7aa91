import { jobId } from '../src/jobs.js';
import type { NetqQueues } from '../src/queue.js';
import type { BenchApp } from './containers.js';
import type { NetqRound } from './netqRebuildall.js';
import { stats } from './stats.js';

/** Where the time of one netq rebuildall went, from BullMQ's job timestamps (ms after the CLI started). */
export async function netqTimeline(queues: NetqQueues, round: NetqRound, apps: BenchApp[]) {
  const summary = await queues.summaryQueue().getJob(round.runId);
  const scan = await queues.scanQueue('local').getJob(jobId.scan(round.runId, 'local'));
  const rebuilds = await Promise.all(
    apps.map((a) => queues.rebuildQueue('local').getJob(jobId.runChild(round.runId, 'local', a.app))),
  );
  const t0 = round.startedAt;
  const at = (v: number | undefined) => (v === undefined ? Number.NaN : v - t0);
  const done = rebuilds.filter((j) => j?.processedOn !== undefined && j.finishedOn !== undefined);
  const durations = done.map((j) => (j?.finishedOn ?? 0) - (j?.processedOn ?? 0));
  return {
    summaryAdded: at(summary?.timestamp),
    childrenAdded: at(Math.min(...rebuilds.map((j) => j?.timestamp ?? Number.POSITIVE_INFINITY))),
    firstRebuildStarted: at(Math.min(...done.map((j) => j?.processedOn ?? Number.POSITIVE_INFINITY))),
    lastRebuildFinished: at(Math.max(...done.map((j) => j?.finishedOn ?? 0))),
    scanFinished: at(scan?.finishedOn),
    summaryFinished: at(summary?.finishedOn),
    printed: round.ms,
    exited: round.exitMs,
    rebuildJobMs: stats(durations),
    rebuildJobs: done.length,
  };
}
export type Timeline = Awaited<ReturnType<typeof netqTimeline>>;
