import { type ChildProcess, spawn } from 'node:child_process';
import { access, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  appName,
  type CliResult,
  collect,
  configOf,
  createAppContainer,
  producer,
  ROOT,
  tempDir,
  until,
  useTestEnvs,
} from '../helpers.js';

/**
 * netq installed the way a user installs it: `npm pack` in the checkout (its `prepare` builds dist/), then
 * `npm install -g --prefix <empty folder> ./netq-<version>.tgz` (dependencies from npm's cache, else the
 * registry), and the installed `netq` run from a folder that is neither the checkout nor the prefix. Then
 * the systemd unit of contrib/ is checked by `systemd-analyze verify` against that installed binary.
 */

const env = useTestEnvs({ docker: true });
const dirs: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const remove of dirs.splice(0)) await remove();
});

/** Runs a command to its end (SIGKILL after `timeoutMs`), with PATH and HOME kept for npm and node. */
function run(
  cmd: string,
  args: string[],
  opts: { cwd: string; env?: Record<string, string>; timeoutMs?: number },
): Promise<CliResult> {
  const child = spawn(cmd, args, {
    cwd: opts.cwd,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
  return collect(child).finally(() => clearTimeout(timer));
}

/**
 * What npm needs of this machine's environment to reach its registry: the CA bundle of a TLS-inspecting proxy,
 * the proxy itself, npm's own settings. Without them an install that misses npm's cache fails on the
 * certificate (SELF_SIGNED_CERT_IN_CHAIN) and retries until the timeout.
 */
function registryEnv(): Record<string, string> {
  const wanted = /^(NODE_EXTRA_CA_CERTS|SSL_CERT_FILE|SSL_CERT_DIR|npm_config_.+|https?_proxy|no_proxy)$/i;
  return Object.fromEntries(
    Object.entries(process.env).filter((kv): kv is [string, string] => wanted.test(kv[0]) && kv[1] !== undefined),
  );
}

async function scratch(): Promise<string> {
  const { dir, remove } = await tempDir();
  dirs.push(remove);
  return dir;
}

interface Packed {
  filename: string;
  files: { path: string }[];
}

let installed: string | undefined;

describe('the npm package', () => {
  it('packs only what it needs, installs on a clean prefix, and runs from any folder', async () => {
    const out = await scratch();
    const pack = await run('npm', ['pack', '--json', '--pack-destination', out], { cwd: ROOT, timeoutMs: 240_000 });
    expect(pack.code, pack.stderr).toBe(0);
    // npm prints the build's output before the JSON
    const [packed] = JSON.parse(pack.stdout.slice(pack.stdout.indexOf('\n[') + 1)) as Packed[];
    const { version } = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(packed?.filename).toBe(`netq-${version}.tgz`);
    const files = (packed?.files ?? []).map((f) => f.path).sort();
    expect(files).toContain('bin/netq.js');
    expect(files).toContain('dist/bundle/cli.js');
    expect(files).toContain('README.md');
    expect(files).toContain('LICENSE');
    // the bundle and its source maps, the command, package.json, README and a licence: no sources, tests,
    // scripts, docs or tarballs of their own
    for (const f of files)
      expect(f).toMatch(/^(bin\/netq\.js|dist\/bundle\/[\w-]+\.js(\.map)?|package\.json|README\.md|LICENSE)$/);

    const prefix = path.join(out, 'prefix');
    const install = await run(
      'npm',
      [
        'install',
        '-g',
        '--prefix',
        prefix,
        '--prefer-offline',
        '--no-audit',
        '--no-fund',
        path.join(out, packed?.filename ?? ''),
      ],
      { cwd: out, env: registryEnv(), timeoutMs: 300_000 },
    );
    expect(install.code, install.stderr).toBe(0);
    installed = path.join(prefix, 'bin/netq');

    const elsewhere = path.join(out, 'elsewhere');
    await mkdir(elsewhere);
    const help = await run(installed, ['--help'], { cwd: elsewhere });
    expect(help.code, help.stderr).toBe(0);
    expect(help.stdout).toContain('network:rebuildall');
    expect(help.stdout).toContain('worker');

    // the worker starts, beats, and stops on SIGTERM; a rebuildall from the same folder uses it
    const e = env({ LOG_LEVEL: 'info' });
    const worker: ChildProcess = spawn(installed, ['worker'], {
      cwd: elsewhere,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', ...e },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const ended = collect(worker);
    const q = producer(configOf(e));
    try {
      const beats = () => q.redis.zrange(q.keys.workers('local'), '0', '-1', 'WITHSCORES');
      const first = await until('the installed worker to beat', async () => {
        const [id, at] = await beats();
        return id && at ? { id, at: Number(at) } : undefined;
      });
      await until('its next heartbeat', async () => (Number((await beats())[1]) > first.at ? true : undefined), 20_000);

      const app = appName('installed');
      await createAppContainer({ app });
      const all = await run(installed, ['network:rebuildall', '--format', 'json'], { cwd: elsewhere, env: e });
      expect(all.code, all.stderr).toBe(0);
      expect(JSON.parse(all.stdout)).toMatchObject({ containers: 1, configured: 1, failed: 0 });

      worker.kill('SIGTERM');
      const stopped = await Promise.race([
        ended,
        new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 30_000).unref()),
      ]);
      expect(stopped?.code, stopped?.stderr).toBe(0);
      expect(stopped?.stdout).toContain('worker pool stopped');
      // it unregistered: no heartbeat of it is left
      expect(await beats()).toEqual([]);
    } finally {
      worker.kill('SIGKILL');
      await q.close();
    }
  }, 600_000);
});

describe('contrib/netq-worker.service', () => {
  it('passes `systemd-analyze verify` with netq where the unit expects it', async () => {
    expect(installed, 'the package test above installs netq first').toBeDefined();
    const unit = await readFile(path.join(ROOT, 'contrib/netq-worker.service'), 'utf8');
    // the unit is written for the README's install (npm install -g --prefix /usr/local): the same, pointed at
    // the binary installed above, since verify checks that ExecStart can run
    expect(unit).toMatch(/^ExecStart=\/usr\/local\/bin\/netq worker$/m);
    expect(unit).toMatch(/^Restart=on-failure$/m);
    expect(unit).toMatch(/^KillSignal=SIGTERM$/m);
    expect(unit).toMatch(/^EnvironmentFile=/m);
    // at least the worker's default grace on SIGTERM (NETQ_SHUTDOWN_GRACE_MS, 30 s) plus time to close
    const stopSec = Number(unit.match(/^TimeoutStopSec=(\d+)s?$/m)?.[1]);
    expect(stopSec).toBeGreaterThanOrEqual(30 + 10);
    const dir = await scratch();
    const copy = path.join(dir, 'netq-worker.service');
    await writeFile(copy, unit.replace('ExecStart=/usr/local/bin/netq', `ExecStart=${installed}`));
    const res = await run('systemd-analyze', ['verify', copy], { cwd: dir });
    // verify exits 0 on unknown keys and bad values too, and only says so: no output is the pass
    expect(res.stderr + res.stdout).toBe('');
    expect(res.code).toBe(0);

    // and it does catch a mistake: a misspelt key, a binary that is not there
    await writeFile(copy, unit.replace('Restart=on-failure', 'Restart=on-failure\nRestartSecs=5'));
    expect((await run('systemd-analyze', ['verify', copy], { cwd: dir })).stderr).toContain(
      "Unknown key 'RestartSecs'",
    );
    await writeFile(copy, unit);
    if (
      !(await access('/usr/local/bin/netq').then(
        () => true,
        () => false,
      ))
    ) {
      const missing = await run('systemd-analyze', ['verify', copy], { cwd: dir });
      expect(missing.code).not.toBe(0);
      expect(missing.stderr).toContain('/usr/local/bin/netq');
    }
  });
});
