import { DelayedError, Job, UnrecoverableError, Worker } from 'bullmq';
import type { Config } from '../src/config.js';
import {
  jobIdOfKey,
  parseRunChildJobId,
  queueName,
  type RebuildJob,
  type ScanJob,
  type ScanResult,
  scanJobSchema,
} from '../src/jobs.js';
import { isLive, KNOWN_HOST_MS, LIVE_MS, windowEnd, windowStart } from '../src/liveness.js';
import type { Logger } from '../src/logger.js';
import { type NetqQueues, WORKER_LOCKS } from '../src/queue.js';
import type { RedisClient as Redis } from '../src/redis.js';
import { AppLock } from '../src/store/appLock.js';
import { lastKnownContainers } from '../src/store/networkConfigStore.js';
import { recordScan } from '../src/store/runProgress.js';
import { collectScan } from './scan.js';

const TICK_MS = 5_000;
/** how often a standalone job of a gone host looks again (it waits for the host to come back) */
const RECHECK_MS = 5_000;

/**
 * Keeps a rebuildall from waiting for ever on a host whose workers are all gone. One live worker (by a
 * Redis lock per gone host) serves that host's scan and rebuild queues without touching Docker:
 * - a rebuild that belongs to a run fails at once, so its scan counts the app's containers as failed;
 * - a scan that had listed its apps adds up what its children gave; one that had not counts the apps and
 *   containers of the host's last rebuilds as failed, and names the host as not scanned;
 * - a standalone rebuild waits: it is put back for later, until the host returns or the requester gives up.
 * Jobs the gone workers held are handed back by BullMQ's stalled-job check once their locks lapse.
 */
export class HostReaper {
  private readonly reaping = new Map<string, { workers: Worker[]; lock: AppLock }>();
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;

  constructor(
    private readonly config: Config,
    private readonly queues: NetqQueues,
    private readonly redis: Redis,
    private readonly logger: Logger,
    private readonly workerId: string,
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      this.ticking ??= this.tick()
        .catch((err: Error) => this.logger.warn({ err }, 'host reaper tick failed'))
        .finally(() => {
          this.ticking = undefined;
        });
    }, TICK_MS);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    // heartbeats carry Redis's clock: judged by it, whatever this machine's clock says
    const now = await this.queues.redisNow();
    const keys = this.queues.keys;
    // forgotten: silent for KNOWN_HOST_MS; gone: known, not live
    await this.redis.zremrangebyscore(keys.hosts, '-inf', windowEnd(now, KNOWN_HOST_MS));
    const gone = new Set(
      await this.redis.zrangebyscore(keys.hosts, windowStart(now, KNOWN_HOST_MS), windowEnd(now, LIVE_MS)),
    );
    gone.delete(this.config.hostId);
    for (const [host, r] of this.reaping) {
      if (!gone.has(host)) await this.release(host, r);
    }
    for (const host of gone) {
      if (this.reaping.has(host)) continue;
      const lock = new AppLock(this.redis, keys.reaperLease(host), this.workerId, 3 * TICK_MS);
      if (!(await lock.acquire())) continue;
      const reason = `no worker serves host ${host} (its last heartbeat is over ${LIVE_MS / 1000} s old)`;
      const base = { connection: this.redis, prefix: this.queues.prefix, concurrency: 16, ...WORKER_LOCKS };
      const workers = [
        new Worker(queueName.rebuild(host), this.rebuildGone(host, reason), base),
        new Worker(queueName.scan(host), this.scanGone(host, reason), base),
      ];
      for (const w of workers) w.on('error', (err) => this.logger.warn({ err, queue: w.name }, 'reaper worker error'));
      this.reaping.set(host, { workers, lock });
      this.logger.warn({ host }, 'host is gone: failing its rebuildall jobs so summaries complete');
    }
  }

  /** True while the host has no fresh heartbeat (by Redis's clock); checked per job, since the host may be back. */
  private async stillGone(host: string): Promise<boolean> {
    const [last, now] = await Promise.all([this.redis.zscore(this.queues.keys.hosts, host), this.queues.redisNow()]);
    return last === null || !isLive(Number(last), now);
  }

  /** Leaves a job to the host's own workers, which are back. */
  private async handBack(job: Job, token: string | undefined): Promise<never> {
    await job.moveToDelayed(Date.now() + 500, token);
    throw new DelayedError();
  }

  private rebuildGone(host: string, reason: string) {
    return async (job: Job<RebuildJob>, token?: string) => {
      if (!(await this.stillGone(host))) return this.handBack(job, token);
      if (job.data?.runId !== undefined) throw new UnrecoverableError(reason);
      await job.moveToDelayed(Date.now() + RECHECK_MS, token);
      throw new DelayedError();
    };
  }

  private scanGone(host: string, reason: string) {
    return async (job: Job<ScanJob, ScanResult>, token?: string): Promise<ScanResult> => {
      if (!(await this.stillGone(host))) return this.handBack(job, token);
      const parsed = scanJobSchema.safeParse(job.data);
      if (!parsed.success) throw new UnrecoverableError(reason);
      let data = parsed.data;
      if (data.step === 'initial') {
        // the host's workers died before its scan listed the apps: count what the host last had
        data = {
          ...data,
          step: 'waiting',
          seen: await this.lastKnown(host, job),
          unscanned: `${reason}; not scanned, counted from its last rebuilds`,
        };
        await job.updateData(data);
        await recordScan(this.redis, this.queues.keys, data.runId, host, Object.keys(data.seen ?? {}).length);
      }
      return collectScan(job, token, data);
    };
  }

  /**
   * The apps and containers a gone host had at its last rebuilds, plus any app whose job the dead scan had
   * already added (named by its container ids, since the scan's own list died with it).
   */
  private async lastKnown(host: string, scan: Job<ScanJob>): Promise<Record<string, string[]>> {
    const seen = await lastKnownContainers(this.redis, this.queues.keys, host);
    const deps = await scan.getDependencies();
    const childKeys = [
      ...Object.keys(deps.processed ?? {}),
      ...(deps.unprocessed ?? []),
      ...(deps.failed ?? []),
      ...Object.keys(deps.ignored ?? {}),
    ];
    for (const key of childKeys) {
      const id = jobIdOfKey(key);
      const parts = parseRunChildJobId(id);
      const app = parts?.runId === scan.data.runId && parts.host === host ? parts.app : undefined;
      if (app === undefined || Object.hasOwn(seen, app)) continue;
      const child = await Job.fromId<RebuildJob>(this.queues.rebuildQueue(host), id);
      seen[app] = (child?.data.containerIds ?? []).map((c) => c.slice(0, 12));
    }
    return seen;
  }

  private async release(host: string, r: { workers: Worker[]; lock: AppLock }): Promise<void> {
    this.reaping.delete(host);
    await Promise.allSettled(r.workers.map((w) => w.close()));
    await r.lock.release().catch(() => {});
    this.logger.info({ host }, 'host is back: its own workers serve it again');
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.ticking;
    for (const [host, r] of [...this.reaping]) await this.release(host, r);
  }
}
