import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { lstat, mkdir, readdir, readFile, readlink, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { tokenChecker } from '../../producers/http/auth.js';
import { buildServer } from '../../producers/http/server.js';
import { queueName } from '../../src/jobs.js';
import { silentLogger } from '../../src/logger.js';
import { NetqQueues } from '../../src/queue.js';
import {
  appName,
  cleanupDocker,
  cleanupPrefix,
  closePools,
  configOf,
  createAppContainer,
  dokkuLayout,
  freePort,
  openPools,
  ROOT,
  runCli,
  startPool,
  tempDir,
  testEnv,
  until,
} from '../helpers.js';

/** The real timingSafeEqual, watched: auth.ts must go through it for every comparison. */
const { timingSafeEqual } = vi.hoisted(() => ({ timingSafeEqual: vi.fn() }));
vi.mock('node:crypto', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:crypto')>();
  timingSafeEqual.mockImplementation(real.timingSafeEqual);
  return { ...real, default: { ...real, timingSafeEqual }, timingSafeEqual };
});

const TOKEN = 'sec-token-0123456789-abcdefgh';

const envs: Record<string, string>[] = [];
const children: ChildProcess[] = [];
const servers: { app: FastifyInstance; queues: NetqQueues }[] = [];
const temps: { remove: () => Promise<void> }[] = [];
function env(extra: Record<string, string> = {}) {
  const e = testEnv(extra);
  envs.push(e);
  return e;
}

afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const s of servers.splice(0)) {
    await s.app.close();
    await s.queues.close();
  }
  await closePools();
  expect(openPools()).toBe(0);
  await cleanupDocker();
  for (const e of envs.splice(0)) await cleanupPrefix(configOf(e));
  for (const t of temps.splice(0)) await t.remove();
});
afterAll(cleanupDocker);

async function call(url: URL | string, init: { method?: string; auth?: string | null; body?: unknown } = {}) {
  const headers: Record<string, string> = {};
  if (init.auth !== null) headers.authorization = init.auth ?? `Bearer ${TOKEN}`;
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(url, {
    method: init.method ?? 'GET',
    headers,
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
    signal: AbortSignal.timeout(30_000),
  });
  return { status: res.status, text: await res.text() };
}

