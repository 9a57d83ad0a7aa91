import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import Docker from 'dockerode';
import { Redis } from 'ioredis';
import { afterAll, afterEach, expect } from 'vitest';
import { type Config, loadConfig } from '../src/config.js';
import { DockerodeEngine } from '../src/docker/dockerodeEngine.js';
import { silentLogger } from '../src/logger.js';
import { NetqQueues } from '../src/queue.js';
import { type PoolOptions, startWorkerPool, type WorkerPool } from '../workers/pool.js';
import { PoolRegistry } from './support/poolRegistry.js';

export const ROOT = path.resolve(import.meta.dirname, '..');
export const IMAGE = 'local/busybox:latest';
export const RUN_LABEL = 'netq.test-run';
export const docker = new Docker();

/** One id per test file run: every container and network a test makes carries it. */
export const runId = randomUUID().slice(0, 8);
export const scopeLabel = `${RUN_LABEL}=${runId}`;

/** A fresh app name, unique on the shared engine. */
let appCounter = 0;
export const appName = (base: string) => `t${runId}-${base}-${++appCounter}`;

/** Environment of a test: its own key prefix, scoped to this run's containers, fast retries. */
export function testEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    NETQ_PREFIX: `test-${randomUUID()}`,
    NETQ_SCOPE_LABEL: scopeLabel,
    NETQ_ATTEMPTS: '3',
    NETQ_BACKOFF_MS: '50',
    LOG_LEVEL: 'silent',
    ...extra,
  };
}

export const configOf = (env: Record<string, string>): Config => loadConfig(env);

export interface ContainerSpec {
  app: string;
  proc?: string;
  index?: number;
  env?: string[];
  networkMode?: string;
  exposed?: number[];
  start?: boolean;
  /** false: no com.dokku.dyno label (the name gives proc and index) */
  dynoLabel?: boolean;
  /** the engine to create it on (default: the machine's) */
  engine?: Docker;
  /** restart policy always: the container comes back with its engine, as Dokku's do */
  restartAlways?: boolean;
  /** host folders bind-mounted into the container (host path -> container path) */
  binds?: Record<string, string>;
  /** container TCP port -> fixed host port, as `docker-options -p 2222:22` would give (also exposed) */
  fixedPorts?: Record<number, number>;
}

/** Creates (and by default starts) a Dokku-labelled busybox container serving HTTP on 5000. */
export async function createAppContainer(spec: ContainerSpec): Promise<Docker.Container> {
  const proc = spec.proc ?? 'web';
  const index = spec.index ?? 1;
  const exposed = spec.exposed ?? [5000];
  const labels: Record<string, string> = {
    'com.dokku.app-name': spec.app,
    'com.dokku.container-type': 'deploy',
    'com.dokku.process-type': proc,
    [RUN_LABEL]: runId,
  };
  if (spec.dynoLabel !== false) labels['com.dokku.dyno'] = `${proc}.${index}`;
  const c = await (spec.engine ?? docker).createContainer({
    name: `${spec.app}.${proc}.${index}`,
    Image: IMAGE,
    Cmd: ['/bin/httpd', '-f', '-p', String(exposed[0] ?? 5000)],
    Env: spec.env ?? [],
    Labels: labels,
    ExposedPorts: Object.fromEntries(
      [...exposed, ...Object.keys(spec.fixedPorts ?? {}).map(Number)].map((p) => [`${p}/tcp`, {}]),
    ),
    // an init process so that SIGTERM stops httpd at once (PID 1 ignores it otherwise)
    HostConfig: {
      NetworkMode: spec.networkMode ?? 'bridge',
      Init: true,
      ...(spec.restartAlways ? { RestartPolicy: { Name: 'always' } } : {}),
      ...(spec.fixedPorts
        ? {
            PortBindings: Object.fromEntries(
              Object.entries(spec.fixedPorts).map(([c, h]) => [
                `${c}/tcp`,
                [{ HostIp: '127.0.0.1', HostPort: String(h) }],
              ]),
            ),
          }
        : {}),
      ...(spec.binds
        ? { Mounts: Object.entries(spec.binds).map(([Source, Target]) => ({ Type: 'bind' as const, Source, Target })) }
        : {}),
    },
  });
  if (spec.start !== false) await c.start();
  return c;
}

export async function createTestNetwork(name: string): Promise<Docker.Network> {
  return docker.createNetwork({ Name: name, Driver: 'bridge', Attachable: true, Labels: { [RUN_LABEL]: runId } });
}

