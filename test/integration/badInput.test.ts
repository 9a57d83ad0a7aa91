import { createHash } from 'node:crypto';
import { lstat, mkdir, readdir, readFile, readlink, writeFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer } from '../../producers/http/server.js';
import type { Config } from '../../src/config.js';
import { silentLogger } from '../../src/logger.js';
import { NetqQueues } from '../../src/queue.js';
import {
  appName,
  cleanupDocker,
  cleanupPrefix,
  configOf,
  createAppContainer,
  createTestNetwork,
  docker,
  dokkuLayout,
  runCli,
  runId,
  scopeLabel,
  testEnv,
} from '../helpers.js';

/**
 * Bad input at every entrance (CLI arguments, HTTP requests, environment variables) is refused with
 * exit 1 and one line on stderr, or a 4xx with a JSON error, that names the problem, and writes nothing:
 * the Redis keys under the test's prefix, the run's containers and networks and the NETQ_DOKKU_ROOT
 * folder are compared with a snapshot after every case.
 *
 * A host is made to look live (a heartbeat far in the future) and no worker runs: input that got past
 * the checks would be queued, which the Redis snapshot shows, instead of failing for want of a worker.
 */

const TOKEN = 'bad-input-token-0123456789';
const LONG = 'a'.repeat(10_000);
/** the longest one-line message we accept: a 10k value must not come back in full */
const MAX_LINE = 400;

let files: { dir: string; remove: () => Promise<void> };
let env: Record<string, string>;
let config: Config;
let queues: NetqQueues;
let server: FastifyInstance;
let base: URL;
let app: string;
let baseline: Snapshot;

interface Snapshot {
  redis: Record<string, string>;
  containers: unknown[];
  networks: unknown[];
  files: Record<string, string>;
}

async function redisSnapshot(redis: Redis, prefix: string): Promise<Record<string, string>> {
  const keys = (await redis.keys(`${prefix}*`)).sort();
  const out: Record<string, string> = {};
  for (const k of keys) {
    const dump = await redis.dumpBuffer(k);
    out[k] = dump ? createHash('sha256').update(dump).digest('hex') : 'gone';
  }
  return out;
}

async function filesSnapshot(dir: string, rel = ''): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of (await readdir(path.join(dir, rel))).sort()) {
    const p = path.join(rel, name);
    const full = path.join(dir, p);
    const st = await lstat(full);
    if (st.isSymbolicLink()) out[p] = `link -> ${await readlink(full)}`;
    else if (st.isDirectory()) {
      out[p] = `dir ${st.mode.toString(8)}`;
      Object.assign(out, await filesSnapshot(dir, p));
    } else out[p] = `file ${st.mode.toString(8)} ${st.mtimeMs} ${await readFile(full, 'utf8')}`;
  }
  return out;
}

async function snapshot(): Promise<Snapshot> {
  const filters = { label: [scopeLabel] };
  const containers = (await docker.listContainers({ all: true, filters }))
    .map((c) => ({
      id: c.Id,
      names: c.Names,
      state: c.State,
      networks: Object.keys(c.NetworkSettings.Networks).sort(),
    }))
    .sort((a, b) => a.id.localeCompare(b.id));
  const networks = (await docker.listNetworks({ filters }))
    .map((n) => ({ id: n.Id, name: n.Name }))
    .sort((a, b) => a.id.localeCompare(b.id));
  return {
    redis: await redisSnapshot(queues.redis as Redis, config.prefix),
    containers,
    networks,
    files: await filesSnapshot(files.dir),
  };
}

