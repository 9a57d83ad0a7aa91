import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DockerodeEngine } from '../../src/docker/dockerodeEngine.js';
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
  RUN_LABEL,
  runCli,
  runId,
  scopeLabel,
  startPool,
  testEnv,
  until,
} from '../helpers.js';
import { ApiServers, fakeLiveHost, jobCount, type Reply, request, type Served } from '../support/apiServer.js';
import { type OpenApi, operations } from '../support/openApiDocument.js';

/**
 * Every CLI command over HTTP: each has its route, documented in the OpenAPI document generated from the
 * routes' zod schemas (/openapi.json), and each route runs the operation the CLI runs, so that an answer is
 * what the CLI's `--format json` prints.
 */

const TOKEN = 'http-commands-token-0123456789';

const envs: Record<string, string>[] = [];
const servers = new ApiServers();
const serve = (e: Record<string, string>) => servers.serve(e);

function env(extra: Record<string, string> = {}) {
  const e = testEnv({ NETQ_API_TOKEN: TOKEN, ...extra });
  envs.push(e);
  return e;
}

afterEach(async () => {
  await servers.closeAll();
  await closePools();
  expect(openPools()).toBe(0);
  await cleanupDocker();
  for (const e of envs.splice(0)) await cleanupPrefix(configOf(e));
});
afterAll(cleanupDocker);

/** One request with exactly these headers: Host as a browser sends it, the token unless `auth` is null. */
function call(
  s: Served,
  method: string,
  path: string,
  opts: { body?: unknown; auth?: string | null; headers?: Record<string, string> } = {},
): Promise<Reply> {
  const headers: Record<string, string> = { host: s.base.host, ...opts.headers };
  const auth = opts.auth === undefined ? `Bearer ${TOKEN}` : opts.auth;
  if (auth !== null) headers.authorization = auth;
  return request(s, method, path, { headers, body: opts.body });
}

/** A path of the document with its parameters filled in. */
const filled = (path: string) =>
  path.replace('{app}', 'my-app').replace('{key}', 'tld').replace('{network}', 'my-net').replace('{id}', '1');

