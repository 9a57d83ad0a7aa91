import { Worker } from 'bullmq';
import { afterEach, describe, expect, it } from 'vitest';
import { publicLine } from '../../producers/http/health.js';
import { hostMatcher } from '../../producers/http/hostCheck.js';
import { queueName } from '../../src/jobs.js';
import { createRedis } from '../../src/redis.js';
import type { WorkerHealth } from '../../src/types.js';
import { cleanupPrefix, closePools, configOf, openPools, testEnv } from '../helpers.js';
import { ApiServers, fakeLiveHost, jobCount, type Reply, request, type Served } from '../support/apiServer.js';

/**
 * The HTTP hardening of `netq serve`: the Host check (DNS rebinding), the dashboard's writes (read-only
 * without a token, never cross-site with one) and what /healthz shows to anyone.
 */

const TOKEN = 'hsec-token-0123456789-abcdef';
const BASIC = `Basic ${Buffer.from(`admin:${TOKEN}`).toString('base64')}`;
const REBUILD = queueName.rebuild('local');

const envs: Record<string, string>[] = [];
const servers = new ApiServers();

afterEach(async () => {
  await servers.closeAll();
  await closePools();
  expect(openPools()).toBe(0);
  for (const e of envs.splice(0)) await cleanupPrefix(configOf(e));
});

/** A real server (no token unless given); `clean`: its Redis prefix is emptied after the test. */
async function serve(extra: Record<string, string> = {}, clean = true): Promise<Served> {
  const e = testEnv(extra);
  if (clean) envs.push(e);
  return servers.serve(e);
}

/** A request with exactly these headers. */
const send = (s: Served, method: string, path: string, headers: Record<string, string> = {}): Promise<Reply> =>
  request(s, method, path, { headers, timeoutMs: 30_000 });

