import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { rebuildall } from '../../producers/client.js';
import type { Config } from '../../src/config.js';
import { DockerodeEngine } from '../../src/docker/dockerodeEngine.js';
import type { RebuildallResult } from '../../src/types.js';
import {
  appName,
  cleanupDocker,
  cleanupPrefix,
  closePools,
  collect,
  configOf,
  createAppContainer,
  openPools,
  producer,
  ROOT,
  RUN_LABEL,
  runCli,
  runId,
  startPool,
  storedListeners,
  testEnv,
  until,
} from '../helpers.js';

/**
 * Liveness is judged by Redis's clock (issue 13, gap 2): workers whose own clocks are 30 s off, skewed with
 * Debian's `faketime` (LD_PRELOAD into the node binary), on the machine's engine under host ids of their own.
 */

const BIN = path.join(ROOT, 'bin/netq.js');
/** A scope label no container carries: a worker that serves an engine with nothing of this run on it. */
const NOTHING = `${RUN_LABEL}=${runId}-none`;
const envs: Record<string, string>[] = [];
/** the worker processes a test started */
const workers: WorkerProcess[] = [];
function env(extra: Record<string, string> = {}) {
  const e = testEnv(extra);
  envs.push(e);
  return e;
}

/** The parent pid of a process, or undefined when it is gone. */
function parentOf(pid: number): number | undefined {
  try {
    return Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ')[1]);
  } catch {
    return undefined;
  }
}

afterEach(async () => {
  for (const w of workers.splice(0)) {
    if (w.child.exitCode !== null || w.child.signalCode !== null) continue;
    // under faketime: the node process first (faketime would wait for it), while it is still faketime's child
    if (w.pid !== w.child.pid && parentOf(w.pid) === w.child.pid) process.kill(w.pid, 'SIGKILL');
    w.child.kill('SIGKILL');
    await w.exited;
  }
  await closePools();
  expect(openPools()).toBe(0);
  await cleanupDocker();
  for (const e of envs.splice(0)) await cleanupPrefix(configOf(e));
});

/** Date.now() of a node run under `faketime -f offset`, minus ours. */
function skewOf(offset: string): number {
  const before = Date.now();
  const out = execFileSync('faketime', [
    '-f',
    offset,
    process.execPath,
    '-e',
    'process.stdout.write(String(Date.now()))',
  ]);
  return Number(out.toString()) - (before + Date.now()) / 2;
}

beforeAll(() => {
  // without this the tests below would prove nothing: faketime must really move node's clock here
  expect(skewOf('-30s')).toBeGreaterThan(-32_000);
  expect(skewOf('-30s')).toBeLessThan(-28_000);
  expect(skewOf('+30s')).toBeGreaterThan(28_000);
  expect(skewOf('+30s')).toBeLessThan(32_000);
});

interface WorkerProcess {
  /** what the test spawned: node, or faketime, which forks node and waits for it */
  child: ChildProcess;
  /** the node process: the one to kill */
  pid: number;
  exited: Promise<void>;
}

