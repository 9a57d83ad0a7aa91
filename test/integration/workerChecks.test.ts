import type Docker from 'dockerode';
import { describe, expect, it } from 'vitest';
import { rebuild, rebuildall } from '../../producers/client.js';
import { AppLock } from '../../src/store/appLock.js';
import type { RebuildallResult } from '../../src/types.js';
import {
  appName,
  configOf,
  createAppContainer,
  createTestNetwork,
  docker,
  IMAGE,
  producer,
  RUN_LABEL,
  runCli,
  runId,
  startPool,
  until,
  useTestEnvs,
} from '../helpers.js';

/**
 * What a worker checks for itself rather than trust: the scan's list of an app's containers (stale after a
 * redeploy or a scale), its own host's attach record, the property values stored in Redis, and its app lock.
 */
const env = useTestEnvs({ docker: true });

/** The Redis database the connection-count test uses, and no other test. */
const CONNECTIONS_DB = 11;

const bridgeIp = async (id: string) =>
  (await docker.getContainer(id).inspect()).NetworkSettings.Networks.bridge?.IPAddress ?? '';

/** A Dokku-labelled container that only a pool with `scope` as its NETQ_SCOPE_LABEL sees. */
async function scopedContainer(app: string, index: number, scope: string): Promise<Docker.Container> {
  const [key, value] = scope.split('=');
  const c = await docker.createContainer({
    name: `${app}.web.${index}`,
    Image: IMAGE,
    Cmd: ['/bin/httpd', '-f', '-p', '5000'],
    Labels: {
      'com.dokku.app-name': app,
      'com.dokku.container-type': 'deploy',
      'com.dokku.process-type': 'web',
      'com.dokku.dyno': `web.${index}`,
      [RUN_LABEL]: runId,
      [key ?? '']: value ?? '',
    },
    HostConfig: { Init: true },
  });
  await c.start();
  return c;
}

/** The app's per-app job of a rebuildall, once the host's scan has listed it (with the ids it listed). */
const scanListed = (q: ReturnType<typeof producer>, app: string) =>
  until('the scan listed the app', async () => {
    const jobs = await q.rebuildQueue('local').getJobs(['waiting', 'delayed', 'active']);
    return jobs.find((j) => j.data.app === app && j.data.containerIds !== undefined);
  });