beforeAll(async () => {
  const dokku = await dokkuLayout();
  // the snapshot covers both of Dokku's roots
  files = { dir: path.dirname(dokku.root), remove: dokku.remove };
  env = testEnv({ ...dokku.env, NETQ_API_TOKEN: TOKEN });
  config = configOf(env);
  queues = new NetqQueues(config);
  queues.redis.on('error', () => {});
  app = appName('bad-input');
  await createAppContainer({ app });
  await createTestNetwork(`netq-t${runId}-bad-input`);
  // what a previous rebuild left: files that bad input must not touch
  await mkdir(path.join(dokku.root, app));
  await writeFile(path.join(dokku.root, app, 'IP.web.1'), '172.17.0.9');
  await writeFile(path.join(dokku.root, app, 'PORT.web.1'), '5000');
  await queues.redis.zadd(queues.keys.hosts, Date.now() + 3_600_000, 'local');
  server = await buildServer({ config, queues, logger: silentLogger() });
  base = new URL(await server.listen({ host: '127.0.0.1', port: 0 }));
  baseline = await snapshot();
  expect(Object.keys(baseline.redis)).toEqual([queues.keys.hosts]);
  expect(baseline.containers).toHaveLength(1);
  expect(baseline.networks).toHaveLength(1);
  expect(Object.keys(baseline.files)).toHaveLength(5); // home, lib, the app folder and its two files
}, 60_000);

afterAll(async () => {
  await server?.close();
  await queues?.close();
  await cleanupDocker();
  if (config) await cleanupPrefix(config);
  await files?.remove();
});

interface CliCase {
  args: string[];
  env?: Record<string, string>;
  stderr: RegExp;
}

/** The app of the run, in cases that need a valid one (set in beforeAll). */
const APP = '<app>';
const withApp = (args: string[]) => args.map((a) => (a === APP ? app : a));

const cliCases: [string, CliCase][] = [
  // app names
  ['app ../etc', { args: ['network:rebuild', '../etc'], stderr: /invalid app name "\.\.\/etc": app name must match/ }],
  ['app ..', { args: ['network:rebuild', '..'], stderr: /invalid app name "\.\.": app name must match/ }],
  ['app a/b', { args: ['network:rebuild', 'a/b'], stderr: /invalid app name "a\/b": app name must match/ }],
  ['app with BEL', { args: ['network:rebuild', 'a\u0007b'], stderr: /invalid app name "a\\u0007b"/ }],
  ['app with a newline', { args: ['network:rebuild', 'a\nb'], stderr: /invalid app name "a\\nb"/ }],
  ['app of 10k characters', { args: ['network:rebuild', LONG], stderr: /app name is longer than 63 characters/ }],
  ['app empty', { args: ['network:rebuild', ''], stderr: /app name is empty/ }],
  ['app missing', { args: ['network:rebuild'], stderr: /missing required argument 'app'/ }],
  ['set: app ../etc', { args: ['network:set', '../etc', 'tld', 'x.test'], stderr: /invalid app name "\.\.\/etc"/ }],
  // flags
  ['unknown flag', { args: ['network:rebuild', APP, '--bogus'], stderr: /unknown option '--bogus'/ }],
  ['unknown command', { args: ['network:bogus'], stderr: /unknown command 'network:bogus'/ }],
  ['--format xml', { args: ['network:rebuild', APP, '--format', 'xml'], stderr: /--format.*'xml' is invalid/ }],
  ['rebuildall --format yaml', { args: ['network:rebuildall', '--format', 'yaml'], stderr: /'yaml' is invalid/ }],
  ['--timeout abc', { args: ['network:rebuild', APP, '--timeout', 'abc'], stderr: /--timeout.*expected a number/ }],
  ['--timeout 0', { args: ['network:rebuild', APP, '--timeout', '0'], stderr: /--timeout.*expected a number/ }],
  ['--timeout -5', { args: ['network:rebuild', APP, '--timeout', '-5'], stderr: /--timeout.*expected a number/ }],
  ['--timeout 1e9', { args: ['network:rebuild', APP, '--timeout', '1e9'], stderr: /--timeout.*expected a number/ }],
  ['--host ../x', { args: ['network:rebuild', APP, '--host', '../x', '--no-wait'], stderr: /--host.*host id must/ }],
  ['set --host ../x', { args: ['network:set', APP, 'tld', 'x.test', '--host', '../x'], stderr: /--host.*host id/ }],
  ['rebuildall extra argument', { args: ['network:rebuildall', 'extra'], stderr: /too many arguments/ }],
  // property values
  [
    'unknown property',
    { args: ['network:set', APP, 'bogus-key', 'x'], stderr: /^Invalid property specified, valid properties include: / },
  ],
  ['no property key', { args: ['network:set', APP], stderr: /^No property specified$/ }],
  [
    'bind-all-interfaces maybe',
    { args: ['network:set', APP, 'bind-all-interfaces', 'maybe'], stderr: /must be true or false, not "maybe"/ },
  ],
  ['tld with a space', { args: ['network:set', APP, 'tld', 'a b'], stderr: /tld must be a DNS suffix/ }],
  ['tld of 10k', { args: ['network:set', APP, 'tld', LONG], stderr: /tld: value is longer than 1024/ }],
  ['tld with BEL', { args: ['network:set', APP, 'tld', 'a\u0007'], stderr: /value contains control characters/ }],
  [
    'attach network ../etc',
    { args: ['network:set', APP, 'attach-post-create', '../etc'], stderr: /network name must match/ },
  ],
  [
    'attach network host',
    {
      args: ['network:set', APP, 'attach-post-deploy', 'host'],
      stderr: /^Invalid network name specified for attach: host$/,
    },
  ],
  ['initial-network none', { args: ['network:set', APP, 'initial-network', 'none'], stderr: /initial-network none/ }],
  [
    'static-web-listener port 99999',
    { args: ['network:set', APP, 'static-web-listener', 'x:99999'], stderr: /static-web-listener must be host:port/ },
  ],
  [
    'global static-web-listener',
    {
      args: ['network:set', '--global', 'static-web-listener', '1.2.3.4'],
      stderr: /^Property cannot be specified globally$/,
    },
  ],
  // network names
  ['network ../etc', { args: ['network:create', '../etc'], stderr: /invalid network name "\.\.\/etc"/ }],
  ['network ..', { args: ['network:create', '..'], stderr: /invalid network name "\.\."/ }],
  ['network a/b', { args: ['network:info', 'a/b'], stderr: /invalid network name "a\/b"/ }],
  ['network of 10k', { args: ['network:create', LONG], stderr: /network name is longer than 64/ }],
  ['network with a newline', { args: ['network:destroy', 'a\nb', '--force'], stderr: /invalid network name "a\\nb"/ }],
  ['network bridge', { args: ['network:create', 'bridge'], stderr: /cannot create network bridge/ }],
  ['network: --host ../x', { args: ['network:exists', 'n1', '--host', '../x'], stderr: /invalid --host "\.\.\/x"/ }],
  ['network:list --format xml', { args: ['network:list', '--format', 'xml'], stderr: /'xml' is invalid/ }],
];

