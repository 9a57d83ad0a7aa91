import { describe, expect, it } from 'vitest';
import { readProperties } from '../../src/store/propertyStore.js';
import {
  appName,
  configOf,
  createAppContainer,
  producer,
  runCli,
  runHook,
  startPool,
  storedListeners,
  testEnv,
  useTestEnvs,
} from '../helpers.js';

const env = useTestEnvs({ docker: true });

/** The containers of an app among this run's. */
async function listApp(app: string) {
  const { docker, scopeLabel } = await import('../helpers.js');
  const found = await docker.listContainers({
    all: true,
    filters: { label: [scopeLabel, `com.dokku.app-name=${app}`] },
  });
  return found.map((c) => docker.getContainer(c.Id));
}

describe('Dokku deploy hooks', () => {
  it('queue a rebuild of the right app and return at once, with no worker running', async () => {
    const e = env();
    const cases: [string, string[], string[]][] = [
      ['post-deploy', ['app-a', '5000', '172.17.0.2', 'latest'], ['app-a']],
      ['core-post-deploy', ['app-b', '5000', '172.17.0.3', 'latest'], ['app-b']],
      ['post-container-create', ['app', 'abc123', 'app-c', 'deploy', 'web'], ['app-c']],
      // Dokku's type is always "app"; only a deploy's containers are dynos (not `dokku run`, a build, a task)
      ['post-container-create', ['app', 'abc124', 'app-x', 'run'], []],
      ['post-container-create', ['app', 'abc125', 'app-y', 'build'], []],
      // Dokku deploys the renamed app next (its post-deploy queues the rebuild); the new name's CONTAINER
      // files still name the old app's containers here
      ['post-app-rename-setup', ['app-old', 'app-new'], []],
      ['post-app-clone-setup', ['app-e', 'app-f'], []], // the clone is not deployed yet
      ['post-delete', ['app-d', 'latest'], []], // nothing to rebuild: what was stored of it is dropped
    ];
    const q = producer(configOf(e));
    try {
      for (const [hook, args, apps] of cases) {
        // hook requests are debounced (NETQ_DEBOUNCE_MS), so a queued rebuild waits as a delayed job first
        const queued = async () =>
          (await q.rebuildQueue('local').getJobs(['waiting', 'delayed'])).map((j) => j.data.app);
        const before = new Set(await queued());
        const res = await runHook(hook, args, e);
        expect(res.code, hook).toBe(0);
        expect(res.stderr, hook).toBe('');
        const after = (await queued()).filter((a) => !before.has(a));
        expect(after.sort(), hook).toEqual(apps);
      }
    } finally {
      await q.close();
    }
  });

  it('never fail a deploy: an unreachable Redis gives a warning and exit 0', async () => {
    const res = await runHook('post-deploy', ['app-a'], testEnv({ REDIS_URL: 'redis://127.0.0.1:1' }));
    expect(res.code).toBe(0);
    expect(res.stderr).toMatch(/could not queue a network rebuild of app-a/);
  });

  it("rename moves an app's properties to the new name, delete forgets it, and neither leaves a ghost", async () => {
    // without Dokku (Redis is the store); in Dokku mode Dokku's own plugin moves the property files
    // (test/integration/dokkuMode.test.ts)
    const e = env();
    const config = configOf(e);
    await startPool(config);
    const [before, after] = [appName('old'), appName('new')];
    const report = async (args: string[]) =>
      JSON.parse((await runCli(['network:report', ...args, '--format', 'json'], e)).stdout);
    // a deployed app with a property
    const old = await createAppContainer({ app: before });
    expect((await runCli(['network:set', before, 'tld', 'svc.example', '--no-apply'], e)).code).toBe(0);
    expect((await runCli(['network:rebuild', before], e)).code).toBe(0);

    // dokku apps:rename: the old containers go, the trigger runs, the new app deploys
    await old.remove({ force: true });
    expect((await runHook('post-app-rename-setup', [before, after], e)).stderr).toBe('');
    await createAppContainer({ app: after });
    expect((await runCli(['network:rebuild', after], e)).code).toBe(0);
    expect(await report([after])).toMatchObject({
      'network-tld': 'svc.example',
      'network-computed-tld': 'svc.example',
    });
    expect(await storedListeners(config, after)).toHaveLength(1);
    // a late rebuild of the old name (the watcher's destroy event) brings back no report entry
    expect((await runCli(['network:rebuild', before], e)).code).toBe(0);
    expect(Object.keys(JSON.parse((await runCli(['network:report', '--format', 'json-by-app'], e)).stdout))).toEqual([
      after,
    ]);

    // dokku apps:destroy: containers gone, then post-delete
    await Promise.all((await listApp(after)).map((c) => c.remove({ force: true })));
    expect((await runHook('post-delete', [after], e)).stderr).toBe('');
    expect((await runCli(['network:rebuild', after], e)).code).toBe(0);
    const none = await runCli(['network:report'], e);
    expect(none.code).toBe(0);
    expect(none.stderr).toMatch(/haven't deployed any applications/);
    expect(await report([after])).toMatchObject({ 'network-tld': '', 'network-web-listeners': '' });
    // none of netq's own keys is left for either name (BullMQ keeps its finished job records, and the
    // counters that number rebuild jobs stay so that job ids are never reused)
    const q = producer(config);
    try {
      const left = (await q.redis.keys(`${config.prefix}:*`)).filter(
        (k) => (k.includes(before) || k.includes(after)) && !k.includes(':rebuild.') && !k.includes(':generation:'),
      );
      expect(left).toEqual([]);
    } finally {
      await q.close();
    }
  });

  it("clone copies the source app's properties in Redis (without Dokku mode Redis is the store)", async () => {
    // in Dokku mode Dokku's own network plugin clones the property files (test/integration/plugin.test.ts)
    const e = env();
    const [src, dst] = [appName('src'), appName('clone')];
    const props: [string, string][] = [
      ['attach-post-deploy', 'net-a,net-b'],
      ['bind-all-interfaces', 'true'],
      ['tld', 'svc.example'],
    ];
    for (const [key, value] of props) {
      expect((await runCli(['network:set', src, key, value, '--no-apply'], e)).code).toBe(0);
    }
    expect(await runHook('post-app-clone-setup', [src, dst], e)).toMatchObject({ code: 0, stderr: '' });
    const q = producer(configOf(e));
    try {
      expect((await readProperties(q.redis, q.keys, dst)).app).toEqual(Object.fromEntries(props));
      expect((await readProperties(q.redis, q.keys, src)).app).toEqual(Object.fromEntries(props));
      expect(await q.rebuildQueue('local').getJobs(['waiting', 'delayed'])).toEqual([]);
    } finally {
      await q.close();
    }
  });

  it('refuse a bad app name for forget and rename with one line, exit 1', async () => {
    const e = env();
    for (const args of [
      ['network:forget', '../etc'],
      ['network:rename', 'ok-app', 'UPPER'],
      ['network:rename', 'same', 'same'],
    ]) {
      const res = await runCli(args, e);
      expect(res.code, args.join(' ')).toBe(1);
      expect(res.stderr, args.join(' ')).toMatch(
        /^netq: (invalid app name|the old and the new app name are the same)[^\n]*\n$/,
      );
    }
  });
});
