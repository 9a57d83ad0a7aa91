// One measured `netq network:rebuildall` over the warm fleet: wall time, where the time went (BullMQ's job
// timestamps and the workers' logs), Redis commands and CPU, Docker calls, the CPU of each party, and the
// CLI's memory while it waits. Its printed counts are checked.
import path from 'node:path';
import { jobId } from '../../src/jobs.js';
import type { RebuildallResult } from '../../src/types.js';
import { median } from '../stats.js';
import { runRebuildall } from './fleetCli.js';
import { callsBetween } from './fleetEngines.js';
import type { FleetRun } from './fleetRun.js';
import { logLines } from './fleetWorkers.js';
import { cpuSeconds, totalCpuSeconds } from './procStats.js';
import { between, type RedisDelta, snapshot } from './redisFigures.js';
import type { CallCounts } from './simEngine.js';

export interface FleetRound {
  runId: string;
  /** CLI spawn to exit */
  wallMs: number;
  /** CLI spawn to its printed result */
  printedMs: number;
  /** summary job created → finished (BullMQ's timestamps) */
  inQueueMs: number;
  steps: {
    /** CLI spawn → summary job added */
    enqueueMs: number;
    /** summary added → the last host's scan done (its apps' jobs all finished and counted) */
    hostsMs: number;
    /** last scan done → summary taken by a worker */
    summaryWaitMs: number;
    /** the summary job's own run (adding every app's result up) */
    summaryRunMs: number;
    /** summary done → CLI exit (hearing of it, printing, exiting) */
    answerMs: number;
    /** a scan's first step (list call, one child job per app), median over hosts */
    scanListMs: number;
    /** one app's job (worker log durationMs), median and 95th percentile */
    appJobMs: number;
    appJobP95Ms: number;
    appJobs: number;
  };
  redis: RedisDelta;
  docker: CallCounts;
  cpuS: { workers: number; engines: number; redis: number; cli: number };
  cliRss: { peakMb: number; medianMb: number; samples: number };
  outcome: string;
}

const quantile = (xs: number[], q: number) => {
  if (!xs.length) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] as number;
};

/** One round; `tty`: the CLI on a terminal, with its progress bar. */
export async function measureRound(run: FleetRun, apps: number, hosts: string[], tty = false): Promise<FleetRound> {
  const { redis, queues } = run.ready();
  const engines = run.engines;
  if (!engines) throw new Error('no simulated engines');
  const workerPids = run.workers.map((w) => w.pid);
  const [r0, calls0, w0, e0, x0] = await Promise.all([
    snapshot(redis.client),
    engines.calls(),
    totalCpuSeconds(workerPids),
    cpuSeconds(engines.pid),
    cpuSeconds(redis.pid),
  ]);
  const cli = await runRebuildall({
    build: run.build,
    redisUrl: redis.url,
    prefix: run.prefix,
    timeoutS: Math.max(300, Math.ceil(apps / 10)),
    tty,
    outFile: path.join(run.tmp, 'rebuildall.json'),
  });
  const endedAt = Date.now();
  const [r1, calls1, w1, e1, x1] = await Promise.all([
    snapshot(redis.client),
    engines.calls(),
    totalCpuSeconds(workerPids),
    cpuSeconds(engines.pid),
    cpuSeconds(redis.pid),
  ]);

  let s: RebuildallResult | undefined;
  try {
    // on a terminal the progress bar shares the output: the result is the line that is a JSON object
    const line = tty ? (cli.stdout.slice(cli.stdout.indexOf('{"apps"')).split(/\r?\n/)[0] ?? '') : cli.stdout;
    s = JSON.parse(line) as RebuildallResult;
  } catch {}
  const containers = apps * run.options.procs.length;
  if (
    cli.code !== 0 ||
    !s ||
    s.apps !== apps ||
    s.containers !== containers ||
    s.configured !== containers ||
    s.failed !== 0 ||
    s.hostFailures.length !== 0
  ) {
    const got = s
      ? `${s.apps} apps, ${s.containers} containers, ${s.configured} configured, ${s.failed} failed, ${s.hostFailures.length} host failures`
      : cli.stdout.slice(0, 300);
    run.problem(
      `rebuildall: exit ${cli.code}, ${got} (want ${apps} apps, ${containers} configured, 0 failed) ${cli.stderr.slice(0, 300)}`,
    );
  }
  const outcome = s ? `${s.configured} of ${s.containers} configured, ${s.failed} failed` : 'no summary';

  // this CLI's run: the summary over every host added after it started
  const recent = await queues.summaryQueue().getJobs(['completed'], 0, 50, false);
  const job = recent
    .filter((j) => j.timestamp >= cli.startedAt && j.data.hosts.length === hosts.length)
    .sort((a, b) => a.timestamp - b.timestamp)[0];
  const runId = String(job?.id ?? '');
  const scans = await Promise.all(hosts.map((h) => queues.scanQueue(h).getJob(jobId.scan(runId, h))));
  const lastScan = Math.max(...scans.map((j) => j?.finishedOn ?? Number.NaN));
  const scanLines = (await logLines(run.workers, 'scanned host', cli.startedAt, endedAt)).filter(
    (l) => l.runId === runId,
  );
  const appLines = await logLines(run.workers, 'rebuilt app', cli.startedAt, endedAt);
  const appMs = appLines.map((l) => Number(l.durationMs));
  const ts = job?.timestamp ?? Number.NaN;
  const processedOn = job?.processedOn ?? Number.NaN;
  const finishedOn = job?.finishedOn ?? Number.NaN;
  return {
    runId,
    wallMs: cli.exitMs,
    printedMs: cli.printedMs,
    inQueueMs: finishedOn - ts,
    steps: {
      enqueueMs: ts - cli.startedAt,
      hostsMs: lastScan - ts,
      summaryWaitMs: processedOn - lastScan,
      summaryRunMs: finishedOn - processedOn,
      answerMs: cli.startedAt + cli.exitMs - finishedOn,
      scanListMs: median(scanLines.map((l) => Number(l.durationMs))),
      appJobMs: median(appMs),
      appJobP95Ms: quantile(appMs, 0.95),
      appJobs: appMs.length,
    },
    redis: between(r0, r1),
    docker: callsBetween(calls0, calls1),
    cpuS: { workers: w1 - w0, engines: e1 - e0, redis: x1 - x0, cli: cli.cpuS },
    cliRss: cli.rss,
    outcome,
  };
}