describe('HTTP API: the token', () => {
  it('refuses a missing, wrong, nearly right or differently long token with 401, and queues nothing', async () => {
    const e = env({ NETQ_API_TOKEN: TOKEN });
    const config = configOf(e);
    const queues = new NetqQueues(config);
    queues.redis.on('error', () => {});
    const app = await buildServer({ config, queues, logger: silentLogger() });
    servers.push({ app, queues });
    const base = await app.listen({ host: '127.0.0.1', port: 0 });
    // a live host without a worker: whatever got through would stay queued, to be counted
    await queues.redis.zadd(queues.keys.hosts, Date.now() + 600_000, 'local');
    const jobCount = async () => {
      const names = [queueName.rebuild('local'), queueName.control('local'), queueName.summary];
      const counts = await Promise.all(names.map((n) => queues.queue(n).getJobCounts()));
      return counts.flatMap((c) => Object.values(c)).reduce((a, b) => a + b, 0);
    };
    expect(await jobCount()).toBe(0); // (makes the queues' meta keys before the snapshot)
    const keysBefore = (await queues.redis.keys(`${config.prefix}*`)).sort();

    const lastChanged = `${TOKEN.slice(0, -1)}${TOKEN.endsWith('h') ? 'i' : 'h'}`;
    const firstChanged = `X${TOKEN.slice(1)}`;
    const wrong: [string, string | null][] = [
      ['no header', null],
      ['empty bearer', 'Bearer '],
      ['the last character differs', `Bearer ${lastChanged}`],
      ['the first character differs', `Bearer ${firstChanged}`],
      ['one character longer', `Bearer ${TOKEN}x`],
      ['one character shorter', `Bearer ${TOKEN.slice(0, -1)}`],
      ['much shorter', 'Bearer a'],
      ['4 kB long', `Bearer ${TOKEN.repeat(150)}`],
      ['other case', `Bearer ${TOKEN.toUpperCase()}`],
      ['without the scheme', TOKEN],
      ['with a NUL appended', `Bearer ${TOKEN}%00`],
    ];
    const requests: [string, string, unknown][] = [
      ['POST', '/v1/apps/sec-app/rebuild?wait=false', undefined],
      ['POST', '/v1/rebuildall', { wait: false }],
      ['PUT', '/v1/apps/sec-app/properties/tld', { values: ['x.test'], wait: false }],
      ['GET', '/v1/apps/sec-app/report', undefined],
      ['GET', '/v1/jobs/1?queue=summary', undefined],
      ['GET', '/metrics', undefined],
      ['GET', '/ui/api/queues', undefined],
    ];
    for (const [method, url, body] of requests) {
      for (const [label, auth] of wrong) {
        const res = await call(new URL(url, base), { method, auth, body });
        expect(res.status, `${method} ${url}: ${label}`).toBe(401);
        expect(JSON.parse(res.text)).toEqual({ error: expect.stringMatching(/missing or wrong bearer token/) });
      }
    }
    expect(await jobCount()).toBe(0);
    expect((await queues.redis.keys(`${config.prefix}*`)).sort()).toEqual(keysBefore);

    // the right token does queue: the 401s above were not the server refusing everything
    const ok = await call(new URL('/v1/apps/sec-app/rebuild?wait=false', base), { method: 'POST' });
    expect(ok.status).toBe(202);
  });

  it('compares tokens with crypto.timingSafeEqual, whatever their lengths', () => {
    const matches = tokenChecker(TOKEN);
    const cases: [string | undefined, boolean][] = [
      [TOKEN, true],
      [`${TOKEN.slice(0, -1)}X`, false],
      [`X${TOKEN.slice(1)}`, false],
      [`${TOKEN}x`, false],
      [TOKEN.slice(0, -1), false],
      ['', false],
      [TOKEN.repeat(100), false],
      [undefined, false],
    ];
    for (const [presented, expected] of cases) {
      timingSafeEqual.mockClear();
      expect(matches(presented), String(presented)).toBe(expected);
      // exactly one constant-time comparison per check, of equal-length digests (never of the raw strings)
      expect(timingSafeEqual).toHaveBeenCalledTimes(1);
      const [a, b] = timingSafeEqual.mock.calls[0] as [Buffer, Buffer];
      expect([a.length, b.length]).toEqual([32, 32]);
      expect(a.toString('utf8')).not.toContain(TOKEN);
    }
  });
});

/** Every .ts file under a folder of the repository. */
async function sources(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(path.join(ROOT, dir), { withFileTypes: true })) {
    const rel = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await sources(rel)));
    else if (entry.name.endsWith('.ts')) out.push(rel);
  }
  return out.sort();
}

