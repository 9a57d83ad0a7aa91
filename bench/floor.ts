import { FlowProducer, type Job, Queue, QueueEvents, WaitingChildrenError, Worker } from 'bullmq';
import { Redis } from 'ioredis';

/**
 * Contender D: the queue floor. netq's rebuildall tree (summary ← scan ← one rebuild child per app, the
 * scan adding its children dynamically and waiting for them, as TOOLCHAIN.md's verified pattern) with
 * no-op processors, in this process, on warm connections. Same queues, concurrency, job options and one
 * shared worker connection as netq's pool. What it costs is BullMQ's part of a rebuildall; netq's time
 * over it is netq's own work (Docker, files, Redis writes, locks) and its CLI process.
 */
interface FloorScan {
  runId: string;
  apps: string[];
  step: 'initial' | 'waiting';
}
interface FloorRebuild {
  app: string;
}
interface FloorResult {
  app: string;
  containers: number;
  configured: number;
  failed: number;
}
export interface FloorSummary {
  apps: number;
  containers: number;
  failed: number;
}

const RETRY = {
  attempts: 5,
  backoff: { type: 'exponential' as const, delay: 1000 },
  removeOnComplete: { age: 24 * 3600, count: 10_000 },
  removeOnFail: { age: 7 * 24 * 3600, count: 10_000 },
};

export class QueueFloor {
  private readonly redis: Redis;
  private readonly eventsConn: Redis;
  private readonly flow: FlowProducer;
  private readonly rebuilds: Queue<FloorRebuild, FloorResult>;
  private readonly events: QueueEvents;
  private readonly workers: Worker[] = [];
  private runs = 0;

  constructor(
    redisUrl: string,
    /** hash-tagged, like netq's: `{bench-…-floor}` */
    readonly prefix: string,
  ) {
    this.redis = new Redis(redisUrl, { maxRetriesPerRequest: null });
    this.eventsConn = this.redis.duplicate();
    const connection = this.redis;
    this.flow = new FlowProducer({ connection, prefix });
    this.rebuilds = new Queue('rebuild.local', { connection, prefix });
    this.events = new QueueEvents('summary', { connection: this.eventsConn, prefix });
    const base = { connection, prefix, autorun: true };
    this.workers.push(
      new Worker<FloorRebuild, FloorResult>(
        'rebuild.local',
        async (job) => ({ app: job.data.app, containers: 2, configured: 2, failed: 0 }),
        { ...base, concurrency: 8 },
      ),
      new Worker<FloorScan, FloorResult[]>('scan.local', (job, token) => this.scan(job, token), {
        ...base,
        concurrency: 4,
      }),
      new Worker<unknown, FloorSummary>(
        'summary',
        async (job) => {
          const scans = Object.values((await job.getChildrenValues()) as Record<string, FloorResult[]>).flat();
          await job.getIgnoredChildrenFailures();
          return {
            apps: scans.length,
            containers: scans.reduce((n, r) => n + r.containers, 0),
            failed: scans.reduce((n, r) => n + r.failed, 0),
          };
        },
        { ...base, concurrency: 4 },
      ),
    );
    for (const w of this.workers) w.on('error', () => {});
  }

  private async scan(job: Job<FloorScan, FloorResult[]>, token?: string): Promise<FloorResult[]> {
    if (job.data.step === 'initial') {
      await this.rebuilds.addBulk(
        job.data.apps.map((app) => ({
          name: 'rebuild',
          data: { app },
          opts: {
            ...RETRY,
            jobId: `${job.data.runId}.local.${app}`,
            parent: { id: String(job.id), queue: job.queueQualifiedName },
            ignoreDependencyOnFailure: true,
          },
        })),
      );
      await job.updateData({ ...job.data, step: 'waiting' });
    }
    if (token !== undefined && (await job.moveToWaitingChildren(token))) throw new WaitingChildrenError();
    await job.getIgnoredChildrenFailures();
    return Object.values((await job.getChildrenValues()) as Record<string, FloorResult>);
  }

  async ready(): Promise<void> {
    await Promise.all([...this.workers.map((w) => w.waitUntilReady()), this.events.waitUntilReady()]);
  }

  /** One rebuildall of these apps, from adding the tree to the summary's result. */
  async run(apps: string[]): Promise<{ ms: number; summary: FloorSummary }> {
    const runId = `floor-${++this.runs}-${Date.now().toString(36)}`;
    const started = performance.now();
    const node = await this.flow.add({
      name: 'summary',
      queueName: 'summary',
      data: { runId },
      opts: { ...RETRY, jobId: runId },
      children: [
        {
          name: 'scan',
          queueName: 'scan.local',
          data: { runId, apps, step: 'initial' },
          opts: { ...RETRY, jobId: `${runId}.local`, ignoreDependencyOnFailure: true },
        },
      ],
    });
    const summary = (await node.job.waitUntilFinished(this.events, 120_000)) as FloorSummary;
    return { ms: performance.now() - started, summary };
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.workers.map((w) => w.close()));
    await Promise.allSettled([this.events.close(), this.rebuilds.close(), this.flow.close()]);
    this.eventsConn.disconnect();
    this.redis.disconnect();
  }
}