/** Environment variables, each bad on its own, with a command that would queue a rebuild if it ran. */
const queueing = ['network:rebuild', APP, '--no-wait'];
const envCases: [string, CliCase][] = [
  ['NETQ_CONCURRENCY abc', { args: queueing, env: { NETQ_CONCURRENCY: 'abc' }, stderr: /^NETQ_CONCURRENCY: / }],
  ['NETQ_CONCURRENCY 0', { args: ['worker'], env: { NETQ_CONCURRENCY: '0' }, stderr: /^NETQ_CONCURRENCY: / }],
  ['NETQ_CONCURRENCY 1e3', { args: queueing, env: { NETQ_CONCURRENCY: '1e3' }, stderr: /^NETQ_CONCURRENCY: / }],
  ['REDIS_URL http', { args: queueing, env: { REDIS_URL: 'http://127.0.0.1:6379' }, stderr: /^REDIS_URL: / }],
  ['REDIS_URL without a host', { args: queueing, env: { REDIS_URL: 'redis://' }, stderr: /^REDIS_URL: / }],
  [
    'REDIS_URL with db abc',
    { args: queueing, env: { REDIS_URL: 'redis://127.0.0.1:6379/abc' }, stderr: /^REDIS_URL: / },
  ],
  ['REDIS_URL not a URL', { args: queueing, env: { REDIS_URL: 'redis://a b' }, stderr: /^REDIS_URL: / }],
  ['NETQ_HOST_ID ../x', { args: ['worker'], env: { NETQ_HOST_ID: '../x' }, stderr: /^NETQ_HOST_ID: / }],
  [
    'NETQ_DOKKU_ROOT relative',
    { args: ['worker'], env: { NETQ_DOKKU_ROOT: 'home/dokku' }, stderr: /^NETQ_DOKKU_ROOT: expected an absolute/ },
  ],
  ['NETQ_ON_CHANGE bad JSON', { args: ['worker'], env: { NETQ_ON_CHANGE: '["a",' }, stderr: /^NETQ_ON_CHANGE: / }],
  ['NETQ_ON_CHANGE []', { args: queueing, env: { NETQ_ON_CHANGE: '[]' }, stderr: /^NETQ_ON_CHANGE: / }],
  [
    'NETQ_API_TOKEN too short',
    {
      args: ['serve'],
      env: { NETQ_API_TOKEN: 'short', NETQ_API_LISTEN: '127.0.0.1:0' },
      stderr: /^NETQ_API_TOKEN: expected at least 16/,
    },
  ],
  [
    'NETQ_API_TOKEN with a space',
    {
      args: ['serve'],
      env: { NETQ_API_TOKEN: 'abcdefgh ijklmnopq', NETQ_API_LISTEN: '127.0.0.1:0' },
      stderr: /^NETQ_API_TOKEN: /,
    },
  ],
  [
    'serve without a token on all interfaces',
    {
      args: ['serve'],
      env: { NETQ_API_TOKEN: '', NETQ_API_LISTEN: '0.0.0.0:0' },
      stderr: /refusing to serve 0\.0\.0\.0/,
    },
  ],
  ['LOG_LEVEL verbose', { args: queueing, env: { LOG_LEVEL: 'verbose' }, stderr: /^LOG_LEVEL: / }],
  ['DOCKER_HOST http', { args: ['worker'], env: { DOCKER_HOST: 'http://x' }, stderr: /^DOCKER_HOST: / }],
];