describe('a worker checks for itself', () => {
  it('lists an app afresh when it was scaled between the scan and its job (the watcher on)', async () => {
    const e = env({ NETQ_DEBOUNCE_MS: '50' });
    const config = configOf(e);
    const app = appName('stale');
    const first = await createAppContainer({ app, proc: 'web', index: 1 });
    await startPool(config, { watchEvents: true });
    const q = producer(config);
    const lock = new AppLock(q.redis, q.keys.appLock(app), 'test-holds-it');
    try {
      // the watcher's own start-up rebuild of the host has run once the app has a listener
      await until('start-up rebuild', async () =>
        (await q.redis.hget(q.keys.netconfig, `${app}/local`)) ? true : undefined,
      );
      expect(await lock.acquire()).toBe(true); // the app's job waits for the lock after its scan
      const run = rebuildall(q, { wait: true, timeoutMs: 60_000 });
      const scanned = await scanListed(q, app);
      expect(scanned.data.containerIds).toEqual([first.id]);
      // scaled up meanwhile: web.2 starts; the watcher counts its events
      const before = Number((await q.redis.hget(q.keys.appEvents('local'), app)) ?? 0);
      const second = await createAppContainer({ app, proc: 'web', index: 2 });
      await until('the event counted', async () =>
        Number((await q.redis.hget(q.keys.appEvents('local'), app)) ?? 0) > before ? true : undefined,
      );
      await lock.release();
      const { result } = await run;
      const mine = (result as RebuildallResult).results.find((r) => r.app === app);
      expect(mine).toMatchObject({ containers: 2, configured: 2, failed: 0 });
      expect(mine?.listeners).toEqual({
        web: [`${await bridgeIp(first.id)}:5000`, `${await bridgeIp(second.id)}:5000`],
      });
    } finally {
      await lock.release().catch(() => {});
      await q.close();
    }
  });

  it.each([
    { watcher: true, how: 'the watcher on: its events say the list is old' },
    { watcher: false, how: 'the watcher off: the listed container is gone' },
  ])('lists an app afresh when it was redeployed between the scan and its job ($how)', async ({ watcher }) => {
    const e = env({ NETQ_DEBOUNCE_MS: '50' });
    const config = configOf(e);
    const app = appName('redeployed');
    const old = await createAppContainer({ app, proc: 'web', index: 1 });
    await startPool(config, { watchEvents: watcher });
    const q = producer(config);
    const lock = new AppLock(q.redis, q.keys.appLock(app), 'test-holds-it');
    const stored = async () => {
      const raw = await q.redis.hget(q.keys.netconfig, `${app}/local`);
      return raw ? (JSON.parse(raw) as { listeners: Record<string, string[]> }).listeners : undefined;
    };
    let sampling = true;
    const seen: Record<string, string[]>[] = [];
    const sampler = (async () => {
      while (sampling) {
        const l = await stored();
        if (l) seen.push(l);
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    try {
      if (!watcher) await rebuild(q, { app, host: 'local' }, { wait: true, timeoutMs: 30_000 });
      // the app's listener is stored (by the watcher's start-up rebuild of the host, or the rebuild above)
      await until('the first listener', async () => ((await stored())?.web?.length ? true : undefined));
      const oldIp = await bridgeIp(old.id);
      expect(await stored()).toEqual({ web: [`${oldIp}:5000`] });
      expect(await lock.acquire()).toBe(true); // the app's job waits for the lock after its scan
      const run = rebuildall(q, { wait: true, timeoutMs: 60_000 });
      const scanned = await scanListed(q, app);
      expect(scanned.data.containerIds).toEqual([old.id]);
      // redeployed meanwhile, as Dokku does: the new container starts (so it gets another IP), the old one goes
      const before = Number((await q.redis.hget(q.keys.appEvents('local'), app)) ?? 0);
      await old.rename({ name: `${app}.web.1.old` });
      const fresh = await createAppContainer({ app, proc: 'web', index: 1 });
      await old.remove({ force: true });
      const freshIp = await bridgeIp(fresh.id);
      expect(freshIp).not.toBe(oldIp);
      if (watcher) {
        await until('the events counted', async () =>
          Number((await q.redis.hget(q.keys.appEvents('local'), app)) ?? 0) > before ? true : undefined,
        );
      } else {
        // no watcher: nothing told the worker, the scan's list is all the job has
        expect(Number((await q.redis.hget(q.keys.appEvents('local'), app)) ?? 0)).toBe(before);
      }
      await lock.release();
      const { result } = await run;
      const mine = (result as RebuildallResult).results.find((r) => r.app === app);
      expect(mine).toMatchObject({ containers: 1, configured: 1, failed: 0 });
      expect(mine?.listeners).toEqual({ web: [`${freshIp}:5000`] });
      expect(await stored()).toEqual({ web: [`${freshIp}:5000`] });
      // the stored listeners held the old container, then the new one: never none
      expect(seen.length).toBeGreaterThan(0);
      expect(seen.filter((l) => !l.web?.length)).toEqual([]);
      expect(new Set(seen.flatMap((l) => l.web ?? []))).toEqual(new Set([`${oldIp}:5000`, `${freshIp}:5000`]));
    } finally {
      sampling = false;
      await sampler;
      await lock.release().catch(() => {});
      await q.close();
    }
  });

  it("keeps each host's attach record: a host detaches what it attached, whatever another host did", async () => {
    const e = env();
    const config = configOf(e);
    const app = appName('twohosts');
    const [scopeA, scopeB] = [`netq.test-host=${runId}-a`, `netq.test-host=${runId}-b`];
    const a = await scopedContainer(app, 1, scopeA);
    const b = await scopedContainer(app, 2, scopeB);
    await startPool({ ...config, scopeLabel: scopeA });
    await startPool({ ...config, hostId: 'h2', scopeLabel: scopeB });
    const net = `netq-t${runId}-hosts`;
    await createTestNetwork(net);
    const q = producer(config);
    const networksOf = async (c: Docker.Container) => Object.keys((await c.inspect()).NetworkSettings.Networks).sort();
    try {
      expect((await runCli(['network:set', app, 'attach-post-deploy', net, '--no-apply'], e)).code).toBe(0);
      for (const host of ['local', 'h2']) await rebuild(q, { app, host }, { wait: true, timeoutMs: 30_000 });
      expect(await networksOf(a)).toEqual(['bridge', net].sort());
      expect(await networksOf(b)).toEqual(['bridge', net].sort());
      // cleared, then applied on one host and afterwards on the other: each detaches its own container
      expect((await runCli(['network:set', app, 'attach-post-deploy', '--no-apply'], e)).code).toBe(0);
      await rebuild(q, { app, host: 'local' }, { wait: true, timeoutMs: 30_000 });
      expect(await networksOf(a)).toEqual(['bridge']);
      await rebuild(q, { app, host: 'h2' }, { wait: true, timeoutMs: 30_000 });
      expect(await networksOf(b)).toEqual(['bridge']);
    } finally {
      await q.close();
    }
  });

  it('refuses property values in Redis that network:set would refuse, before touching anything', async () => {
    const e = env();
    const config = configOf(e);
    await startPool(config);
    const app = appName('tampered');
    const web = await createAppContainer({ app, proc: 'web', index: 1 });
    const q = producer(config);
    try {
      for (const [key, value, why] of [
        ['initial-network', `container:${web.id.slice(0, 12)}`, /is not valid \(network name must match/],
        [
          'static-web-listener',
          '10.0.0.1:80\n10.6.6.6:80',
          /is not valid \(static-web-listener: value contains control characters\)/,
        ],
      ] as const) {
        await q.redis.del(`${config.prefix}:props:${app}`);
        await q.redis.hset(`${config.prefix}:props:${app}`, key, value);
        const res = await runCli(['network:rebuild', app], e);
        expect(res.code, key).toBe(1);
        expect(res.stderr, key).toMatch(new RegExp(`stored property ${key} of ${app}`));
        expect(res.stderr, key).toMatch(why);
      }
      // the container was neither replaced nor moved, and nothing was stored for the app
      const info = await web.inspect();
      expect(info.State.Running).toBe(true);
      expect(info.HostConfig.NetworkMode).toBe('bridge');
      expect(await q.redis.hget(q.keys.netconfig, `${app}/local`)).toBeNull();
    } finally {
      await q.close();
    }
  });

  it('writes nothing once it lost its app lock, and is retried', async () => {
    const e = env({ NETQ_WAIT_TO_RETIRE_MS: '0' });
    const config = configOf(e);
    await startPool(config);
    const app = appName('lostlock');
    const web = await createAppContainer({ app, proc: 'web', index: 1 });
    const q = producer(config);
    try {
      expect((await runCli(['network:set', app, 'bind-all-interfaces', 'true', '--no-apply'], e)).code).toBe(0);
      const job = rebuild(q, { app, host: 'local' }, { wait: true, timeoutMs: 60_000 });
      // while the replacement is on its way (before anything is written), the lock passes to another holder
      await until(
        'the replacement under way',
        async () => {
          const list = await docker.listContainers({ all: true, filters: { label: [`com.dokku.app-name=${app}`] } });
          return list.some((c) => /\.netq-/.test(c.Names[0] ?? '')) ? true : undefined;
        },
        20_000,
      );
      await q.redis.set(q.keys.appLock(app), 'another-holder', 'PX', 1500);
      const { result } = await job;
      // the first attempt wrote nothing and was retried once the other holder's lock expired
      const done = (await q.rebuildQueue('local').getJobs(['completed'])).find((j) => j.data.app === app);
      expect(done?.attemptsMade).toBeGreaterThanOrEqual(1);
      expect(done?.stacktrace?.join('\n')).toMatch(/lost the lock of .* to another holder: nothing written/);
      expect(result).toMatchObject({ containers: 1, configured: 1, failed: 0 });
      const now = await docker.listContainers({ filters: { label: [`com.dokku.app-name=${app}`] } });
      expect(now).toHaveLength(1);
      expect(now[0]?.Id).not.toBe(web.id);
    } finally {
      await q.close();
    }
  });

  it('replaces no further dyno once it lost its app lock (between two replacements), and is retried', async () => {
    const e = env({ NETQ_WAIT_TO_RETIRE_MS: '0', NETQ_BACKOFF_MS: '200' });
    const config = configOf(e);
    await startPool(config);
    const app = appName('lostlock2');
    const web1 = await createAppContainer({ app, proc: 'web', index: 1 });
    const web2 = await createAppContainer({ app, proc: 'web', index: 2 });
    const q = producer(config);
    const since = ((Date.now() - 1000) / 1000).toFixed(3);
    /** the names of the app's containers created since the test started, as the engine's events give them */
    const created = async () => {
      const opts = {
        since,
        until: (Date.now() / 1000).toFixed(3),
        filters: { type: ['container'], event: ['create'], label: [`com.dokku.app-name=${app}`] },
      } as unknown as { since: number; until: number };
      const stream = (await docker.getEvents(opts)) as unknown as NodeJS.ReadableStream;
      let text = '';
      for await (const chunk of stream) text += chunk.toString();
      return text
        .split('\n')
        .filter(Boolean)
        .map((l) => (JSON.parse(l) as { Actor?: { Attributes?: { name?: string } } }).Actor?.Attributes?.name ?? '');
    };
    const ids = async () =>
      (await docker.listContainers({ all: true, filters: { label: [`com.dokku.app-name=${app}`] } }))
        .map((c) => c.Id)
        .sort();
    try {
      expect((await runCli(['network:set', app, 'bind-all-interfaces', 'true', '--no-apply'], e)).code).toBe(0);
      const job = rebuild(q, { app, host: 'local' }, { wait: true, timeoutMs: 60_000 });
      // web.1's replacement is under way: the lock passes to another holder before web.2's turn
      await until(
        "web.1's replacement under way",
        async () => ((await created()).some((n) => n.startsWith(`${app}.web.1.netq-`)) ? true : undefined),
        20_000,
      );
      await q.redis.set(q.keys.appLock(app), 'another-holder', 'PX', 60_000);
      const failedOnce = await until('the attempt failed', async () => {
        const jobs = await q.rebuildQueue('local').getJobs(['waiting', 'delayed', 'active', 'completed', 'failed']);
        return jobs.find((j) => j.data.app === app && (j.stacktrace?.length ?? 0) > 0);
      });
      expect(failedOnce.stacktrace?.join('\n')).toMatch(/LockLostError: lost the lock of .* to another holder/);
      // web.2 was never replaced (no replacement created for it); web.1's was rolled back: both originals serve
      expect((await created()).filter((n) => n.startsWith(`${app}.web.2.`))).toEqual([]);
      await until('the abandoned replacement removed', async () =>
        JSON.stringify(await ids()) === JSON.stringify([web1.id, web2.id].sort()) ? true : undefined,
      );
      expect(await q.redis.hget(q.keys.netconfig, `${app}/local`)).toBeNull();
      // the other holder goes: the retry does the whole job
      await q.redis.del(q.keys.appLock(app));
      const { result } = await job;
      expect(result).toMatchObject({ containers: 2, configured: 2, failed: 0 });
      const now = await ids();
      expect(now).toHaveLength(2);
      expect(now).not.toContain(web1.id);
      expect(now).not.toContain(web2.id);
    } finally {
      await q.close();
    }
  });

  it('keeps a steady number of Redis connections over many runs (no connection per queue or per job)', async () => {
    const e = env();
    // a database of its own, so that the count is of this test's connections only (the Redis is shared)
    const url = new URL(configOf(e).redisUrl);
    url.pathname = `/${CONNECTIONS_DB}`;
    const config = { ...configOf(e), redisUrl: url.toString() };
    const pool = await startPool(config);
    const apps = [appName('conn'), appName('conn')];
    for (const app of apps) await createAppContainer({ app, proc: 'web', index: 1 });
    const q = producer(config);
    const clients = async () =>
      String(await q.redis.call('CLIENT', 'LIST'))
        .split('\n')
        .filter((line) => line.includes(` db=${CONNECTIONS_DB} `)).length;
    try {
      const once = async () => {
        await rebuildall(q, { wait: true, timeoutMs: 30_000 });
        for (const app of apps) await rebuild(q, { app, host: 'local' }, { wait: true, timeoutMs: 30_000 });
      };
      await once(); // warm-up: every queue and its event reader opened once
      const warm = await clients();
      for (let i = 0; i < 15; i++) await once();
      expect(await clients()).toBeLessThanOrEqual(warm);
    } finally {
      await pool.close();
      await q.redis.flushdb(); // the database is this test's alone
      await q.close();
    }
  });

  it('leaves no worker taking jobs when its start fails half-way', async () => {
    const e = env();
    const config = configOf(e);
    const q = producer(config);
    try {
      // a key of the wrong type where the heartbeat writes: the start fails once the BullMQ workers are up
      await q.redis.set(q.keys.workerHealth, 'not a hash');
      await expect(startPool(config)).rejects.toThrow(/WRONGTYPE/);
      const rebuilds = q.rebuildQueue(config.hostId);
      await until('no worker left on the rebuild queue', async () =>
        (await rebuilds.getWorkers()).length === 0 ? true : undefined,
      );
    } finally {
      await q.close();
    }
  });
});
