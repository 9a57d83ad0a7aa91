import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { rebuildall, rebuildEverywhere } from '../../producers/client.js';
import type { Config } from '../../src/config.js';
import { DockerodeEngine } from '../../src/docker/dockerodeEngine.js';
import type { RebuildallResult } from '../../src/types.js';
import { NamespaceEngine } from '../engines.js';
import {
  appName,
  cleanupDocker,
  cleanupPrefix,
  closePools,
  configOf,
  createAppContainer,
  createTestNetwork,
  openPools,
  producer,
  ROOT,
  runCli,
  runCliOnTty,
  runId,
  scopeLabel,
  startPool,
  storedListeners,
  testEnv,
  until,
} from '../helpers.js';

const h2 = new NamespaceEngine(`netq-h2-${runId}`);
const envs: Record<string, string>[] = [];
const children: ChildProcess[] = [];
function env(extra: Record<string, string> = {}) {
  const e = testEnv(extra);
  envs.push(e);
  return e;
}

beforeAll(() => h2.start(), 90_000);
afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
  await closePools();
  expect(openPools()).toBe(0);
  await cleanupDocker();
  const left = await h2.docker.listContainers({ all: true, filters: { label: [scopeLabel] } });
  await Promise.all(left.map((c) => h2.docker.getContainer(c.Id).remove({ force: true })));
  for (const e of envs.splice(0)) await cleanupPrefix(configOf(e));
});
afterAll(async () => {
  await h2.destroy();
  await cleanupDocker();
});

/** Waits until every app has a stored listener on h2 (its worker's own host rebuild on connecting did them). */
const rebuiltOnH2 = (config: Config, apps: string[]) =>
  until('h2 apps rebuilt once', async () => {
    for (const a of apps) if ((await storedListeners(config, a, 'h2')).length === 0) return undefined;
    return true;
  });

/** An app container on the second engine. */
const h2Container = (app: string, index = 1) => createAppContainer({ app, index, engine: h2.docker });