interface HttpCase {
  method: string;
  /** sent as is: no normalisation of `..` or of escapes */
  path: string;
  body?: string;
  contentType?: string;
  status: number;
  error: RegExp;
}

const rebuildPath = '/v1/apps/<app>/rebuild?wait=false';
const tldPath = '/v1/apps/<app>/properties/tld?wait=false';
const json = (v: unknown) => JSON.stringify(v);
const httpCases: [string, HttpCase][] = [
  ['body []', { method: 'POST', path: rebuildPath, body: '[]', status: 400, error: /body must be a JSON object/ }],
  ['body "x"', { method: 'POST', path: rebuildPath, body: '"x"', status: 400, error: /body must be a JSON object/ }],
  ['body 1', { method: 'POST', path: rebuildPath, body: '1', status: 400, error: /body must be a JSON object/ }],
  ['body null', { method: 'POST', path: rebuildPath, body: 'null', status: 400, error: /body must be a JSON object/ }],
  ['body not JSON', { method: 'POST', path: rebuildPath, body: '{', status: 400, error: /JSON/ }],
  [
    'text/plain body',
    {
      method: 'POST',
      path: rebuildPath,
      body: 'x',
      contentType: 'text/plain',
      status: 415,
      error: /content type "text\/plain" is not supported: send application\/json/,
    },
  ],
  [
    'form body',
    {
      method: 'POST',
      path: rebuildPath,
      body: 'wait=false',
      contentType: 'application/x-www-form-urlencoded',
      status: 415,
      error: /is not supported: send application\/json/,
    },
  ],
  [
    '1 MB body',
    {
      method: 'POST',
      path: rebuildPath,
      body: json({ wait: false, pad: LONG.repeat(100) }),
      status: 413,
      error: /too large/,
    },
  ],
  [
    '__proto__ in the body',
    {
      method: 'PUT',
      path: tldPath,
      body: '{"__proto__":{"polluted":1},"values":[]}',
      status: 400,
      error: /must not have "__proto__" or "constructor.prototype" keys/,
    },
  ],
  [
    'constructor.prototype in the body',
    {
      method: 'PUT',
      path: tldPath,
      body: '{"constructor":{"prototype":{"polluted":1}},"values":[]}',
      status: 400,
      error: /must not have "__proto__" or "constructor.prototype" keys/,
    },
  ],
  [
    'app ..%2Fetc',
    { method: 'POST', path: '/v1/apps/..%2Fetc/rebuild', status: 400, error: /invalid app name "\.\.\/etc"/ },
  ],
  ['app ..', { method: 'POST', path: '/v1/apps/../rebuild', status: 400, error: /invalid app name "\.\."/ }],
  ['app %00', { method: 'POST', path: '/v1/apps/%00/rebuild', status: 400, error: /invalid app name "\\u0000"/ }],
  ['app a%07b', { method: 'POST', path: '/v1/apps/a%07b/rebuild', status: 400, error: /invalid app name "a\\u0007b"/ }],
  ['app a%0Ab', { method: 'POST', path: '/v1/apps/a%0Ab/rebuild', status: 400, error: /invalid app name "a\\nb"/ }],
  [
    'app of 100',
    { method: 'POST', path: `/v1/apps/${LONG.slice(0, 100)}/rebuild`, status: 400, error: /longer than 63 characters/ },
  ],
  [
    'app of 10k',
    { method: 'POST', path: `/v1/apps/${LONG}/rebuild`, status: 414, error: /path segment is longer than 100/ },
  ],
  [
    'app with a broken escape',
    { method: 'POST', path: '/v1/apps/%E0%A4%A/rebuild', status: 400, error: /not a valid URL/ },
  ],
  [
    'content type of 2000 characters',
    {
      method: 'POST',
      path: rebuildPath,
      body: '{}',
      contentType: `text/${LONG.slice(0, 2000)}`,
      status: 415,
      error: /is not supported: send application\/json/,
    },
  ],
  ['report: app ..%2F', { method: 'GET', path: '/v1/apps/..%2F/report', status: 400, error: /invalid app name/ }],
  [
    'unknown property',
    {
      method: 'PUT',
      path: '/v1/apps/<app>/properties/bogus',
      body: json({ values: [] }),
      status: 400,
      error: /^Invalid property specified, valid properties include: /,
    },
  ],
  [
    'values a string',
    {
      method: 'PUT',
      path: tldPath,
      body: json({ values: 'x' }),
      status: 400,
      error: /body\.values: expected an array of strings/,
    },
  ],
  [
    'values numbers',
    {
      method: 'PUT',
      path: tldPath,
      body: json({ values: [1] }),
      status: 400,
      error: /body\.values\.0: expected strings/,
    },
  ],
  [
    'values missing',
    { method: 'PUT', path: tldPath, body: json({}), status: 400, error: /body\.values: expected an array/ },
  ],
  ['no body', { method: 'PUT', path: tldPath, status: 400, error: /body must be a JSON object/ }],
  [
    'bad tld',
    { method: 'PUT', path: tldPath, body: json({ values: ['a b'] }), status: 400, error: /tld must be a DNS suffix/ },
  ],
  [
    'apply "yes"',
    {
      method: 'PUT',
      path: tldPath,
      body: json({ values: [], apply: 'yes' }),
      status: 400,
      error: /body\.apply: expected true or false/,
    },
  ],
  [
    'unknown body key',
    { method: 'PUT', path: tldPath, body: json({ values: [], force: true }), status: 400, error: /Unrecognized key/ },
  ],
  [
    'wait=maybe',
    {
      method: 'POST',
      path: '/v1/apps/<app>/rebuild?wait=maybe',
      status: 400,
      error: /query\.wait: expected true or false/,
    },
  ],
  [
    'wait twice',
    { method: 'POST', path: '/v1/apps/<app>/rebuild?wait=false&wait=true', status: 400, error: /query\.wait/ },
  ],
  [
    'timeout=-1',
    { method: 'POST', path: '/v1/apps/<app>/rebuild?wait=false&timeout=-1', status: 400, error: /query\.timeout/ },
  ],
  ['unknown query key', { method: 'POST', path: `${rebuildPath}&bogus=1`, status: 400, error: /Unrecognized key/ }],
  [
    'host ../x in the query',
    { method: 'POST', path: `${rebuildPath}&host=..%2Fx`, status: 400, error: /query\.host: host id/ },
  ],
  [
    'host ../x in the body',
    { method: 'POST', path: rebuildPath, body: json({ host: '../x' }), status: 400, error: /body\.host: host id/ },
  ],
  [
    'rebuildall body []',
    { method: 'POST', path: '/v1/rebuildall', body: '[]', status: 400, error: /body must be a JSON object/ },
  ],
  [
    'rebuildall wait "no"',
    { method: 'POST', path: '/v1/rebuildall', body: json({ wait: 'no' }), status: 400, error: /body\.wait/ },
  ],
  ['report with a query', { method: 'GET', path: '/v1/report?x=1', status: 400, error: /Unrecognized key/ }],
  ['job id ..%2Fx', { method: 'GET', path: '/v1/jobs/..%2Fx?queue=summary', status: 400, error: /job id: expected/ }],
  [
    'job queue ../x',
    { method: 'GET', path: '/v1/jobs/1?queue=..%2Fx', status: 400, error: /query\.queue: expected rebuild/ },
  ],
];