/** Removes every container and network of this run. */
export async function cleanupDocker(): Promise<void> {
  const filters = { label: [scopeLabel] };
  const containers = await docker.listContainers({ all: true, filters });
  await Promise.all(
    containers.map((c) =>
      docker
        .getContainer(c.Id)
        .remove({ force: true })
        .catch(() => {}),
    ),
  );
  const networks = await docker.listNetworks({ filters });
  await Promise.all(
    networks.map((n) =>
      docker
        .getNetwork(n.Id)
        .remove()
        .catch(() => {}),
    ),
  );
}

/** Deletes every Redis key under a test's prefix. */
export async function cleanupPrefix(config: Config): Promise<void> {
  const redis = new Redis(config.redisUrl);
  try {
    const keys = await redis.keys(`${config.prefix}*`);
    for (let i = 0; i < keys.length; i += 500) await redis.del(...keys.slice(i, i + 500));
  } finally {
    redis.disconnect();
  }
}

export async function countKeys(config: Config): Promise<number> {
  const redis = new Redis(config.redisUrl);
  try {
    return (await redis.keys(`${config.prefix}*`)).length;
  } finally {
    redis.disconnect();
  }
}

/**
 * Per-test environments for a test file: each call gives a fresh prefix; after each test the pools are
 * closed (and checked closed), the run's containers removed (with `docker`), and the prefixes' keys deleted.
 */
export function useTestEnvs(opts: { docker?: boolean } = {}) {
  const envs: Record<string, string>[] = [];
  afterEach(async () => {
    await closePools();
    expect(openPools()).toBe(0);
    if (opts.docker) await cleanupDocker();
    for (const e of envs.splice(0)) await cleanupPrefix(configOf(e));
  });
  afterAll(cleanupDocker);
  return (extra: Record<string, string> = {}) => {
    const e = testEnv(extra);
    envs.push(e);
    return e;
  };
}

/**
 * Pools started by a test: `closePools` in afterEach closes them, and `openPools` counts those still open
 * for real (a worker not closed, a watcher still running: test/support/poolRegistry.ts), so the leak check
 * `await closePools(); expect(openPools()).toBe(0)` fails when a pool is left open.
 */
const pools = new PoolRegistry<WorkerPool>();
export async function startPool(config: Config, opts: Partial<PoolOptions> = {}): Promise<WorkerPool> {
  // tests that are not about Docker events leave the watcher off, so no host rebuild runs beside them
  const pool = await startWorkerPool({ config, logger: silentLogger(), watchEvents: false, ...opts });
  pools.track(pool);
  return pool;
}
/**
 * Pools whose per-app jobs all fail for good: the scan and summary run on a worker that reaches Docker,
 * the rebuilds on one whose socket is dead.
 */
export async function startPoolsWithDeadRebuilds(config: Config): Promise<void> {
  await startPool(config, { roles: ['scan', 'summary'] });
  await startPool(config, {
    roles: ['rebuild'],
    docker: new DockerodeEngine('unix:///nonexistent/docker.sock', scopeLabel),
  });
}

export async function closePools(): Promise<void> {
  await pools.closeAll();
}
export const openPools = (): number => pools.open();

export function producer(config: Config): NetqQueues {
  return new NetqQueues(config);
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** What a child process printed and how it ended, once it has closed. */
export function collect(child: ChildProcess): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d) => {
      stdout += d;
    });
    child.stderr?.on('data', (d) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** Runs the built `netq` binary as a user would. */
export function runCli(
  args: string[],
  env: Record<string, string>,
  timeoutMs = 60_000,
  input?: string,
): Promise<CliResult> {
  const child = spawn(process.execPath, [path.join(ROOT, 'bin/netq.js'), ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', ...env },
    stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
  if (input !== undefined) {
    child.stdin?.on('error', () => {});
    child.stdin?.end(input);
  }
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return collect(child).then((res) => {
    clearTimeout(timer);
    if (res.code === -1 && child.signalCode === 'SIGKILL') {
      throw new Error(`netq ${args.join(' ')} did not finish in ${timeoutMs} ms\n${res.stderr}`);
    }
    return res;
  });
}

/**
 * Runs the built `netq` binary on a pseudo-terminal (util-linux `script`), typing `input` at it: its stdin,
 * stdout and stderr are all the terminal, so `stdout` holds both streams as the terminal showed them (with
 * `\r\n` line ends) and `stderr` is empty.
 */
export function runCliOnTty(args: string[], env: Record<string, string>, input = ''): Promise<CliResult> {
  const quote = (a: string) => `'${a.replaceAll("'", "'\\''")}'`;
  const cmd = [process.execPath, path.join(ROOT, 'bin/netq.js'), ...args].map(quote).join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qec', cmd, '/dev/null'], {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`netq ${args.join(' ')} on a tty did not finish\n${stdout}`));
    }, 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr: '' });
    });
    child.stdin.end(input);
  });
}

