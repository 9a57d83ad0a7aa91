// The fleet's workers: one `netq worker` process per simulated host (NETQ_HOST_ID=h01…, DOCKER_HOST its
// simulated engine's socket), run from the bench's copy of netq's build, on the private Redis, without
// Dokku (label mode: Redis is the store of a fleet), each logging to its own file.
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { NetqQueues } from '../../src/queue.js';
import { baseEnv } from '../benchRun.js';
import { live } from '../interrupt.js';
import { running } from '../runTimed.js';

export interface FleetWorker {
  host: string;
  child: ChildProcess;
  pid: number;
  log: string;
}

export interface WorkerEnv {
  build: string;
  redisUrl: string;
  prefix: string;
  logDir: string;
}

/** Starts one worker per host, all at once, and waits until every host beats (60 s at most). */
export async function startWorkers(
  env: WorkerEnv,
  hosts: { host: string; dockerHost: string }[],
  queues: NetqQueues,
): Promise<FleetWorker[]> {
  live();
  const workers = hosts.map(({ host, dockerHost }) => {
    const log = path.join(env.logDir, `worker-${host}-${Date.now()}.log`);
    const fd = openSync(log, 'a');
    const child = spawn(process.execPath, ['bin/netq.js', 'worker'], {
      cwd: env.build,
      env: {
        ...baseEnv(),
        REDIS_URL: env.redisUrl,
        NETQ_PREFIX: env.prefix,
        NETQ_HOST_ID: host,
        DOCKER_HOST: dockerHost,
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', fd, fd],
    });
    closeSync(fd);
    running.add(child);
    child.on('exit', () => running.delete(child));
    if (child.pid === undefined) throw new Error(`could not start the worker of ${host}`);
    return { host, child, pid: child.pid, log };
  });
  const deadline = Date.now() + 60_000;
  for (;;) {
    live();
    const dead = workers.find((w) => w.child.exitCode !== null);
    if (dead) {
      throw new Error(
        `the worker of ${dead.host} exited with ${dead.child.exitCode}: ${(await readFile(dead.log, 'utf8')).slice(-1500)}`,
      );
    }
    const beating = await Promise.all(workers.map((w) => queues.redis.zcard(queues.keys.workers(w.host))));
    if (beating.every((n) => n > 0)) return workers;
    if (Date.now() > deadline) {
      throw new Error(
        `only ${beating.filter((n) => n > 0).length} of ${workers.length} workers registered within 60 s`,
      );
    }
    await sleep(100);
  }
}

/** Jobs not finished yet in the fleet's queues (waiting, active, delayed, waiting for children). */
export async function unfinishedJobs(queues: NetqQueues, hosts: string[]): Promise<number> {
  const all = [
    queues.summaryQueue(),
    ...hosts.flatMap((h) => [queues.scanQueue(h), queues.rebuildQueue(h), queues.controlQueue(h)]),
  ];
  const counts = await Promise.all(
    all.map((q) => q.getJobCounts('wait', 'active', 'delayed', 'prioritized', 'waiting-children')),
  );
  return counts.reduce((n, c) => n + Object.values(c).reduce((a, b) => a + b, 0), 0);
}

/**
 * Waits until the workers' own start-up work is done: each worker's event watcher queues a rebuild of its
 * whole host when it connects (so `hosts` summaries complete), then the queues stay empty for 1 s.
 */
export async function settleFleet(queues: NetqQueues, hosts: string[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let idleSince: number | undefined;
  for (;;) {
    live();
    const summaries = (await queues.summaryQueue().getJobCounts('completed')).completed ?? 0;
    const busy = await unfinishedJobs(queues, hosts);
    if (summaries >= hosts.length && busy === 0) idleSince ??= Date.now();
    else idleSince = undefined;
    if (idleSince !== undefined && Date.now() - idleSince >= 1000) return;
    if (Date.now() > deadline) {
      throw new Error(
        `the fleet did not settle within ${timeoutMs / 1000} s: ${summaries} of ${hosts.length} start-up rebuilds done, ${busy} jobs unfinished`,
      );
    }
    await sleep(250);
  }
}

/** SIGTERM to every worker (they finish their active jobs), SIGKILL after 20 s. */
export async function stopWorkers(workers: FleetWorker[]): Promise<void> {
  await Promise.all(
    workers.map(async (w) => {
      if (w.child.exitCode !== null || w.child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => w.child.once('exit', () => resolve()));
      w.child.kill('SIGTERM');
      const timer = setTimeout(() => w.child.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(timer);
    }),
  );
}

/** Log lines of the workers with this `msg`, as parsed JSON, written at or after `since` (ms since the epoch). */
export async function logLines(
  workers: FleetWorker[],
  msg: string,
  since: number,
  until = Infinity,
): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  for (const w of workers) {
    const text = await readFile(w.log, 'utf8');
    for (const line of text.split('\n')) {
      if (!line.includes(`"msg":"${msg}"`)) continue;
      try {
        const o = JSON.parse(line) as Record<string, unknown>;
        const t = Number(o.time);
        if (t >= since && t <= until) out.push(o);
      } catch {}
    }
  }
  return out;
}

/**
 * The workers' log lines at warn level or worse (pino levels 40+) written at or after `since`, each as
 * `<host>: <msg>: <err.message>`.
 */
export async function problemLines(workers: FleetWorker[], since: number): Promise<string[]> {
  const out: string[] = [];
  for (const w of workers) {
    const text = await readFile(w.log, 'utf8');
    for (const line of text.split('\n')) {
      if (Number(/"level":(\d+)/.exec(line)?.[1] ?? 0) < 40) continue;
      try {
        const o = JSON.parse(line) as { time?: number; msg?: string; err?: { message?: string } };
        if ((o.time ?? 0) < since) continue;
        out.push(`${w.host}: ${o.msg ?? ''}${o.err?.message ? `: ${o.err.message}` : ''}`);
      } catch {
        out.push(`${w.host}: ${line.slice(0, 200)}`);
      }
    }
  }
  return out;
}
