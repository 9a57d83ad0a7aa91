import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { netqKeys } from '../../src/keys.js';
import {
  appName,
  configOf,
  createAppContainer,
  createTestNetwork,
  docker,
  freePort,
  probe,
  producer,
  runCli,
  runId,
  startPool,
  storedListeners,
  tempDir,
  useTestEnvs,
} from '../helpers.js';

const newEnv = useTestEnvs({ docker: true });
const env = (extra: Record<string, string> = {}) => newEnv({ NETQ_WAIT_TO_RETIRE_MS: '500', ...extra });

async function rawProps(e: Record<string, string>, scope: string): Promise<Record<string, string>> {
  const config = configOf(e);
  const redis = new Redis(config.redisUrl);
  try {
    return await redis.hgetall(netqKeys(config.prefix).props(scope));
  } finally {
    redis.disconnect();
  }
}

async function containersOf(app: string) {
  const list = await docker.listContainers({ all: true, filters: { label: [`com.dokku.app-name=${app}`] } });
  return Promise.all(list.map((c) => docker.getContainer(c.Id).inspect()));
}

describe('network:set and the bindings', () => {
  it('bind-all-interfaces true publishes every web port without a failed request, false unpublishes', async () => {
    const e = env();
    const config = configOf(e);
    await startPool(config);
    const app = appName('bind');
    await createAppContainer({ app, proc: 'web', index: 1 });
    await createAppContainer({ app, proc: 'web', index: 2 });
    expect((await runCli(['network:rebuild', app], e)).code).toBe(0);

    // poll what the proxy reads (the stored listeners) all through the replacement
    let polling = true;
    let requests = 0;
    const failures: string[] = [];
    const poller = (async () => {
      while (polling) {
        for (const l of await storedListeners(config, app)) {
          requests += 1;
          const res = await fetch(`http://${l}/`, { signal: AbortSignal.timeout(2000) }).catch((err: Error) => err);
          if (res instanceof Error) failures.push(`${l}: ${res.message}`);
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const set = await runCli(['network:set', app, 'bind-all-interfaces', 'true', '--format', 'json'], e);
    polling = false;
    await poller;
    expect(set.stderr).toBe('');
    expect(set.code).toBe(0);
    const out = JSON.parse(set.stdout);
    expect(out).toMatchObject({ scope: app, key: 'bind-all-interfaces', value: 'true', applied: 'rebuild' });
    expect(out.result).toMatchObject({ containers: 2, configured: 2, failed: 0 });
    expect(requests).toBeGreaterThan(10);
    expect(failures).toEqual([]);

    const after = await containersOf(app);
    expect(after.map((c) => c.Name).sort()).toEqual([`/${app}.web.1`, `/${app}.web.2`]);
    for (const c of after) {
      const binding = c.NetworkSettings.Ports['5000/tcp']?.find((b) => b.HostIp === '0.0.0.0');
      expect(binding?.HostPort).toMatch(/^\d+$/);
      const res = await fetch(`http://127.0.0.1:${binding?.HostPort}/`);
      expect(res.status).toBe(404); // busybox httpd with no index: it answers
    }

    const back = await runCli(['network:set', app, 'bind-all-interfaces', 'false'], e);
    expect(back.code).toBe(0);
    for (const c of await containersOf(app)) {
      expect(Object.values(c.NetworkSettings.Ports ?? {}).filter((b) => b && b.length > 0)).toEqual([]);
    }
  });

  it('attaches every attach network with both aliases, detaches a removed one, and follows a tld change', async () => {
    const e = env();
    await startPool(configOf(e));
    const nets = [1, 2, 3].map((i) => `netq-t${runId}-att${i}`);
    for (const n of nets) await createTestNetwork(n);
    const app = appName('attach');
    const web = await createAppContainer({ app, proc: 'web', index: 1 });
    const hostname = (await web.inspect()).Config.Hostname;

    const [n1, n2, n3] = nets as [string, string, string];
    expect((await runCli(['network:set', app, 'attach-post-create', n1, n2], e)).code).toBe(0);
    expect((await runCli(['network:set', app, 'attach-post-deploy', n3], e)).code).toBe(0);
    let info = await web.inspect();
    for (const n of nets) {
      expect(info.NetworkSettings.Networks[n]?.Aliases).toEqual(
        expect.arrayContaining([`${app}.web`, `${hostname}.${app}.web`]),
      );
    }
    const ipOn3 = info.NetworkSettings.Networks[n3]?.IPAddress ?? '';
    const lookup = await probe(n3, ['nslookup', `${hostname}.${app}.web`]);
    expect(lookup.output).toContain(ipOn3);
    const get = await probe(n1, ['wget', '-q', '-O-', `http://${app}.web:5000/`]);
    expect(get.output).toMatch(/404/); // reached httpd by its alias

    expect((await runCli(['network:set', app, 'attach-post-create', n1], e)).code).toBe(0);
    info = await web.inspect();
    expect(Object.keys(info.NetworkSettings.Networks).sort()).toEqual(['bridge', n1, n3].sort());

    expect((await runCli(['network:set', app, 'tld', 'svc.test'], e)).code).toBe(0);
    info = await web.inspect();
    for (const n of [n1, n3]) {
      expect(info.NetworkSettings.Networks[n]?.Aliases).toEqual(
        expect.arrayContaining([`${app}.web.svc.test`, `${hostname}.${app}.web.svc.test`]),
      );
    }
    expect((await probe(n1, ['nslookup', `${app}.web.svc.test`])).output).toContain(
      info.NetworkSettings.Networks[n1]?.IPAddress,
    );
  });

  it('moves a container to a new initial network and reports its IP there', async () => {
    const e = env();
    const config = configOf(e);
    await startPool(config);
    const net = `netq-t${runId}-initial`;
    await createTestNetwork(net);
    const app = appName('move');
    await createAppContainer({ app, proc: 'web', index: 1 });
    const set = await runCli(['network:set', app, 'initial-network', net, '--format', 'json'], e);
    expect(set.code).toBe(0);
    const [c] = await containersOf(app);
    expect(c?.Name).toBe(`/${app}.web.1`);
    expect(c?.HostConfig.NetworkMode).toBe(net);
    const ip = c?.NetworkSettings.Networks[net]?.IPAddress;
    expect(JSON.parse(set.stdout).result.listeners).toEqual({ web: [`${ip}:5000`] });
    expect(await storedListeners(config, app)).toEqual([`${ip}:5000`]);
  });

  it('replaces a container with an identical one: networks it joined by hand stay, with their aliases', async () => {
    const e = env();
    await startPool(configOf(e));
    const net = `netq-t${runId}-manual`;
    await createTestNetwork(net);
    const app = appName('same');
    const web = await createAppContainer({ app, proc: 'web', index: 1 });
    await docker.getNetwork(net).connect({ Container: web.id, EndpointConfig: { Aliases: ['legacy-client'] } });

    expect((await runCli(['network:set', app, 'bind-all-interfaces', 'true'], e)).code).toBe(0);
    const [c] = await containersOf(app);
    expect(c?.Id).not.toBe(web.id);
    expect(c?.Name).toBe(`/${app}.web.1`);
    expect(c?.HostConfig.PortBindings?.['5000/tcp']).toEqual([{ HostIp: '0.0.0.0', HostPort: '' }]);
    expect(c?.NetworkSettings.Networks[net]?.Aliases).toEqual(expect.arrayContaining(['legacy-client']));
    const lookup = await probe(net, ['nslookup', 'legacy-client']);
    expect(lookup.output).toContain(c?.NetworkSettings.Networks[net]?.IPAddress ?? 'no IP');
  });

  it('keeps a port published on a fixed host port (docker-options -p) whatever bind-all-interfaces says', async () => {
    const e = env();
    await startPool(configOf(e));
    const app = appName('fixed');
    const hostPort = await freePort();
    const web = await createAppContainer({ app, fixedPorts: { 2222: hostPort } });
    const bindings = async () => (await containersOf(app)).map((c) => [c.Id, c.HostConfig.PortBindings]);
    const fixed = { '2222/tcp': [{ HostIp: '127.0.0.1', HostPort: String(hostPort) }] };

    // bind-all-interfaces false (the default) with only a fixed port: nothing to change, nothing replaced
    expect((await runCli(['network:rebuild', app], e)).code).toBe(0);
    expect(await bindings()).toEqual([[web.id, fixed]]);
    // true: the web port is published too, the fixed one kept
    // (the fixed port cannot be bound twice: the old container stops just before the new one starts)
    expect((await runCli(['network:set', app, 'bind-all-interfaces', 'true'], e)).code).toBe(0);
    const [[id1, b1] = []] = await bindings();
    expect(id1).not.toBe(web.id);
    expect(b1).toEqual({ ...fixed, '5000/tcp': [{ HostIp: '0.0.0.0', HostPort: '' }] });
    // back to false: the web port unpublished, the fixed one still there
    expect((await runCli(['network:set', app, 'bind-all-interfaces', 'false'], e)).code).toBe(0);
    const [[id2, b2] = []] = await bindings();
    expect(id2).not.toBe(id1);
    expect(b2).toEqual(fixed);
  });

  it('leaves web containers alone when static-web-listener is set, and reports that listener for web', async () => {
    const e = env();
    const config = configOf(e);
    await startPool(config);
    const net = `netq-t${runId}-static`;
    await createTestNetwork(net);
    const app = appName('static');
    const web = await createAppContainer({ app, proc: 'web', index: 1 });
    const worker = await createAppContainer({ app, proc: 'worker', index: 1 });
    for (const [key, value] of [
      ['static-web-listener', '10.9.8.7:8080'],
      ['bind-all-interfaces', 'true'],
      ['attach-post-deploy', net],
    ]) {
      expect((await runCli(['network:set', app, key as string, value as string, '--no-apply'], e)).code).toBe(0);
    }
    const res = await runCli(['network:rebuild', app, '--format', 'json'], e);
    expect(res.code).toBe(0);
    const workerIp = (await worker.inspect()).NetworkSettings.Networks.bridge?.IPAddress;
    expect(JSON.parse(res.stdout).listeners).toEqual({ web: ['10.9.8.7:8080'], worker: [`${workerIp}:5000`] });
    // the web container: same one, nothing published, not attached; the worker: attached, nothing published
    const info = new Map((await containersOf(app)).map((c) => [c.Id, c]));
    expect([...info.keys()].sort()).toEqual([web.id, worker.id].sort());
    expect(info.get(web.id)?.HostConfig.PortBindings ?? {}).toEqual({});
    expect(Object.keys(info.get(web.id)?.NetworkSettings.Networks ?? {})).toEqual(['bridge']);
    expect(Object.keys(info.get(worker.id)?.NetworkSettings.Networks ?? {}).sort()).toEqual(['bridge', net].sort());
  });

  it('keeps the old container running and counts the failure when its replacement cannot be made', async () => {
    const e = env();
    await startPool(configOf(e));
    const app = appName('stuck');
    // a bind mount whose host folder is gone by the time of the replacement: Docker refuses the new container
    const data = await tempDir();
    const web = await createAppContainer({ app, binds: { [data.dir]: '/data' } });
    await data.remove();
    const set = await runCli(['network:set', app, 'bind-all-interfaces', 'true', '--format', 'json'], e);
    expect(set.code).toBe(1);
    expect(JSON.parse(set.stdout).result.failures).toEqual([
      {
        container: `${app}.web.1`,
        reason: expect.stringMatching(/replacement failed 1 time\(s\), the old container keeps running \(last: /),
      },
    ]);
    const all = await containersOf(app);
    expect(all.map((c) => [c.Id, c.State.Running, c.HostConfig.PortBindings ?? {}])).toEqual([[web.id, true, {}]]);
  });

  it('with NETQ_REPLACE=never leaves a drifted container alone and reports the drift as a failure', async () => {
    const e = env({ NETQ_REPLACE: 'never' });
    await startPool(configOf(e));
    const app = appName('never');
    const web = await createAppContainer({ app });
    const set = await runCli(['network:set', app, 'bind-all-interfaces', 'true', '--format', 'json'], e);
    expect(set.code).toBe(1);
    expect(JSON.parse(set.stdout).result.failures).toEqual([
      { container: `${app}.web.1`, reason: expect.stringMatching(/NETQ_REPLACE=never/) },
    ]);
    expect((await containersOf(app)).map((c) => c.Id)).toEqual([web.id]);
  });

  it('reports raw, global and computed values, and the drift before a change is applied', async () => {
    const e = env();
    await startPool(configOf(e));
    const app = appName('report');
    await createAppContainer({ app, proc: 'web', index: 1 });
    expect((await runCli(['network:set', '--global', 'tld', 'global.test'], e)).code).toBe(0);
    expect((await runCli(['network:rebuild', app], e)).code).toBe(0);

    let rep = JSON.parse((await runCli(['network:report', app, '--format', 'json-by-app'], e)).stdout)[app];
    expect(rep['network-tld']).toBe('');
    expect(rep['network-global-tld']).toBe('global.test');
    expect(rep['network-computed-tld']).toBe('global.test');
    expect(rep['computed-tld']).toBe('global.test');
    expect(rep['network-computed-bind-all-interfaces']).toBe('false');
    expect(rep['network-web-listeners']).toMatch(/^\d+\.\d+\.\d+\.\d+:5000$/);
    expect(rep['network-drift']).toBe('');

    const stored = await runCli(['network:set', app, 'bind-all-interfaces', 'true', '--no-apply'], e);
    expect(stored.code).toBe(0);
    expect(stored.stdout).toBe('=====> Setting bind-all-interfaces to true\n'); // Dokku's line, nothing more
    rep = JSON.parse((await runCli(['network:report', app, '--format', 'json-by-app'], e)).stdout)[app];
    expect(rep['network-bind-all-interfaces']).toBe('true');
    expect(rep['bind-all-interfaces']).toBe('true');
    expect(rep['network-computed-bind-all-interfaces']).toBe('true');
    expect(rep['network-drift']).toContain('bind-all-interfaces is "true" but "false" is applied');

    const flag = await runCli(['network:report', app, '--network-computed-tld'], e);
    expect(flag.stdout).toBe('global.test\n');
    const text = await runCli(['network:report', app], e);
    expect(text.stdout).toMatch(new RegExp(`^=====> ${app} network information\\n`));
    expect(text.stdout).toMatch(/\n {7}Network computed tld: +global\.test\n/);
    const global = JSON.parse((await runCli(['network:report', '--global', '--format', 'json'], e)).stdout);
    expect(global).toMatchObject({ 'network-global-tld': 'global.test', 'global-tld': 'global.test' });

    expect((await runCli(['network:rebuild', app], e)).code).toBe(0);
    rep = JSON.parse((await runCli(['network:report', app, '--format', 'json-by-app'], e)).stdout)[app];
    expect(rep['network-drift']).toBe('');
  });

  it('refuses every bad set with exit 1 and one line, and stores nothing', async () => {
    const e = env();
    await startPool(configOf(e));
    const app = appName('refuse');
    await createAppContainer({ app, proc: 'web', index: 1 });
    const net = `netq-t${runId}-ok`;
    await createTestNetwork(net);
    expect((await runCli(['network:set', app, 'attach-post-create', net], e)).code).toBe(0);
    const before = await rawProps(e, app);
    const cases: [string[], RegExp][] = [
      [
        [app, 'colour', 'red'],
        /^ ! {5}Invalid property specified, valid properties include: attach-post-create, attach-post-deploy, bind-all-interfaces, initial-network, static-web-listener, tld\n$/,
      ],
      [[app, 'bind-all-interfaces', 'maybe'], /bind-all-interfaces must be true or false/],
      [[app, 'tld', 'Bad_TLD!'], /tld must be a DNS suffix/],
      [[app, 'tld', `${'a'.repeat(64)}.com`], /tld must be a DNS suffix/],
      [[app, 'initial-network', '../etc'], /network name/],
      [[app, 'static-web-listener', 'nope:port'], /static-web-listener must be host:port or an IP/],
      [[app, 'static-web-listener', '10.0.0.1:99999'], /static-web-listener must be/],
      [['--global', 'static-web-listener', '10.0.0.1:80'], /^ ! {5}Property cannot be specified globally\n$/],
      [[app, 'attach-post-deploy', 'host'], /^ ! {5}Invalid network name specified for attach: host\n$/],
      [[app, 'attach-post-deploy', 'bridge'], /^ ! {5}Invalid network name specified for attach: bridge\n$/],
      [[app, 'attach-post-deploy', net], new RegExp(`Network name already associated with this app: ${net}`)],
      [['Bad_App', 'tld', 'x.test'], /invalid app name/],
      [[app], /^ ! {5}No property specified\n$/],
    ];
    for (const [args, message] of cases) {
      const res = await runCli(['network:set', ...args], e);
      expect(res.code, args.join(' ')).toBe(1);
      expect(res.stderr, args.join(' ')).toMatch(message);
      expect(res.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
    }
    expect(await rawProps(e, app)).toEqual(before);
    expect(await rawProps(e, '--global')).toEqual({});

    // as Dokku: a network that does not exist yet is stored, with a warning; applied, its absence is a failure
    const missing = `netq-t${runId}-missing`;
    const later = await runCli(['network:set', app, 'attach-post-deploy', missing], e);
    expect(later.stderr).toContain(` !     Network ${missing} does not exist on host local yet`);
    expect(later.code).toBe(1);
    expect(later.stdout).toContain(`cannot attach to ${missing}`);
    expect((await rawProps(e, app))['attach-post-deploy']).toBe(missing);
    // a single-valued key takes the first value, as Dokku's does
    expect((await runCli(['network:set', app, 'bind-all-interfaces', 'false', 'true', '--no-apply'], e)).code).toBe(0);
    expect((await rawProps(e, app))['bind-all-interfaces']).toBe('false');
  });

  it('fails a malformed set job at once, without retry, and changes nothing', async () => {
    const e = env();
    const config = configOf(e);
    await startPool(config);
    const q = producer(config);
    try {
      const queue = q.controlQueue('local');
      const bad = [
        { host: 'local', scope: 'app', key: 'tld', values: 'x.test', apply: false },
        { host: 'local', scope: '../etc', key: 'tld', values: ['x.test'], apply: false },
        { host: 'local', scope: 'app', key: 'tld', values: ['x.test'], apply: false, extra: true },
        { host: 'local', scope: 'app', key: 'colour', values: ['red'], apply: false },
        { host: 'local', scope: 'app', key: 'tld', values: ['NOT A TLD'], apply: false },
      ];
      const jobs = await Promise.all(bad.map((d) => queue.add('set', d, { attempts: 3 })));
      const good = await queue.add('set', {
        host: 'local',
        scope: 'app',
        key: 'tld',
        values: ['ok.test'],
        apply: false,
      });
      const events = await q.queueEvents('control.local');
      expect(await good.waitUntilFinished(events, 60_000)).toMatchObject({ value: 'ok.test' });
      for (const j of jobs) {
        const done = await queue.getJob(String(j.id));
        expect(await done?.getState()).toBe('failed');
        expect(done?.attemptsMade).toBe(1);
        expect(done?.failedReason).toMatch(/bad set job|Invalid property specified|tld must be/);
      }
      expect(await rawProps(e, 'app')).toEqual({ tld: 'ok.test' });
    } finally {
      await q.close();
    }
  });
});