export async function tempDir(): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'netq-test-'));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** Polls until fn returns a value other than undefined, or fails at the deadline. */
export async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Runs a one-shot busybox command on a network and returns its exit code and output. */
export async function probe(network: string, cmd: string[]): Promise<{ code: number; output: string }> {
  const c = await docker.createContainer({
    Image: IMAGE,
    Cmd: cmd,
    Labels: { [RUN_LABEL]: runId },
    HostConfig: { NetworkMode: network },
  });
  try {
    await c.start();
    const { StatusCode } = (await c.wait()) as { StatusCode: number };
    const logs = (await c.logs({ stdout: true, stderr: true })) as unknown as Buffer;
    // strip Docker's 8-byte stream frame headers
    let output = '';
    for (let i = 0; i + 8 <= logs.length; ) {
      const len = logs.readUInt32BE(i + 4);
      output += logs.subarray(i + 8, i + 8 + len).toString();
      i += 8 + len;
    }
    return { code: StatusCode, output };
  } finally {
    await c.remove({ force: true }).catch(() => {});
  }
}

/** Reads one app's stored network config the way network:report does. */
export async function storedListeners(config: Config, app: string, host = 'local'): Promise<string[]> {
  const redis = new Redis(config.redisUrl);
  try {
    const raw = await redis.hget(`${config.prefix}:netconfig`, `${app}/${host}`);
    if (!raw) return [];
    return Object.values((JSON.parse(raw) as { listeners: Record<string, string[]> }).listeners).flat();
  } finally {
    redis.disconnect();
  }
}

/** A TCP port on 127.0.0.1 that nothing listens on right now (for a private Redis of a test). */
export async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', resolve);
  });
  const { port } = srv.address() as net.AddressInfo;
  await new Promise((resolve) => srv.close(resolve));
  return port;
}

/**
 * A bare Dokku layout (root and lib root) for containers a test made itself: `register` records an app as
 * Dokku's deploy would have (its folder, scale, deployed marker and CONTAINER files). For Dokku's own deploy
 * sequence, with its user and its renames, use test/dokkuHost.ts.
 */
export async function dokkuLayout(): Promise<{
  root: string;
  libRoot: string;
  env: Record<string, string>;
  register(app: string, dynos: Record<string, string>): Promise<void>;
  remove(): Promise<void>;
}> {
  const t = await tempDir();
  const root = path.join(t.dir, 'home');
  const libRoot = path.join(t.dir, 'lib');
  await mkdir(root);
  await mkdir(libRoot);
  return {
    root,
    libRoot,
    env: { NETQ_DOKKU_ROOT: root, NETQ_DOKKU_LIB_ROOT: libRoot },
    async register(app, dynos) {
      await mkdir(path.join(root, app), { recursive: true });
      const counts = new Map<string, number>();
      for (const dyno of Object.keys(dynos)) {
        const [proc, n] = dyno.split('.');
        counts.set(proc ?? '', Math.max(counts.get(proc ?? '') ?? 0, Number(n)));
      }
      await mkdir(path.join(libRoot, 'config/ps', app), { recursive: true });
      await writeFile(
        path.join(libRoot, 'config/ps', app, 'scale'),
        [...counts].map(([p, c]) => `${p}=${c}\n`).join(''),
      );
      await mkdir(path.join(libRoot, 'config/common', app), { recursive: true });
      await writeFile(path.join(libRoot, 'config/common', app, 'deployed'), 'true');
      for (const [dyno, id] of Object.entries(dynos)) {
        await writeFile(path.join(root, app, `CONTAINER.${dyno}`), `${id}\n`);
      }
    },
    remove: t.remove,
  };
}

/** Runs one of netq's Dokku triggers (hooks/<name>) with its arguments, as plugn would (NETQ_BIN set). */
export function runHook(
  name: string,
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; stderr: string; ms: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(path.join(ROOT, 'hooks', name), args, {
      env: { PATH: process.env.PATH ?? '', NETQ_BIN: `${process.execPath} ${path.join(ROOT, 'bin/netq.js')}`, ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stderr, ms: performance.now() - started }));
  });
}
