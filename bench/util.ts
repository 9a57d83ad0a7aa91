import { type ChildProcess, spawn } from 'node:child_process';

/** Set by SIGINT/SIGTERM: every step checks it, and the cleanup runs as usual. */
export const stop = new AbortController();

export class Interrupted extends Error {
  constructor(signal: string) {
    super(`interrupted by ${signal}`);
    this.name = 'Interrupted';
  }
}

/** Throws when the bench was interrupted; call between steps. */
export function live(): void {
  if (stop.signal.aborted) throw new Interrupted(String(stop.signal.reason ?? 'a signal'));
}

/** A promise that rejects as soon as the bench is interrupted (for waits that could take long). */
export function interruptible<T>(p: Promise<T>): Promise<T> {
  if (stop.signal.aborted) return Promise.reject(new Interrupted(String(stop.signal.reason)));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new Interrupted(String(stop.signal.reason)));
    stop.signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        stop.signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (err: unknown) => {
        stop.signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function median(xs: number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

export interface Stats {
  median: number;
  min: number;
  max: number;
  n: number;
}

export function stats(xs: number[]): Stats {
  return { median: median(xs), min: Math.min(...xs), max: Math.max(...xs), n: xs.length };
}

/** Milliseconds for tables: no decimals from 100 up, one below. */
export function ms(v: number): string {
  if (!Number.isFinite(v)) return '-';
  return v >= 100 ? v.toFixed(0) : v.toFixed(1);
}

export function ratio(v: number): string {
  if (!Number.isFinite(v)) return '-';
  return v >= 10 ? `${v.toFixed(1)}×` : `${v.toFixed(2)}×`;
}

/** A plain text table with a header row; columns are padded, numbers right-aligned. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const numeric = headers.map((_, i) => rows.every((r) => /^[-\d.,×%~<>≥ ]*$/.test(r[i] ?? '')));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (numeric[i] ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** Same table as Markdown (for docs/benchmarks.md). */
export function markdownTable(headers: string[], rows: string[][]): string {
  const esc = (c: string) => c.replace(/\|/g, '\\|');
  return [
    `| ${headers.map(esc).join(' | ')} |`,
    `| ${headers.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${r.map(esc).join(' | ')} |`),
  ].join('\n');
}

/** Child processes running now, so that an interrupt can end them. */
export const running = new Set<ChildProcess>();

export interface Timed {
  /** from just before spawn to the first complete line on stdout (the printed result) */
  ms: number;
  /** from just before spawn to the process's exit */
  exitMs: number;
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command and times it from just before spawn to its first printed line, and to its exit. */
export function runTimed(
  cmd: string,
  args: string[],
  opts: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs: number },
): Promise<Timed> {
  live();
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(child);
    let stdout = '';
    let stderr = '';
    let printed: number | undefined;
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (printed === undefined && stdout.includes('\n')) printed = performance.now();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${cmd} ${args.join(' ')} did not finish in ${opts.timeoutMs} ms\n${stderr}`));
    }, opts.timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      running.delete(child);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      running.delete(child);
      const exitMs = performance.now() - started;
      if (signal) {
        reject(new Error(`${cmd} ${args.join(' ')} ended by ${signal}\n${stderr}`));
        return;
      }
      resolve({ ms: (printed ?? performance.now()) - started, exitMs, code: code ?? -1, stdout, stderr });
    });
  });
}

/** Runs fn over items with at most `limit` at once; stops taking new items once the bench is interrupted. */
export async function mapLimit<T, R>(items: T[], limit: number, fn: (t: T, i: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  let failure: unknown;
  const run = async () => {
    while (next < items.length && failure === undefined && !stop.signal.aborted) {
      const i = next++;
      try {
        out[i] = await fn(items[i] as T, i);
      } catch (err) {
        failure ??= err;
      }
    }
  };
  // every runner ends before this returns, so nothing is still being created when the cleanup lists
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, run));
  if (failure !== undefined) throw failure;
  live();
  return out;
}
