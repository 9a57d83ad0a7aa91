// The netq worker the bench measures: a child process run from the copy of netq's build, in Dokku mode, on
// the run's prefix and label, logging to a file in the temp dir. Started per size (and per ablation variant),
// waited on until its own start-up work is done, and stopped as a user would stop it.
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { netqKeys } from '../src/keys.js';
import type { NetqQueues } from '../src/queue.js';
import { type BenchRun, REDIS_URL } from './benchRun.js';
import { live } from './interrupt.js';
import type { WorkerChild } from './workerProcess.js';

export type { WorkerChild } from './workerProcess.js';

/** Starts a worker and waits until it has registered (20 s at most); it becomes the run's worker. */
export async function startWorker(
  run: BenchRun,
  extraEnv: Record<string, string> = {},
  nodeArgs: string[] = [],
): Promise<WorkerChild> {
  live();
  const log = path.join(run.tmp, `worker-${Date.now()}.log`);
  const fd = openSync(log, 'a');
  const child = spawn(process.execPath, [...nodeArgs, 'bin/netq.js', 'worker'], {
    cwd: run.build,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/root',
      REDIS_URL,
      NETQ_PREFIX: run.netqPrefix,
      NETQ_SCOPE_LABEL: run.label,
      ...run.dokkuEnv(),
      LOG_LEVEL: 'info',
      ...extraEnv,
    },
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  if (child.pid === undefined) throw new Error('could not start the worker');
  const w = { child, pid: child.pid, log };
  run.worker = w;
  const deadline = Date.now() + 20_000;
  for (;;) {
    live();
    if (child.exitCode !== null) {
      throw new Error(`the worker exited with ${child.exitCode}: ${(await readFile(log, 'utf8')).slice(-2000)}`);
    }
    const members = await run.redis.zrange(netqKeys(`{${run.netqPrefix}}`).workers('local'), '0', '-1');
    if (members.some((m) => m.includes(`-${child.pid}-`))) return w;
    if (Date.now() > deadline) throw new Error('the worker did not register within 20 s');
    await sleep(50);
  }
}

/**
 * Waits until a fresh worker's own start-up work is done: its Docker event watcher connects and queues a
 * rebuild of the whole host, which must not overlap the measured runs.
 */
export async function settle(w: WorkerChild, queues: NetqQueues): Promise<string> {
  const deadline = Date.now() + 300_000;
  let watching = false;
  while (Date.now() < deadline - 290_000 && !watching) {
    live();
    watching = (await countLogLines(w.log, 'docker event stream connected')) > 0;
    if (!watching) await sleep(100);
  }
  const queuesToDrain = [queues.summaryQueue(), queues.scanQueue('local'), queues.rebuildQueue('local')];
  let idleSince: number | undefined;
  for (;;) {
    live();
    let busy = 0;
    for (const q of queuesToDrain) {
      const c = await q.getJobCounts('wait', 'active', 'delayed', 'prioritized', 'waiting-children');
      busy += Object.values(c).reduce((a, b) => a + b, 0);
    }
    if (busy > 0) idleSince = undefined;
    else idleSince ??= Date.now();
    if (idleSince !== undefined && Date.now() - idleSince >= 500) break;
    if (Date.now() > deadline) throw new Error(`the worker still had ${busy} jobs after 300 s`);
    await sleep(100);
  }
  const hostRebuilds = await countLogLines(w.log, 'rebuildall summary');
  return watching
    ? `its start-up host rebuild is done (${hostRebuilds} summary)`
    : 'no event watcher line in its log within 10 s; queues idle';
}

/** SIGTERM (the worker finishes its active jobs, then exits), SIGKILL after 15 s. */
export async function stopWorker(run: BenchRun, w: WorkerChild): Promise<void> {
  if (w.child.exitCode !== null || w.child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => w.child.once('exit', () => resolve()));
  w.child.kill('SIGTERM'); // finishes active jobs, then exits
  const timer = setTimeout(() => w.child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
  if (run.worker === w) run.worker = undefined;
}

/** The worker's resident memory now and its peak, from /proc. */
export async function rssOf(pid: number): Promise<{ rssMb: number; hwmMb: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(status)?.[1] ?? Number.NaN);
  return { rssMb: kb('VmRSS') / 1024, hwmMb: kb('VmHWM') / 1024 };
}

/** Lines of the worker's log with this `msg` (or matching the pattern). */
export const countLogLines = async (file: string, msg: string, pattern?: RegExp) =>
  (await readFile(file, 'utf8')).split('\n').filter((l) => (pattern ? pattern.test(l) : l.includes(`"msg":"${msg}"`)))
    .length;
