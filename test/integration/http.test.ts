import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { credentialOf, listenProblem } from '../../producers/http/auth.js';
import type { WorkerHealth } from '../../src/types.js';
import {
  appName,
  cleanupDocker,
  cleanupPrefix,
  closePools,
  configOf,
  createAppContainer,
  openPools,
  ROOT,
  runCli,
  startPool,
  startPoolsWithDeadRebuilds,
  testEnv,
  until,
} from '../helpers.js';
import { ApiServers, fakeLiveHost, jobCount, type Reply, request, type Served } from '../support/apiServer.js';

const TOKEN = 'tok-0123456789-abcdefghij';

const envs: Record<string, string>[] = [];
const servers = new ApiServers();
const serve = (e: Record<string, string>) => servers.serve(e);
const children: ChildProcess[] = [];

function env(extra: Record<string, string> = {}) {
  const e = testEnv({ NETQ_API_TOKEN: TOKEN, ...extra });
  envs.push(e);
  return e;
}

afterEach(async () => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
  await servers.closeAll();
  await closePools();
  expect(openPools()).toBe(0);
  await cleanupDocker();
  for (const e of envs.splice(0)) await cleanupPrefix(configOf(e));
});
afterAll(cleanupDocker);

/** A request with the token unless `auth` says otherwise (null: none). */
function call(
  s: Pick<Served, 'port'>,
  method: string,
  url: string,
  opts: { auth?: string | null; body?: unknown; raw?: string } = {},
): Promise<Reply> {
  const auth = opts.auth === undefined ? `Bearer ${TOKEN}` : opts.auth;
  return request(s, method, url, {
    headers: auth === null ? {} : { authorization: auth },
    body: opts.body,
    ...(opts.raw === undefined ? {} : { raw: opts.raw }),
    timeoutMs: 60_000,
  });
}

function health(workerId: string, state: WorkerHealth['watcher']['state'], extra: Partial<WorkerHealth> = {}) {
  const h: WorkerHealth = {
    workerId,
    host: 'local',
    pid: 4242,
    at: Date.now(),
    watcher: {
      state,
      lastEventAt: null,
      reconnects: 3,
      lastError: state === 'connected' ? null : 'connect ENOENT /var/run/docker.sock',
    },
    ...extra,
  };
  return JSON.stringify(h);
}

/** The Prometheus text format, line by line: `name{labels} value`, comments, blank lines. */
const SAMPLE = /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})? (-?[0-9.eE+-]+|NaN|\+Inf|-Inf)$/;
function checkPrometheusText(text: string): void {
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    expect(line).toMatch(SAMPLE);
  }
}

