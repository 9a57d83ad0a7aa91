import { lstat, readdir, readFile, stat, symlink, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { rebuild, rebuildall } from '../../producers/client.js';
import { writeProperty } from '../../src/store/propertyStore.js';
import type { RebuildallResult, RebuildResult } from '../../src/types.js';
import {
  appName,
  configOf,
  countKeys,
  createAppContainer,
  createTestNetwork,
  docker,
  dokkuLayout,
  IMAGE,
  producer,
  runCli,
  runId,
  startPool,
  testEnv,
  useTestEnvs,
} from '../helpers.js';

const env = useTestEnvs();

async function bridgeIp(id: string): Promise<string> {
  const info = await docker.getContainer(id).inspect();
  return info.NetworkSettings.Networks.bridge?.IPAddress ?? '';
}

describe('network:rebuild', () => {
  it('configures 2 web and 1 worker container as docker inspect shows them, in Redis and in files', async () => {
    const dokku = await dokkuLayout();
    const e = env(dokku.env);
    await startPool(configOf(e));
    const app = appName('three');
    const web1 = await createAppContainer({ app, proc: 'web', index: 1, env: ['PORT=5000'] });
    const web2 = await createAppContainer({ app, proc: 'web', index: 2, env: ['PORT=5000'] });
    // no PORT: the first exposed TCP port counts; no dyno label: the CONTAINER file gives proc and index
    const worker = await createAppContainer({ app, proc: 'worker', index: 1, exposed: [7000, 8000], dynoLabel: false });
    // Dokku gives other processes an empty PORT=: that is no failure
    const clock = await createAppContainer({ app, proc: 'clock', index: 1, env: ['PORT='] });
    await dokku.register(app, { 'web.1': web1.id, 'web.2': web2.id, 'worker.1': worker.id, 'clock.1': clock.id });

    const res = await runCli(['network:rebuild', app, '--format', 'json'], e);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    const out = JSON.parse(res.stdout) as RebuildResult;
    const [ip1, ip2, ipw, ipc] = await Promise.all([web1, web2, worker, clock].map((c) => bridgeIp(c.id)));
    expect(out).toEqual({
      app,
      host: 'local',
      containers: 4,
      configured: 4,
      failed: 0,
      listeners: { clock: [`${ipc}:5000`], web: [`${ip1}:5000`, `${ip2}:5000`], worker: [`${ipw}:7000`] },
      failures: [],
    });
    const dir = path.join(dokku.root, app);
    // as Dokku writes them: IP for every process, PORT for web only, no trailing newline
    expect((await readdir(dir)).filter((f) => !f.startsWith('CONTAINER')).sort()).toEqual([
      'IP.clock.1',
      'IP.web.1',
      'IP.web.2',
      'IP.worker.1',
      'PORT.web.1',
      'PORT.web.2',
    ]);
    expect(await readFile(path.join(dir, 'IP.web.2'), 'utf8')).toBe(ip2);
    expect(await readFile(path.join(dir, 'PORT.web.2'), 'utf8')).toBe('5000');
    expect((await stat(path.join(dir, 'IP.web.2'))).mode & 0o777).toBe(0o644);
    await dokku.remove();
  });

  it('without Dokku, uses one container per dyno: the running one named as the dyno, and ignores the others', async () => {
    const e = env();
    await startPool(configOf(e));
    const app = appName('twins');
    const current = await createAppContainer({ app, proc: 'web', index: 1 });
    // what a zero-downtime deploy leaves beside it: an upcoming container under check and a retired one
    const upcoming = await docker.createContainer({
      name: `${app}.web.1.upcoming-1234`,
      Image: IMAGE,
      Cmd: ['/bin/httpd', '-f', '-p', '5000'],
      Labels: (await current.inspect()).Config.Labels,
    });
    await upcoming.start();
    const retired = await docker.createContainer({
      name: `${app}.web.1.1700000000`,
      Image: IMAGE,
      Cmd: ['/bin/httpd', '-f', '-p', '5000'],
      Labels: (await current.inspect()).Config.Labels,
    });
    const res = await runCli(['network:rebuild', app, '--format', 'json'], e);
    expect(res.code).toBe(0);
    const out = JSON.parse(res.stdout) as RebuildResult;
    expect(out).toMatchObject({ containers: 1, configured: 1, failed: 0 });
    expect(out.listeners).toEqual({ web: [`${await bridgeIp(current.id)}:5000`] });
    expect(out.ignored?.map((i) => i.container).sort()).toEqual(
      [`${app}.web.1.1700000000`, `${app}.web.1.upcoming-1234`].sort(),
    );
    await Promise.all([upcoming, retired].map((c) => c.remove({ force: true })));
  });

  it('reads the IP on a custom initial network, and 127.0.0.1 in host network mode', async () => {
    const e = env();
    const config = configOf(e);
    await startPool(config);
    const net = `netq-t${runId}-init`;
    await createTestNetwork(net);
    const app = appName('initial');
    const onNet = await createAppContainer({ app, proc: 'web', index: 1, networkMode: net });
    const hostApp = appName('hostmode');
    await createAppContainer({ app: hostApp, proc: 'web', index: 1, networkMode: 'host', env: ['PORT=5999'] });

    const q = producer(config);
    try {
      await writeProperty(q.redis, q.keys, app, 'initial-network', net);
      const { result } = await rebuild(q, { app }, { wait: true, timeoutMs: 20_000 });
      const info = await onNet.inspect();
      const ip = info.NetworkSettings.Networks[net]?.IPAddress;
      expect(ip).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
      expect(result?.listeners).toEqual({ web: [`${ip}:5000`] });

      const host = await rebuild(q, { app: hostApp }, { wait: true, timeoutMs: 20_000 });
      expect(host.result?.listeners).toEqual({ web: ['127.0.0.1:5999'] });
    } finally {
      await q.close();
    }
  });

  it('removes the IP/PORT files of a dyno that was scaled away', async () => {
    const dokku = await dokkuLayout();
    const e = env(dokku.env);
    await startPool(configOf(e));
    const app = appName('scale');
    const one = await createAppContainer({ app, proc: 'web', index: 1 });
    const two = await createAppContainer({ app, proc: 'web', index: 2 });
    await dokku.register(app, { 'web.1': one.id, 'web.2': two.id });
    expect((await runCli(['network:rebuild', app], e)).code).toBe(0);
    const files = async () => (await readdir(path.join(dokku.root, app))).filter((f) => !f.startsWith('CONTAINER'));
    expect((await files()).sort()).toEqual(['IP.web.1', 'IP.web.2', 'PORT.web.1', 'PORT.web.2']);

    // scaled down to web=1 (Dokku removes the CONTAINER file and the container)
    await two.remove({ force: true });
    await unlink(path.join(dokku.root, app, 'CONTAINER.web.2'));
    await dokku.register(app, { 'web.1': one.id });
    const res = await runCli(['network:rebuild', app, '--format', 'json'], e);
    expect(res.code).toBe(0);
    expect(JSON.parse(res.stdout).containers).toBe(1);
    expect((await files()).sort()).toEqual(['IP.web.1', 'PORT.web.1']);
    await dokku.remove();
  });

  it('leaves files that already hold the right value alone, and rewrites a wrong or planted one', async () => {
    const files = await dokkuLayout();
    const e = env(files.env);
    const config = configOf(e);
    await startPool(config);
    const app = appName('unchanged');
    const web = await createAppContainer({ app, proc: 'web', index: 1 });
    await files.register(app, { 'web.1': web.id });
    const q = producer(config);
    try {
      await rebuild(q, { app, host: 'local' }, { wait: true, timeoutMs: 30_000 });
      const ipFile = path.join(files.root, app, 'IP.web.1');
      const portFile = path.join(files.root, app, 'PORT.web.1');
      const first = { ip: await stat(ipFile), port: await stat(portFile) };

      // nothing changed: the same files (inode and mtime), not rewritten copies
      await rebuild(q, { app, host: 'local' }, { wait: true, timeoutMs: 30_000 });
      for (const [file, before] of [
        [ipFile, first.ip],
        [portFile, first.port],
      ] as const) {
        const now = await stat(file);
        expect([now.ino, now.mtimeMs], file).toEqual([before.ino, before.mtimeMs]);
      }

      // a wrong value, and a symlink planted in place of the port file (pointing at the right content)
      await writeFile(ipFile, '10.9.9.9\n');
      const decoy = path.join(files.root, 'decoy');
      await writeFile(decoy, '5000');
      await unlink(portFile);
      await symlink(decoy, portFile);
      await rebuild(q, { app, host: 'local' }, { wait: true, timeoutMs: 30_000 });
      expect(await readFile(ipFile, 'utf8')).toBe(await bridgeIp(web.id));
      expect((await lstat(portFile)).isFile()).toBe(true);
      expect(await readFile(portFile, 'utf8')).toBe('5000');
    } finally {
      await q.close();
      await files.remove();
    }
  });

  it('never works on one app twice at once across two workers, and answers every requester', async () => {
    const e = env({ NETQ_CONCURRENCY: '8' });
    const config = configOf(e);
    const app = appName('busy');
    let active = 0;
    let maxActive = 0;
    let started = 0;
    // only this app's jobs: the rebuildalls below also rebuild the apps of test files running beside this one
    const onAppWork = (ev: { app: string; phase: 'start' | 'end' }) => {
      if (ev.app !== app) return;
      if (ev.phase === 'start') {
        active += 1;
        started += 1;
        maxActive = Math.max(maxActive, active);
      } else active -= 1;
    };
    const a = await startPool(config, { onAppWork });
    const b = await startPool(config, { onAppWork });
    expect(a.workerId).not.toBe(b.workerId);
    await createAppContainer({ app, proc: 'web', index: 1 });
    await createAppContainer({ app, proc: 'web', index: 2 });

    const q = producer(config);
    try {
      // 20 requests (which merge into one or two jobs) and 3 rebuildalls at once (each has its own job for
      // the app): at least 4 jobs for one app, free to run together on 16 slots but for the app lock
      const requests = Array.from({ length: 20 }, () =>
        rebuild(q, { app, host: 'local' }, { wait: true, timeoutMs: 45_000 }),
      );
      const runs = Array.from({ length: 3 }, () => rebuildall(q, { wait: true, timeoutMs: 45_000 }));
      const results = await Promise.all(requests);
      expect(results.every((r) => r.result?.configured === 2)).toBe(true);
      for (const r of await Promise.all(runs)) {
        expect((r.result as RebuildallResult).results.find((x) => x.app === app)).toMatchObject({ configured: 2 });
      }
      expect(started).toBeGreaterThanOrEqual(4);
      expect(maxActive).toBe(1);
    } finally {
      await q.close();
    }
  });

  it('refuses invalid app names with exit 1, one line, and writes nothing', async () => {
    const e = env();
    const names = ['../etc', 'UPPER', '', 'a'.repeat(300), 'app\u00e9', 'a/b', '.lead', 'a..b', 'a b', 'a\nb'];
    const results = await Promise.all(names.map((name) => runCli(['network:rebuild', name], e)));
    for (const [i, res] of results.entries()) {
      const name = names[i];
      expect(res.code, name).toBe(1);
      expect(res.stdout).toBe('');
      expect(res.stderr.trim().split('\n')).toHaveLength(1);
      expect(res.stderr).toMatch(/app name/);
    }
    const flagCases = [
      ['network:rebuild', 'ok-app', '--bogus'],
      ['network:rebuild', '-lead'],
      ['network:rebuildall', '--format', 'yaml'],
      ['network:rebuild', 'ok-app', '--timeout', '-5'],
      ['network:nope'],
    ];
    const flagResults = await Promise.all(flagCases.map((args) => runCli(args, e)));
    for (const [i, res] of flagResults.entries()) {
      const args = flagCases[i] ?? [];
      expect(res.code, args.join(' ')).toBe(1);
      expect(res.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
    }
    expect(await countKeys(configOf(e))).toBe(0);
  });

  it('says at once that no worker serves the host of the app, and again when --timeout runs out', async () => {
    const e = env();
    const q = producer(configOf(e));
    const app = appName('orphan');
    try {
      // the app was last seen on host "gone", whose workers stopped a minute ago
      await q.redis.zadd(q.keys.hosts, Date.now() - 60_000, 'gone');
      await q.redis.sadd(q.keys.appHosts(app), 'gone');
      const started = Date.now();
      const res = await runCli(['network:rebuild', app, '--timeout', '2'], e);
      expect(res.code).toBe(1);
      expect(Date.now() - started).toBeLessThan(15_000);
      const lines = res.stderr.trimEnd().split('\n');
      expect(lines).toEqual([
        ' !     no netq worker serves host gone right now: the rebuild waits for one (--timeout 2 s)',
        expect.stringMatching(
          /^netq: .*no netq worker serves host gone \(start one with NETQ_HOST_ID=gone netq worker\)$/,
        ),
      ]);
      // the job stays queued for when a worker of that host comes back
      expect(await q.rebuildQueue('gone').getJobCounts('waiting', 'delayed')).toEqual({ waiting: 1, delayed: 0 });
    } finally {
      await q.close();
    }
  });

  it('names REDIS_URL and exits non-zero when Redis does not answer', async () => {
    const e = testEnv({ REDIS_URL: 'redis://127.0.0.1:1' });
    const res = await runCli(['network:rebuild', 'some-app', '--timeout', '2'], e);
    expect(res.code).toBe(1);
    // it gives up at the --timeout deadline instead of waiting for a Redis that never answers
    expect(res.stderr).toMatch(/^netq: cannot reach Redis at REDIS_URL=redis:\/\/127\.0\.0\.1:1 within 2s/);
  });

  it('refuses a bad environment variable with one line naming it', async () => {
    const res = await runCli(['network:rebuild', 'x'], testEnv({ NETQ_CONCURRENCY: 'lots' }));
    expect(res.code).toBe(1);
    expect(res.stderr.trim()).toMatch(/^netq: NETQ_CONCURRENCY: /);
  });
});
