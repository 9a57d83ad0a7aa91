import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RebuildallResult } from '../../src/types.js';
import { ComposeStack } from '../composeStack.js';
import { asDokku, type DokkuHost, ensureDokkuUser, useDokkuHosts } from '../dokkuHost.js';
import { appName, cleanupDocker, collect, docker, freePort, ROOT, runId, scopeLabel, until } from '../helpers.js';

/**
 * docker-compose.yml and the Dockerfile used as a user would, on this machine's engine: the stack is built
 * (from scripts/local-images' stand-ins for node:20 and redis:7, as nothing can be pulled here) and started
 * with two workers beside a Dokku host (test/dokkuHost.ts: its files, a real dokku user, its containers);
 * `docker-compose run --rm worker network:rebuildall` writes Dokku's files, the API answers through its
 * published port, a worker stopped by `docker-compose stop` (SIGTERM) stops cleanly and comes back, and
 * `docker-compose down -v` leaves nothing of the project. The first run builds the stand-ins (minutes);
 * later runs find them.
 */
const dokkuHosts = useDokkuHosts();
afterAll(cleanupDocker);

const fast = { checksMs: 50, waitToRetireMs: 100 };
const IDLE_STATES = ['waiting', 'active', 'delayed', 'prioritized', 'waiting-children'];

