import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { rebuild } from '../../producers/client.js';
import { buildServer } from '../../producers/http/server.js';
import type { Config } from '../../src/config.js';
import { silentLogger } from '../../src/logger.js';
import type { NetqQueues } from '../../src/queue.js';
import {
  appName,
  configOf,
  createAppContainer,
  producer,
  ROOT,
  startPool,
  tempDir,
  until,
  useTestEnvs,
} from '../helpers.js';

/**
 * NETQ_ON_CHANGE against real Redis, Docker and hook processes: a run that fails or is cut short is run again
 * (with backoff) until it succeeds, shows in the drift and /metrics meanwhile, and a run is bounded by the
 * timeout plus 2 s with nothing of its process group left behind.
 */

const TOKEN = 'tok-hook-0123456789-abcdef';
/** A hook's line that writes its pid and its process group (field 5 of /proc/<pid>/stat) to $D/pid. */
const SAY_PID = 'echo "$$ $(cut -d" " -f5 /proc/$$/stat)" > "$D/pid"';
const env = useTestEnvs({ docker: true });
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/**
 * A hook script in a temp folder. `body` runs after the script numbered its run ($n, from 1) and logged it
 * (`<n> <ms since epoch> <app> <argument 1> <NETQ_LISTENERS>` in runs.log); `$D` is the folder.
 */
async function hookScript(body: string) {
  const t = await tempDir();
  cleanups.push(t.remove);
  const D = t.dir;
  const file = path.join(D, 'hook.sh');
  await writeFile(
    file,
    `#!/bin/sh
D='${D}'
n=$(( $(cat "$D/count" 2>/dev/null || echo 0) + 1 ))
echo "$n" > "$D/count"
echo "$n $(date +%s%3N) $NETQ_APP $1 $NETQ_LISTENERS" >> "$D/runs.log"
${body}
`,
  );
  await chmod(file, 0o755);
  const runs = async () =>
    (await readFile(path.join(D, 'runs.log'), 'utf8').catch(() => ''))
      .split('\n')
      .filter(Boolean)
      .map((l) => {
        const [n, at, app, arg] = l.split(' ');
        return { n: Number(n), at: Number(at), app, arg };
      });
  /** the pid and the process group of a run, from what SAY_PID wrote */
  const pidOf = () =>
    until("the hook's pid", async () => {
      const [pid, pgid] = (await readFile(path.join(D, 'pid'), 'utf8').catch(() => '')).trim().split(' ').map(Number);
      return pid && pgid ? { pid, pgid } : undefined;
    });
  return { dir: D, command: JSON.stringify([file, '{app}']), runs, pidOf };
}

/** `netq serve` on 127.0.0.1 and a free port; `get` answers its status and body. */
interface Served {
  get(url: string): Promise<{ status: number; body: string }>;
}
async function server(config: Config, queues: NetqQueues): Promise<Served> {
  const app = await buildServer({ config, queues, logger: silentLogger() });
  cleanups.push(() => app.close());
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  return {
    async get(url) {
      const res = await fetch(new URL(url, base), {
        headers: { authorization: `Bearer ${TOKEN}` },
        signal: AbortSignal.timeout(20_000),
      });
      return { status: res.status, body: await res.text() };
    },
  };
}

/** The app's `network-drift` in the HTTP report (`GET /v1/apps/:app/report`). */
async function driftOf(s: Served, app: string): Promise<string> {
  const res = await s.get(`/v1/apps/${app}/report`);
  expect(res.status).toBe(200);
  return (JSON.parse(res.body) as Record<string, string>)['network-drift'] ?? '';
}

/** The two change hook series of /metrics for host `local`. */
async function hookMetrics(s: Served): Promise<{ failures: number; pending: number }> {
  const res = await s.get('/metrics');
  expect(res.status).toBe(200);
  const value = (name: string) => Number(res.body.match(new RegExp(`^${name}\\{host="local"\\} (\\d+)$`, 'm'))?.[1]);
  return { failures: value('netq_change_hook_failures_total'), pending: value('netq_change_hook_pending') };
}

