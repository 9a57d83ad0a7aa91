import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { rebuildall } from '../../producers/client.js';
import type { NetqQueues } from '../../src/queue.js';
import type { RebuildallResult } from '../../src/types.js';
import {
  appName,
  cleanupDocker,
  cleanupPrefix,
  configOf,
  createAppContainer,
  docker,
  freePort,
  producer,
  ROOT,
  runCli,
  storedListeners,
  tempDir,
  testEnv,
  until,
} from '../helpers.js';

/**
 * Fault injection against real processes: `netq worker` and `netq` CLI children, a redis-server of our
 * own. Every process is ended by its pid in afterEach, also when a test fails.
 */

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** when the process exited (ms) */
  at: number;
}

interface Proc {
  name: string;
  child: ChildProcess;
  pid: number;
  out: string;
  err: string;
  done: Exit | undefined;
  /** resolves once the process exited and its output is read */
  exited: Promise<Exit>;
}

const procs: Proc[] = [];
const envs: Record<string, string>[] = [];
const cleanups: (() => Promise<void>)[] = [];
/** files where a change hook writes its pid, so the hook can be ended by pid too */
const hookPidFiles: string[] = [];

function env(extra: Record<string, string> = {}) {
  const e = testEnv(extra);
  envs.push(e);
  return e;
}

