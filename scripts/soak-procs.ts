// The processes of the chaos soak (scripts/soak.ts): its own redis-server, `netq worker` processes whose JSON
// logs are read as they come (stretches of work per app, change-hook waits, errors) and whose RSS is sampled,
// and `netq` CLI calls. Every process is started here and ended by its pid.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls until fn gives a value other than undefined; undefined at the deadline. */
export async function poll<T>(
  fn: () => Promise<T | undefined>,
  timeoutMs: number,
  everyMs = 100,
): Promise<T | undefined> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) return undefined;
    await sleep(everyMs);
  }
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  at: number;
}

/** A child process: its pid, when it exited and how. */
export class Proc {
  readonly pid: number;
  readonly startedAt = Date.now();
  exit: Exit | undefined;
  readonly exited: Promise<Exit>;

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
  ) {
    if (child.pid === undefined) throw new Error(`could not start ${name}`);
    this.pid = child.pid;
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exit = { code, signal, at: Date.now() };
        resolve(this.exit);
      });
    });
  }

  get running(): boolean {
    return this.exit === undefined;
  }

  /** Sends a signal to this process (by its pid) and waits for it to exit; SIGKILL after `killAfterMs`. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', killAfterMs = 20_000): Promise<Exit> {
    if (this.exit) return this.exit;
    try {
      process.kill(this.pid, signal);
    } catch {
      // gone already
    }
    const timer = setTimeout(() => {
      try {
        process.kill(this.pid, 'SIGKILL');
      } catch {
        // gone
      }
    }, killAfterMs);
    const exit = await this.exited;
    clearTimeout(timer);
    return exit;
  }
}

const baseEnv = () => ({
  PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
  HOME: process.env.HOME ?? '/root',
});

// ---- Redis ----------------------------------------------------------------------------------------------------

/** `redis-cli -p <port> ping` answered PONG. */
function pong(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    execFile('redis-cli', ['-p', String(port), 'ping'], { timeout: 2_000 }, (err, stdout) =>
      resolve(!err && stdout.trim() === 'PONG'),
    );
  });
}

/** A redis-server of the soak's own, append-only, in its own folder: restarting it harms nothing else. */
export class PrivateRedis {
  proc: Proc | undefined;
  readonly url: string;
  /** told the pid of each redis-server it starts */
  onStart: (pid: number) => void = () => {};

  constructor(
    readonly dir: string,
    readonly port: number,
  ) {
    this.url = `redis://127.0.0.1:${port}`;
  }

  async start(): Promise<void> {
    const child = spawn(
      'redis-server',
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--appendonly',
        'yes',
        '--appendfsync',
        'everysec',
        '--save',
        '',
        '--dir',
        this.dir,
        '--logfile',
        path.join(this.dir, 'redis.log'),
      ],
      { stdio: 'ignore', env: baseEnv() },
    );
    this.proc = new Proc('redis', child);
    this.onStart(this.proc.pid);
    const up = await poll(async () => ((await pong(this.port)) ? true : undefined), 20_000, 50);
    if (!up) throw new Error(`redis-server on port ${this.port} did not answer in 20 s`);
  }

  /** SIGTERM: Redis writes its append-only file and exits 0. */
  async stop(): Promise<Exit | undefined> {
    const p = this.proc;
    this.proc = undefined;
    return p?.stop('SIGTERM', 15_000);
  }
}

// ---- netq workers -----------------------------------------------------------------------------------------------

/** One stretch of work on an app by one worker process: from "rebuilding app" to its end. */
export interface Work {
  proc: string;
  app: string;
  jobId: string;
  start: number;
  /** endedAt of "rebuilt app" or "rebuild attempt ended" (taken before the lock is released), or the process's exit */
  end: number | undefined;
  /** how it ended: done, failed (an attempt that threw), killed (the process died) */
  how: 'done' | 'failed' | 'killed' | undefined;
}

/** How long netq waited for the change hook, as the worker logged it. */
export interface HookWait {
  proc: string;
  app: string;
  durationMs: number;
  failed: boolean;
  at: number;
}

interface LogLine {
  level?: number;
  time?: number;
  msg?: string;
  app?: unknown;
  jobId?: unknown;
  startedAt?: unknown;
  endedAt?: unknown;
  durationMs?: unknown;
  err?: unknown;
  queue?: unknown;
}

/** A log line's error as text: pino serialises `err` as { type, message, stack, … } (a string from older lines). */
export function errorText(err: unknown): string {
  if (err && typeof err === 'object' && 'message' in err) {
    const e = err as { type?: unknown; message?: unknown };
    return `${typeof e.type === 'string' ? `${e.type}: ` : ''}${String(e.message)}`;
  }
  return String(err);
}