function cliLines(stderr: string): string[] {
  return stderr.split('\n').filter((l) => l !== '');
}

/** One request with the token, exactly as given (node:http does not normalise the path). */
function send(c: HttpCase): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { authorization: `Bearer ${TOKEN}` };
    if (c.body !== undefined) {
      headers['content-type'] = c.contentType ?? 'application/json';
      headers['content-length'] = String(Buffer.byteLength(c.body));
    }
    const req = http.request(
      { host: base.hostname, port: base.port, method: c.method, path: c.path.replace('<app>', app), headers },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          body += d;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body }));
      },
    );
    req.setTimeout(30_000, () => req.destroy(new Error('no answer in 30 s')));
    req.on('error', reject);
    req.end(c.body);
  });
}

describe('bad input writes nothing', () => {
  it('has at least 40 cases', () => {
    expect(cliCases.length + envCases.length + httpCases.length).toBeGreaterThanOrEqual(40);
  });

  /**
   * exit 1, nothing on stdout, one line on stderr that names the problem (`netq: …`, or ` !     …` for the
   * errors Dokku itself gives, as Dokku prints them), nothing written
   */
  async function expectRefused(c: CliCase, maxLine?: number) {
    const res = await runCli(withApp(c.args), { ...env, ...c.env }, 30_000);
    expect({ code: res.code, stdout: res.stdout }).toEqual({ code: 1, stdout: '' });
    const lines = cliLines(res.stderr);
    expect(lines, res.stderr.slice(0, 2000)).toHaveLength(1);
    expect(lines[0]).toMatch(/^(netq: | ! {5})/);
    expect(lines[0]?.replace(/^(netq: | ! {5})/, '')).toMatch(c.stderr);
    if (maxLine !== undefined) expect(lines[0]?.length).toBeLessThanOrEqual(maxLine);
    expect(await snapshot()).toEqual(baseline);
  }

  it.each(cliCases)('CLI: %s', (_label, c) => expectRefused(c, MAX_LINE));
  it.each(envCases)('environment: %s', (_label, c) => expectRefused(c));

  it.each(httpCases)('HTTP: %s', async (_label, c) => {
    const res = await send(c);
    expect(res.status, res.body.slice(0, 500)).toBe(c.status);
    expect(res.type).toMatch(/^application\/json/);
    const body = JSON.parse(res.body) as { error?: unknown };
    expect(Object.keys(body)).toEqual(['error']);
    expect(body.error).toMatch(c.error);
    expect(String(body.error).length).toBeLessThanOrEqual(MAX_LINE);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(await snapshot()).toEqual(baseline);
  });

  it('sees a write when the input is good (the snapshot is not blind)', async () => {
    const res = await runCli(['network:rebuild', app, '--no-wait'], env, 30_000);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    const after = await snapshot();
    expect(Object.keys(after.redis).length).toBeGreaterThan(Object.keys(baseline.redis).length);
    // the global route: the app here is not deployed, so a set of it is stored without a job (as the CLI does)
    const put = await send({
      method: 'PUT',
      path: '/v1/global/properties/tld?wait=false',
      body: json({ values: ['x.test'] }),
      status: 202,
      error: /./,
    });
    expect(put.status).toBe(202);
    expect(await snapshot()).not.toEqual(after);
  });
});