/** Processes of a process group that have not exited (zombies left to a parent that does not reap are dead). */
function liveGroupMembers(pgid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat = '';
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue;
    }
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(pgrp) === pgid && state !== 'Z' && state !== 'X') out.push(Number(name));
  }
  return out;
}

/** The process group of a live process (field 5 of /proc/<pid>/stat). */
function pgidOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
}

const killQuietly = (pid: number) => {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // gone already
  }
};

describe('NETQ_ON_CHANGE', () => {
  it('runs a hook that fails twice three times for one change, with backoff, and shows the failure until it succeeds', async () => {
    const hook = await hookScript('[ "$n" -ge 3 ] || { echo "proxy not ready ($n)" >&2; exit 1; }');
    const e = env({ NETQ_ON_CHANGE: hook.command, NETQ_API_TOKEN: TOKEN });
    const config = configOf(e);
    await startPool(config);
    const q = producer(config);
    cleanups.push(() => q.close());
    const s = await server(config, q);
    const app = appName('retry');
    await createAppContainer({ app });

    const t0 = Date.now();
    const first = await rebuild(q, { app, host: 'local' }, { wait: true, timeoutMs: 20_000 });
    const firstMs = Date.now() - t0;
    expect(first.result?.failed).toBe(0); // the hook's failure does not fail the rebuild: the config is written
    expect((await hook.runs()).map((r) => r.n)).toEqual([1]);
    // pending: in the drift (HTTP report) and in /metrics
    const drift = await driftOf(s, app);
    expect(drift).toMatch(
      /^the change hook \(NETQ_ON_CHANGE\) has not succeeded for the current listeners: 1 run\(s\) failed, the last: exit code 1; next try at \d{4}-\d\d-\d\dT/,
    );
    expect(await hookMetrics(s)).toEqual({ failures: 1, pending: 1 });
    const record = JSON.parse((await q.redis.hget(q.keys.changeHook('local'), app)) ?? 'null');
    expect(record).toMatchObject({ attempts: 1, failing: 'exit code 1' });

    // the later rebuilds run it again though the listeners did not change: 2 s, then 4 s later
    await until('the second run', async () => ((await hook.runs()).length >= 2 ? true : undefined));
    const afterSecond = await until('the second failure in the drift', async () => {
      const d = await driftOf(s, app);
      return d.includes('2 run(s) failed, the last: exit code 1') ? d : undefined;
    });
    expect(await hookMetrics(s)).toEqual({ failures: 2, pending: 1 });
    const runs = await until('the third run', async () => ((await hook.runs()).length >= 3 ? hook.runs() : undefined));
    await until('the record dropped', async () =>
      (await q.redis.hget(q.keys.changeHook('local'), app)) === null ? true : undefined,
    );
    const cleared = await until('the drift cleared', async () => ((await driftOf(s, app)) === '' ? true : undefined));
    expect(cleared).toBe(true);
    expect(await hookMetrics(s)).toEqual({ failures: 2, pending: 0 });
    const [r1, r2, r3] = runs as [(typeof runs)[0], (typeof runs)[0], (typeof runs)[0]];
    expect(runs.map((r) => [r.n, r.app, r.arg])).toEqual([
      [1, app, app],
      [2, app, app],
      [3, app, app],
    ]);
    expect(r2.at - r1.at).toBeGreaterThanOrEqual(1_900);
    expect(r2.at - r1.at).toBeLessThan(4_000);
    expect(r3.at - r2.at).toBeGreaterThanOrEqual(3_900);
    expect(r3.at - r2.at).toBeLessThan(6_500);

    // succeeded: an unchanged rebuild runs it no more
    await rebuild(q, { app, host: 'local' }, { wait: true, timeoutMs: 20_000 });
    expect(await hook.runs()).toHaveLength(3);
    console.log(
      `hook retry: first rebuild ${firstMs} ms; runs at +0, +${r2.at - r1.at}, +${r3.at - r1.at} ms; ` +
        `drift after run 2: ${afterSecond.slice(0, 140)}…`,
    );
  }, 60_000);

  it('runs a hook again whose process was killed mid-run', async () => {
    const hook = await hookScript(`if [ "$n" = 1 ]; then ${SAY_PID}; exec sleep 600; fi`);
    const e = env({ NETQ_ON_CHANGE: hook.command, NETQ_API_TOKEN: TOKEN });
    const config = configOf(e);
    await startPool(config);
    const q = producer(config);
    cleanups.push(() => q.close());
    const s = await server(config, q);
    const app = appName('killed');
    await createAppContainer({ app });

    const done = rebuild(q, { app, host: 'local' }, { wait: true, timeoutMs: 20_000 });
    const { pid } = await hook.pidOf();
    cleanups.push(() => killQuietly(pid));
    const killedAt = Date.now();
    process.kill(pid, 'SIGKILL');
    await done;
    const rebuiltMs = Date.now() - killedAt;
    expect(await driftOf(s, app)).toContain('1 run(s) failed, the last: killed by SIGKILL');
    expect((await hookMetrics(s)).pending).toBe(1);
    const runs = await until('the second run', async () => ((await hook.runs()).length >= 2 ? hook.runs() : undefined));
    await until('the drift cleared', async () => ((await driftOf(s, app)) === '' ? true : undefined));
    expect(await hookMetrics(s)).toEqual({ failures: 1, pending: 0 });
    expect(runs).toHaveLength(2);
    console.log(
      `killed hook: rebuild done ${rebuiltMs} ms after the SIGKILL; run again ${(runs[1]?.at ?? 0) - killedAt} ms after it`,
    );
  }, 60_000);

  it('runs a hook again whose worker was killed while it ran', async () => {
    const hook = await hookScript(`if [ "$n" = 1 ]; then ${SAY_PID}; exec sleep 600; fi`);
    const e = env({ NETQ_ON_CHANGE: hook.command });
    const config = configOf(e);
    const app = appName('worker-killed');
    await createAppContainer({ app });

    // a real `netq worker`: its start-up rebuild of the host runs the hook, and the worker is SIGKILLed meanwhile
    const worker: ChildProcess = spawn(process.execPath, [path.join(ROOT, 'bin/netq.js'), 'worker'], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root', ...e },
      stdio: 'ignore',
    });
    const workerPid = worker.pid ?? 0;
    cleanups.push(() => killQuietly(workerPid));
    const exited = new Promise((resolve) => worker.once('exit', resolve));
    const { pid: hookPid } = await hook.pidOf();
    cleanups.push(() => killQuietly(hookPid));
    const q = producer(config);
    cleanups.push(() => q.close());
    expect(JSON.parse((await q.redis.hget(q.keys.changeHook('local'), app)) ?? 'null')).toMatchObject({
      attempts: 0,
      running: {},
    });
    const killedAt = Date.now();
    process.kill(workerPid, 'SIGKILL');
    await exited;
    killQuietly(hookPid); // the hook is in a session of its own: it outlives its worker

    // another worker: the next rebuild of the app (here the one asked for; the killed job comes back too) runs it
    await startPool(config);
    await rebuild(q, { app, host: 'local' }, { wait: true, timeoutMs: 60_000 });
    const runs = await until('the second run', async () => ((await hook.runs()).length >= 2 ? hook.runs() : undefined));
    const rerunMs = (runs[1]?.at ?? 0) - killedAt;
    await until('the record dropped', async () =>
      (await q.redis.hget(q.keys.changeHook('local'), app)) === null ? true : undefined,
    );
    // the killed worker's job, handed back by BullMQ once its lock lapsed, runs it no third time
    await until(
      'the killed job re-run',
      async () =>
        (await q.rebuildQueue('local').getActiveCount()) + (await q.rebuildQueue('local').getWaitingCount()) === 0
          ? true
          : undefined,
      30_000,
    );
    expect(await hook.runs()).toHaveLength(2);
    expect(Number(await q.redis.hget(q.keys.changeHook('local'), '#failures'))).toBe(1);
    console.log(`killed worker: the hook ran again ${rerunMs} ms after the worker was SIGKILLed (app lock TTL 15 s)`);
  }, 90_000);

  /**
   * A hook whose first run is `body`, with NETQ_ON_CHANGE_TIMEOUT_MS=1000: the rebuild completes within the
   * timeout plus 2 s (and not before `leastMs`), the hook ran in its own process group and nothing of that group
   * is left; the drift shows `failure` (none: the run succeeded).
   */
  async function expectBounded(what: string, body: string, failure: RegExp | undefined, leastMs: number) {
    const hook = await hookScript(`if [ "$n" = 1 ]; then ${body}; fi`);
    const e = env({
      NETQ_ON_CHANGE: hook.command,
      NETQ_ON_CHANGE_TIMEOUT_MS: '1000',
      NETQ_SHUTDOWN_GRACE_MS: '5000',
      NETQ_API_TOKEN: TOKEN,
    });
    const config = configOf(e);
    await startPool(config);
    const q = producer(config);
    cleanups.push(() => q.close());
    const s = await server(config, q);
    const app = appName('bounded');
    await createAppContainer({ app });

    const t0 = Date.now();
    const done = rebuild(q, { app, host: 'local' }, { wait: true, timeoutMs: 10_000 });
    done.catch(() => {});
    const { pid, pgid } = await hook.pidOf();
    cleanups.push(() => {
      for (const p of liveGroupMembers(pgid)) killQuietly(p);
    });
    // its own process group, not the worker's
    expect(pgid).toBe(pid);
    expect(pgid).not.toBe(pgidOf(process.pid));
    const res = await done;
    const jobMs = Date.now() - t0;
    expect(res.result?.failed).toBe(0);
    expect(jobMs).toBeGreaterThanOrEqual(leastMs);
    expect(jobMs).toBeLessThan(4_000);
    const left = await until(
      'the group gone',
      async () => (liveGroupMembers(pgid).length === 0 ? [] : undefined),
      1_000,
    ).catch(() => liveGroupMembers(pgid));
    expect(left).toEqual([]);
    const drift = await driftOf(s, app);
    if (failure) expect(drift).toMatch(failure);
    else expect(drift).toBe('');
    console.log(
      `bounded hook that ${what}: job ${jobMs} ms (timeout 1000 ms), group ${pgid} gone; drift: ${drift.slice(0, 120)}`,
    );
  }

  it('ends a hook that traps SIGTERM and sleeps on within the timeout plus 2 s, with nothing of its group left', async () => {
    await expectBounded('traps SIGTERM', `${SAY_PID}; trap '' TERM; sleep 600`, /timed out after 1000 ms/, 2_900);
  }, 30_000);

  it('ends a hook that leaves `sleep 600 &` holding its output and sleeps on, with nothing of its group left', async () => {
    await expectBounded(
      'leaves sleep 600 & and sleeps on',
      `${SAY_PID}; sleep 600 & echo started; sleep 600`,
      /timed out after 1000 ms/,
      900,
    );
  }, 30_000);

  it('ends a hook that exits but leaves `sleep 600 &` ignoring SIGTERM on its output, with nothing of its group left', async () => {
    await expectBounded(
      'exits, leaving a sleep 600 & that ignores SIGTERM',
      `${SAY_PID}; trap '' TERM; sleep 600 & echo started; exit 0`,
      undefined,
      1_900,
    );
  }, 30_000);

  it('does not run the hook for a rebuild whose listeners did not change and that owes no run', async () => {
    const hook = await hookScript('exit 0');
    const e = env({ NETQ_ON_CHANGE: hook.command });
    const config = configOf(e);
    await startPool(config);
    const q = producer(config);
    cleanups.push(() => q.close());
    const app = appName('unchanged');
    await createAppContainer({ app });
    for (let i = 0; i < 3; i++) await rebuild(q, { app, host: 'local' }, { wait: true, timeoutMs: 20_000 });
    expect(await hook.runs()).toHaveLength(1);
    expect(await q.redis.hgetall(q.keys.changeHook('local'))).toEqual({});
    expect(existsSync(path.join(hook.dir, 'count'))).toBe(true);
  }, 60_000);
});