describe('netq serve: auth', () => {
  it('answers 401 without the token or with a wrong one, and queues nothing', async () => {
    const s = await serve(env());
    await fakeLiveHost(s.queues, 'local', 0);
    const requests: [string, string, unknown][] = [
      ['POST', '/v1/apps/my-app/rebuild', undefined],
      ['POST', '/v1/apps/my-app/rebuild?wait=false', { wait: false }],
      ['POST', '/v1/rebuildall', { wait: false }],
      ['PUT', '/v1/apps/my-app/properties/tld', { values: ['x.test'], apply: true, wait: false }],
      ['GET', '/v1/apps/my-app/report', undefined],
      ['GET', '/v1/report', undefined],
      ['GET', '/v1/jobs/1?queue=summary', undefined],
      ['GET', '/metrics', undefined],
      ['GET', '/ui', undefined],
      ['GET', '/ui/api/queues', undefined],
    ];
    const wrong = [
      null,
      'Bearer',
      `Bearer ${TOKEN}x`,
      `Bearer ${TOKEN.slice(0, -1)}`,
      'Bearer tok-0123456789-abcdefghiJ',
      TOKEN,
      `Token ${TOKEN}`,
      `Basic ${Buffer.from(`u:${TOKEN}`).toString('base64')}`, // Basic only on the dashboard
    ];
    for (const [method, url, body] of requests) {
      for (const auth of wrong) {
        if (auth?.startsWith('Basic') && url.startsWith('/ui')) continue;
        const res = await call(s, method, url, { auth, body });
        expect(res.status, `${method} ${url} with ${auth}`).toBe(401);
        expect(res.json.error).toMatch(/missing or wrong bearer token/);
        expect(res.headers['www-authenticate']).toMatch(/realm="netq"/);
      }
    }
    expect(await jobCount(s.queues)).toBe(0);

    // the same requests with the token do queue: the count above was not 0 by accident
    expect((await call(s, 'GET', '/healthz', { auth: null })).status).toBe(200);
    const queued = await call(s, 'POST', '/v1/apps/my-app/rebuild?wait=false');
    expect(queued.status).toBe(202);
    expect(queued.json).toEqual({ jobId: expect.any(String), queue: 'rebuild.local' });
    expect(await jobCount(s.queues)).toBe(1);
    // the dashboard also takes the token as a browser's Basic password
    const ui = await call(s, 'GET', '/ui', { auth: `Basic ${Buffer.from(`admin:${TOKEN}`).toString('base64')}` });
    expect(ui.status).toBe(200);
    expect(ui.text).toMatch(/<html/i);
    // no worker serves the fake host: a short wait times out, the job stays queued
    const late = await call(s, 'POST', '/v1/apps/other-app/rebuild?timeout=0.5');
    expect(late.status).toBe(504);
    expect(late.json.error).toMatch(/timed out after .* waiting for rebuild of other-app/);
    expect(await jobCount(s.queues)).toBe(2);
  });

  it('reads the credential of an Authorization header', () => {
    expect(credentialOf(`Bearer ${TOKEN}`, false)).toBe(TOKEN);
    expect(credentialOf(`bearer  ${TOKEN}`, false)).toBe(TOKEN);
    expect(credentialOf(`Bearer ${TOKEN} extra`, false)).toBeUndefined();
    expect(credentialOf(`Basic ${Buffer.from(`u:${TOKEN}`).toString('base64')}`, false)).toBeUndefined();
    expect(credentialOf(`Basic ${Buffer.from(`u:${TOKEN}`).toString('base64')}`, true)).toBe(TOKEN);
    expect(credentialOf(undefined, true)).toBeUndefined();
  });

  it('without a token serves only on a loopback address, and then without auth', async () => {
    const local = { apiToken: undefined };
    expect(listenProblem({ ...local, apiListen: { host: '127.0.0.1', port: 8080 } })).toBeUndefined();
    expect(listenProblem({ ...local, apiListen: { host: '127.9.8.7', port: 1 } })).toBeUndefined();
    expect(listenProblem({ ...local, apiListen: { host: '::1', port: 8080 } })).toBeUndefined();
    for (const host of ['0.0.0.0', '::', '10.1.2.3', 'localhost', 'example.org']) {
      expect(listenProblem({ ...local, apiListen: { host, port: 8080 } }), host).toMatch(/NETQ_API_TOKEN/);
    }
    expect(listenProblem({ apiToken: TOKEN, apiListen: { host: '0.0.0.0', port: 8080 } })).toBeUndefined();

    const listens = ['0.0.0.0:0', '[::]:0'];
    const [bad, ...refused] = await Promise.all([
      runCli(['serve'], { ...testEnv(), NETQ_API_TOKEN: 'short' }),
      ...listens.map((listen) => runCli(['serve'], { ...testEnv(), NETQ_API_LISTEN: listen })),
    ]);
    for (const [i, res] of refused.entries()) {
      expect(res.code, listens[i]).toBe(1);
      expect(res.stdout).toBe('');
      expect(res.stderr.trim().split('\n')).toHaveLength(1);
      expect(res.stderr).toMatch(/^netq: refusing to serve .* without a token: set NETQ_API_TOKEN/);
    }
    expect(bad?.code).toBe(1);
    expect(bad?.stderr).toMatch(/^netq: NETQ_API_TOKEN: expected at least 16 characters\n$/);
    expect(bad?.stderr).not.toContain('short');

    const e = env({ NETQ_API_TOKEN: '' });
    const s = await serve(e);
    expect(s.config.apiToken).toBeUndefined();
    const report = await call(s, 'GET', '/v1/global/report', { auth: null });
    expect(report.status).toBe(200);
    expect(report.json).toMatchObject({
      'network-global-bind-all-interfaces': '',
      'computed-bind-all-interfaces': 'false',
    });
    expect((await call(s, 'GET', '/metrics', { auth: null })).status).toBe(200);
  });

  it('`netq serve` listens, never logs the token, and stops on SIGTERM', async () => {
    const e = env({ NETQ_API_LISTEN: '127.0.0.1:0', LOG_LEVEL: 'debug' });
    const child = spawn(process.execPath, [path.join(ROOT, 'bin/netq.js'), 'serve'], {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', ...e },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d) => {
      stdout += d;
    });
    child.stderr?.on('data', (d) => {
      stderr += d;
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const url = await until('the listening line', async () => stdout.match(/"address":"(http:[^"]+)"/)?.[1]);
    const s = { port: Number(new URL(url).port) };
    expect((await call(s, 'GET', '/healthz', { auth: null })).json).toMatchObject({ ok: true, redis: 'ok' });
    expect((await call(s, 'GET', '/v1/global/report')).status).toBe(200);
    expect((await call(s, 'GET', '/v1/global/report', { auth: `Bearer ${TOKEN}-wrong` })).status).toBe(401);
    expect((await call(s, 'GET', '/nope')).json).toEqual({ error: 'no route GET /nope' });
    // the dashboard and a file of its own from @bull-board/ui's folder: the bundled CLI still finds them
    const ui = await call(s, 'GET', '/ui');
    expect(ui.status).toBe(200);
    const css = ui.text.match(/href="(static\/css\/[^"]+\.css)"/)?.[1];
    expect(css).toBeDefined();
    expect((await call(s, 'GET', `/ui/${css}`)).status).toBe(200);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(stderr).toBe('');
    expect(stdout).toContain('netq serve stopped');
    expect(stdout).toContain('request completed');
    expect(stdout).not.toContain(TOKEN);
    expect(stdout).not.toMatch(/authorization/i);
  });
});

describe('netq serve: the commands', () => {
  it('rebuilds, rebuilds all, sets and applies a property, reports, and shows jobs, for a real app', async () => {
    const e = env();
    await startPool(configOf(e));
    const s = await serve(e);
    const app = appName('http');
    await createAppContainer({ app, proc: 'web', index: 1 });

    const rebuilt = await call(s, 'POST', `/v1/apps/${app}/rebuild`);
    expect(rebuilt.status).toBe(200);
    expect(rebuilt.json).toMatchObject({ app, host: 'local', containers: 1, configured: 1, failed: 0, failures: [] });
    const listener = rebuilt.json.listeners.web[0] as string;
    expect(listener).toMatch(/^\d+\.\d+\.\d+\.\d+:5000$/);
    expect(rebuilt.headers['netq-queue']).toBe('rebuild.local');

    const job = await call(s, 'GET', `/v1/jobs/${rebuilt.headers['netq-job-id']}?queue=rebuild.local`);
    expect(job.status).toBe(200);
    expect(job.json).toMatchObject({ state: 'completed', failedReason: null, attemptsMade: 1, queue: 'rebuild.local' });
    expect(job.json.returnvalue).toMatchObject({ app, listeners: { web: [listener] } });

    const queued = await call(s, 'POST', `/v1/apps/${app}/rebuild`, { body: { wait: false } });
    expect(queued.status).toBe(202);
    const done = await until('the queued rebuild', async () => {
      const r = await call(s, 'GET', `/v1/jobs/${queued.json.jobId}?queue=${queued.json.queue}`);
      expect(r.status).toBe(200);
      return r.json.state === 'completed' ? r.json : undefined;
    });
    expect(done.returnvalue).toMatchObject({ app, configured: 1 });
    expect((await call(s, 'GET', '/v1/jobs/no-such-job?queue=rebuild.local')).status).toBe(404);
    expect((await call(s, 'GET', '/v1/jobs/1?queue=rebuild.elsewhere')).json).toEqual({
      error: 'no job 1 in queue rebuild.elsewhere',
    });

    const all = await call(s, 'POST', '/v1/rebuildall', { body: { timeout: 60 } });
    expect(all.status).toBe(200);
    expect(all.json).toMatchObject({ apps: 1, containers: 1, configured: 1, failed: 0, hostFailures: [] });
    expect(all.json.results).toEqual([expect.objectContaining({ app, listeners: { web: [listener] } })]);
    const summary = await call(s, 'GET', `/v1/jobs/${all.headers['netq-job-id']}?queue=summary`);
    expect(summary.json).toMatchObject({ name: 'summary', state: 'completed' });
    // without ?queue= the job is looked for in every known queue
    const found = await call(s, 'GET', `/v1/jobs/${all.headers['netq-job-id']}`);
    expect(found.json).toMatchObject({ queue: 'summary', name: 'summary', state: 'completed' });
    expect(await call(s, 'GET', `/v1/jobs/${queued.json.jobId}`)).toMatchObject({
      status: 200,
      json: { queue: 'rebuild.local', state: 'completed' },
    });
    expect((await call(s, 'GET', '/v1/jobs/no-such-job')).json).toEqual({ error: 'no job no-such-job in any queue' });

    const set = await call(s, 'PUT', `/v1/apps/${app}/properties/tld`, { body: { values: ['svc.test'] } });
    expect(set.status).toBe(200);
    expect(set.json).toMatchObject({ scope: app, key: 'tld', value: 'svc.test', applied: 'rebuild' });
    expect(set.json.result).toMatchObject({ app, containers: 1, configured: 1, failed: 0 });
    let report = await call(s, 'GET', `/v1/apps/${app}/report`);
    expect(report.status).toBe(200);
    expect(report.json).toMatchObject({
      'network-tld': 'svc.test',
      'network-computed-tld': 'svc.test',
      'network-web-listeners': listener,
      'network-drift': '',
      tld: 'svc.test',
    });

    const stored = await call(s, 'PUT', `/v1/apps/${app}/properties/bind-all-interfaces?wait=true`, {
      body: { values: ['false'], apply: false },
    });
    expect(stored.json).toMatchObject({ key: 'bind-all-interfaces', value: 'false', applied: 'none' });
    expect(stored.json.result).toBeUndefined();
    const cleared = await call(s, 'PUT', `/v1/apps/${app}/properties/tld`, { body: { values: [] } });
    expect(cleared.json).toMatchObject({ key: 'tld', value: '', applied: 'rebuild' });
    report = await call(s, 'GET', `/v1/apps/${app}/report`);
    expect(report.json).toMatchObject({
      'network-tld': '',
      'network-bind-all-interfaces': 'false',
      'network-drift': '',
    });
    const every = await call(s, 'GET', '/v1/report');
    expect(Object.keys(every.json)).toEqual([app]);

    const missing = await call(s, 'PUT', `/v1/apps/${app}/properties/attach-post-deploy`, {
      body: { values: [`${app}-missing-net`] },
    });
    // as Dokku, stored with a warning; applied, the missing network is a counted failure
    expect(missing.status).toBe(200);
    expect(missing.json.warnings).toEqual([expect.stringMatching(/does not exist on host local yet/)]);
    expect(missing.json.result).toMatchObject({ failed: 1 });
  });

  it('refuses bad input with 400 and one line naming the problem, and queues nothing', async () => {
    const s = await serve(env());
    await fakeLiveHost(s.queues, 'local', 0);
    const cases: [string, string, { body?: unknown; raw?: string }, RegExp][] = [
      ['POST', '/v1/apps/..%2Fetc/rebuild', {}, /^invalid app name "\.\.\/etc": app name must match/],
      ['POST', '/v1/apps/UPPER/rebuild', {}, /^invalid app name "UPPER"/],
      ['POST', '/v1/apps/_ab/rebuild', {}, /^invalid app name "_ab"/],
      ['PUT', '/v1/apps/..%2Fetc/properties/tld', { body: { values: ['x.test'] } }, /^invalid app name/],
      ['GET', '/v1/apps/UPPER/report', {}, /^invalid app name "UPPER"/],
      [
        'PUT',
        '/v1/apps/my-app/properties/colour',
        { body: { values: ['red'] } },
        /^Invalid property specified, valid properties include: /,
      ],
      ['PUT', '/v1/apps/my-app/properties/tld', { raw: '[1]' }, /^body must be a JSON object$/],
      ['PUT', '/v1/apps/my-app/properties/tld', { raw: '"x.test"' }, /^body must be a JSON object$/],
      ['PUT', '/v1/apps/my-app/properties/tld', { raw: 'null' }, /^body must be a JSON object$/],
      ['PUT', '/v1/apps/my-app/properties/tld', {}, /^body must be a JSON object/],
      ['PUT', '/v1/apps/my-app/properties/tld', { raw: '{"values": [' }, /JSON/],
      ['PUT', '/v1/apps/my-app/properties/tld', { body: { values: 'x.test' } }, /^body\.values: expected an array/],
      ['PUT', '/v1/apps/my-app/properties/tld', { body: {} }, /^body\.values: expected an array/],
      ['PUT', '/v1/apps/my-app/properties/tld', { body: { values: [1] } }, /^body\.values\.0: expected strings/],
      ['PUT', '/v1/apps/my-app/properties/tld', { body: { values: ['x'], more: 1 } }, /^body: Unrecognized key/],
      ['PUT', '/v1/apps/my-app/properties/tld', { body: { values: ['x'], apply: 'yes' } }, /^body\.apply/],
      ['PUT', '/v1/apps/my-app/properties/tld', { body: { values: ['NOT A TLD'] } }, /^tld must be a DNS suffix/],
      ['PUT', '/v1/apps/my-app/properties/bind-all-interfaces', { body: { values: ['yes'] } }, /must be true or false/],
      ['PUT', '/v1/apps/my-app/properties/initial-network', { body: { values: ['none'] } }, /initial-network none/],
      [
        'PUT',
        '/v1/apps/my-app/properties/attach-post-create',
        { body: { values: ['host'] } },
        /^Invalid network name specified for attach: host$/,
      ],
      ['POST', '/v1/apps/my-app/rebuild', { raw: '[]' }, /^body must be a JSON object$/],
      ['POST', '/v1/apps/my-app/rebuild?wait=maybe', {}, /^query\.wait: expected true or false$/],
      ['POST', '/v1/apps/my-app/rebuild?timeout=0', {}, /^query\.timeout: expected more than 0 seconds$/],
      ['POST', '/v1/apps/my-app/rebuild?timeout=soon', {}, /^query\.timeout: expected a number of seconds$/],
      ['POST', '/v1/apps/my-app/rebuild?host=Not_A_Host', {}, /^query\.host: host id must be/],
      ['POST', '/v1/apps/my-app/rebuild?colour=red', {}, /^query: Unrecognized key/],
      ['POST', '/v1/apps/my-app/rebuild', { body: { wait: 'no' } }, /^body\.wait: expected true or false$/],
      ['POST', '/v1/rebuildall', { body: { timeout: 100_000 } }, /^body\.timeout: expected at most 86400 seconds$/],
      ['POST', '/v1/rebuildall', { body: { host: 'local' } }, /^body: Unrecognized key/],
      ['GET', '/v1/jobs/1?queue=', {}, /^query\.queue: expected rebuild\.<host>/],
      ['GET', '/v1/jobs/1?queue=other', {}, /^query\.queue: expected rebuild\.<host>/],
      ['GET', '/v1/jobs/a%20b?queue=summary', {}, /^job id: expected 1-200 letters/],
    ];
    for (const [method, url, opts, message] of cases) {
      const res = await call(s, method, url, opts);
      expect(res.status, `${method} ${url} ${res.text}`).toBe(400);
      expect(res.json.error, `${method} ${url}`).toMatch(message);
      expect(res.json.error).not.toContain('\n');
      expect(Object.keys(res.json)).toEqual(['error']);
    }
    expect(await jobCount(s.queues)).toBe(0);

    const unknown = await call(s, 'GET', '/v2/anything');
    expect(unknown.status).toBe(404);
    expect(unknown.json).toEqual({ error: 'no route GET /v2/anything' });
    expect((await call(s, 'DELETE', '/v1/rebuildall')).status).toBe(404);
  });
});

describe('netq serve: /metrics and /healthz', () => {
  it('exposes Prometheus text with job counts, completions, durations, failed containers and workers', async () => {
    const e = env();
    await startPool(configOf(e));
    const s = await serve(e);
    const app = appName('metrics');
    await createAppContainer({ app, proc: 'web', index: 1 });
    await createAppContainer({ app, proc: 'worker', index: 1, start: false });
    const rebuilt = await call(s, 'POST', `/v1/apps/${app}/rebuild`);
    expect(rebuilt.json).toMatchObject({ containers: 2, failed: 1 });

    const text = await until('the completion in /metrics', async () => {
      const res = await call(s, 'GET', '/metrics');
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
      return res.text.includes('netq_jobs_completed_total{queue="rebuild.local"} 1') ? res.text : undefined;
    });
    checkPrometheusText(text);
    for (const name of [
      'netq_queue_jobs',
      'netq_jobs_completed_total',
      'netq_jobs_failed_total',
      'netq_job_duration_seconds',
      'netq_containers_failed_total',
      'netq_watcher_reconnects',
      'netq_watcher_connected',
      'netq_workers_live',
      'netq_redis_up',
    ]) {
      expect(text).toMatch(new RegExp(`^# TYPE ${name} (gauge|counter|histogram)$`, 'm'));
    }
    expect(text).toContain('netq_queue_jobs{queue="rebuild.local",state="completed"} 1');
    expect(text).toContain('netq_queue_jobs{queue="summary",state="waiting"} 0');
    expect(text).toContain('netq_jobs_failed_total{queue="rebuild.local"} 0');
    expect(text).toContain('netq_job_duration_seconds_count{queue="rebuild.local"} 1');
    expect(text).toMatch(/^netq_job_duration_seconds_bucket\{le="\+Inf",queue="rebuild\.local"\} 1$/m);
    expect(text).toContain('netq_containers_failed_total{host="local"} 1');
    expect(text).toContain('netq_workers_live{host="local"} 1');
    expect(text).toMatch(/^netq_watcher_reconnects\{worker="local-[^"]+",host="local"\} 0$/m);
    expect(text).toContain('netq_redis_up 1');
  });

  it('counts the containers of rebuildall jobs that failed for good', async () => {
    const e = env({ NETQ_ATTEMPTS: '2', NETQ_BACKOFF_MS: '20' });
    const config = configOf(e);
    await startPoolsWithDeadRebuilds(config);
    const s = await serve(e);
    const app = appName('metrics-dead');
    await createAppContainer({ app, proc: 'web', index: 1 });
    await createAppContainer({ app, proc: 'web', index: 2 });
    const all = await call(s, 'POST', '/v1/rebuildall', { body: { timeout: 60 } });
    expect(all.json).toMatchObject({ containers: 2, failed: 2 });
    const text = await until('the failure in /metrics', async () => {
      const res = await call(s, 'GET', '/metrics');
      return res.text.includes('netq_jobs_failed_total{queue="rebuild.local"} 1') ? res.text : undefined;
    });
    expect(text).toContain('netq_containers_failed_total{host="local"} 2');
    expect(text).toContain('netq_job_duration_seconds_count{queue="rebuild.local"} 1');
  });

  it('is healthy when every live worker watches its engine; names the watcher that does not, and a host that lost its workers', async () => {
    const s = await serve(env());
    const key = s.queues.keys.workerHealth;
    await s.queues.redis.hset(key, 'w-ok', health('w-ok', 'connected'));
    // a worker gone for a minute does not count, whatever it last said
    await s.queues.redis.hset(key, 'w-gone', health('w-gone', 'disconnected', { at: Date.now() - 60_000 }));
    await s.queues.redis.hset(key, 'w-junk', '{"not":"health"}');
    let res = await call(s, 'GET', '/healthz', { auth: null });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ ok: true, redis: 'ok', problems: [] });
    expect(res.json.workers).toEqual([expect.objectContaining({ workerId: 'w-ok', ok: true })]);

    await s.queues.redis.hset(key, 'w-down', health('w-down', 'disconnected', { host: 'other' }));
    res = await call(s, 'GET', '/healthz', { auth: null });
    expect(res.status).toBe(503);
    expect(res.json.ok).toBe(false);
    expect(res.json.redis).toBe('ok');
    expect(res.json.workers.map((w: { workerId: string; ok: boolean }) => [w.workerId, w.ok])).toEqual([
      ['w-ok', true],
      ['w-down', false],
    ]);
    expect(res.json.problems).toEqual([
      'worker w-down on host other: Docker event watcher is disconnected (connect ENOENT /var/run/docker.sock)',
    ]);
    const metrics = await call(s, 'GET', '/metrics');
    expect(metrics.text).toContain('netq_watcher_reconnects{worker="w-down",host="other"} 3');
    expect(metrics.text).toContain('netq_watcher_connected{worker="w-down",host="other"} 0');
    expect(metrics.text).toContain('netq_watcher_connected{worker="w-ok",host="local"} 1');
    expect(metrics.text).not.toContain('w-gone');

    // a host whose workers all stopped beating a minute ago: unhealthy, and its queues stay on /metrics
    await s.queues.redis.hdel(key, 'w-down');
    await s.queues.redis.zadd(s.queues.keys.hosts, Date.now() - 60_000, 'lost');
    res = await call(s, 'GET', '/healthz', { auth: null });
    expect(res.status).toBe(503);
    expect(res.json.problems).toEqual([
      expect.stringMatching(/^host lost: no live worker \(last heartbeat 6\d s ago\); its jobs wait/),
    ]);
    const lost = await call(s, 'GET', '/metrics');
    expect(lost.text).toContain('netq_workers_live{host="lost"} 0');
    expect(lost.text).toMatch(/^netq_queue_jobs\{queue="rebuild\.lost",state="waiting"\} 0$/m);
    // silent for over an hour: retired, healthy again
    await s.queues.redis.zadd(s.queues.keys.hosts, Date.now() - 2 * 3600_000, 'lost');
    expect((await call(s, 'GET', '/healthz', { auth: null })).status).toBe(200);
  });

  it('is unhealthy when Redis does not answer, and the API says so', async () => {
    // not in envs: there is no Redis to clean up after
    const s = await serve(testEnv({ NETQ_API_TOKEN: TOKEN, REDIS_URL: 'redis://127.0.0.1:1' }));
    const res = await call(s, 'GET', '/healthz', { auth: null });
    expect(res.status).toBe(503);
    expect(res.json).toMatchObject({ ok: false, workers: [], redis: expect.stringMatching(/^down: /) });
    const rebuild = await call(s, 'POST', '/v1/apps/my-app/rebuild');
    expect(rebuild.status).toBe(503);
    expect(rebuild.json.error).toMatch(/^cannot reach Redis at REDIS_URL=redis:\/\/127\.0\.0\.1:1/);
    const metrics = await call(s, 'GET', '/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.text).toContain('netq_redis_up 0');
  });
});