describe('netq serve: a route for every command', () => {
  // the document's content (a route for every command, generated from the schemas) is test/unit/openapi.test.ts
  it('serves the OpenAPI document at /openapi.json, behind the token', async () => {
    const s = await serve(env());
    expect((await call(s, 'GET', '/openapi.json', { auth: null })).status).toBe(401);
    const res = await call(s, 'GET', '/openapi.json');
    expect(res.status).toBe(200);
    const ops = operations(res.json as OpenApi);
    expect(ops.length).toBeGreaterThanOrEqual(15);
    expect(ops.every(({ path }) => path.startsWith('/v1/'))).toBe(true);
  });

  it('guards every documented route: 421 for a foreign Host, 401 without the token, 403 for a cross-site write', async () => {
    const s = await serve(env());
    await fakeLiveHost(s.queues);
    const doc = (await call(s, 'GET', '/openapi.json')).json as OpenApi;
    const ops = operations(doc);
    expect(ops.length).toBeGreaterThanOrEqual(15);
    for (const { method, path } of ops) {
      const url = filled(path);
      const what = `${method} ${url}`;
      const foreign = await call(s, method, url, { headers: { host: `evil.example:${s.base.port}` } });
      expect(foreign.status, what).toBe(421);
      const anonymous = await call(s, method, url, { auth: null });
      expect(anonymous.status, what).toBe(401);
      expect(anonymous.json.error, what).toMatch(/missing or wrong bearer token/);
      if (method !== 'GET') {
        const crossSite = await call(s, method, url, { headers: { origin: 'http://evil.example' } });
        expect(crossSite.status, what).toBe(403);
        expect(crossSite.json.error, what).toMatch(/^cross-site request refused: Origin "http:\/\/evil\.example"/);
      }
    }
    expect(await jobCount(s.queues)).toBe(0);
    // the same request from curl (no Origin) with the token is done: the refusals above were not for nothing
    const queued = await call(s, 'POST', '/v1/apps/my-app/rebuild?wait=false');
    expect(queued.status).toBe(202);
    expect(await jobCount(s.queues)).toBe(1);
  });

  it('refuses bad input to the new routes with a 4xx and one line naming the problem, and queues nothing', async () => {
    const s = await serve(env());
    await fakeLiveHost(s.queues);
    const cases: [string, string, unknown, number, RegExp][] = [
      ['POST', '/v1/networks/a%20b', undefined, 400, /^invalid network name "a b": network name must match/],
      ['POST', '/v1/networks/bridge', undefined, 400, /^cannot create network bridge: it is one of Docker's own/],
      ['POST', '/v1/networks/my-net?host=Not_A_Host', undefined, 400, /^query\.host: host id must be/],
      ['POST', '/v1/networks/my-net', { force: true }, 400, /^body: Unrecognized key: "force"$/],
      ['DELETE', '/v1/networks/a..b', undefined, 400, /^invalid network name "a\.\.b": network name must not/],
      ['DELETE', '/v1/networks/my-net?timeout=0', undefined, 400, /^query\.timeout: expected more than 0 seconds$/],
      ['GET', '/v1/networks/-x/exists', undefined, 400, /^invalid network name "-x"/],
      ['GET', '/v1/networks/my-net?wait=true', undefined, 400, /^query: Unrecognized key: "wait"$/],
      ['GET', '/v1/networks?managed=maybe', undefined, 400, /^query\.managed: expected true or false$/],
      ['GET', '/v1/hosts?all=1', undefined, 400, /^query: Unrecognized key: "all"$/],
      ['POST', '/v1/apps/UPPER/forget', undefined, 400, /^invalid app name "UPPER": app name must match/],
      ['POST', '/v1/apps/my-app/rename', undefined, 400, /^body must be a JSON object$/],
      ['POST', '/v1/apps/my-app/rename', {}, 400, /^body\.to: /],
      ['POST', '/v1/apps/my-app/rename', { to: 'New_App!' }, 400, /^body\.to: invalid app name "New_App!"/],
      ['POST', '/v1/apps/my-app/rename', { to: 'my-app' }, 400, /^the old and the new app name are the same/],
      ['PUT', '/v1/global/properties/tld', undefined, 400, /^body must be a JSON object$/],
      ['PUT', '/v1/global/properties/tld', { values: 'x.test' }, 400, /^body\.values: expected an array of strings$/],
      [
        'PUT',
        '/v1/global/properties/static-web-listener',
        { values: ['127.0.0.1:5000'] },
        400,
        /^Property cannot be specified globally$/,
      ],
      [
        'PUT',
        '/v1/global/properties/colour',
        { values: ['red'] },
        400,
        /^Invalid property specified, valid properties/,
      ],
      ['PUT', '/v1/global/properties/tld', { values: ['NOT A TLD'] }, 400, /^tld must be a DNS suffix/],
    ];
    for (const [method, url, body, status, message] of cases) {
      const res = await call(s, method, url, { body });
      expect(res.status, `${method} ${url} ${res.text}`).toBe(status);
      expect(Object.keys(res.json), `${method} ${url}`).toEqual(['error']);
      expect(res.json.error, `${method} ${url}`).toMatch(message);
      expect(res.json.error).not.toContain('\n');
    }
    expect(await jobCount(s.queues)).toBe(0);
  });
});

describe('netq serve: the commands of one host', () => {
  it('creates, finds, lists and destroys a network as the CLI does', async () => {
    const e = env();
    await startPool(configOf(e));
    const s = await serve(e);
    const net = `netq-t${runId}-http-net`;

    const created = await call(s, 'POST', `/v1/networks/${net}`);
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ name: net, driver: 'bridge', attachable: true });
    expect(created.json.labels).toMatchObject({ 'com.dokku.network-name': net });
    const again = await call(s, 'POST', `/v1/networks/${net}`);
    expect(again.status).toBe(400);
    expect(again.json.error).toMatch(new RegExp(`^Unable to create network: Error response from daemon: .*${net}`));

    expect((await call(s, 'GET', `/v1/networks/${net}/exists`)).json).toEqual({ network: net, exists: true });
    const info = await call(s, 'GET', `/v1/networks/${net}`);
    expect(info.status).toBe(200);
    // what `netq network:info <net> --format json` prints, as JSON
    const cli = await runCli(['network:info', net, '--format', 'json'], e);
    expect(cli.code).toBe(0);
    expect(info.json).toEqual(JSON.parse(cli.stdout));
    expect(info.json).toMatchObject({ Name: net, DokkuManaged: true, Driver: 'bridge' });

    const managed = await call(s, 'GET', '/v1/networks?managed=true');
    expect(managed.json.map((n: { Name: string }) => n.Name)).toContain(net);
    expect(managed.json.map((n: { Name: string }) => n.Name)).not.toContain('bridge');
    const all = await call(s, 'GET', '/v1/networks');
    const cliList = await runCli(['network:list', '--format', 'json'], e);
    expect(all.json).toEqual(JSON.parse(cliList.stdout));
    expect(all.json.map((n: { Name: string }) => n.Name)).toEqual(expect.arrayContaining(['bridge', net]));

    const destroyed = await call(s, 'DELETE', `/v1/networks/${net}`);
    expect(destroyed.status).toBe(200);
    expect(destroyed.json).toEqual({ network: net, id: created.json.id, removed: true });
    expect((await call(s, 'GET', `/v1/networks/${net}/exists`)).json).toEqual({ network: net, exists: false });
    expect(await call(s, 'GET', `/v1/networks/${net}`)).toMatchObject({
      status: 404,
      json: { error: 'Network does not exist' },
    });
    const gone = await call(s, 'DELETE', `/v1/networks/${net}`);
    expect(gone.status).toBe(400);
    expect(gone.json.error).toBe(`Unable to destroy network: Error response from daemon: network ${net} not found`);
  });

  it("renames and forgets an app's properties, as the delete and rename hooks do", async () => {
    const e = env();
    await startPool(configOf(e));
    const s = await serve(e);
    const [before, after] = [appName('before'), appName('after')];
    // stored without a worker, as `network:set --no-apply` does
    const set = await call(s, 'PUT', `/v1/apps/${before}/properties/tld`, {
      body: { values: ['moved.test'], apply: false },
    });
    expect(set.status).toBe(200);
    expect(set.json).toEqual({ scope: before, key: 'tld', value: 'moved.test', applied: 'none' });
    expect(set.headers['netq-job-id']).toBeUndefined();

    const renamed = await call(s, 'POST', `/v1/apps/${before}/rename`, { body: { to: after } });
    expect(renamed.status).toBe(200);
    expect(renamed.json).toEqual({ from: before, to: after, properties: 1 });
    expect((await call(s, 'GET', `/v1/apps/${after}/report`)).json).toMatchObject({ 'network-tld': 'moved.test' });
    expect((await call(s, 'GET', `/v1/apps/${before}/report`)).json).toMatchObject({ 'network-tld': '' });

    expect((await call(s, 'POST', `/v1/apps/${after}/forget`)).json).toEqual({ app: after, forgotten: true });
    expect((await call(s, 'GET', `/v1/apps/${after}/report`)).json).toMatchObject({ 'network-tld': '' });
    const twice = await call(s, 'POST', `/v1/apps/${after}/forget`);
    expect(twice.json).toEqual({ app: after, forgotten: false });
    // what the CLI prints for the same
    const cli = await runCli(['network:forget', after, '--format', 'json'], e);
    expect(JSON.parse(cli.stdout)).toEqual(twice.json);
  });

  it("debounces a rebuild that does not wait, as the CLI's --no-wait: a burst's next request waits the window", async () => {
    const e = env({ NETQ_DEBOUNCE_MS: '30000' });
    await startPool(configOf(e));
    const s = await serve(e);
    const app = appName('burst');
    await createAppContainer({ app });
    const stateOf = async (r: Reply) => (await s.queues.queue(r.json.queue).getJob(r.json.jobId))?.getState();

    // the first request of a quiet app runs at once
    const first = await call(s, 'POST', `/v1/apps/${app}/rebuild`, { body: { wait: false } });
    expect(first.status).toBe(202);
    await until('the first rebuild done', async () => ((await stateOf(first)) === 'completed' ? true : undefined));
    // the next one within NETQ_DEBOUNCE_MS is a new job that waits for the burst to end
    const next = await call(s, 'POST', `/v1/apps/${app}/rebuild?wait=false`);
    expect(next.status).toBe(202);
    expect(next.json.jobId).not.toBe(first.json.jobId);
    expect(await stateOf(next)).toBe('delayed');
    // the CLI's --no-wait in the same burst joins that job
    const cli = await runCli(['network:rebuild', app, '--no-wait', '--format', 'json'], e);
    expect(cli.code).toBe(0);
    expect(JSON.parse(cli.stdout)).toEqual({ jobIds: [next.json.jobId] });
    expect(await stateOf(next)).toBe('delayed');
  });
});