describe('across hosts', () => {
  it("runs each host's apps on that host's worker only, and sums both hosts in one summary", async () => {
    const e = env();
    const config = configOf(e);
    const ranOn = new Map<string, string[]>();
    const record = (ev: { app: string; phase: string; workerId: string }) => {
      if (ev.phase === 'start') ranOn.set(ev.app, [...(ranOn.get(ev.app) ?? []), ev.workerId]);
    };
    const local = await startPool(config, { onAppWork: record });
    const remote = await startPool(
      { ...config, hostId: 'h2' },
      { onAppWork: record, docker: new DockerodeEngine(h2.dockerHost, scopeLabel) },
    );
    const localApps = [appName('l'), appName('l')];
    const remoteApps = [appName('r'), appName('r'), appName('r')];
    for (const a of localApps) await createAppContainer({ app: a });
    for (const a of remoteApps) await h2Container(a);
    await h2Container(remoteApps[0] as string, 2);

    const q = producer(config);
    try {
      const { result } = await rebuildall(q, { wait: true, timeoutMs: 60_000 });
      expect(result).toMatchObject({ apps: 5, containers: 6, configured: 6, failed: 0, hostFailures: [] });
      expect(result?.results.map((r) => `${r.app}@${r.host}`).sort()).toEqual(
        [...localApps.map((a) => `${a}@local`), ...remoteApps.map((a) => `${a}@h2`)].sort(),
      );
      for (const a of localApps) expect(ranOn.get(a)).toEqual([local.workerId]);
      for (const a of remoteApps) expect(ranOn.get(a)).toEqual([remote.workerId]);

      // the app now lives on h2: network:rebuild goes there without naming it
      const again = await rebuildEverywhere(q, { app: remoteApps[0] as string }, { wait: true, timeoutMs: 20_000 });
      expect(again.results).toMatchObject([{ host: 'h2', containers: 2, configured: 2 }]);
      expect(ranOn.get(remoteApps[0] as string)).toEqual([remote.workerId, remote.workerId]);
      const listed = JSON.parse((await runCli(['hosts', '--format', 'json'], e)).stdout);
      expect(listed).toMatchObject([
        { host: 'h2', live: true, workers: 1, apps: 3 },
        { host: 'local', live: true, workers: 1, apps: 2 },
      ]);
    } finally {
      await q.close();
    }
  });

  it('rebuilds an app found on two hosts on both, and reports it per host', async () => {
    const e = env();
    const config = configOf(e);
    await startPool(config);
    await startPool({ ...config, hostId: 'h2' }, { docker: new DockerodeEngine(h2.dockerHost, scopeLabel) });
    const app = appName('both');
    await createAppContainer({ app });
    await h2Container(app);
    const res = await runCli(['network:rebuild', app, '--format', 'json'], e);
    expect(res.code).toBe(0);
    const out = JSON.parse(res.stdout);
    expect(out).toMatchObject({ app, containers: 2, configured: 2, failed: 0 });
    expect(out.results.map((r: { host: string }) => r.host).sort()).toEqual(['h2', 'local']);
  });

  it('sets a global property across the fleet without --host, checking its networks on every live host', async () => {
    const e = env();
    const config = configOf(e);
    await startPool(config);
    await startPool({ ...config, hostId: 'h2' }, { docker: new DockerodeEngine(h2.dockerHost, scopeLabel) });
    const [here, there] = [appName('fleet'), appName('fleet')];
    await createAppContainer({ app: here });
    await h2Container(there);
    const set = await runCli(['network:set', '--global', 'tld', 'fleet.test', '--format', 'json'], e);
    expect(set.code).toBe(0);
    const out = JSON.parse(set.stdout);
    expect(out).toMatchObject({ scope: '--global', key: 'tld', value: 'fleet.test', applied: 'rebuildall' });
    expect(out.result.results.map((r: { app: string; host: string }) => `${r.app}@${r.host}`).sort()).toEqual(
      [`${here}@local`, `${there}@h2`].sort(),
    );

    // a network that exists on the machine's engine only: stored as Dokku stores it, with a warning naming
    // h2, where applying it fails (counted) while it works on the other host
    const net = `netq-t${runId}-only-local`;
    await createTestNetwork(net);
    const partly = await runCli(['network:set', '--global', 'attach-post-deploy', net, '--format', 'json'], e);
    expect(partly.stderr).toBe('');
    const applied = JSON.parse(partly.stdout);
    expect(applied.warnings).toEqual([
      expect.stringMatching(new RegExp(`^Network ${net} does not exist on host h2 yet`)),
    ]);
    const byHost = Object.fromEntries(
      applied.result.results.map((r: { host: string; failed: number }) => [r.host, r.failed]),
    );
    expect(byHost).toEqual({ local: 0, h2: 1 });
    expect(partly.code).toBe(1);
    const text = await runCli(['network:set', '--global', 'attach-post-deploy', net, '--no-apply'], e);
    expect(text.stdout).toBe(`=====> Setting attach-post-deploy to ${net}\n`);
    const report = JSON.parse((await runCli(['network:report', '--global', '--format', 'json'], e)).stdout);
    expect(report).toMatchObject({ 'network-global-tld': 'fleet.test', 'network-global-attach-post-deploy': net });
  });

  it('prints `netq hosts` on a terminal as plain text, what it prints into a pipe', async () => {
    const e = env();
    const config = configOf(e);
    await startPool(config);
    await startPool({ ...config, hostId: 'h2' }, { docker: new DockerodeEngine(h2.dockerHost, scopeLabel) });
    const app = appName('tty');
    await createAppContainer({ app });
    const q = producer(config);
    try {
      // The pseudo-terminal is one for the CLI: rebuildall draws its progress bar (escape codes included) only on
      // a TTY. A held app lock keeps the run going for over a second, so that the bar's 200 ms poll draws it.
      await q.redis.set(q.keys.appLock(app), 'test-holder', 'PX', 1500);
      const withBar = await runCliOnTty(['network:rebuildall'], e);
      expect(withBar.code).toBe(0);
      expect(withBar.stdout).toContain('\x1b[');
      expect(withBar.stdout).toContain('rebuildall [');
    } finally {
      await q.close();
    }

    const piped = await runCli(['hosts'], e);
    expect(piped).toMatchObject({ code: 0, stderr: '' });
    const table = piped.stdout.split('\n');
    expect(table.slice(0, 2)).toEqual([
      '=====> Hosts',
      '       host   live  workers  apps  last heartbeat  event watchers',
    ]);
    expect(table.slice(2, 4)).toEqual([
      expect.stringMatching(/^ {7}h2 {5}yes {3}1 {8}0 {5}\ds ago {10}stopped$/),
      expect.stringMatching(/^ {7}local {2}yes {3}1 {8}1 {5}\ds ago {10}stopped$/),
    ]);
    const onTty = await runCliOnTty(['hosts'], e);
    expect(onTty.code).toBe(0);
    expect(onTty.stdout).not.toContain('\x1b');
    // a heartbeat may land between the two runs: the ages are compared as one digit
    const ages = (s: string) => s.replace(/ \ds ago/g, ' Ns ago');
    expect(ages(onTty.stdout.replaceAll('\r\n', '\n'))).toBe(ages(piped.stdout));
  });

  it('shares one host between two workers, never two on one app at once', async () => {
    const e = env({ NETQ_CONCURRENCY: '4' });
    const config = configOf(e);
    const active = new Map<string, number>();
    let overlap = 0;
    const byWorker = new Map<string, number>();
    const record = (ev: { app: string; phase: string; workerId: string }) => {
      const n = (active.get(ev.app) ?? 0) + (ev.phase === 'start' ? 1 : -1);
      if (n > 1) overlap += 1;
      active.set(ev.app, n);
      if (ev.phase === 'start') byWorker.set(ev.workerId, (byWorker.get(ev.workerId) ?? 0) + 1);
    };
    await startPool(config, { onAppWork: record });
    await startPool(config, { onAppWork: record });
    const apps = Array.from({ length: 12 }, () => appName('shared'));
    for (const a of apps) await createAppContainer({ app: a });
    const q = producer(config);
    try {
      for (let round = 0; round < 3; round++) {
        const { result } = await rebuildall(q, { wait: true, timeoutMs: 60_000 });
        expect(result).toMatchObject({ apps: 12, configured: 12, failed: 0 });
      }
      expect(overlap).toBe(0);
      expect(byWorker.size).toBe(2);
      expect([...byWorker.values()].reduce((a, b) => a + b, 0)).toBe(36);
    } finally {
      await q.close();
    }
  });

  it("completes the summary when host 2's worker is killed mid-run, and succeeds when it comes back", async () => {
    const e = env({ NETQ_CONCURRENCY: '1' });
    const config = configOf(e);
    await startPool(config);
    const remoteApps = Array.from({ length: 10 }, () => appName('gone'));
    for (const a of remoteApps) await h2Container(a);
    const worker = spawn(process.execPath, [path.join(ROOT, 'bin/netq.js'), 'worker'], {
      env: { ...process.env, ...e, NETQ_HOST_ID: 'h2', DOCKER_HOST: h2.dockerHost, NETQ_WAIT_TO_RETIRE_MS: '0' },
      stdio: 'ignore',
    });
    children.push(worker);
    const q = producer(config);
    try {
      await until('h2 live', async () => ((await q.liveHosts()).includes('h2') ? true : undefined));
      // the worker's own host rebuild on connecting (its event watcher's) must be over, so that the scan
      // the kill waits for below is this run's
      await rebuiltOnH2(config, remoteApps);
      const before = new Set(await q.redis.keys(`${config.prefix}:run-totals:*`));
      // So that the kill lands before h2 has done its apps however fast the machine is, the test holds
      // their app locks (as another worker's jobs would): h2's jobs wait, retrying, until it dies.
      for (const a of remoteApps) await q.redis.set(q.keys.appLock(a), 'test-holder', 'PX', 120_000);
      const run = rebuildall(q, { wait: true, timeoutMs: 150_000 });
      // kill it as soon as this run's scan of h2 has listed the apps
      await until('h2 scanned', async () => {
        const keys = (await q.redis.keys(`${config.prefix}:run-totals:*`)).filter((k) => !before.has(k));
        for (const k of keys) if (await q.redis.hexists(k, 'total:h2')) return true;
        return undefined;
      });
      worker.kill('SIGKILL');
      const t0 = Date.now();
      const { result } = (await run) as { result: RebuildallResult };
      console.log(`summary ${Date.now() - t0} ms after the kill`);
      const remote = result.results.filter((r) => r.host === 'h2');
      expect(remote.map((r) => r.app).sort()).toEqual([...remoteApps].sort());
      expect(result.containers).toBe(10);
      expect(result.configured + result.failed).toBe(10);
      expect(result.failed).toBeGreaterThan(0);
      for (const f of remote.flatMap((r) => r.failures)) {
        expect(f.reason).toMatch(/no worker serves host h2|stalled/);
      }
      await q.redis.del(...remoteApps.map((a) => q.keys.appLock(a)));

      const back = spawn(process.execPath, [path.join(ROOT, 'bin/netq.js'), 'worker'], {
        env: { ...process.env, ...e, NETQ_HOST_ID: 'h2', DOCKER_HOST: h2.dockerHost },
        stdio: 'ignore',
      });
      children.push(back);
      await until('h2 back', async () => {
        const live = await q.redis.zcount(q.keys.workers('h2'), Date.now() - 5000, '+inf');
        return live > 0 ? true : undefined;
      });
      console.log(`worker back ${Date.now() - t0} ms after the kill`);
      const again = await rebuildall(q, { wait: true, timeoutMs: 60_000 });
      console.log(`second run done ${Date.now() - t0} ms after the kill`);
      expect(again.result).toMatchObject({ containers: 10, configured: 10, failed: 0, hostFailures: [] });
    } finally {
      await q.close();
    }
  }, 240_000);

  it("counts host 2's last known apps as failed when its worker dies before the scan is picked up", async () => {
    const e = env({ NETQ_CONCURRENCY: '1' });
    const config = configOf(e);
    await startPool(config);
    const remoteApps = Array.from({ length: 3 }, () => appName('unscanned'));
    for (const a of remoteApps) await h2Container(a);
    await h2Container(remoteApps[0] as string, 2);
    const worker = spawn(process.execPath, [path.join(ROOT, 'bin/netq.js'), 'worker'], {
      env: { ...process.env, ...e, NETQ_HOST_ID: 'h2', DOCKER_HOST: h2.dockerHost },
      stdio: 'ignore',
    });
    children.push(worker);
    const q = producer(config);
    try {
      // h2's worker rebuilds its host on connecting: that is the state the summary falls back on
      await rebuiltOnH2(config, remoteApps);
      worker.kill('SIGKILL');
      await new Promise((resolve) => worker.once('exit', resolve));
      // its heartbeat is still fresh: the run adds a scan for h2 that no live worker will ever take
      expect(await q.liveHosts()).toContain('h2');
      const { result } = (await rebuildall(q, { wait: true, timeoutMs: 120_000 })) as { result: RebuildallResult };
      const remote = result.results.filter((r) => r.host === 'h2');
      expect(remote.map((r) => [r.app, r.containers, r.failed])).toEqual(
        [...remoteApps].sort().map((a) => [a, a === remoteApps[0] ? 2 : 1, a === remoteApps[0] ? 2 : 1]),
      );
      for (const f of remote.flatMap((r) => r.failures)) expect(f.reason).toMatch(/no worker serves host h2/);
      expect(result.hostFailures).toEqual([{ host: 'h2', reason: expect.stringMatching(/h2.*not scanned/) }]);
      expect(result.failed).toBe(4);
    } finally {
      await q.close();
    }
  }, 180_000);

  it('connects a worker and the CLI to a Redis with a password, and hides the password', async () => {
    const port = 6390 + Math.floor(Math.random() * 50);
    const redis = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--requirepass', 's3cret-pw'],
      {
        stdio: 'ignore',
      },
    );
    children.push(redis);
    try {
      await until('redis', async () => {
        try {
          execFileSync('redis-cli', ['-p', String(port), '-a', 's3cret-pw', '--no-auth-warning', 'ping']);
          return true;
        } catch {
          return undefined;
        }
      });
      const e = env({ REDIS_URL: `redis://:s3cret-pw@127.0.0.1:${port}` });
      await startPool(configOf(e));
      const app = appName('auth');
      await createAppContainer({ app });
      const ok = await runCli(['network:rebuild', app, '--format', 'json'], e);
      expect(ok.code).toBe(0);
      expect(JSON.parse(ok.stdout)).toMatchObject({ app, configured: 1 });
      const wrong = await runCli(['network:rebuild', app, '--timeout', '2'], {
        ...e,
        REDIS_URL: `redis://:wrong-pw@127.0.0.1:${port}`,
      });
      expect(wrong.code).toBe(1);
      expect(wrong.stderr).toMatch(/REDIS_URL=redis:\/\/\*\*\*@127\.0\.0\.1/);
      expect(wrong.stderr).not.toMatch(/wrong-pw/);
      await closePools();
      await cleanupPrefix(configOf(e));
      envs.splice(envs.indexOf(e), 1);
    } finally {
      redis.kill('SIGTERM');
    }
  });

  it('has a docker-compose.yml that docker-compose accepts', () => {
    // Redis needs its password (scripts/compose-env generates one): without it compose refuses the file
    expect(() =>
      execFileSync('docker-compose', ['-f', path.join(ROOT, 'docker-compose.yml'), 'config', '-q'], {
        stdio: 'pipe',
        env: { PATH: process.env.PATH ?? '' },
      }),
    ).toThrow(/REDIS_PASSWORD/);
    const config = execFileSync('docker-compose', ['-f', path.join(ROOT, 'docker-compose.yml'), 'config'], {
      env: { PATH: process.env.PATH ?? '', REDIS_PASSWORD: 'pw-for-the-test', DOCKER_GID: '4242' },
    }).toString();
    expect(config).toContain('redis://:pw-for-the-test@redis:6379');
    // the worker joins the Docker socket's group (scripts/compose-env finds it)
    expect(config).toMatch(/group_add:\s*\n\s*- '?4242'?/);
    expect(config).toContain('--requirepass');
    // published on the host's loopback only, unless REDIS_BIND says otherwise
    expect(config).toMatch(/host_ip: 127\.0\.0\.1|127\.0\.0\.1:6379:6379/);

    // scripts/compose-env generates the secrets once, in a file only its owner reads
    const dir = mkdtempSync(path.join(os.tmpdir(), 'netq-compose-'));
    try {
      const file = path.join(dir, '.env');
      const run = () =>
        execFileSync(path.join(ROOT, 'scripts/compose-env'), {
          env: { PATH: process.env.PATH ?? '', COMPOSE_ENV_FILE: file, DOKKU_ROOT: path.join(dir, 'no-dokku-here') },
        });
      run();
      const first = readFileSync(file, 'utf8');
      expect(first).toMatch(/^REDIS_PASSWORD=[0-9a-f]{64}\nNETQ_API_TOKEN=[0-9a-f]{64}\nDOCKER_GID=\d+\n$/);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      run();
      expect(readFileSync(file, 'utf8')).toBe(first);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
