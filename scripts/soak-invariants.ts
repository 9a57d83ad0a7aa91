// The invariants of the chaos soak (scripts/soak.ts), checked while it runs: the IP-file sampler (with the fault
// windows in which netq cannot act yet), the change-hook log, the jobs the producer enqueued, and (from the
// workers' logs) whether one app was ever worked on twice at once.
import { open } from 'node:fs/promises';
import type { Queue } from 'bullmq';
import type Docker from 'dockerode';
import type { Work } from './soak-procs.js';
import { sleep } from './soak-procs.js';

/** What the sampler reads of the Dokku host: test/dokkuHost.ts DokkuHost has both. */
export interface DokkuFiles {
  currentContainers(app: string): Promise<Record<string, string>>;
  ipFiles(app: string): Promise<Record<string, string>>;
}

export interface Violation {
  file: string;
  /** what the file held, and whose it is */
  value: string;
  owner: string;
  /** the IP of the dyno's running container */
  expected: string;
  /** how long it had been wrong, and how much of that outside any fault window */
  wrongMs: number;
  countedMs: number;
  at: number;
}

interface Wrong {
  firstWrong: number;
  /** the 2 s start here: the first wrong sample, moved on while a fault window covers the file */
  clockStart: number;
  counted: boolean;
  inFault: boolean;
}

interface Window {
  from: number;
  until: number;
  why: string;
}

/**
 * Samples every app's IP.* files against Docker: an IP file must name the running container its CONTAINER file
 * names (its dyno's). A file that stays wrong for more than `graceMs` outside a fault window is a violation
 * (counted once per stretch). A dyno whose container is not running (killed, dockerd down) has nothing right
 * to name and is not judged.
 */