async function failedAndDelayed(s: Served, app = 'dash-app'): Promise<{ failed: string; delayed: string }> {
  const queue = s.queues.queue(REBUILD);
  const failedJob = await queue.add('rebuild', { app, reason: 'test' }, { attempts: 1 });
  const connection = createRedis(s.config, { maxRetriesPerRequest: null });
  const worker = new Worker(
    REBUILD,
    async () => {
      throw new Error(`no network for ${app}`);
    },
    { connection, prefix: s.queues.prefix },
  );
  try {
    for (let i = 0; (await failedJob.getState()) !== 'failed'; i++) {
      if (i > 200) throw new Error('the job did not fail');
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    await worker.close();
    connection.disconnect();
  }
  const delayedJob = await queue.add('rebuild', { app: `${app}-later` }, { delay: 3600_000 });
  return { failed: String(failedJob.id), delayed: String(delayedJob.id) };
}

const stateOf = async (s: Served, id: string) => (await s.queues.queue(REBUILD).getJob(id))?.getState() ?? 'gone';

describe('netq serve: the Host header (DNS rebinding)', () => {
  it('refuses a Host header that does not name the server with 421, before auth, on every route', async () => {
    const s = await serve({ NETQ_API_TOKEN: TOKEN });
    await fakeLiveHost(s.queues);
    const requests: [string, string][] = [
      ['GET', '/healthz'],
      ['GET', '/v1/global/report'],
      ['POST', '/v1/apps/my-app/rebuild?wait=false'],
      ['POST', '/v1/rebuildall?wait=false'],
      ['GET', '/ui'],
      ['GET', '/ui/api/queues'],
      ['PUT', `/ui/api/queues/${REBUILD}/1/retry`],
      ['GET', '/metrics'],
      ['GET', '/nope'],
    ];
    const foreign = [
      'evil.example',
      `evil.example:${s.port}`,
      `localhost.evil.example:${s.port}`,
      `127.0.0.1.nip.io:${s.port}`,
      `0.0.0.0:${s.port}`,
      `localhost:${s.port + 1}`,
      `127.0.0.1:${s.port}0`,
      `localhost:${s.port}@evil.example`,
      `[::1]x:${s.port}`,
    ];
    for (const [method, path] of requests) {
      for (const host of foreign) {
        // with the right token too: the Host check comes first
        for (const authorization of [`Bearer ${TOKEN}`, BASIC]) {
          const res = await send(s, method, path, { host, authorization });
          expect(res.status, `${method} ${path} Host: ${host}`).toBe(421);
          expect(res.json).toEqual({
            error: `Host header ${JSON.stringify(host)} is not one this server answers (NETQ_API_ALLOWED_HOSTS)`,
          });
        }
      }
    }
    expect(await jobCount(s.queues)).toBe(0);

    // the names of the loopback listener pass, bare or with its port; then the token decides
    for (const host of [`127.0.0.1:${s.port}`, `localhost:${s.port}`, `[::1]:${s.port}`, 'LocalHost', '127.0.0.1']) {
      expect((await send(s, 'GET', '/healthz', { host })).status, host).toBe(200);
      expect((await send(s, 'GET', '/v1/global/report', { host })).status, host).toBe(401);
      const ok = await send(s, 'GET', '/v1/global/report', { host, authorization: `Bearer ${TOKEN}` });
      expect(ok.status, host).toBe(200);
      expect((await send(s, 'GET', '/ui', { host, authorization: BASIC })).status, host).toBe(200);
    }
    const queued = await send(s, 'POST', '/v1/apps/my-app/rebuild?wait=false', {
      host: `localhost:${s.port}`,
      authorization: `Bearer ${TOKEN}`,
    });
    expect(queued.status).toBe(202);
    expect(await jobCount(s.queues)).toBe(1);
  });

  it('answers the names of NETQ_API_ALLOWED_HOSTS: a bare name on any port, name:port on that port only', async () => {
    const s = await serve({ NETQ_API_ALLOWED_HOSTS: 'netq.example.com,Other.Example:8443,[fd00::7]' });
    const answered = ['netq.example.com', 'NETQ.example.com:8443', `netq.example.com:${s.port}`, 'other.example:8443'];
    for (const host of [...answered, '[fd00::7]', '[fd00:0::7]:9', `localhost:${s.port}`]) {
      expect((await send(s, 'GET', '/healthz', { host })).status, host).toBe(200);
      expect((await send(s, 'GET', '/v1/global/report', { host })).status, host).toBe(200);
    }
    for (const host of ['other.example', 'other.example:8444', 'evil.example', 'example.com', 'com', '[fd00::8]']) {
      expect((await send(s, 'GET', '/healthz', { host })).status, host).toBe(421);
      expect((await send(s, 'GET', '/ui', { host })).status, host).toBe(421);
    }

    // which names each listen address answers by itself (port 8080; the request came in on 8080)
    const table: [string, string[], string[]][] = [
      ['127.0.0.1', ['127.0.0.1:8080', '127.0.0.1', 'localhost:8080', '[::1]:8080'], ['localhost:8081', 'a.test:8080']],
      ['127.3.4.5', ['127.3.4.5:8080', 'localhost:8080', '127.0.0.1:8080'], ['127.3.4.6:8080']],
      ['::1', ['[::1]:8080', '[0:0:0:0:0:0:0:1]:8080', 'localhost:8080'], ['::1', '[::2]:8080']],
      ['localhost', ['localhost:8080', '127.0.0.1:8080'], ['localhost:80']],
      // the machine's own addresses are not knowable on a wildcard: only what is configured
      ['0.0.0.0', [], ['0.0.0.0:8080', 'localhost:8080', '127.0.0.1:8080', '10.1.2.3:8080']],
      ['::', [], ['[::]:8080', '[::1]:8080', 'localhost:8080']],
      ['10.1.2.3', ['10.1.2.3:8080', '10.1.2.3'], ['10.1.2.3:8081', 'localhost:8080', '127.0.0.1:8080']],
      ['netq.internal', ['netq.internal:8080', 'NETQ.internal'], ['netq.internal.evil.example:8080']],
    ];
    for (const [host, yes, no] of table) {
      const matches = hostMatcher({ apiListen: { host, port: 8080 }, apiAllowedHosts: [] });
      for (const h of yes) expect(matches(h, 8080), `${host}: ${h}`).toBe(true);
      for (const h of no) expect(matches(h, 8080), `${host}: ${h}`).toBe(false);
      expect(matches(undefined, 8080)).toBe(false);
    }
    const wildcard = hostMatcher({ apiListen: { host: '0.0.0.0', port: 8080 }, apiAllowedHosts: ['localhost:9000'] });
    expect(wildcard('localhost:9000', 8080)).toBe(true);
    expect(wildcard('localhost:8080', 8080)).toBe(false);
  });
});

describe('netq serve: dashboard writes', () => {
  it('keeps the dashboard read-only without a token: its writes answer 403 and change no job', async () => {
    const s = await serve();
    expect(s.config.apiToken).toBeUndefined();
    await fakeLiveHost(s.queues);
    const { failed, delayed } = await failedAndDelayed(s);
    const q = `/ui/api/queues/${REBUILD}`;
    const writes = [
      `${q}/${failed}/retry`,
      `${q}/${failed}/clean`,
      `${q}/${delayed}/promote`,
      `${q}/${delayed}/update-data`,
      `${q}/${delayed}/delay`,
      `${q}/retry/failed`,
      `${q}/clean/failed`,
      `${q}/promote`,
      `${q}/add`,
      `${q}/pause`,
      `${q}/empty`,
      `${q}/obliterate`,
      '/ui/api/queues/pause',
    ];
    const host = `127.0.0.1:${s.port}`;
    const same = { host, origin: `http://${host}` };
    for (const path of writes) {
      for (const method of ['PUT', 'POST', 'DELETE', 'PATCH']) {
        for (const headers of [{}, same, { ...same, authorization: `Bearer ${TOKEN}` }]) {
          const res = await send(s, method, path, headers);
          expect(res.status, `${method} ${path}`).toBe(403);
          expect(res.json).toEqual({
            error: 'the dashboard is read-only without NETQ_API_TOKEN: set a token to retry, remove or promote jobs',
          });
        }
      }
    }
    expect(await stateOf(s, failed)).toBe('failed');
    expect(await stateOf(s, delayed)).toBe('delayed');
    expect(await s.queues.queue(REBUILD).isPaused()).toBe(false);
    expect(await s.queues.queue(REBUILD).getJobCounts('failed', 'delayed', 'waiting')).toEqual({
      failed: 1,
      delayed: 1,
      waiting: 0,
    });
    expect((await s.queues.queue(REBUILD).getJob(delayed))?.data).toEqual({ app: 'dash-app-later' });

    // reading still works, and bull-board is told the queues are read-only (it hides its buttons)
    const list = await send(s, 'GET', '/ui/api/queues');
    expect(list.status).toBe(200);
    const shown = list.json.queues.find((x: { name: string }) => x.name === REBUILD);
    expect(shown).toMatchObject({ readOnlyMode: true });
    expect((await send(s, 'GET', `${q}/${failed}`)).status).toBe(200);
  });

  it('with a token, refuses a dashboard write from another site, and does it from the same site', async () => {
    // behind a proxy that passes Host: 127.0.0.1:<port> for the page of netq.example.com
    const s = await serve({ NETQ_API_TOKEN: TOKEN, NETQ_API_ALLOWED_HOSTS: 'netq.example.com' });
    await fakeLiveHost(s.queues);
    const { failed, delayed } = await failedAndDelayed(s);
    const q = `/ui/api/queues/${REBUILD}`;
    const host = `127.0.0.1:${s.port}`;
    const crossSite: Record<string, string>[] = [
      { origin: 'http://evil.example' },
      { origin: `http://evil.example:${s.port}` },
      { origin: 'http://localhost:3000' }, // another web app of the same machine
      { origin: 'https://netq.example.com.evil.example' },
      { origin: `http://127.0.0.1:${s.port + 1}` },
      { origin: `https://${host}.evil.example` },
      { origin: 'null' },
      { referer: 'http://evil.example/page' },
      { referer: 'not a url' },
      { origin: 'http://evil.example', referer: `http://${host}/ui` },
    ];
    for (const extra of crossSite) {
      for (const [method, path] of [
        ['PUT', `${q}/${failed}/retry`],
        ['PUT', `${q}/${failed}/clean`],
        ['PUT', `${q}/${delayed}/promote`],
        ['PUT', `${q}/pause`],
      ] as const) {
        for (const authorization of [BASIC, `Bearer ${TOKEN}`]) {
          const res = await send(s, method, path, { host, authorization, ...extra });
          expect(res.status, `${path} ${JSON.stringify(extra)}`).toBe(403);
          expect(res.json.error).toMatch(/^cross-site request refused: (Origin|Referer) ".*" is not this server$/);
        }
      }
    }
    expect(await stateOf(s, failed)).toBe('failed');
    expect(await stateOf(s, delayed)).toBe('delayed');
    expect(await s.queues.queue(REBUILD).isPaused()).toBe(false);

    // the same writes from the dashboard's own page: done (without the token still 401)
    const own = { host, origin: `http://${host}` };
    expect((await send(s, 'PUT', `${q}/${failed}/retry`, own)).status).toBe(401);
    expect(await stateOf(s, failed)).toBe('failed');
    expect((await send(s, 'PUT', `${q}/${failed}/retry`, { ...own, authorization: BASIC })).status).toBe(204);
    expect(await stateOf(s, failed)).toBe('waiting');
    const referer = { host, referer: `http://${host}/ui/queue/${REBUILD}`, authorization: BASIC };
    expect((await send(s, 'PUT', `${q}/${delayed}/promote`, referer)).status).toBe(204);
    expect(await stateOf(s, delayed)).toBe('waiting');
    // a client that is no browser (no Origin, no Referer) with the bearer token, as curl: done
    const curl = { host, authorization: `Bearer ${TOKEN}` };
    expect((await send(s, 'PUT', `${q}/${delayed}/clean`, curl)).status).toBe(204);
    expect(await stateOf(s, delayed)).toBe('gone');
    // the page of a name the server answers (the proxy's, another loopback name): the same site
    const proxied = { host, origin: 'https://netq.example.com', authorization: BASIC };
    expect((await send(s, 'PUT', `${q}/pause`, proxied)).status).toBe(200);
    expect(await s.queues.queue(REBUILD).isPaused()).toBe(true);
    const loopbackName = { host, origin: `http://localhost:${s.port}`, authorization: BASIC };
    expect((await send(s, 'PUT', `${q}/resume`, loopbackName)).status).toBe(200);
    expect(await s.queues.queue(REBUILD).isPaused()).toBe(false);
  });
});

describe('netq serve: cross-site writes to the API', () => {
  it('refuses a bodiless cross-site POST to /v1 on a loopback server without a token, and queues nothing', async () => {
    const s = await serve();
    await fakeLiveHost(s.queues);
    const before = await jobCount(s.queues);
    const host = `127.0.0.1:${s.port}`;
    // what a page of evil.example can send without a preflight: fetch(url, {method: 'POST', mode: 'no-cors'})
    const evil = await send(s, 'POST', '/v1/apps/some-app/rebuild?wait=false', {
      Host: host,
      Origin: 'http://evil.example',
    });
    expect(evil.status).toBe(403);
    expect(evil.json.error).toMatch(/^cross-site request refused: Origin "http:\/\/evil.example" is not this server$/);
    const viaReferer = await send(s, 'POST', '/v1/rebuildall?wait=false', {
      Host: host,
      Referer: 'http://evil.example/page',
    });
    expect(viaReferer.status).toBe(403);
    expect(await jobCount(s.queues)).toBe(before);
    // the same from the server's own page, or from curl (no Origin), is done
    const own = await send(s, 'POST', '/v1/apps/some-app/rebuild?wait=false', { Host: host, Origin: `http://${host}` });
    expect(own.status).toBe(202);
    expect(await jobCount(s.queues)).toBe(before + 1);
  });
});

describe('netq serve: /healthz', () => {
  const health = (workerId: string, host: string, state: WorkerHealth['watcher']['state'], lastError: string | null) =>
    JSON.stringify({
      workerId,
      host,
      pid: 4242,
      at: Date.now(),
      watcher: { state, lastEventAt: 1_700_000_123_456, reconnects: 7, lastError },
    } satisfies WorkerHealth);

  it('shows anyone ok, redis, each live worker, one line per problem, and no job, app, pid or URL', async () => {
    for (const extra of [{}, { NETQ_API_TOKEN: TOKEN }] as Record<string, string>[]) {
      const s = await serve(extra);
      await fakeLiveHost(s.queues);
      const secretApp = 'hz-secret-app';
      await failedAndDelayed(s, secretApp);
      const key = s.queues.keys.workerHealth;
      await s.queues.redis.hset(key, 'w-ok', health('w-ok', 'local', 'connected', null));
      await s.queues.redis.hset(
        key,
        'w-down',
        health(
          'w-down',
          'other',
          'disconnected',
          'connect ECONNREFUSED tcp://admin:hunter2@docker.internal:2376\nat x',
        ),
      );
      await s.queues.redis.zadd(s.queues.keys.hosts, Date.now() - 60_000, 'lost');

      const anyone = await send(s, 'GET', '/healthz');
      expect(anyone.status).toBe(503);
      expect(anyone.json).toEqual({
        ok: false,
        redis: 'ok',
        workers: [
          { workerId: 'w-ok', host: 'local', ok: true, watcher: 'connected' },
          { workerId: 'w-down', host: 'other', ok: false, watcher: 'disconnected' },
        ],
        problems: [
          expect.stringMatching(
            /^host lost: no live worker \(last heartbeat 6\d s ago\); its jobs wait and its events/,
          ),
          'worker w-down on host other: Docker event watcher is disconnected (connect ECONNREFUSED <url>)',
        ],
      });
      for (const hidden of [
        secretApp,
        'no network for',
        'hunter2',
        'docker.internal',
        '4242',
        '1700000123456',
        REBUILD,
      ]) {
        expect(anyone.text, hidden).not.toContain(hidden);
      }
      // the token shows no more: one answer for probes and people
      if (extra.NETQ_API_TOKEN) {
        const withToken = await send(s, 'GET', '/healthz', { authorization: `Bearer ${TOKEN}` });
        expect({ ...withToken.json, problems: [] }).toEqual({ ...anyone.json, problems: [] });
      }
    }

    // Redis down: why, never where
    const down = await serve({ REDIS_URL: 'redis://netq:s3cret-pw@127.0.0.1:1/3', NETQ_API_TOKEN: TOKEN }, false);
    const res = await send(down, 'GET', '/healthz');
    expect(res.status).toBe(503);
    expect(res.json).toEqual({
      ok: false,
      redis: expect.stringMatching(/^down: /),
      workers: [],
      problems: [expect.stringMatching(/^redis down: /)],
    });
    expect(res.text).not.toMatch(/s3cret|redis:\/\/|127\.0\.0\.1:1\b/);
    expect(publicLine('cannot reach redis://netq:pw@10.0.0.9:6379/0 (ECONNREFUSED)\n    at stack')).toBe(
      'cannot reach <url> (ECONNREFUSED)',
    );
    expect(publicLine('x'.repeat(400))).toBe(`${'x'.repeat(300)}…`);
  });
});
