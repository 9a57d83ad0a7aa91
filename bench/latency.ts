import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Job } from 'bullmq';
import type { RebuildJob } from '../src/jobs.js';
import type { NetqQueues } from '../src/queue.js';
import type { RebuildResult } from '../src/types.js';
import { type BenchRun, say } from './benchRun.js';
import { docker } from './containers.js';
import { ms } from './format.js';
import { interruptible, live } from './interrupt.js';

/**
 * Event-to-write latency: how long after a container starts its network config is written, with nobody
 * running a command. Each sample stops one app's web container, lets the rebuild its `die` queues finish,
 * starts it again, and takes the time from Docker's own `start` event (its timeNano) to the end of the
 * first rebuild of that app that began after it (the job's finishedOn: files and Redis are written by
 * then). Both clocks are this machine's. Every sample also checks the written IP file (`IP.web.1`, the
 * address without a trailing newline, as Dokku writes it) against Docker. The restarted container keeps its
 * id, so the dyno's CONTAINER file (Dokku mode) still names it.
 */
export interface LatencyResult {
  starts: number;
  samplesMs: number[];
  medianMs: number;
  p99Ms: number;
  minMs: number;
  maxMs: number;
  /** samples whose IP file did not hold the container's new address */
  wrong: number;
}

interface Options {
  queues: NetqQueues;
  host: string;
  /** scope label of the bench's containers (key=value) */
  label: string;
  /** apps whose `<app>.web.1` container is restarted in turn */
  apps: string[];
  starts: number;
  /** the worker's NETQ_DOKKU_ROOT */
  dokkuRoot: string;
  /** called between samples: throws when the bench is interrupted */
  live: () => void;
}

/** The measurement on the run's first apps (10 at most of the n there are), against the running worker. */
export async function measureLatency(run: BenchRun, starts: number, n: number): Promise<LatencyResult> {
  const latencyApps = run.apps.slice(0, Math.min(10, n)).map((a) => a.app);
  say(`\nevent-to-write latency: ${starts} container starts over ${latencyApps.length} apps`);
  const queues = run.queues();
  const l = await interruptible(
    measureEventLatency({
      queues,
      host: 'local',
      label: run.label,
      apps: latencyApps,
      starts,
      dokkuRoot: run.roots.netq,
      live,
    }),
  );
  say(
    `  median ${ms(l.medianMs)} ms, p99 ${ms(l.p99Ms)} ms, min–max ${ms(l.minMs)}–${ms(l.maxMs)} ms over ${l.starts} starts`,
  );
  if (l.wrong) run.problem(`event latency: ${l.wrong} samples left an IP file that did not match Docker`);
  return l;
}

const POLL_MS = 10;
const SAMPLE_DEADLINE_MS = 30_000;

export async function measureEventLatency(o: Options): Promise<LatencyResult> {
  const starts = new StartEvents(o.label);
  await starts.open();
  const q = o.queues.rebuildQueue(o.host);
  const samples: number[] = [];
  let wrong = 0;
  try {
    for (let i = 0; i < o.starts; i++) {
      o.live();
      const app = o.apps[i % o.apps.length] as string;
      const container = docker.getContainer(`${app}.web.1`);
      const stoppedAt = Date.now();
      await container.stop({ t: 1 });
      // the rebuild the stop queued (die event, debounced) ends before the measured start, and nothing of the
      // app is left queued: a start event's request merges into a rebuild that has not taken the app's lock yet
      // (right, as that rebuild reads Docker after it), which would leave no rebuild that began after the event
      await firstRebuildAfter(q, app, stoppedAt, o.live);
      await nothingQueued(q, app, o.live);
      const started = starts.next(`${app}.web.1`);
      await container.start();
      const startMs = await started;
      const job = await firstRebuildAfter(q, app, startMs, o.live);
      samples.push((job.finishedOn ?? Number.NaN) - startMs);
      const ip = (await container.inspect()).NetworkSettings.Networks.bridge?.IPAddress ?? '';
      const written = await readFile(path.join(o.dokkuRoot, app, 'IP.web.1'), 'utf8').catch(() => '');
      // as Dokku writes it: the address alone, no trailing newline
      if (ip === '' || written !== ip) wrong += 1;
    }
  } finally {
    starts.close();
  }
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] ?? Number.NaN;
  return {
    starts: samples.length,
    samplesMs: samples,
    medianMs: at(0.5),
    p99Ms: at(0.99),
    minMs: sorted[0] ?? Number.NaN,
    maxMs: sorted.at(-1) ?? Number.NaN,
    wrong,
  };
}