export class FileSampler {
  samples = 0;
  blindSamples = 0;
  checks = 0;
  readonly violations: Violation[] = [];
  /** the longest stretch a file was wrong, outside fault windows and in them */
  longestOutside = { ms: 0, file: '' };
  longestInFault = { ms: 0, file: '', why: '' };
  /** the latest sample: when it ended, and the files that were wrong */
  latest = { at: 0, wrong: [] as string[] };
  /** every sample: when it started and ended, and how many files were wrong (for allRightAfter) */
  private readonly history: { start: number; end: number; wrong: number }[] = [];
  private readonly state = new Map<string, Wrong>();
  private readonly global: Window[] = [];
  private readonly perApp = new Map<string, Window[]>();
  private running = false;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly host: DokkuFiles,
    private readonly apps: string[],
    private readonly docker: Docker,
    private readonly scopeLabel: string,
    private readonly graceMs = 2_000,
    private readonly everyMs = 250,
    /** more exemptions, asked on each wrong file (the stalled change hooks) */
    private readonly extraExempt: (app: string, now: number) => string | undefined = () => undefined,
  ) {}

  /** A window over every file (Redis or dockerd down): open until closed with closeGlobal. */
  openGlobal(why: string): Window {
    const w = { from: Date.now(), until: Number.POSITIVE_INFINITY, why };
    this.global.push(w);
    return w;
  }

  closeGlobal(w: Window, allowanceMs: number): void {
    w.until = Date.now() + allowanceMs;
  }

  /** A window over one app's files (its lock or job held by a killed worker). */
  exemptApp(app: string, untilMs: number, why: string): void {
    this.perApp.set(app, [...(this.perApp.get(app) ?? []), { from: Date.now(), until: untilMs, why }]);
  }

  private exemption(app: string, now: number): string | undefined {
    const hit = (ws: Window[] | undefined) => ws?.find((w) => w.from <= now && now <= w.until)?.why;
    return hit(this.global) ?? hit(this.perApp.get(app)) ?? this.extraExempt(app, now);
  }

  start(): void {
    this.running = true;
    this.loop = (async () => {
      while (this.running) {
        await this.sampleOnce().catch(() => {
          this.blindSamples += 1;
        });
        await sleep(this.everyMs);
      }
    })();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  /** One look at every file. */
  async sampleOnce(): Promise<void> {
    const start = Date.now();
    let list: Docker.ContainerInfo[];
    try {
      list = await this.docker.listContainers({ filters: { label: [this.scopeLabel] } });
    } catch {
      this.blindSamples += 1; // the engine is down: nothing can be judged
      return;
    }
    const ipOf = new Map(list.map((c) => [c.Id, c.NetworkSettings.Networks.bridge?.IPAddress ?? '']));
    const ownerOf = new Map(list.map((c) => [c.NetworkSettings.Networks.bridge?.IPAddress ?? '', c.Names[0] ?? '']));
    const wrong: string[] = [];
    const seen = new Set<string>();
    for (const app of this.apps) {
      // the files first: a switch after this read is seen in the CONTAINER files below
      const ips = await this.host.ipFiles(app);
      const current = await this.host.currentContainers(app);
      const now = Date.now();
      for (const [dyno, id] of Object.entries(current)) {
        const file = `${app}/IP.${dyno}`;
        const ip = ipOf.get(id);
        if (ip === undefined) continue; // the dyno's container does not run: nothing to judge
        seen.add(file);
        this.checks += 1;
        const value = ips[dyno];
        if (value === ip) {
          this.close(file, now);
          continue;
        }
        wrong.push(file);
        const why = this.exemption(app, now);
        let s = this.state.get(file);
        if (!s) {
          s = { firstWrong: now, clockStart: now, counted: false, inFault: false };
          this.state.set(file, s);
        }
        if (why !== undefined) {
          s.clockStart = now;
          s.inFault = true;
          if (now - s.firstWrong > this.longestInFault.ms) this.longestInFault = { ms: now - s.firstWrong, file, why };
        }
        if (!s.counted && now - s.clockStart > this.graceMs) {
          s.counted = true;
          this.violations.push({
            file,
            value: value ?? '(no file)',
            owner: value === undefined ? '-' : (ownerOf.get(value)?.replace(/^\//, '') ?? 'no running container'),
            expected: ip,
            wrongMs: now - s.firstWrong,
            countedMs: now - s.clockStart,
            at: now,
          });
        }
      }
    }
    // a file whose dyno stopped running ends its stretch too
    for (const file of [...this.state.keys()]) if (!seen.has(file)) this.state.delete(file);
    this.samples += 1;
    this.latest = { at: Date.now(), wrong };
    this.history.push({ start, end: this.latest.at, wrong: wrong.length });
    // ten minutes of samples are plenty for allRightAfter
    if (this.history.length > 4_000) this.history.splice(0, 1_000);
  }

  private close(file: string, now: number): void {
    const s = this.state.get(file);
    if (!s) return;
    this.state.delete(file);
    const ms = now - s.firstWrong;
    if (!s.inFault && ms > this.longestOutside.ms) this.longestOutside = { ms, file };
  }

  /**
   * The end of the first sample that started after `after` and found every judged file right, waiting for it
   * until `after + timeoutMs`; undefined if there is none by then.
   */
  async allRightAfter(after: number, timeoutMs: number): Promise<number | undefined> {
    for (;;) {
      const hit = this.history.find((h) => h.start > after && h.wrong === 0);
      if (hit && hit.start <= after + timeoutMs) return hit.end;
      if (hit || Date.now() > after + timeoutMs + 1_000) return undefined;
      await sleep(50);
    }
  }
}

// ---- the change hook's own log ----------------------------------------------------------------------------------

export interface HookRun {
  pid: number;
  app: string;
  start: number;
  end: number | undefined;
  /** the pid of its `sleep` when it was stalled */
  sleepPid: number | undefined;
}

/**
 * Reads the hook's log as it grows: `start <ms> <pid> <app>`, `sleep <sleepPid> <pid>` (a stalled run),
 * `end <ms> <pid> <app>` (none when netq killed it).
 */
export class HookLog {
  readonly runs = new Map<number, HookRun>();
  private offset = 0;
  private rest = '';

  constructor(readonly file: string) {}

  async read(): Promise<void> {
    const fh = await open(this.file, 'r').catch(() => undefined);
    if (!fh) return;
    try {
      const buf = Buffer.alloc(64 * 1024);
      for (;;) {
        const { bytesRead } = await fh.read(buf, 0, buf.length, this.offset);
        if (bytesRead === 0) break;
        this.offset += bytesRead;
        this.rest += buf.subarray(0, bytesRead).toString();
      }
    } finally {
      await fh.close();
    }
    const lines = this.rest.split('\n');
    this.rest = lines.pop() ?? '';
    for (const l of lines) {
      const [what, a = '', b = '', c = ''] = l.split(' ');
      if (what === 'start')
        this.runs.set(Number(b), { pid: Number(b), app: c, start: Number(a), end: undefined, sleepPid: undefined });
      else if (what === 'sleep') {
        const r = this.runs.get(Number(b));
        if (r) r.sleepPid = Number(a);
      } else if (what === 'end') {
        const r = this.runs.get(Number(b));
        if (r) r.end = Number(a);
      }
    }
  }

  /** A stalled run of the app that started within `limitMs` and has not ended. */
  stalled(app: string, now: number, limitMs: number): boolean {
    for (const r of this.runs.values()) {
      if (r.app === app && r.sleepPid !== undefined && r.end === undefined && now - r.start <= limitMs) return true;
    }
    return false;
  }
}

// ---- jobs --------------------------------------------------------------------------------------------------------

export interface Tracked {
  queue: string;
  id: string;
  origin: string;
  at: number;
  state: 'completed' | 'failed' | undefined;
  reason: string | undefined;
}

/**
 * Every job the producer loop enqueued, by queue and id, polled until it completed or failed: a job that does
 * neither by the end, or fails without a reason, is lost. A `set` that completed is followed by the rebuild (or
 * rebuildall) it queued to apply the value.
 */
export class JobTracker {
  readonly jobs: Tracked[] = [];
  private readonly pending: Tracked[] = [];

  constructor(private readonly queueOf: (name: string) => Queue) {}

  track(queue: string, id: string, origin: string): void {
    const t: Tracked = { queue, id, origin, at: Date.now(), state: undefined, reason: undefined };
    this.jobs.push(t);
    this.pending.push(t);
  }

  /** Looks at every job not yet final; Redis errors (a restart) leave them for the next pass. */
  async pollOnce(): Promise<void> {
    for (const t of [...this.pending]) {
      const job = await this.queueOf(t.queue).getJob(t.id);
      if (!job) continue;
      const state = await job.getState();
      if (state !== 'completed' && state !== 'failed') continue;
      t.state = state;
      t.reason = state === 'failed' ? job.failedReason || undefined : undefined;
      this.pending.splice(this.pending.indexOf(t), 1);
      const rv = job.returnvalue as { applied?: string; jobId?: string; queue?: string } | null;
      if (state === 'completed' && t.origin.startsWith('set') && rv?.jobId && rv.queue) {
        this.track(rv.queue, rv.jobId, `${t.origin} → ${rv.applied}`);
      }
    }
  }

  get open(): Tracked[] {
    return [...this.pending];
  }
}

// ---- one app at a time -----------------------------------------------------------------------------------------

/**
 * Pairs of stretches of work on one app that overlap in time, across every worker process. Every stretch's end is
 * known: "rebuilt app" and a failed attempt's "rebuild attempt ended" carry the time taken before the app's lock
 * was released, and a killed worker's stretches end when it died.
 */
export function overlaps(works: Work[], now: number): string[] {
  const byApp = new Map<string, Work[]>();
  for (const w of works) byApp.set(w.app, [...(byApp.get(w.app) ?? []), w]);
  const found: string[] = [];
  const show = (w: Work) => `${w.proc} ${w.jobId} [${w.start}, ${w.end ?? 'open'} ${w.how ?? ''}]`;
  for (const [app, ws] of byApp) {
    ws.sort((a, b) => a.start - b.start);
    for (let i = 0; i < ws.length; i++) {
      const a = ws[i] as Work;
      const end = a.end ?? now;
      for (let j = i + 1; j < ws.length; j++) {
        const b = ws[j] as Work;
        if (b.start >= end) break;
        found.push(`${app}: ${show(a)} and ${show(b)}`);
      }
    }
  }
  return found;
}