/** `netq worker` for a host, its clock moved by `offset` (`faketime -f`), or the machine's when undefined. */
async function worker(e: Record<string, string>, hostId: string, offset?: string, extra: Record<string, string> = {}) {
  const args = [BIN, 'worker'];
  const child = spawn(
    offset ? 'faketime' : process.execPath,
    offset ? ['-f', offset, process.execPath, ...args] : args,
    {
      env: { ...process.env, ...e, NETQ_HOST_ID: hostId, ...extra },
      stdio: 'ignore',
    },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const parent = child.pid as number;
  const w: WorkerProcess = { child, pid: parent, exited };
  workers.push(w);
  if (offset) {
    w.pid = await until(`the node process under faketime (${hostId})`, async () => {
      const kids = readFileSync(`/proc/${parent}/task/${parent}/children`, 'utf8').trim();
      return kids ? Number(kids.split(' ')[0]) : undefined;
    });
  }
  return w;
}

/** Waits until every app has a stored listener on the host (its worker's own host rebuild on connecting). */
const rebuiltOn = (config: Config, host: string, apps: string[]) =>
  until(
    `${host}'s apps rebuilt once`,
    async () => {
      for (const a of apps) if ((await storedListeners(config, a, host)).length === 0) return undefined;
      return true;
    },
    60_000,
  );

/** This process's pool: a live host with a reaper and a summary worker, and no app of its own. */
const startEmptyPool = (config: Config) =>
  startPool(config, { docker: new DockerodeEngine(config.dockerHost, NOTHING) });

describe("liveness by Redis's clock", () => {
  it('sees a worker whose clock is 30 s behind as live, and does not reap it mid-rebuildall', async () => {
    const e = env({ NETQ_CONCURRENCY: '2' });
    const config = configOf(e);
    await startEmptyPool(config);
    const apps = Array.from({ length: 4 }, () => appName('behind'));
    for (const a of apps) await createAppContainer({ app: a });
    await worker(e, 'behind', '-30s');
    const q = producer(config);
    try {
      await until('behind live', async () => ((await q.liveHosts()).includes('behind') ? true : undefined));
      await rebuiltOn(config, 'behind', apps);
      // its heartbeat carries Redis's clock, not its own
      const age = (await q.redisNow()) - Number(await q.redis.zscore(q.keys.hosts, 'behind'));
      expect(age).toBeGreaterThanOrEqual(0);
      expect(age).toBeLessThan(6_000);
      const listed = JSON.parse((await runCli(['hosts', '--format', 'json'], e)).stdout);
      expect(listed).toContainEqual(expect.objectContaining({ host: 'behind', live: true, workers: 1, apps: 4 }));

      // the test holds the apps' locks for 12 s (as another worker's jobs would): the run spans two ticks
      // of every reaper, which must not take the host over
      for (const a of apps) await q.redis.set(q.keys.appLock(a), 'test-holder', 'PX', 12_000);
      let reaped = false;
      const watch = setInterval(() => {
        q.redis.exists(`${config.prefix}:reaper:behind`).then(
          (n) => {
            if (n) reaped = true;
          },
          () => {},
        );
      }, 200);
      const t0 = Date.now();
      let result: RebuildallResult | undefined;
      try {
        ({ result } = await rebuildall(q, { wait: true, timeoutMs: 90_000 }));
      } finally {
        clearInterval(watch);
      }
      const took = Date.now() - t0;
      console.log(`rebuildall with a worker 30 s behind: ${took} ms`);
      expect(took).toBeGreaterThan(11_000);
      expect(reaped).toBe(false);
      expect(result).toMatchObject({ apps: 4, containers: 4, configured: 4, failed: 0, hostFailures: [] });
      expect(result?.results.map((r) => `${r.app}@${r.host}`).sort()).toEqual(apps.map((a) => `${a}@behind`).sort());

      // a CLI whose own clock is 30 s ahead sees the same live hosts
      const cli = spawn('faketime', ['-f', '+30s', process.execPath, BIN, 'network:rebuildall', '--format', 'json'], {
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', ...e },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const ahead = await collect(cli);
      expect(ahead.stderr).toBe('');
      expect(ahead.code).toBe(0);
      expect(JSON.parse(ahead.stdout)).toMatchObject({ apps: 4, configured: 4, failed: 0, hostFailures: [] });
    } finally {
      await q.close();
    }
  }, 180_000);

  it('sees a SIGKILLed worker whose clock was 30 s ahead as dead as soon as an unskewed one, and reaps its run jobs', async () => {
    const e = env({ NETQ_CONCURRENCY: '1' });
    const config = configOf(e);
    await startEmptyPool(config);
    const apps = Array.from({ length: 3 }, () => appName('ahead'));
    for (const a of apps) await createAppContainer({ app: a });
    const ahead = await worker(e, 'ahead', '+30s');
    // the yardstick: a worker with the machine's clock, on nothing of this run's
    const even = await worker(e, 'even', undefined, { NETQ_SCOPE_LABEL: NOTHING });
    const q = producer(config);
    try {
      await until('both live', async () => {
        const live = await q.liveHosts();
        return live.includes('ahead') && live.includes('even') ? true : undefined;
      });
      // what the summary falls back on for a host that dies before its scan is taken
      await rebuiltOn(config, 'ahead', apps);
      process.kill(ahead.pid, 'SIGKILL');
      process.kill(even.pid, 'SIGKILL');
      await Promise.all([ahead.exited, even.exited]);
      const t0 = Date.now();
      // their heartbeats are still fresh: the run adds a scan for each that no live worker will ever take
      expect(await q.liveHosts()).toEqual(expect.arrayContaining(['ahead', 'even']));
      const run = rebuildall(q, { wait: true, timeoutMs: 120_000 });
      const deadAfter: Record<string, number> = {};
      await until(
        'both seen dead',
        async () => {
          const live = await q.liveHosts();
          for (const h of ['ahead', 'even']) if (!live.includes(h)) deadAfter[h] ??= Date.now() - t0;
          return deadAfter.ahead !== undefined && deadAfter.even !== undefined ? true : undefined;
        },
        90_000,
      );
      const { result } = (await run) as { result: RebuildallResult };
      const summaryAfter = Date.now() - t0;
      console.log(
        `after the kill: 30 s ahead seen dead at ${deadAfter.ahead} ms, unskewed at ${deadAfter.even} ms; summary at ${summaryAfter} ms`,
      );
      // dead 15 s after its last heartbeat (one every 5 s), by the same clock as the unskewed one
      for (const h of ['ahead', 'even']) {
        expect(deadAfter[h]).toBeGreaterThanOrEqual(9_000);
        expect(deadAfter[h]).toBeLessThanOrEqual(17_000);
      }
      expect(Math.abs((deadAfter.ahead ?? 0) - (deadAfter.even ?? 0))).toBeLessThanOrEqual(6_000);
      expect(summaryAfter).toBeLessThan(30_000);
      const remote = result.results.filter((r) => r.host === 'ahead');
      expect(remote.map((r) => [r.app, r.containers, r.failed])).toEqual([...apps].sort().map((a) => [a, 1, 1]));
      for (const f of remote.flatMap((r) => r.failures)) expect(f.reason).toMatch(/no worker serves host ahead/);
      expect(result.hostFailures).toContainEqual({ host: 'ahead', reason: expect.stringMatching(/not scanned/) });
      const listed = JSON.parse((await runCli(['hosts', '--format', 'json'], e)).stdout);
      expect(listed).toContainEqual(expect.objectContaining({ host: 'ahead', live: false }));
    } finally {
      await q.close();
    }
  }, 180_000);

  it('drops the worker-health entries of workers gone for over an hour at the next heartbeat', async () => {
    const e = env();
    const config = configOf(e);
    const q = producer(config);
    try {
      const now = await q.redisNow();
      const entry = (workerId: string, at: number) =>
        JSON.stringify({
          workerId,
          host: 'gone',
          pid: 1,
          at,
          watcher: { state: 'connected', lastEventAt: null, reconnects: 0, lastError: null },
        });
      await q.redis.hset(q.keys.workerHealth, {
        'w-two-hours': entry('w-two-hours', now - 2 * 3600_000),
        'w-half-hour': entry('w-half-hour', now - 1800_000),
        'w-junk': 'not json',
      });
      const pool = await startEmptyPool(config);
      const health = await q.redis.hgetall(q.keys.workerHealth);
      expect(Object.keys(health).sort()).toEqual([pool.workerId, 'w-half-hour'].sort());
      // stamped with Redis's clock
      const at = JSON.parse(health[pool.workerId] as string).at as number;
      expect(Math.abs((await q.redisNow()) - at)).toBeLessThan(5_000);
    } finally {
      await q.close();
    }
  });

  it('sweeps the worker-health entries once a minute over all workers, not at every beat', async () => {
    const e = env();
    const config = configOf(e);
    const q = producer(config);
    try {
      const pool = await startEmptyPool(config); // its first beat swept (nothing to drop)
      const now = await q.redisNow();
      await q.redis.hset(
        q.keys.workerHealth,
        'w-two-hours',
        JSON.stringify({ workerId: 'w-two-hours', host: 'gone', pid: 1, at: now - 2 * 3600_000, watcher: {} }),
      );
      const beatAt = async () =>
        JSON.parse((await q.redis.hget(q.keys.workerHealth, pool.workerId)) ?? '{}').at as number;
      const first = await beatAt();
      await until('the next heartbeat', async () => ((await beatAt()) > first ? true : undefined), 15_000);
      // the next beats leave the sweep to the one after the minute: a sweep reads every entry, and every worker beats
      expect(await q.redis.hexists(q.keys.workerHealth, 'w-two-hours')).toBe(1);
      const ttl = await q.redis.pttl(q.keys.healthSweep);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(60_000);
    } finally {
      await q.close();
    }
  });
});