describe('no shell', () => {
  it('runs commands only with execFile and shell: false (src/changeHook.ts), never through a shell', async () => {
    const files = [...(await sources('src')), ...(await sources('workers')), ...(await sources('producers'))];
    expect(files.length).toBeGreaterThan(30);
    const uses: Record<string, string[]> = {};
    const problems: string[] = [];
    for (const file of files) {
      const text = await readFile(path.join(ROOT, file), 'utf8');
      for (const m of text.matchAll(/import\s+([^;]*?)\s+from\s+['"](?:node:)?child_process['"]/g)) {
        const clause = m[1] ?? '';
        const named = clause.match(/\{([^}]*)\}/)?.[1];
        if (!named || /^\s*(\*|\w+\s*,)/.test(clause)) problems.push(`${file}: imports child_process as a whole`);
        const names = (named ?? '')
          .split(',')
          .map((n) => n.trim().replace(/^type\s+/, ''))
          .filter((n) => n !== '' && !/^[A-Z]/.test(n)); // types such as ChildProcess run nothing
        if (names.length) uses[file] = [...(uses[file] ?? []), ...names];
      }
      if (
        /require\(\s*['"](?:node:)?child_process['"]\s*\)|import\(\s*['"](?:node:)?child_process['"]\s*\)/.test(text)
      ) {
        problems.push(`${file}: loads child_process dynamically`);
      }
      if (/shell\s*:\s*(true|['"`])/.test(text)) problems.push(`${file}: sets shell`);
      for (const fn of ['execSync', 'spawnSync', 'execFileSync', 'fork']) {
        if (new RegExp(`\\b${fn}\\s*\\(`).test(text)) problems.push(`${file}: calls ${fn}`);
      }
      if (/(^|[^.\w])exec\s*\(/m.test(text)) problems.push(`${file}: calls exec(`);
      if (/(^|[^.\w])spawn\s*\(/m.test(text)) problems.push(`${file}: calls spawn(`);
    }
    expect(problems).toEqual([]);
    expect(uses).toEqual({ 'src/changeHook.ts': ['execFile'] });
    const hook = await readFile(path.join(ROOT, 'src/changeHook.ts'), 'utf8');
    expect(hook).toMatch(/execFile\(\s*file,\s*args,\s*\{\s*shell: false,/);
  });
});

/** Every entry under a folder: type, link target and content, to compare before and after. */
async function tree(dir: string, rel = ''): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of (await readdir(path.join(dir, rel))).sort()) {
    const p = path.join(rel, name);
    const st = await lstat(path.join(dir, p));
    if (st.isSymbolicLink()) out[p] = `link ${await readlink(path.join(dir, p))}`;
    else if (st.isDirectory()) Object.assign(out, { [p]: 'dir' }, await tree(dir, p));
    else out[p] = `file ${st.mtimeMs} ${await readFile(path.join(dir, p), 'utf8')}`;
  }
  return out;
}

describe('NETQ_DOKKU_ROOT', () => {
  it('writes only inside the root, whatever symlinks were planted in it', async () => {
    const dokku = await dokkuLayout();
    const root = { dir: dokku.root };
    const outside = await tempDir();
    temps.push({ remove: dokku.remove }, outside);
    await mkdir(path.join(outside.dir, 'target-dir'));
    await writeFile(path.join(outside.dir, 'secret.txt'), 'do not overwrite\n');
    await writeFile(path.join(outside.dir, 'port.txt'), 'keep me\n');
    const tmpBefore = (await readdir(os.tmpdir())).filter((n) => /^\.?(IP|PORT)\./.test(n));
    const outsideBefore = await tree(outside.dir);

    const e = env({ ...dokku.env, NETQ_BACKOFF_MS: '20' });
    await startPool(configOf(e));

    // 1. the app folder is a symlink to a folder outside: refused, nothing written through it
    const linkedApp = appName('linked');
    await createAppContainer({ app: linkedApp });
    await symlink(path.join(outside.dir, 'target-dir'), path.join(root.dir, linkedApp));
    const linked = await runCli(['network:rebuild', linkedApp, '--timeout', '30'], e);
    expect(linked.code).toBe(1);
    expect(linked.stderr).toMatch(/is not a folder \(a symlink is refused\)/);

    // 2. a dangling app-folder symlink: refused, and its target is not created
    const danglingApp = appName('dangling');
    await createAppContainer({ app: danglingApp });
    await symlink(path.join(outside.dir, 'not-there'), path.join(root.dir, danglingApp));
    const dangling = await runCli(['network:rebuild', danglingApp, '--timeout', '30'], e);
    expect(dangling.code).toBe(1);
    expect(dangling.stderr).toMatch(/is not a folder \(a symlink is refused\)/);
    // refused at once: a planted symlink does not go away by retrying
    const queues = new NetqQueues(configOf(e));
    try {
      const failed = await queues.rebuildQueue('local').getFailed();
      expect(failed.map((j) => [j.data.app, j.attemptsMade]).sort()).toEqual(
        [
          [danglingApp, 1],
          [linkedApp, 1],
        ].sort(),
      );
    } finally {
      await queues.close();
    }

    // 3. files of a real app folder that are symlinks to files outside: replaced by regular files
    const app = appName('files');
    const c = await createAppContainer({ app });
    const dir = path.join(root.dir, app);
    await dokku.register(app, { 'web.1': c.id });
    await symlink(path.join(outside.dir, 'secret.txt'), path.join(dir, 'IP.web.1'));
    await symlink(path.join(outside.dir, 'port.txt'), path.join(dir, 'PORT.web.1'));
    await symlink(path.join(outside.dir, 'secret.txt'), path.join(dir, 'IP.web.9')); // stale: removed
    const ok = await runCli(['network:rebuild', app, '--format', 'json'], e);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ app, configured: 1, failed: 0 });
    const ip = (await c.inspect()).NetworkSettings.Networks.bridge?.IPAddress;
    expect(await readdir(dir)).toEqual(['CONTAINER.web.1', 'IP.web.1', 'PORT.web.1']);
    for (const [name, content] of [
      ['IP.web.1', `${ip}`],
      ['PORT.web.1', '5000'],
    ] as const) {
      const st = await lstat(path.join(dir, name));
      expect(st.isFile() && !st.isSymbolicLink(), name).toBe(true);
      expect(await readFile(path.join(dir, name), 'utf8')).toBe(content);
    }

    // nothing outside the root changed: not the files the links pointed at, not the linked folder
    expect(await tree(outside.dir)).toEqual(outsideBefore);
    expect((await lstat(path.join(root.dir, linkedApp))).isSymbolicLink()).toBe(true);
    expect((await lstat(path.join(root.dir, danglingApp))).isSymbolicLink()).toBe(true);
    expect((await readdir(os.tmpdir())).filter((n) => /^\.?(IP|PORT)\./.test(n))).toEqual(tmpBefore);
  }, 180_000); // three rebuilds through the CLI, two retried to the end
});

describe('secrets', () => {
  it('never shows the Redis password or the API token in any output, errors included', async () => {
    const password = `pw-${randomBytes(12).toString('hex')}`;
    const other = `pw2-${randomBytes(12).toString('hex')}`;
    const redisPort = await freePort();
    const redis = spawn(
      'redis-server',
      [
        '--port',
        String(redisPort),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--requirepass',
        password,
      ],
      { stdio: 'ignore' },
    );
    children.push(redis);
    const redisCli = (pw: string, ...args: string[]) =>
      execFileSync('redis-cli', ['-p', String(redisPort), '-a', pw, '--no-auth-warning', ...args], {
        encoding: 'utf8',
        stdio: 'pipe',
      });
    await until('the password Redis', async () => {
      try {
        return redisCli(password, 'ping').trim() === 'PONG' ? true : undefined;
      } catch {
        return undefined;
      }
    });

    const apiPort = await freePort();
    // not in envs: this Redis is thrown away with its keys, and afterEach must not wait for it
    const e = testEnv({
      REDIS_URL: `redis://:${password}@127.0.0.1:${redisPort}`,
      NETQ_API_TOKEN: TOKEN,
      NETQ_API_LISTEN: `127.0.0.1:${apiPort}`,
      NETQ_SHUTDOWN_GRACE_MS: '2000',
      LOG_LEVEL: 'trace',
    });
    const outputs: string[] = [];
    const start = (args: string[]) => {
      const child = spawn(process.execPath, [path.join(ROOT, 'bin/netq.js'), ...args], {
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', ...e },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      children.push(child);
      const out = { text: '' };
      child.stdout?.on('data', (d) => {
        out.text += d;
      });
      child.stderr?.on('data', (d) => {
        out.text += d;
      });
      return { child, out };
    };
    const worker = start(['worker']);
    const serve = start(['serve']);
    await until(
      'the worker to start',
      async () => (worker.out.text.includes('worker pool started') ? true : undefined),
      60_000,
    );
    await until(
      'netq serve to listen',
      async () => (serve.out.text.includes('netq serve listening') ? true : undefined),
      60_000,
    );

    const app = appName('secret');
    await createAppContainer({ app });
    const cli = async (args: string[], extra: Record<string, string> = {}) => {
      const r = await runCli(args, { ...e, ...extra }, 60_000);
      outputs.push(r.stdout, r.stderr);
      return r;
    };
    expect((await cli(['network:rebuild', app, '--format', 'json'])).code).toBe(0);
    expect((await cli(['network:rebuild', '../etc'])).code).toBe(1);
    expect((await cli(['network:rebuild', app], { NETQ_CONCURRENCY: 'abc' })).code).toBe(1);
    expect((await cli(['network:rebuild', app, '--host', 'nowhere', '--timeout', '1'])).code).toBe(1);
    const gone = await cli(['network:rebuild', app, '--timeout', '2'], {
      REDIS_URL: `redis://:${password}@127.0.0.1:1`,
    });
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(/cannot reach Redis at REDIS_URL=redis:\/\/\*\*\*@127\.0\.0\.1:1/);

    const base = `http://127.0.0.1:${apiPort}`;
    const rebuilt = await call(`${base}/v1/apps/${app}/rebuild`, { method: 'POST' });
    expect(rebuilt.status).toBe(200);
    expect(
      (await call(`${base}/v1/apps/${app}/rebuild`, { method: 'POST', auth: 'Bearer wrong-token-0123456789' })).status,
    ).toBe(401);
    expect((await call(`${base}/v1/apps/..%2Fetc/rebuild`, { method: 'POST' })).status).toBe(400);
    expect((await call(`${base}/metrics`)).status).toBe(200);
    const basic = `Basic ${Buffer.from(`admin:${TOKEN}`).toString('base64')}`;
    expect((await call(`${base}/ui/api/queues`, { auth: basic })).status).toBe(200);
    outputs.push(rebuilt.text);

    // Redis starts refusing the password: every reconnect of the worker and of serve fails and is logged
    redisCli(password, 'config', 'set', 'requirepass', other);
    redisCli(other, 'client', 'kill', 'type', 'normal');
    await until('the worker to log the refused password', async () =>
      /WRONGPASS/.test(worker.out.text) ? true : undefined,
    );
    await until('serve to log the refused password', async () => (/WRONGPASS/.test(serve.out.text) ? true : undefined));
    expect((await call(`${base}/v1/apps/${app}/report`)).status).toBe(503);
    redisCli(other, 'config', 'set', 'requirepass', password);

    for (const p of [worker, serve]) {
      p.child.kill('SIGTERM');
      await until(
        'the process to stop',
        async () => (p.child.exitCode !== null || p.child.signalCode !== null ? true : undefined),
        30_000,
      );
    }
    const all = [worker.out.text, serve.out.text, ...outputs].join('\n');
    // the paths above were taken, and logged
    expect(worker.out.text).toMatch(/rebuilt app/);
    expect(serve.out.text).toMatch(/refused: missing or wrong token/);
    expect(serve.out.text).toMatch(/request refused/);
    const secrets = [
      password,
      encodeURIComponent(password),
      TOKEN,
      Buffer.from(TOKEN).toString('base64'),
      basic.slice('Basic '.length),
    ];
    for (const s of secrets) expect(all.includes(s), `output contains ${s.slice(0, 6)}…`).toBe(false);
  }, 240_000); // a worker, a server, a password Redis and seven CLI runs
});