describe('netq serve: the commands across two hosts', () => {
  const h2 = new NamespaceEngine(`netq-hc-${runId}`);
  beforeAll(() => h2.start(), 90_000);
  afterEach(async () => {
    const filters = { label: [scopeLabel] };
    const left = await h2.docker.listContainers({ all: true, filters });
    await Promise.all(left.map((c) => h2.docker.getContainer(c.Id).remove({ force: true })));
  });
  afterAll(() => h2.destroy());

  /** A worker for the machine's engine (host local) and one for the second engine (host h2). */
  async function twoHosts(e: Record<string, string>): Promise<void> {
    const config = configOf(e);
    await startPool(config);
    await startPool({ ...config, hostId: 'h2' }, { docker: new DockerodeEngine(h2.dockerHost, scopeLabel) });
  }

  it('rebuilds an app that runs on two hosts on both, as the CLI does, and names one host when asked', async () => {
    const e = env();
    await twoHosts(e);
    const s = await serve(e);
    const app = appName('both');
    await createAppContainer({ app });
    await createAppContainer({ app, engine: h2.docker });

    const rebuilt = await call(s, 'POST', `/v1/apps/${app}/rebuild`);
    expect(rebuilt.status).toBe(200);
    expect(rebuilt.json).toMatchObject({ app, containers: 2, configured: 2, failed: 0 });
    expect(rebuilt.json.results.map((r: { host: string }) => r.host)).toEqual(['h2', 'local']);
    expect(rebuilt.headers['netq-queue']).toBe('rebuild.h2, rebuild.local');
    expect(String(rebuilt.headers['netq-job-id']).split(', ')).toHaveLength(2);
    // the CLI's answer for the same app has the same shape and hosts
    const cli = await runCli(['network:rebuild', app, '--format', 'json'], e);
    expect(cli.code).toBe(0);
    const cliJson = JSON.parse(cli.stdout);
    expect(Object.keys(cliJson).sort()).toEqual(Object.keys(rebuilt.json).sort());
    expect(cliJson.results.map((r: { host: string }) => r.host)).toEqual(['h2', 'local']);

    // not waiting: one job per host
    const queued = await call(s, 'POST', `/v1/apps/${app}/rebuild`, { body: { wait: false } });
    expect(queued.status).toBe(202);
    expect(queued.json).toEqual({
      jobs: [
        { jobId: expect.any(String), queue: 'rebuild.h2' },
        { jobId: expect.any(String), queue: 'rebuild.local' },
      ],
    });
    // one host named: that host's rebuild only
    const one = await call(s, 'POST', `/v1/apps/${app}/rebuild?host=h2`);
    expect(one.status).toBe(200);
    expect(one.json).toMatchObject({ app, host: 'h2', containers: 1, configured: 1 });
    expect(one.headers['netq-queue']).toBe('rebuild.h2');
  });

  it('sets a property of an app on two hosts once and applies it on both, over HTTP and the CLI', async () => {
    const e = env();
    await twoHosts(e);
    const s = await serve(e);
    const app = appName('both');
    const here = await createAppContainer({ app });
    const there = await createAppContainer({ app, engine: h2.docker });
    const net = `netq-t${runId}-both`;
    await createTestNetwork(net);
    await h2.docker.createNetwork({ Name: net, Driver: 'bridge', Attachable: true, Labels: { [RUN_LABEL]: runId } });
    // both hosts have seen the app
    expect((await call(s, 'POST', `/v1/apps/${app}/rebuild`)).json.results).toHaveLength(2);
    /** The aliases of the app's container on the network, on each engine. */
    const aliases = async () => {
      const [l, r] = await Promise.all([here.inspect(), there.inspect()]);
      return { local: l.NetworkSettings.Networks[net]?.Aliases, h2: r.NetworkSettings.Networks[net]?.Aliases };
    };

    // HTTP: no host named: stored once, a rebuild on each host, one result per host
    const set = await call(s, 'PUT', `/v1/apps/${app}/properties/attach-post-deploy`, { body: { values: [net] } });
    expect(set.status).toBe(200);
    expect(set.json).toMatchObject({ scope: app, key: 'attach-post-deploy', value: net, applied: 'rebuild' });
    expect(set.json.warnings).toEqual([]);
    expect(set.json.rebuilds).toEqual([
      { host: 'h2', jobId: expect.any(String), queue: 'rebuild.h2' },
      { host: 'local', jobId: expect.any(String), queue: 'rebuild.local' },
    ]);
    expect(set.json.result).toMatchObject({ app, containers: 2, configured: 2, failed: 0 });
    expect(set.json.result.results.map((r: { host: string }) => r.host)).toEqual(['h2', 'local']);
    for (const { jobId, queue } of set.json.rebuilds) {
      expect((await call(s, 'GET', `/v1/jobs/${jobId}?queue=${queue}`)).json).toMatchObject({ state: 'completed' });
    }
    expect(await aliases()).toEqual({
      local: expect.arrayContaining([`${app}.web`]),
      h2: expect.arrayContaining([`${app}.web`]),
    });

    // the CLI: the same, in its words and its JSON
    const cli = await runCli(['network:set', app, 'tld', 'both.test', '--format', 'json'], e);
    expect(cli.stderr).toBe('');
    expect(cli.code).toBe(0);
    const out = JSON.parse(cli.stdout);
    expect(out).toMatchObject({ scope: app, key: 'tld', value: 'both.test', applied: 'rebuild' });
    expect(out.rebuilds.map((j: { host: string }) => j.host)).toEqual(['h2', 'local']);
    expect(out.result.results.map((r: { host: string; configured: number }) => [r.host, r.configured])).toEqual([
      ['h2', 1],
      ['local', 1],
    ]);
    expect(await aliases()).toEqual({
      local: expect.arrayContaining([`${app}.web.both.test`]),
      h2: expect.arrayContaining([`${app}.web.both.test`]),
    });
    const text = await runCli(['network:set', app, 'tld', 'text.test'], e);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(
      new RegExp(`-----> Applying tld to ${app} on h2, local: rebuild \\S+\\.h2\\.\\S+, \\S+\\.local\\.\\S+ queued`),
    );
    // stored once, for the app
    expect((await call(s, 'GET', `/v1/apps/${app}/report`)).json).toMatchObject({ 'network-tld': 'text.test' });

    // a host named narrows it to that host
    const named = await call(s, 'PUT', `/v1/apps/${app}/properties/tld?host=h2`, { body: { values: ['h2.test'] } });
    expect(named.status).toBe(200);
    expect(named.json.rebuilds).toEqual([{ host: 'h2', jobId: expect.any(String), queue: 'rebuild.h2' }]);
    expect(named.json.result).toMatchObject({ app, host: 'h2', configured: 1 });
    const after = await aliases();
    expect(after.h2).toEqual(expect.arrayContaining([`${app}.web.h2.test`]));
    expect(after.local).not.toEqual(expect.arrayContaining([`${app}.web.h2.test`]));
    const cliNamed = await runCli(['network:set', app, 'tld', 'local.test', '--host', 'local', '--format', 'json'], e);
    expect(cliNamed.code).toBe(0);
    expect(JSON.parse(cliNamed.stdout).result).toMatchObject({ app, host: 'local', configured: 1 });
  });

  it('sets a global property across the fleet, checking its networks on every live host', async () => {
    const e = env();
    await twoHosts(e);
    const s = await serve(e);
    const [here, there] = [appName('fleet'), appName('fleet')];
    await createAppContainer({ app: here });
    await createAppContainer({ app: there, engine: h2.docker });

    const set = await call(s, 'PUT', '/v1/global/properties/tld', { body: { values: ['fleet.test'] } });
    expect(set.status).toBe(200);
    expect(set.json).toMatchObject({ scope: '--global', key: 'tld', value: 'fleet.test', applied: 'rebuildall' });
    expect(set.json.result.results.map((r: { app: string; host: string }) => `${r.app}@${r.host}`).sort()).toEqual(
      [`${here}@local`, `${there}@h2`].sort(),
    );
    expect((await call(s, 'GET', '/v1/global/report')).json).toMatchObject({ 'network-global-tld': 'fleet.test' });

    // a network only the machine's engine has: stored with a warning naming h2, where applying it fails
    const net = `netq-t${runId}-only-local`;
    await createTestNetwork(net);
    const partly = await call(s, 'PUT', '/v1/global/properties/attach-post-deploy', { body: { values: [net] } });
    expect(partly.status).toBe(200);
    expect(partly.json.warnings).toEqual([
      expect.stringMatching(new RegExp(`^Network ${net} does not exist on host h2 yet`)),
    ]);
    const byHost = Object.fromEntries(
      partly.json.result.results.map((r: { host: string; failed: number }) => [r.host, r.failed]),
    );
    expect(byHost).toEqual({ local: 0, h2: 1 });
  });

  it('lists both hosts, and asks which host a network command is for', async () => {
    const e = env();
    await twoHosts(e);
    const s = await serve(e);
    const hosts = await call(s, 'GET', '/v1/hosts');
    expect(hosts.status).toBe(200);
    expect(hosts.json).toEqual([
      expect.objectContaining({ host: 'h2', live: true, workers: 1 }),
      expect.objectContaining({ host: 'local', live: true, workers: 1 }),
    ]);
    const cli = await runCli(['hosts', '--format', 'json'], e);
    const keys = (list: Record<string, unknown>[]) => list.map(({ lastHeartbeat: _, ...rest }) => rest);
    expect(keys(hosts.json)).toEqual(keys(JSON.parse(cli.stdout)));

    const ambiguous = await call(s, 'GET', '/v1/networks');
    expect(ambiguous.status).toBe(400);
    expect(ambiguous.json.error).toBe('several hosts are live (h2, local): name one with "host" (query or body)');
    const onH2 = await call(s, 'GET', '/v1/networks?host=h2');
    expect(onH2.status).toBe(200);
    expect(onH2.json.map((n: { Name: string }) => n.Name)).toContain('bridge');
    const net = `netq-t${runId}-on-h2`;
    const made = await call(s, 'POST', `/v1/networks/${net}`, { body: { host: 'h2' } });
    expect(made.status).toBe(201);
    expect((await h2.docker.getNetwork(net).inspect()).Name).toBe(net);
    expect((await call(s, 'GET', `/v1/networks/${net}/exists?host=local`)).json.exists).toBe(false);
    expect((await call(s, 'DELETE', `/v1/networks/${net}?host=h2`)).json).toMatchObject({ removed: true });
  });
});
