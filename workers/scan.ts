import { type Job, WaitingChildrenError } from 'bullmq';
import { appNameProblem } from '../src/appName.js';
import type { DokkuPaths } from '../src/config.js';
import { isTempName } from '../src/docker/replaceContainer.js';
import { dokkuApps, readContainerFiles } from '../src/dokku/dokkuState.js';
import { quoteInput } from '../src/errors.js';
import {
  clip,
  JOB,
  jobId,
  jobIdOfKey,
  parseRunChildJobId,
  type ScanJob,
  type ScanResult,
  scanJobSchema,
} from '../src/jobs.js';
import type { Logger } from '../src/logger.js';
import { recordScan } from '../src/store/runProgress.js';
import type { RebuildResult } from '../src/types.js';
import type { WorkerContext } from './context.js';
import { parseJobData } from './jobData.js';

/**
 * One per host in a rebuildall: lists the host's apps with one call, adds one rebuild child per app,
 * waits for them, and adds their counts up (an app whose job failed for good counts every container it
 * had as failed, with the job's last error as the reason).
 */
export function scanProcessor(ctx: WorkerContext) {
  return async (job: Job<ScanJob, ScanResult>, token?: string): Promise<ScanResult> => {
    let data = parseJobData(job, JOB.scan, scanJobSchema, ctx.config.hostId);
    const log = ctx.logger.child({
      queue: job.queueName,
      jobId: job.id,
      host: data.host,
      runId: data.runId,
      attempt: job.attemptsMade + 1,
    });
    const started = performance.now();

    if (data.step === 'initial') {
      // the apps' event counts before the list: an event after this makes the app's job list afresh
      const events = await ctx.redis.hgetall(ctx.queues.keys.appEvents(data.host));
      const { byApp, refused, containers } = ctx.config.dokku
        ? await dokkuAppsOf(ctx.config.dokku)
        : await labelledAppsOf(ctx, log);
      const rebuilds = ctx.queues.rebuildQueue(data.host);
      const opts = ctx.queues.retryOptions();
      await rebuilds.addBulk(
        [...byApp].map(([app, e]) => ({
          name: JOB.rebuild,
          data: {
            app,
            host: data.host,
            runId: data.runId,
            ...(ctx.config.dokku ? {} : { containerIds: e.ids, eventSeq: Number(events[app] ?? 0) }),
          },
          opts: {
            ...opts,
            jobId: jobId.runChild(data.runId, data.host, app),
            parent: { id: String(job.id), queue: job.queueQualifiedName },
            ignoreDependencyOnFailure: true,
          },
        })),
      );
      const seen = Object.fromEntries([...byApp].map(([app, e]) => [app, e.names]));
      // the step is stored before anything reports the scan as done, so a re-run resumes from here
      data = { ...data, step: 'waiting', seen, ...(refused.length > 0 ? { refused } : {}) };
      await job.updateData(data);
      await recordScan(ctx.redis, ctx.queues.keys, data.runId, data.host, byApp.size);
      log.info({ apps: byApp.size, containers, durationMs: Math.round(performance.now() - started) }, 'scanned host');
    }

    return collectScan(job, token, data);
  };
}

type Listed = {
  byApp: Map<string, { ids: string[]; names: string[] }>;
  refused: NonNullable<ScanJob['refused']>;
  containers: number;
};

/** Without Dokku: the host's apps are those its containers' labels name (one list call). */
async function labelledAppsOf(ctx: WorkerContext, log: Logger): Promise<Listed> {
  const containers = await ctx.docker.listAppContainers();
  const byApp = new Map<string, { ids: string[]; names: string[] }>();
  const refused: NonNullable<ScanJob['refused']> = [];
  for (const c of containers) {
    if (isTempName(c.name)) continue; // netq's own replacement under way
    const problem = appNameProblem(c.app);
    if (problem) {
      const reason = `its app label ${quoteInput(c.app)} is not a valid app name: ${problem}`;
      log.warn({ container: c.name, label: quoteInput(c.app) }, `cannot configure container: ${reason}`);
      refused.push({ label: clip(c.app, 100), container: clip(c.name, 255), reason: clip(reason, 500) });
      continue;
    }
    const entry = byApp.get(c.app) ?? { ids: [], names: [] };
    entry.ids.push(c.id);
    entry.names.push(c.name);
    byApp.set(c.app, entry);
  }
  return { byApp, refused, containers: containers.length };
}

/**
 * Dokku mode: the host's apps are Dokku's (its app folders), each with the dynos its CONTAINER files name;
 * the per-app job reads them again itself, so it never acts on this list.
 */
async function dokkuAppsOf(d: DokkuPaths): Promise<Listed> {
  const byApp = new Map<string, { ids: string[]; names: string[] }>();
  let containers = 0;
  for (const app of await dokkuApps(d)) {
    if (appNameProblem(app)) continue;
    const files = await readContainerFiles(d, app);
    const names = [...files].filter(([, id]) => id !== '').map(([dyno]) => `${app}.${dyno}`);
    containers += names.length;
    byApp.set(app, { ids: [], names });
  }
  return { byApp, refused: [], containers };
}

/**
 * The second half of a scan, which needs no Docker: wait for the app jobs, then add their results up.
 * An app whose job failed for good counts every container the scan saw as failed, with the job's reason.
 */
export async function collectScan(
  job: Job<ScanJob, ScanResult>,
  token: string | undefined,
  data: ScanJob,
): Promise<ScanResult> {
  if (token !== undefined && (await job.moveToWaitingChildren(token))) throw new WaitingChildrenError();

  const values = (await job.getChildrenValues()) as Record<string, RebuildResult>;
  const failures = await job.getIgnoredChildrenFailures();
  const results: RebuildResult[] = Object.values(values);
  const allFailed = (app: string, reason: string): RebuildResult => {
    const names = data.seen?.[app] ?? [];
    return {
      app,
      host: data.host,
      containers: names.length,
      configured: 0,
      failed: names.length,
      listeners: {},
      failures: names.map((container) => ({ container, reason })),
    };
  };
  for (const [key, reason] of Object.entries(failures)) {
    const id = jobIdOfKey(key);
    results.push(allFailed(parseRunChildJobId(id)?.app ?? id, reason || 'job failed'));
  }
  // an app the scan saw (or, for an unscanned host, that the host last had) with no job result at all
  // still counts: its containers as failed
  const counted = new Set(results.map((r) => r.app));
  for (const app of Object.keys(data.seen ?? {})) {
    if (!counted.has(app)) results.push(allFailed(app, data.unscanned ?? 'its rebuild job in this run is gone'));
  }
  // containers of an invalid app label, one result per label: they count as failed
  const refusedByLabel = new Map<string, NonNullable<ScanJob['refused']>>();
  for (const r of data.refused ?? []) refusedByLabel.set(r.label, [...(refusedByLabel.get(r.label) ?? []), r]);
  for (const [label, rs] of refusedByLabel) {
    results.push({
      app: label,
      host: data.host,
      containers: rs.length,
      configured: 0,
      failed: rs.length,
      listeners: {},
      failures: rs.map((r) => ({ container: r.container, reason: r.reason })),
    });
  }
  results.sort((a, b) => a.app.localeCompare(b.app));
  return data.unscanned === undefined
    ? { host: data.host, results }
    : { host: data.host, results, unscanned: data.unscanned };
}