/** The first completed rebuild of the app that began at or after `sinceMs`, polled until it exists. */
async function firstRebuildAfter(
  q: ReturnType<NetqQueues['rebuildQueue']>,
  app: string,
  sinceMs: number,
  live: () => void,
): Promise<Job<RebuildJob, RebuildResult>> {
  const deadline = Date.now() + SAMPLE_DEADLINE_MS;
  for (;;) {
    live();
    // a wide window: a host rebuild of every app may complete meanwhile and push this app's job down the list
    const recent = (await q.getJobs(['completed'], 0, 400, false)) as Job<RebuildJob, RebuildResult>[];
    const after = recent
      .filter((j) => j.data.app === app && (j.processedOn ?? 0) >= sinceMs)
      .sort((a, b) => (a.processedOn ?? 0) - (b.processedOn ?? 0));
    if (after[0]) return after[0];
    if (Date.now() > deadline) throw new Error(`no rebuild of ${app} ran within 30 s of its container event`);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

/** Polls until the app has no rebuild waiting, delayed or running. */
async function nothingQueued(q: ReturnType<NetqQueues['rebuildQueue']>, app: string, live: () => void): Promise<void> {
  const deadline = Date.now() + SAMPLE_DEADLINE_MS;
  for (;;) {
    live();
    const open = (await q.getJobs(['active', 'waiting', 'delayed', 'prioritized'])) as Job<RebuildJob>[];
    if (!open.some((j) => j.data?.app === app)) return;
    if (Date.now() > deadline) throw new Error(`a rebuild of ${app} was still queued 30 s after its container stopped`);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

/** Docker's `start` events of the bench's containers, as epoch milliseconds, by container name. */
class StartEvents {
  private stream: NodeJS.ReadableStream | undefined;
  private waiting = new Map<string, (ms: number) => void>();
  private buffer = '';

  constructor(private readonly label: string) {}

  async open(): Promise<void> {
    this.stream = (await docker.getEvents({
      filters: { type: ['container'], event: ['start'], label: [this.label] },
    })) as NodeJS.ReadableStream;
    this.stream.on('data', (chunk: Buffer) => {
      this.buffer += chunk.toString('utf8');
      let nl = this.buffer.indexOf('\n');
      while (nl >= 0) {
        const line = this.buffer.slice(0, nl);
        this.buffer = this.buffer.slice(nl + 1);
        nl = this.buffer.indexOf('\n');
        if (!line.trim()) continue;
        const e = JSON.parse(line) as { timeNano?: number; Actor?: { Attributes?: Record<string, string> } };
        const name = e.Actor?.Attributes?.name;
        const resolve = name ? this.waiting.get(name) : undefined;
        if (name && resolve && e.timeNano) {
          this.waiting.delete(name);
          resolve(e.timeNano / 1e6);
        }
      }
    });
  }

  /** Resolves with the time of the container's next start event; call before starting it. */
  next(name: string): Promise<number> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(name);
        reject(new Error(`no start event for ${name} within 30 s`));
      }, SAMPLE_DEADLINE_MS);
      this.waiting.set(name, (ms) => {
        clearTimeout(timer);
        resolve(ms);
      });
    });
  }

  close(): void {
    (this.stream as unknown as { destroy?: () => void } | undefined)?.destroy?.();
  }
}