/** Runs one of the project's scripts; its stdout, or an error with its stderr. */
function runScript(cmd: string, env: Record<string, string> = {}) {
  const child = spawn(cmd, [], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return collect(child).then((r) => {
    if (r.code !== 0) throw new Error(`${cmd} exited ${r.code}: ${r.stderr.trim()}`);
    return r.stdout;
  });
}

/** `KEY=value` lines of an env file. */
async function readEnvFile(file: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const line of (await readFile(file, 'utf8')).split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) out[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return out;
}

/** Every IP.*, PORT.* file of an app: content, owner, mode. */
async function dokkuFiles(host: DokkuHost, app: string) {
  const dir = host.appRoot(app);
  const out: Record<string, { content: string; uid: number; gid: number; mode: number }> = {};
  for (const name of (await readdir(dir)).filter((n) => /^(IP|PORT)\./.test(n)).sort()) {
    const st = await stat(path.join(dir, name));
    out[name] = {
      content: await readFile(path.join(dir, name), 'utf8'),
      uid: st.uid,
      gid: st.gid,
      mode: st.mode & 0o777,
    };
  }
  return out;
}

/** One sample per line of a Prometheus text page: `name{labels}` -> value. */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

const PREFIX = 'netq-compose-';

describe('docker-compose stack', () => {
  const project = `${PREFIX}${runId}`;
  let stack: ComposeStack;
  let host: DokkuHost;
  let api: string;
  let redisPort: number;
  let token: string;
  let redisPassword: string;
  let apps: string[];
  let dokkuWrote: Record<string, Awaited<ReturnType<typeof dokkuFiles>>>;
  let dokku: { uid: number; gid: number };
  let dockerGid: number;
  let tmp: string;

  const get = (url: string, withToken = true) =>
    fetch(new URL(url, api), {
      headers: withToken ? { authorization: `Bearer ${token}` } : {},
      signal: AbortSignal.timeout(10_000),
    });

  const metrics = async () => samples(await (await get('/metrics')).text());

  /** No job of any queue waiting, running or delayed (the workers' start-up rebuilds done). */
  const waitIdle = () =>
    until(
      'the queues to be idle',
      async () => {
        const m = await metrics();
        const busy = [...m].filter(([k, v]) => k.startsWith('netq_queue_jobs{') && v > 0).map(([k]) => k);
        const pending = busy.filter((k) => IDLE_STATES.some((s) => k.includes(`state="${s}"`)));
        return pending.length === 0 ? true : undefined;
      },
      60_000,
    );

  /** /healthz once it lists `n` workers, all with their Docker event watcher connected. */
  const healthyWith = (n: number) =>
    until(
      `/healthz to show ${n} healthy workers`,
      async () => {
        const res = await get('/healthz', false).catch(() => undefined);
        if (res?.status !== 200) return undefined;
        const body = (await res.json()) as { ok: boolean; workers: { workerId: string; ok: boolean }[] };
        return body.ok && body.workers.length === n && body.workers.every((w) => w.ok) ? body : undefined;
      },
      60_000,
    );

  /** Files gone wrong (a stale IP, a lost file), written by Dokku's user as Dokku would. */
  const breakFiles = async () => {
    const [a, b] = apps;
    expect(
      (await asDokku('printf %s 10.9.9.9 > "$1/IP.web.1"; rm -f "$1/IP.worker.1"', host.appRoot(a ?? ''))).code,
    ).toBe(0);
    expect((await asDokku('rm -f "$1/PORT.web.1"', host.appRoot(b ?? ''))).code).toBe(0);
    for (const app of apps) expect(await dokkuFiles(host, app)).not.toEqual(dokkuWrote[app]);
  };

  const rebuildall = async () => {
    const r = await stack.ok(['run', '--rm', '-T', 'worker', 'network:rebuildall', '--format', 'json'], 120_000);
    return JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '') as RebuildallResult;
  };

  beforeAll(async () => {
    // the base images: built once on this machine, found afterwards
    const started = performance.now();
    const [nodeImage = '', redisImage = ''] = (await runScript('scripts/local-images')).trim().split('\n');
    console.log(`scripts/local-images: ${Math.round(performance.now() - started)} ms`);
    await ComposeStack.sweep(PREFIX);

    dokku = await ensureDokkuUser();
    host = await dokkuHosts();
    apps = [appName('two'), appName('one')];
    await host.deploy(apps[0] ?? '', { ...fast, scale: { web: 2, worker: 1 } });
    await host.deploy(apps[1] ?? '', fast);
    dokkuWrote = {};
    for (const app of apps) dokkuWrote[app] = await dokkuFiles(host, app);

    // the .env a user gets from scripts/compose-env, here in a folder of the test's
    tmp = await mkdtemp(path.join(os.tmpdir(), 'netq-compose-'));
    const envFile = path.join(tmp, 'env');
    await runScript('scripts/compose-env', { COMPOSE_ENV_FILE: envFile, DOKKU_ROOT: host.root });
    const written = await readEnvFile(envFile);
    expect((await stat(envFile)).mode & 0o777).toBe(0o600);
    dockerGid = (await stat('/var/run/docker.sock')).gid;
    expect(written).toMatchObject({ DOCKER_GID: String(dockerGid), NETQ_WORKER_USER: `${dokku.uid}:${dokku.gid}` });
    expect(written.REDIS_PASSWORD).toMatch(/^[0-9a-f]{64}$/);
    token = written.NETQ_API_TOKEN ?? '';
    redisPassword = written.REDIS_PASSWORD ?? '';

    const apiPort = await freePort();
    redisPort = await freePort();
    api = `http://127.0.0.1:${apiPort}`;
    stack = new ComposeStack(project, envFile, {
      NETQ_IMAGE: `${project}:latest`,
      NETQ_NODE_IMAGE: nodeImage,
      NETQ_REDIS_IMAGE: redisImage,
      DOKKU_ROOT: host.root,
      DOKKU_LIB_ROOT: host.libRoot,
      // not the machine's Redis on 6379, nor anything else of the machine
      REDIS_BIND: `127.0.0.1:${redisPort}`,
      NETQ_API_BIND: `127.0.0.1:${apiPort}`,
      // the engine is shared: this run's containers only
      NETQ_SCOPE_LABEL: scopeLabel,
    });
    // built first on its own only for --force-rm: a build that fails leaves no container of its step behind
    const build = await stack.ok(['build', '--force-rm', 'worker'], 900_000);
    const up = await stack.ok(['up', '-d', '--build', '--scale', 'worker=2'], 300_000);
    console.log(
      `docker-compose build: ${Math.round(build.ms)} ms; up -d --build --scale worker=2: ${Math.round(up.ms)} ms`,
    );
  }, 1_200_000);

  afterAll(async () => {
    await stack?.destroy();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  }, 180_000);

  it('runs Redis, two workers and the API, none as root: the workers as Dokku user with the socket group', async () => {
    const running = async (service: string) =>
      (await stack.containers(service)).filter((c) => c.State === 'running').length;
    expect([await running('redis'), await running('worker'), await running('api')]).toEqual([1, 2, 1]);
    const ids = async (service: string, index: number) => {
      const r = await stack.ok(['exec', '-T', '--index', String(index), service, 'sh', '-c', 'id -u; id -g; id -G']);
      const [uid, gid, groups] = r.stdout.trim().split('\n');
      return { uid: Number(uid), gid: Number(gid), groups: (groups ?? '').split(' ').map(Number) };
    };
    for (const index of [1, 2]) {
      const w = await ids('worker', index);
      expect(w).toMatchObject({ uid: dokku.uid, gid: dokku.gid });
      expect(w.groups).toContain(dockerGid);
    }
    expect(await ids('api', 1)).toMatchObject({ uid: 10001, gid: 10001 });
    // Redis is published on the loopback port asked for (not the machine's 6379), and answers only with the password
    const [redis] = await stack.containers('redis');
    expect(redis?.Ports.map((p) => `${p.IP}:${p.PublicPort}`)).toEqual([`127.0.0.1:${redisPort}`]);
    const client = (password?: string) =>
      new Redis({ host: '127.0.0.1', port: redisPort, password, lazyConnect: true, maxRetriesPerRequest: 0 });
    const anonymous = client();
    anonymous.on('error', () => {}); // the refused handshake is also emitted; the rejected ping is what counts
    await expect(anonymous.ping()).rejects.toThrow(/NOAUTH/);
    anonymous.disconnect();
    const authed = client(redisPassword);
    expect(await authed.ping()).toBe('PONG');
    authed.disconnect();
    const health = await healthyWith(2);
    expect(new Set(health.workers.map((w) => w.workerId)).size).toBe(2);
  });

  it("docker-compose run --rm worker network:rebuildall: counts every dyno and rewrites Dokku's files", async () => {
    await waitIdle();
    await breakFiles();
    const result = await rebuildall();
    expect(result).toMatchObject({ apps: 2, containers: 4, configured: 4, failed: 0, hostFailures: [] });
    expect(result.results.map((r) => [r.app, r.containers, r.configured]).sort()).toEqual(
      [
        [apps[0], 3, 3],
        [apps[1], 1, 1],
      ].sort(),
    );
    for (const app of apps) {
      // byte for byte what Dokku wrote, owned by Dokku's user, 0644
      const files = await dokkuFiles(host, app);
      expect(files).toEqual(dokkuWrote[app]);
      for (const f of Object.values(files)) expect(f).toMatchObject({ uid: dokku.uid, gid: dokku.gid, mode: 0o644 });
    }
    expect(Object.keys(dokkuWrote[apps[0] ?? ''] ?? {})).toEqual([
      'IP.web.1',
      'IP.web.2',
      'IP.worker.1',
      'PORT.web.1',
      'PORT.web.2',
    ]);
    // the one-off container is gone
    expect((await stack.containers('worker')).length).toBe(2);
  });

  it('answers /healthz and /metrics through the published port, /metrics only with the token', async () => {
    const health = await get('/healthz', false);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ ok: true, redis: 'ok', problems: [] });
    expect((await get('/metrics', false)).status).toBe(401);
    const res = await get('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const m = samples(await res.text());
    expect(m.get('netq_workers_live{host="local"}')).toBe(2);
    expect(m.get('netq_redis_up')).toBe(1);
    // the rebuildall above: its summary and its two per-app jobs, seen by the API's queue events
    await until('the rebuilds in /metrics', async () => {
      const now = await metrics();
      return (now.get('netq_jobs_completed_total{queue="rebuild.local"}') ?? 0) >= 2 ? true : undefined;
    });
  });

  it('docker-compose stop: the workers stop cleanly on SIGTERM within seconds, come back, and rebuild again', async () => {
    const stop = await stack.ok(['stop', 'worker'], 120_000);
    // the grace period is 30 s: a worker that ignored SIGTERM would hold the stop that long, then be killed
    expect(stop.ms).toBeLessThan(15_000);
    const workers = await stack.containers('worker');
    expect(workers).toHaveLength(2);
    for (const c of workers) {
      const info = await docker.getContainer(c.Id).inspect();
      expect(info.State).toMatchObject({ Status: 'exited', ExitCode: 0, OOMKilled: false });
      const logs = await stack.logs(c.Id);
      expect(logs).toContain('stopping: no new jobs, finishing active ones');
      expect(logs).toContain('worker pool stopped');
      expect(logs).not.toContain('grace period over');
    }
    // a clean stop unregisters: /healthz lists no worker (and says the host has none)
    const down = (await (await get('/healthz', false)).json()) as { ok: boolean; workers: unknown[] };
    expect(down.workers).toEqual([]);

    await stack.ok(['up', '-d', '--scale', 'worker=2'], 300_000);
    await healthyWith(2);
    await waitIdle();
    await breakFiles();
    const result = await rebuildall();
    expect(result).toMatchObject({ apps: 2, containers: 4, configured: 4, failed: 0 });
    for (const app of apps) expect(await dokkuFiles(host, app)).toEqual(dokkuWrote[app]);
  });

  it('docker-compose down -v leaves no container, network or volume of the project', async () => {
    expect(await stack.leftovers()).toMatchObject({
      volumes: [`${project}_redis-data`],
      networks: [`${project}_default`],
    });
    await stack.ok(['down', '-v'], 120_000);
    expect(await stack.leftovers()).toEqual({ containers: [], networks: [], volumes: [] });
    // and the image it built, named for this run, goes with the clean-up
    await stack.destroy();
    expect(await stack.hasImage()).toBe(false);
  });
});