function start(name: string, cmd: string, args: string[], childEnv: Record<string, string>): Proc {
  const child = spawn(cmd, args, { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  if (child.pid === undefined) throw new Error(`could not start ${name}`);
  let exit: Exit | undefined;
  const p: Proc = {
    name,
    child,
    pid: child.pid,
    out: '',
    err: '',
    done: undefined,
    exited: new Promise<Exit>((resolve) => {
      child.once('exit', (code, signal) => {
        exit = { code, signal, at: Date.now() };
      });
      child.once('close', (code, signal) => {
        p.done = exit ?? { code, signal, at: Date.now() };
        resolve(p.done);
      });
    }),
  };
  child.stdout?.on('data', (d) => {
    p.out += d;
  });
  child.stderr?.on('data', (d) => {
    p.err += d;
  });
  procs.push(p);
  return p;
}

const baseEnv = () => ({ PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root' });

function startNetq(name: string, args: string[], e: Record<string, string>): Proc {
  return start(name, process.execPath, [path.join(ROOT, 'bin/netq.js'), ...args], { ...baseEnv(), ...e });
}

/** `netq worker` with debug logs (the per-app start and end lines) on its stdout. */
const startWorker = (name: string, e: Record<string, string>) =>
  startNetq(name, ['worker'], { ...e, LOG_LEVEL: 'debug' });

/** Waits for a process to exit, failing after the deadline. */
async function exitOf(p: Proc, timeoutMs: number): Promise<Exit> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${p.name} (pid ${p.pid}) did not exit in ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([p.exited, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Ends a process this file started, by its pid. */
async function stop(p: Proc, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  if (p.done) return;
  try {
    process.kill(p.pid, signal);
  } catch {
    // already gone
  }
  await exitOf(p, 20_000);
}

/** Ends the change-hook processes whose pids a hook wrote down (only while they still run `sleep`). */
function stopHooks(file: string): number {
  if (!existsSync(file)) return 0;
  let n = 0;
  for (const pid of readFileSync(file, 'utf8').split('\n').filter(Boolean).map(Number)) {
    try {
      if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('sleep')) continue;
      process.kill(pid, 'SIGKILL');
      n += 1;
    } catch {
      // already gone
    }
  }
  return n;
}

afterEach(async () => {
  await Promise.all(procs.splice(0).map((p) => stop(p).catch(() => {})));
  for (const f of hookPidFiles.splice(0)) stopHooks(f);
  for (const c of cleanups.splice(0)) await c().catch(() => {});
  await cleanupDocker();
  for (const e of envs.splice(0)) await cleanupPrefix(configOf(e));
}, 120_000);
afterAll(cleanupDocker);

// ---- worker logs -------------------------------------------------------------------------------

type LogLine = Record<string, unknown> & { msg?: string; time?: number };

function logOf(p: Proc): LogLine[] {
  const lines: LogLine[] = [];
  for (const l of p.out.split('\n')) {
    if (!l.startsWith('{')) continue;
    try {
      lines.push(JSON.parse(l) as LogLine);
    } catch {
      // a line still being written
    }
  }
  return lines;
}

/** One stretch of work on an app by one process: from "rebuilding app" to "rebuilt app" (or the failure). */
interface Work {
  proc: string;
  app: string;
  jobId: string;
  start: number;
  end: number | undefined;
}

function workOf(p: Proc): Work[] {
  const works: Work[] = [];
  const open = (jobId: unknown) => works.find((w) => w.jobId === String(jobId) && w.end === undefined);
  for (const l of logOf(p)) {
    if (l.msg === 'rebuilding app') {
      works.push({
        proc: p.name,
        app: String(l.app),
        jobId: String(l.jobId),
        start: Number(l.startedAt),
        end: undefined,
      });
    } else if (l.msg === 'rebuilt app') {
      const w = open(l.jobId);
      if (w) w.end = Number(l.endedAt);
    } else if (l.msg === 'job failed, will retry' || l.msg === 'job failed for good') {
      const w = open(l.jobId);
      if (w) w.end = Number(l.time);
    }
  }
  return works;
}

/**
 * Pairs of stretches of work on one app that overlap in time, across every process given. A stretch
 * with no end (its process was killed) ends when its process did.
 */
function overlaps(procsAndWork: { p: Proc; works: Work[] }[]): string[] {
  const all = procsAndWork.flatMap(({ p, works }) =>
    works.map((w) => ({ ...w, end: w.end ?? p.done?.at ?? Number.POSITIVE_INFINITY })),
  );
  const byApp = new Map<string, typeof all>();
  for (const w of all) byApp.set(w.app, [...(byApp.get(w.app) ?? []), w]);
  const found: string[] = [];
  for (const [app, ws] of byApp) {
    ws.sort((a, b) => a.start - b.start);
    for (let i = 0; i < ws.length; i++) {
      for (let j = i + 1; j < ws.length; j++) {
        const a = ws[i];
        const b = ws[j];
        if (a && b && b.start < a.end) {
          found.push(
            `${app}: ${a.proc} ${a.jobId} [${a.start}, ${a.end}] and ${b.proc} ${b.jobId} [${b.start}, ${b.end}]`,
          );
        }
      }
    }
  }
  return found;
}

// ---- queues and containers ---------------------------------------------------------------------

/** Waits until the workers' start-up rebuildalls (one per event-stream connect) are done and nothing runs. */
async function settled(q: NetqQueues, runs: number): Promise<void> {
  const t0 = Date.now();
  await until(
    `${runs} start-up rebuildall(s) done`,
    async () => {
      const s = await q
        .summaryQueue()
        .getJobCounts('completed', 'active', 'waiting', 'waiting-children', 'delayed', 'prioritized');
      const r = await q.rebuildQueue('local').getJobCounts('active', 'waiting', 'delayed', 'prioritized');
      const busy =
        (s.active ?? 0) +
        (s.waiting ?? 0) +
        (s['waiting-children'] ?? 0) +
        (s.delayed ?? 0) +
        (s.prioritized ?? 0) +
        Object.values(r).reduce((n, v) => n + v, 0);
      return (s.completed ?? 0) >= runs && busy === 0 ? true : undefined;
    },
    90_000,
  );
  console.log(`start-up rebuildall(s) done in ${Date.now() - t0} ms`);
}

/** Makes apps with one container each (and a second web container for every `twoEvery`th); returns their ids. */
async function makeApps(base: string, n: number, twoEvery = 0): Promise<Map<string, string[]>> {
  const apps = new Map<string, string[]>(Array.from({ length: n }, () => [appName(base), []]));
  const specs = [...apps.keys()].flatMap((app, i) =>
    twoEvery && i % twoEvery === 0 ? [[app, 1] as const, [app, 2] as const] : [[app, 1] as const],
  );
  let next = 0;
  const one = async () => {
    while (next < specs.length) {
      const [app, index] = specs[next++] as readonly [string, number];
      const c = await createAppContainer({ app, index });
      apps.get(app)?.push(c.id);
    }
  };
  const t0 = Date.now();
  await Promise.all(Array.from({ length: 8 }, one));
  console.log(`made ${specs.length} containers of ${n} apps in ${Date.now() - t0} ms`);
  return apps;
}

/** The listeners an app's containers should have: their bridge IP and port 5000. */
async function expectedListeners(ids: string[]): Promise<string[]> {
  const ips = await Promise.all(
    ids.map(async (id) => (await docker.getContainer(id).inspect()).NetworkSettings.Networks.bridge?.IPAddress),
  );
  return ips.map((ip) => `${ip}:5000`).sort();
}

const sum = (r: RebuildallResult) => ({
  apps: r.apps,
  containers: r.containers,
  configured: r.configured,
  failed: r.failed,
  hostFailures: r.hostFailures,
});

describe('faults', () => {
  it('finishes a rebuildall exactly when one of two worker processes is SIGKILLed mid-run', async () => {
    const e = env({ NETQ_CONCURRENCY: '2' });
    const config = configOf(e);
    const apps = await makeApps('kill', 40, 5);
    const containers = [...apps.values()].reduce((n, ids) => n + ids.length, 0);
    // The victim runs a change hook that takes a second (a slow proxy reload), so whenever it is killed it
    // is in the middle of its jobs; the survivor has none.
    const victim = startWorker('w1', { ...e, NETQ_ON_CHANGE: JSON.stringify(['sleep', '1']) });
    const survivor = startWorker('w2', e);
    const q = producer(config);
    try {
      await settled(q, 2);
      // the start-up rebuilds stored every app's listeners: forgotten, so that each job of the measured run
      // finds them changed and the victim's run its hook (a per-app job alone takes a few ms, no time to kill in)
      await q.redis.del(q.keys.netconfig);
      const rebuilds = q.rebuildQueue('local');
      const run = rebuildall(q, { wait: true, timeoutMs: 150_000 });
      run.catch(() => {});
      // once some apps are done, kill the victim while BullMQ says it holds jobs (job.processedBy is the
      // worker id, which carries the pid)
      const ofVictim = (j: { processedBy?: string | undefined }) => j.processedBy?.includes(`-${victim.pid}-`) === true;
      const inFlight = await until(
        'some apps done and the victim busy',
        async () => {
          if ((await rebuilds.getCompletedCount()) < 6) return undefined;
          const mine = (await rebuilds.getActive()).filter(ofVictim);
          return mine.length > 0 ? mine : undefined;
        },
        60_000,
      );
      const killAt = Date.now();
      process.kill(victim.pid, 'SIGKILL');
      const killed = await exitOf(victim, 10_000);
      expect(killed.signal).toBe('SIGKILL');

      const { jobId: runId, result } = (await run) as { jobId: string; result: RebuildallResult };
      const killToSummaryMs = Date.now() - killAt;

      expect(sum(result)).toEqual({ apps: 40, containers, configured: containers, failed: 0, hostFailures: [] });
      expect(result.results).toHaveLength(40);
      expect(result.results.map((r) => r.app).sort()).toEqual([...apps.keys()].sort());
      for (const [app, ids] of apps) {
        expect((await storedListeners(config, app)).sort(), app).toEqual(await expectedListeners(ids));
      }

      // every app's job of this run completed once, as Redis says
      const runJobs = (await rebuilds.getJobs(['completed'], 0, -1)).filter((j) =>
        String(j.id).startsWith(`${runId}.`),
      );
      expect(runJobs.map((j) => (j.data as { app: string }).app).sort()).toEqual([...apps.keys()].sort());
      // the jobs the victim held at the kill were handed back and run again by the survivor, which started
      // them only after the kill: never two processes on one app at once
      const again = new Map(runJobs.map((j) => [String(j.id), j]));
      // (a job the victim finished between the look at its active jobs and the kill was not held at the kill)
      const heldAtKill = inFlight.filter((h) => {
        const j = again.get(String(h.id));
        return !(j && ofVictim(j) && (j.finishedOn ?? 0) <= killAt);
      });
      expect(heldAtKill.length).toBeGreaterThan(0);
      for (const held of heldAtKill) {
        const j = again.get(String(held.id));
        expect(j, String(held.id)).toBeDefined();
        expect(ofVictim(j ?? {}), String(held.id)).toBe(false);
        expect(j?.processedOn ?? 0, String(held.id)).toBeGreaterThan(killAt);
      }
      const mine = (p: Proc) => workOf(p).filter((w) => w.jobId.startsWith(`${runId}.`));
      expect(mine(survivor).every((w) => w.end !== undefined)).toBe(true);
      // and over every job both logged (the victim's last lines may have died in its buffer)
      expect(
        overlaps([
          { p: victim, works: workOf(victim) },
          { p: survivor, works: workOf(survivor) },
        ]),
      ).toEqual([]);
      expect(await q.rebuildQueue('local').getJobCounts('failed', 'active', 'waiting', 'delayed')).toEqual({
        failed: 0,
        active: 0,
        waiting: 0,
        delayed: 0,
      });
      expect(survivor.done).toBeUndefined();
      console.log(
        `SIGKILL: 40 apps / ${containers} containers, 1 worker killed with ${inFlight.length} job(s) in flight ` +
          `(${inFlight.map((j) => j.data.app).join(', ')}), all re-run by the survivor after the kill; ` +
          `${mine(survivor).length} jobs by the survivor, 0 lost; summary ${killToSummaryMs} ms after the kill`,
      );
    } finally {
      await q.close();
    }
  }, 300_000);

  it('on SIGTERM a busy worker finishes its active job, takes no other, exits 0; a later worker finishes the run', async () => {
    const e = env({ NETQ_CONCURRENCY: '1', NETQ_SHUTDOWN_GRACE_MS: '20000' });
    const config = configOf(e);
    const apps = await makeApps('term', 30);
    const containers = [...apps.values()].reduce((n, ids) => n + ids.length, 0);
    const a = startWorker('a', e);
    const q = producer(config);
    try {
      await settled(q, 1);
      // the test holds 10 apps' locks (as another worker's jobs would), so the run cannot end before
      // the signal however fast the machine is; they are let go before the second worker starts
      const held = [...apps.keys()].sort().slice(20);
      for (const app of held) await q.redis.set(q.keys.appLock(app), 'test-holder', 'PX', 120_000);
      const mark = Date.now();
      const run = rebuildall(q, { wait: true, timeoutMs: 150_000 });
      run.catch(() => {});
      const since = () => workOf(a).filter((w) => w.start >= mark);
      // a job active in BullMQ (its log lines are written asynchronously, so the log lags)
      await until(
        'a has done some apps and works on one',
        async () =>
          since().filter((w) => w.end !== undefined).length >= 5 &&
          ((await q.rebuildQueue('local').getJobCounts('active')).active ?? 0) > 0
            ? true
            : undefined,
        60_000,
      );
      const termAt = Date.now();
      process.kill(a.pid, 'SIGTERM');
      const exit = await exitOf(a, 25_000);
      const exitMs = exit.at - termAt;
      expect(exit.code).toBe(0);
      expect(exitMs).toBeLessThan(20_000); // within NETQ_SHUTDOWN_GRACE_MS

      const log = logOf(a);
      const stopping = log.find((l) => l.msg === 'stopping: no new jobs, finishing active ones');
      expect(stopping).toBeDefined();
      expect(log.some((l) => l.msg === 'worker pool stopped')).toBe(true);
      expect(log.some((l) => String(l.msg).startsWith('grace period over'))).toBe(false);
      const byA = since();
      // its active job finished, and it claimed no job after the signal: a job's processedOn is when a
      // worker moved it to active (a job fetched along with the completion of the one before included)
      const tail = () =>
        log
          .filter((l) => Number(l.time) >= Number(stopping?.time) - 2000)
          .map((l) => `${l.time} ${l.msg} ${l.jobId ?? ''}`)
          .join('\n');
      expect(
        byA.filter((w) => w.end === undefined),
        tail(),
      ).toEqual([]);
      const claimed = await Promise.all(
        byA.map(async (w) => ({ ...w, processedOn: (await q.rebuildQueue('local').getJob(w.jobId))?.processedOn })),
      );
      expect(
        claimed.filter((w) => !(Number(w.processedOn) <= Number(stopping?.time))),
        tail(),
      ).toEqual([]);
      // nothing was left active or lost: every app not done by a is still waiting
      const left = await q.rebuildQueue('local').getJobCounts('active', 'waiting', 'delayed', 'failed', 'completed');
      expect(left.active).toBe(0);
      expect(left.failed).toBe(0);
      expect((left.waiting ?? 0) + (left.delayed ?? 0)).toBe(30 - byA.length);
      expect(byA.length).toBeLessThan(30);

      await q.redis.del(...held.map((app) => q.keys.appLock(app)));
      const b = startWorker('b', e);
      const t0 = Date.now();
      const { jobId: runId, result } = (await run) as { jobId: string; result: RebuildallResult };
      const restMs = Date.now() - t0;
      expect(sum(result)).toEqual({ apps: 30, containers, configured: containers, failed: 0, hostFailures: [] });
      expect(result.results.map((r) => r.app).sort()).toEqual([...apps.keys()].sort());
      const mine = (p: Proc) => workOf(p).filter((w) => w.jobId.startsWith(`${runId}.`));
      const doneA = mine(a).map((w) => w.app);
      const doneB = mine(b).map((w) => w.app);
      // every app of the run worked on exactly once, by a or by b
      expect([...doneA, ...doneB].sort()).toEqual([...apps.keys()].sort());
      expect(mine(b).every((w) => w.end !== undefined)).toBe(true);
      for (const [app, ids] of apps) {
        expect((await storedListeners(config, app)).sort(), app).toEqual(await expectedListeners(ids));
      }
      expect(
        overlaps([
          { p: a, works: workOf(a) },
          { p: b, works: workOf(b) },
        ]),
      ).toEqual([]);
      console.log(
        `SIGTERM: 30 apps, a did ${doneA.length} and exited 0 ${exitMs} ms after SIGTERM (grace 20000 ms), ` +
          `b did ${doneB.length} in ${restMs} ms, 0 lost, 0 twice`,
      );
    } finally {
      await q.close();
    }
  }, 240_000);

  it('after the shutdown grace a worker hands its active job back, and another worker runs it', async () => {
    const dir = await tempDir();
    cleanups.push(dir.remove);
    const pids = path.join(dir.dir, 'hook.pids');
    hookPidFiles.push(pids);
    const e = env({ NETQ_CONCURRENCY: '1', NETQ_SHUTDOWN_GRACE_MS: '2000' });
    const config = configOf(e);
    const apps = await makeApps('grace', 1);
    const [[app, ids]] = [...apps] as [[string, string[]]];
    // a change hook that outlasts the grace: the first rebuild of the app changes its listeners
    const a = startWorker('a', {
      ...e,
      NETQ_ON_CHANGE: JSON.stringify(['/bin/sh', '-c', `echo $$ >> ${pids}; exec sleep 60`]),
    });
    const q = producer(config);
    try {
      // a's start-up rebuildall: its one app job is in the hook
      await until('the hook runs', async () => (existsSync(pids) ? true : undefined), 30_000);
      const runs = await q.redis.keys(`${config.prefix}:run-totals:*`);
      expect(runs).toHaveLength(1);
      const runId = String(runs[0]).slice(`${config.prefix}:run-totals:`.length);
      const termAt = Date.now();
      process.kill(a.pid, 'SIGTERM');
      const exit = await exitOf(a, 10_000);
      const exitMs = exit.at - termAt;
      expect(exit.code).toBe(0);
      expect(exitMs).toBeGreaterThanOrEqual(2_000);
      expect(exitMs).toBeLessThan(2_000 + 15_000); // the grace, then a forced close
      expect(logOf(a).some((l) => l.msg === 'grace period over: handing active jobs back')).toBe(true);
      expect(stopHooks(pids)).toBe(1);
      const cut = workOf(a).filter((w) => w.jobId === `${runId}.local.${app}`);
      expect(cut).toHaveLength(1);
      expect(cut[0]?.end).toBeUndefined();

      const b = startWorker('b', e);
      const summary = await q.summaryQueue().getJob(runId);
      const t0 = Date.now();
      const state = await until(
        'the run completes',
        async () => {
          const s = await summary?.getState();
          return s === 'completed' || s === 'failed' ? s : undefined;
        },
        60_000,
      );
      const handBackMs = Date.now() - t0;
      expect(state).toBe('completed');
      const fresh = await q.summaryQueue().getJob(runId);
      expect(sum(fresh?.returnvalue as RebuildallResult)).toEqual({
        apps: 1,
        containers: ids.length,
        configured: ids.length,
        failed: 0,
        hostFailures: [],
      });
      const rerun = workOf(b).filter((w) => w.jobId === `${runId}.local.${app}`);
      expect(rerun).toHaveLength(1);
      expect(rerun[0]?.end).toBeDefined();
      expect(rerun[0]?.start).toBeGreaterThan(exit.at);
      expect((await storedListeners(config, app)).sort()).toEqual(await expectedListeners(ids));
      expect(
        overlaps([
          { p: a, works: workOf(a) },
          { p: b, works: workOf(b) },
        ]),
      ).toEqual([]);
      console.log(
        `grace: a exited 0 ${exitMs} ms after SIGTERM (grace 2000 ms) with 1 job in its hook; ` +
          `b re-ran it and the run completed ${handBackMs} ms after b started; 0 lost`,
      );
    } finally {
      await q.close();
    }
  }, 180_000);

  it('survives a Redis restart mid-run: worker and waiting CLI reconnect, counts exact; a CLI fails fast while Redis is down', async () => {
    const dir = await tempDir();
    cleanups.push(dir.remove);
    const port = await freePort();
    const url = `redis://127.0.0.1:${port}`;
    const redisArgs = [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--appendonly',
      'yes',
      '--appendfsync',
      'everysec',
      '--dir',
      dir.dir,
      '--save',
      '',
      '--pidfile',
      path.join(dir.dir, 'redis.pid'),
    ];
    const startRedis = async () => {
      const r = start('redis', 'redis-server', redisArgs, baseEnv());
      await until(
        'redis answers',
        async () => {
          try {
            return execFileSync('redis-cli', ['-p', String(port), 'ping'], { stdio: ['ignore', 'pipe', 'ignore'] })
              .toString()
              .trim() === 'PONG'
              ? true
              : undefined;
          } catch {
            return undefined;
          }
        },
        10_000,
      );
      return r;
    };
    let redis = await startRedis();
    // its own Redis: the keys go with the directory
    const e = testEnv({ REDIS_URL: url, NETQ_CONCURRENCY: '1' });
    const config = configOf(e);
    const apps = await makeApps('redis', 24);
    const containers = [...apps.values()].reduce((n, ids) => n + ids.length, 0);
    const w = startWorker('w', e);
    const q = producer(config);
    q.redis.on('error', () => {});
    try {
      await settled(q, 1);
      // So that the fault lands mid-run however fast the machine is, the test holds the app lock of all
      // but 4 apps (as another worker's job would): their jobs wait, retrying, until it lets go after the
      // restart. The locks are ordinary keys, so they survive the restart like the queues do.
      const held = [...apps.keys()].sort().slice(4);
      for (const app of held) await q.redis.set(q.keys.appLock(app), 'test-holder', 'PX', 120_000);
      const mark = Date.now();
      const cli = startNetq('cli', ['network:rebuildall', '--format', 'json', '--timeout', '120'], e);
      const since = () => workOf(w).filter((x) => x.start >= mark);
      await until('4 apps done', async () => (since().filter((x) => x.end).length >= 4 ? true : undefined), 60_000);
      const downAt = Date.now();
      process.kill(redis.pid, 'SIGTERM');
      const down = await exitOf(redis, 15_000);
      expect(down.code).toBe(0);
      const doneBefore = since().filter((x) => x.end !== undefined && x.end <= down.at).length;
      expect(doneBefore).toBe(4);
      // Redis stays down for a couple of seconds (the fault itself), then comes back on the same port and dir
      await new Promise((r) => setTimeout(r, 2_000));
      redis = await startRedis();
      const upAt = Date.now();
      await until(
        'the held locks are still there',
        async () => ((await q.redis.exists(q.keys.appLock(held[0] ?? ''))) === 1 ? true : undefined),
        20_000,
      );
      await q.redis.del(...held.map((app) => q.keys.appLock(app)));

      const cliExit = await exitOf(cli, 120_000);
      expect(cli.err).toBe('');
      expect(cliExit.code).toBe(0);
      const result = JSON.parse(cli.out) as RebuildallResult;
      expect(sum(result)).toEqual({ apps: 24, containers, configured: containers, failed: 0, hostFailures: [] });
      expect(result.results.map((r) => r.app).sort()).toEqual([...apps.keys()].sort());
      expect(w.done).toBeUndefined();
      expect(w.err).not.toMatch(/Unhandled error/);
      for (const [app, ids] of apps) {
        expect((await storedListeners(config, app)).sort(), app).toEqual(await expectedListeners(ids));
      }
      // no job lost or failed for good; every app's job of this run completed once
      const runs = (await q.redis.keys(`${config.prefix}:run-totals:*`)).map((k) =>
        k.slice(`${config.prefix}:run-totals:`.length),
      );
      const completed = await q.rebuildQueue('local').getJobs(['completed'], 0, -1);
      const summaries = await q.summaryQueue().getJobs(['completed'], 0, -1);
      const cliRun = summaries.find(
        (s) => (s.returnvalue as RebuildallResult).results.length === 24 && s.timestamp >= mark,
      );
      expect(cliRun).toBeDefined();
      const runJobs = completed.filter((j) => String(j.id).startsWith(`${cliRun?.id}.`));
      expect(runJobs.map((j) => (j.data as { app: string }).app).sort()).toEqual([...apps.keys()].sort());
      expect(await q.rebuildQueue('local').getJobCounts('failed')).toEqual({ failed: 0 });
      expect(runs).toContain(cliRun?.id);
      expect(overlaps([{ p: w, works: workOf(w) }])).toEqual([]);
      const retries = logOf(w).filter((l) => l.msg === 'job failed, will retry').length;
      console.log(
        `Redis restart: 24 apps / ${containers} containers, ${doneBefore} done before Redis stopped, down ` +
          `${upAt - downAt} ms; CLI exit 0 ${(cliExit.at - upAt).toString()} ms after Redis was back; ` +
          `${retries} job retries, 0 lost`,
      );

      // Redis goes away while a CLI waits (on a host nobody serves, so it would wait out its timeout) and
      // stays away past the timeout: the CLI gives up about when its timeout ends, naming REDIS_URL
      const [someApp] = [...apps.keys()];
      const waiting = startNetq(
        'cli-waiting',
        ['network:rebuild', String(someApp), '--host', 'gone', '--timeout', '5'],
        e,
      );
      await until(
        'the waiting rebuild is queued',
        async () => (((await q.rebuildQueue('gone').getJobCounts('waiting')).waiting ?? 0) > 0 ? true : undefined),
        30_000,
      );
      process.kill(redis.pid, 'SIGTERM');
      const gone = await exitOf(redis, 15_000);
      const waitingExit = await exitOf(waiting, 30_000);
      expect(waitingExit.code).toBe(1);
      expect(waiting.err).toContain(`REDIS_URL=${url}`);
      expect(waiting.err).toMatch(/Redis/);
      expect(waitingExit.at - gone.at).toBeLessThan(5_000 + 5_000);
      console.log(
        `Redis lost while waiting: network:rebuild --timeout 5 exited ${waitingExit.code} ` +
          `${waitingExit.at - gone.at} ms after Redis stopped: ${waiting.err.trim()}`,
      );

      // a CLI started while Redis is down: it gives up within about its timeout (not the 10 s connect
      // deadline), naming REDIS_URL. The CLI's own start-up time (bad input: exit 1 before it connects) is
      // measured beside it, since a loaded machine takes seconds to load the CLI.
      let t0 = Date.now();
      const bare = await runCli(['network:rebuild', 'Not_An_App!'], e, 30_000);
      const startupMs = Date.now() - t0;
      expect(bare.code).toBe(1);
      t0 = Date.now();
      const res = await runCli(['network:rebuild', String(someApp), '--timeout', '3'], e, 30_000);
      const tookMs = Date.now() - t0;
      expect(res.code).toBe(1);
      expect(res.stderr).toContain(`netq: cannot reach Redis at REDIS_URL=${url} within 3s`);
      expect(tookMs - startupMs).toBeLessThan(6_000);
      console.log(
        `Redis down: network:rebuild --timeout 3 exited ${res.code} after ${tookMs} ms ` +
          `(the CLI alone: ${startupMs} ms): ${res.stderr.trim()}`,
      );
    } finally {
      await q.close();
    }
  }, 240_000);
});
