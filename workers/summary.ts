import { type Job, UnrecoverableError } from 'bullmq';
import { JOB, jobIdOfKey, parseScanJobId, type ScanResult, type SummaryJob, summaryJobSchema } from '../src/jobs.js';
import type { RebuildallResult } from '../src/types.js';
import type { WorkerContext } from './context.js';
import { parseJobData } from './jobData.js';

/** The root of a rebuildall: runs once every host's scan has finished, and adds everything up. */
export function summaryProcessor(ctx: WorkerContext) {
  return async (job: Job<SummaryJob, RebuildallResult>): Promise<RebuildallResult> => {
    const data = parseJobData(job, JOB.summary, summaryJobSchema, ctx.config.hostId);
    const scans = Object.values((await job.getChildrenValues()) as Record<string, ScanResult>);
    const failed = await job.getIgnoredChildrenFailures();
    // A summary runs once every scan child has finished, one way or the other; one without them was not
    // added as the root of a rebuildall, and adding up nothing would report its hosts as all fine.
    const heard = scans.length + Object.keys(failed).length;
    if (heard < data.hosts.length) {
      throw new UnrecoverableError(
        `summary of run ${data.runId} has results from ${heard} of ${data.hosts.length} hosts: it is not the root of a rebuildall`,
      );
    }
    const results = scans
      .flatMap((s) => s.results)
      .sort((a, b) => a.app.localeCompare(b.app) || a.host.localeCompare(b.host));
    const hostFailures = Object.entries(failed).map(([key, reason]) => {
      const id = jobIdOfKey(key);
      return { host: parseScanJobId(id)?.host ?? id, reason: reason || 'scan failed' };
    });
    for (const s of scans) if (s.unscanned !== undefined) hostFailures.push({ host: s.host, reason: s.unscanned });
    hostFailures.sort((a, b) => a.host.localeCompare(b.host));
    const summary: RebuildallResult = {
      apps: new Set(results.map((r) => r.app)).size,
      containers: results.reduce((n, r) => n + r.containers, 0),
      configured: results.reduce((n, r) => n + r.configured, 0),
      failed: results.reduce((n, r) => n + r.failed, 0),
      results,
      hostFailures,
    };
    ctx.logger.info(
      {
        queue: job.queueName,
        jobId: job.id,
        runId: data.runId,
        apps: summary.apps,
        containers: summary.containers,
        failed: summary.failed,
        hostFailures: hostFailures.length,
      },
      'rebuildall summary',
    );
    return summary;
  };
}
