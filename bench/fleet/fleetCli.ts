// `netq network:rebuildall` as a user runs it against the fleet, with its resident memory sampled while it
// waits (/proc/<pid>/status, every 20 ms) and its CPU time.
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { baseEnv } from '../benchRun.js';
import { live } from '../interrupt.js';
import { running } from '../runTimed.js';
import { median } from '../stats.js';
import { cpuSeconds, memoryMb } from './procStats.js';

export interface CliRun {
  /** Date.now() just before spawn */
  startedAt: number;
  /** spawn to the first printed line (on a terminal; else, written to a file, its exit) */
  printedMs: number;
  /** spawn to exit */
  exitMs: number;
  code: number;
  stdout: string;
  stderr: string;
  rss: { peakMb: number; medianMb: number; samples: number };
  /** CPU seconds at its last sample (just before it exited) */
  cpuS: number;
}

const SAMPLE_MS = 20;

/** The node process under `script` (it may run the command through a shell), once there is one. */
async function nodeUnder(pid: number, depth = 3): Promise<number | undefined> {
  const text = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => '');
  for (const child of text
    .trim()
    .split(/\s+/)
    .map(Number)
    .filter((n) => n > 0)) {
    const comm = (await readFile(`/proc/${child}/comm`, 'utf8').catch(() => '')).trim();
    if (comm === 'node') return child;
    const deeper = depth > 1 ? await nodeUnder(child, depth - 1) : undefined;
    if (deeper) return deeper;
  }
  return undefined;
}

/**
 * Runs the CLI and samples it. `tty`: on a terminal (util-linux `script`), as a user at a shell runs it:
 * then it shows its progress bar, which polls the run's progress hash.
 */
export function runRebuildall(opts: {
  build: string;
  redisUrl: string;
  prefix: string;
  timeoutS: number;
  tty?: boolean;
  /** where its standard output goes when not on a terminal (read back once it exited) */
  outFile: string;
}): Promise<CliRun> {
  live();
  return new Promise((resolve, reject) => {
    const startedAt = Date.now();
    const t0 = performance.now();
    const argv = ['bin/netq.js', 'network:rebuildall', '--format', 'json', '--timeout', String(opts.timeoutS)];
    // Into a file, not a pipe: the CLI leaves 50 ms after its last write, and a pipe whose reader is slower
    // than that loses the end of a large result (megabytes at 5,000 apps and up); a file takes it at once.
    const out = opts.tty ? undefined : openSync(opts.outFile, 'w');
    const child = spawn(
      opts.tty ? 'script' : process.execPath,
      opts.tty ? ['-qefc', [process.execPath, ...argv].join(' '), '/dev/null'] : argv,
      {
        cwd: opts.build,
        env: { ...baseEnv(), REDIS_URL: opts.redisUrl, NETQ_PREFIX: opts.prefix, TERM: 'xterm' },
        stdio: ['ignore', out ?? 'pipe', 'pipe'],
      },
    );
    if (out !== undefined) closeSync(out);
    running.add(child);
    let stdout = '';
    let stderr = '';
    let printed: number | undefined;
    const rss: number[] = [];
    let peak = 0;
    let cpuS = Number.NaN;
    let sampling = false;
    let cliPid = opts.tty ? undefined : child.pid;
    const sampler = setInterval(() => {
      if (sampling || child.pid === undefined) return;
      sampling = true;
      if (cliPid === undefined) {
        void nodeUnder(child.pid).then((p) => {
          cliPid = p;
          sampling = false;
        });
        return;
      }
      void Promise.all([memoryMb(cliPid), cpuSeconds(cliPid)]).then(([m, c]) => {
        sampling = false;
        if (!m || !Number.isFinite(m.rssMb)) return;
        rss.push(m.rssMb);
        peak = Math.max(peak, m.hwmMb, m.rssMb);
        if (Number.isFinite(c)) cpuS = c;
      });
    }, SAMPLE_MS);
    child.stdout?.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (printed === undefined && stdout.includes('\n')) printed = performance.now();
    });
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), (opts.timeoutS + 30) * 1000);
    child.on('error', (err) => {
      clearInterval(sampler);
      clearTimeout(timer);
      running.delete(child);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearInterval(sampler);
      clearTimeout(timer);
      running.delete(child);
      const exitMs = performance.now() - t0;
      if (signal) {
        reject(new Error(`netq network:rebuildall ended by ${signal}: ${stderr.slice(0, 500)}`));
        return;
      }
      if (!opts.tty) stdout = readFileSync(opts.outFile, 'utf8');
      resolve({
        startedAt,
        printedMs: (printed ?? performance.now()) - t0,
        exitMs,
        code: code ?? -1,
        stdout,
        stderr,
        rss: { peakMb: peak, medianMb: median(rss), samples: rss.length },
        cpuS,
      });
    });
  });
}