/** A `netq worker` process: its log is written to a file and read for what the soak checks. */
export class WorkerProcess extends Proc {
  readonly works: Work[] = [];
  readonly hookWaits: HookWait[] = [];
  /** error-level lines (worker errors, event watcher failures): counted, the first few kept */
  errors = 0;
  readonly firstErrors: string[] = [];
  /** jobs that failed an attempt or for good, by queue and error message */
  readonly failures = new Map<string, number>();
  /** VmRSS samples, in kB */
  readonly rss: { t: number; kb: number }[] = [];
  /** the workerId it registered with (from the worker-health hash) */
  workerId: string | undefined;
  /** set before the soak signals it, so that its exit is not taken for a crash */
  expectedExit = false;
  private readonly log: WriteStream;
  private readonly open = new Map<string, Work>();

  constructor(
    readonly slot: string,
    readonly life: number,
    child: ChildProcess,
    logFile: string,
  ) {
    super(`${slot}#${life}`, child);
    this.log = createWriteStream(logFile);
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    lines.on('line', (l) => {
      this.log.write(`${l}\n`);
      if (l.startsWith('{')) this.onLine(l);
    });
    child.stderr?.on('data', (d: Buffer) => this.log.write(d));
    void this.exited.then((exit) => {
      for (const w of this.open.values()) {
        w.end = exit.at;
        w.how = 'killed';
      }
      this.open.clear();
      lines.once('close', () => this.log.end());
    });
  }

  private onLine(raw: string): void {
    let l: LogLine;
    try {
      l = JSON.parse(raw) as LogLine;
    } catch {
      return;
    }
    const jobId = String(l.jobId);
    switch (l.msg) {
      case 'rebuilding app': {
        const w: Work = {
          proc: this.name,
          app: String(l.app),
          jobId,
          start: Number(l.startedAt),
          end: undefined,
          how: undefined,
        };
        this.works.push(w);
        this.open.set(jobId, w);
        break;
      }
      case 'rebuilt app':
      case 'rebuild attempt ended': {
        // both carry endedAt, taken before the app's lock was released
        const w = this.open.get(jobId);
        if (!w) break;
        this.open.delete(jobId);
        w.end = Number(l.endedAt);
        w.how = l.msg === 'rebuilt app' ? 'done' : 'failed';
        break;
      }
      case 'job failed, will retry':
      case 'job failed for good': {
        const why = `${l.msg === 'job failed for good' ? 'for good' : 'retried'}, ${String(l.queue)}: ${errorText(l.err).slice(0, 120)}`;
        this.failures.set(why, (this.failures.get(why) ?? 0) + 1);
        break;
      }
      case 'change hook ran':
      case 'change hook failed':
        this.hookWaits.push({
          proc: this.name,
          app: String(l.app),
          durationMs: Number(l.durationMs),
          failed: l.msg === 'change hook failed',
          at: Number(l.time),
        });
        break;
    }
    if ((l.level ?? 0) >= 50) {
      this.errors += 1;
      if (this.firstErrors.length < 5) this.firstErrors.push(`${l.msg ?? ''}: ${JSON.stringify(l.err ?? '')}`);
    }
  }

  /** Whether it is working on an app right now (its log has a "rebuilding app" line with no end yet). */
  get working(): boolean {
    return this.open.size > 0;
  }

  /** Reads VmRSS from /proc/<pid>/status. */
  async sampleRss(): Promise<void> {
    if (!this.running) return;
    const status = await readFile(`/proc/${this.pid}/status`, 'utf8').catch(() => '');
    const kb = Number(status.match(/^VmRSS:\s+(\d+) kB/m)?.[1]);
    if (kb > 0) this.rss.push({ t: Date.now(), kb });
  }
}

/**
 * Starts `node <netq>/bin/netq.js worker` with debug logs (the per-app "rebuilding app" lines), its output in
 * `logFile`.
 */
export function startWorker(
  netqBin: string,
  slot: string,
  life: number,
  env: Record<string, string>,
  logFile: string,
): WorkerProcess {
  const child = spawn(process.execPath, [netqBin, 'worker'], {
    env: { ...baseEnv(), ...env, LOG_LEVEL: 'debug' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new WorkerProcess(slot, life, child, logFile);
}

// ---- the netq CLI -------------------------------------------------------------------------------------------------

export interface CliResult {
  args: string[];
  code: number;
  stdout: string;
  stderr: string;
  startedAt: number;
  endedAt: number;
}

/** Runs `netq <args>` as a user would; SIGKILL (by its pid) after `timeoutMs`, reported as code -1. */
export function runNetq(
  netqBin: string,
  args: string[],
  env: Record<string, string>,
  timeoutMs: number,
): Promise<CliResult> {
  const startedAt = Date.now();
  const child = spawn(process.execPath, [netqBin, ...args], {
    env: { ...baseEnv(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const proc = new Proc('netq', child);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d) => {
    stdout += d;
  });
  child.stderr?.on('data', (d) => {
    stderr += d;
  });
  const timer = setTimeout(() => void proc.stop('SIGKILL'), timeoutMs);
  return new Promise((resolve) => {
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ args, code: code ?? -1, stdout, stderr, startedAt, endedAt: Date.now() });
    });
  });
}

/** The median of some numbers (0 for none). */
export function median(xs: number[]): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
}
