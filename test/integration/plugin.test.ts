import { execFile } from 'node:child_process';
import { chmod, lstat, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readProperties, writeProperty } from '../../src/store/propertyStore.js';
import { asDokku, DokkuHost, ensureDokkuUser, type ShResult } from '../dokkuHost.js';
import { appName, configOf, docker, producer, ROOT, startPool, testEnv, until, useTestEnvs } from '../helpers.js';

/**
 * netq's Dokku plugin as Dokku runs it: the tarball of `npm run plugin` unpacked and enabled the way plugn
 * installs it, its triggers run the way `plugn trigger` runs them and its commands the way `dokku` dispatches
 * them (subcommands/, then every plugin's `commands`), with the environment Dokku gives, as the dokku user,
 * beside a simulated Dokku host (test/dokkuHost.ts).
 */
const env = useTestEnvs({ docker: true });
const exec = promisify(execFile);
const fast = { checksMs: 50, waitToRetireMs: 100 };
const NETQ_BIN = `/usr/bin/node ${path.join(ROOT, 'bin/netq.js')}`;

/** Triggers whose output Dokku reads: the core network plugin answers them, and netq must never. */
const QUERY_TRIGGERS = [
  'network-config-exists',
  'network-get-ipaddr',
  'network-get-listeners',
  'network-get-property',
  'network-get-static-listeners',
  'docker-args-process-build',
  'docker-args-process-deploy',
  'docker-args-process-run',
];
const EVENT_TRIGGERS = [
  'core-post-deploy',
  'install',
  'post-app-clone-setup',
  'post-app-rename-setup',
  'post-container-create',
  'post-delete',
  'post-deploy',
  'report',
];
const SUBCOMMANDS = ['default', 'help', 'hosts', 'rebuild', 'rebuildall', 'report'];

let work: string;
let tarball: string;
let pluginPath: string;

beforeAll(async () => {
  await ensureDokkuUser();
  work = await mkdtemp(path.join(os.tmpdir(), 'netq-plugn-'));
  await chmod(work, 0o755);
  // the build is left to the caller (`npm run build` before the tests): other work may be under way in src/
  const { stdout } = await exec(
    'npm',
    ['run', '--silent', 'plugin', '--', '--out', path.join(work, 'dist'), '--no-build'],
    {
      cwd: ROOT,
    },
  );
  tarball = stdout.trim().split('\n').at(-1) ?? '';
  // plugn install <url> netq: the tarball unpacked into available/netq; plugn enable: the symlink
  pluginPath = path.join(work, 'plugins');
  const available = path.join(pluginPath, 'available', 'netq');
  await mkdir(available, { recursive: true });
  await mkdir(path.join(pluginPath, 'enabled'));
  await exec('tar', ['-xzf', tarball, '-C', available]);
  await symlink(available, path.join(pluginPath, 'enabled', 'netq'));
  for (const d of [pluginPath, path.join(pluginPath, 'available'), path.join(pluginPath, 'enabled')]) {
    await chmod(d, 0o755);
  }
});

const hosts: DokkuHost[] = [];
afterEach(async () => {
  await Promise.all(hosts.splice(0).map((h) => h.remove()));
});
afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

async function dokkuHost(): Promise<DokkuHost> {
  const h = await DokkuHost.create();
  hosts.push(h);
  return h;
}

/** The environment `dokku` exports to plugins (the dokku script's defaults, on the simulated host). */
function dokkuEnv(host: DokkuHost): Record<string, string> {
  return {
    DOKKU_ROOT: host.root,
    DOKKU_LIB_ROOT: host.libRoot,
    PLUGIN_PATH: pluginPath,
    PLUGIN_AVAILABLE_PATH: path.join(pluginPath, 'available'),
    PLUGIN_ENABLED_PATH: path.join(pluginPath, 'enabled'),
    PLUGIN_CORE_PATH: path.join(host.libRoot, 'core-plugins'),
    PLUGIN_CORE_AVAILABLE_PATH: path.join(host.libRoot, 'core-plugins', 'available'),
    DOKKU_SYSTEM_USER: 'dokku',
    DOKKU_SYSTEM_GROUP: 'dokku',
    DOKKU_API_VERSION: '1',
    DOKKU_NOT_IMPLEMENTED_EXIT: '10',
    DOKKU_VALID_EXIT: '0',
  };
}

/** What the plugin gets on the simulated host: Dokku's environment, netq's command, and the test's netq settings. */
function pluginEnv(host: DokkuHost, e: Record<string, string>): Record<string, string> {
  return { ...dokkuEnv(host), NETQ_BIN, ...e };
}

const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;
const exportsOf = (vars: Record<string, string>) =>
  Object.entries(vars)
    .map(([k, v]) => `export ${k}=${quote(v)}`)
    .join('\n');

/** `plugn trigger <hook> <args…>` as user dokku: every enabled plugin's executable <hook>, with the args. */
function plugn(vars: Record<string, string>, hook: string, ...args: string[]): Promise<ShResult> {
  return asDokku(
    `${exportsOf(vars)}
cd /
hook=$1; shift
for plugin in "$PLUGIN_PATH"/enabled/*; do
  if [ -f "$plugin/$hook" ]; then "$plugin/$hook" "$@" || exit $?; fi
done`,
    hook,
    ...args,
  );
}

/**
 * `dokku <command> <args…>` as user dokku, dispatched as the dokku script's execute_dokku_cmd does for a
 * plugin that is not a core plugin (`help` as its help case does): subcommands/default of the command's
 * plugin, subcommands/<command>, subcommands/<part after the colon>, else every plugin's `commands`, where
 * DOKKU_NOT_IMPLEMENTED_EXIT means "not mine".
 */
function dokku(vars: Record<string, string>, ...args: string[]): Promise<ShResult> {
  return asDokku(
    `${exportsOf(vars)}
cd /
if [ "$1" = help ]; then
  for script in "$PLUGIN_ENABLED_PATH"/*/commands; do "$script" help; done
  exit 0
fi
cmd=$1
if [ -x "$PLUGIN_ENABLED_PATH/$cmd/subcommands/default" ]; then exec "$PLUGIN_ENABLED_PATH/$cmd/subcommands/default" "$@"; fi
if [ -x "$PLUGIN_ENABLED_PATH/$cmd/subcommands/$cmd" ]; then exec "$PLUGIN_ENABLED_PATH/$cmd/subcommands/$cmd" "$@"; fi
sub=\${cmd#*:}
if [ -n "$sub" ] && [ -x "$PLUGIN_ENABLED_PATH/\${cmd%%:*}/subcommands/$sub" ]; then
  exec "$PLUGIN_ENABLED_PATH/\${cmd%%:*}/subcommands/$sub" "$@"
fi
implemented=0
for script in "$PLUGIN_ENABLED_PATH"/*/commands; do
  "$script" "$@"
  rc=$?
  [ "$rc" -eq "$DOKKU_NOT_IMPLEMENTED_EXIT" ] && continue
  implemented=1
  [ "$rc" -ne 0 ] && exit "$rc"
done
if [ "$implemented" -eq 0 ]; then
  echo " !     \\\`$*\\\` is not a dokku command." >&2
  exit 1
fi`,
    ...args,
  );
}

/** Waits until this host's worker counts as live (its heartbeat), as `dokku netq:hosts` shows it. */
async function untilLive(vars: Record<string, string>): Promise<void> {
  await until('a live worker', async () => {
    const res = await dokku(vars, 'netq:hosts', '--format', 'json');
    if (res.code !== 0) return undefined;
    return (JSON.parse(res.stdout) as { host: string; live: boolean }[]).some((h) => h.host === 'local' && h.live)
      ? true
      : undefined;
  });
}

/** The apps of the rebuilds waiting (debounced) on a host's queue. */
async function queuedApps(e: Record<string, string>, host = 'local'): Promise<string[]> {
  const q = producer(configOf(e));
  try {
    return (await q.rebuildQueue(host).getJobs(['waiting', 'delayed'])).map((j) => j.data.app).sort();
  } finally {
    await q.close();
  }
}

async function mirrored(e: Record<string, string>, scope: string): Promise<Record<string, string>> {
  const q = producer(configOf(e));
  try {
    const raw = await readProperties(q.redis, q.keys, scope);
    return { ...(scope === '--global' ? raw.global : raw.app) } as Record<string, string>;
  } finally {
    await q.close();
  }
}

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await filesUnder(full)));
    else out.push(full);
  }
  return out;
}

describe("netq's Dokku plugin", () => {
  it('packs into a tarball plugn installs: plugin.toml from package.json, executable scripts, no query trigger', async () => {
    const pkg = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')) as {
      name: string;
      version: string;
      description: string;
    };
    expect(path.basename(tarball)).toBe(`netq-dokku-plugin-${pkg.version}.tgz`);
    // files at the top level (plugn keeps them as the plugin's folder), owned by root, no bundled netq
    const listing = (await exec('tar', ['-tzf', tarball])).stdout.trim().split('\n').sort();
    expect(listing).toEqual(
      [
        ...EVENT_TRIGGERS,
        'commands',
        'help-functions',
        'lib.sh',
        'plugin.toml',
        'subcommands/',
        ...SUBCOMMANDS.map((s) => `subcommands/${s}`),
      ].sort(),
    );
    expect((await exec('tar', ['-tvzf', tarball])).stdout).not.toMatch(/^\S+ (?!0\/0 )/m);

    const dir = path.join(pluginPath, 'enabled', 'netq');
    expect((await lstat(dir)).isSymbolicLink()).toBe(true);
    const toml = await readFile(path.join(dir, 'plugin.toml'), 'utf8');
    expect(toml).toBe(
      `[plugin]\nname = "${pkg.name}"\ndescription = ${JSON.stringify(pkg.description)}\nversion = "${pkg.version}"\n[plugin.config]\n`,
    );
    for (const name of [...EVENT_TRIGGERS, 'commands', ...SUBCOMMANDS.map((s) => `subcommands/${s}`)]) {
      expect((await stat(path.join(dir, name))).mode & 0o777, name).toBe(0o755);
      // the dokku user runs it
      expect((await asDokku('test -x "$1"', path.join(dir, name))).code, name).toBe(0);
    }
    // the only executables at the top level are the event triggers and `commands`
    const top = await readdir(dir, { withFileTypes: true });
    const executables: string[] = [];
    for (const f of top) {
      if (f.isFile() && (await stat(path.join(dir, f.name))).mode & 0o111) executables.push(f.name);
    }
    expect(executables.sort()).toEqual([...EVENT_TRIGGERS, 'commands'].sort());
    // no query trigger, by name or in any script, in the plugin or in its source folder
    for (const file of [...(await filesUnder(dir)), ...(await filesUnder(path.join(ROOT, 'hooks')))]) {
      expect(path.basename(file)).not.toMatch(/^(network-get-|network-config-exists|docker-args-)/);
      const text = await readFile(file, 'utf8');
      for (const q of QUERY_TRIGGERS) expect(text, `${file} mentions ${q}`).not.toContain(q);
    }
  });

  it('event triggers queue the rebuilds of a deploy and nothing else, and return at once', async () => {
    const host = await dokkuHost();
    const e = env();
    const vars = pluginEnv(host, e);
    const [a, b, c] = [appName('deployed'), appName('core'), appName('created')];
    const [clone, renamed] = [appName('clone'), appName('renamed')];
    for (const app of [a, b, c]) await host.createApp(app);
    const cases: [string, string[], string[]][] = [
      // plugn trigger post-deploy "$APP" "$DOKKU_PORT" "$DOKKU_IP" "$IMAGE_TAG"
      ['post-deploy', [a, '5000', '172.17.0.2', 'latest'], [a]],
      ['core-post-deploy', [b, '5000', '172.17.0.3', 'latest'], [b]],
      // scheduler-deploy-process-container: post-container-create "app" "$cid" "$APP" "deploy" "$PROC_TYPE"
      ['post-container-create', ['app', 'f00d', c, 'deploy', 'web'], [c]],
      // scheduler-run and builder-herokuish: not a dyno
      ['post-container-create', ['app', 'f00e', a, 'run'], []],
      ['post-container-create', ['app', 'f00f', b, 'build'], []],
      ['post-app-clone-setup', [a, clone], []],
      ['post-app-rename-setup', [b, renamed], []],
      ['post-delete', [renamed, 'latest'], []],
    ];
    for (const [hook, args, apps] of cases) {
      const before = new Set(await queuedApps(e));
      const started = performance.now();
      const res = await plugn(vars, hook, ...args);
      expect(res, hook).toMatchObject({ code: 0, stderr: '', stdout: '' });
      expect(performance.now() - started, hook).toBeLessThan(5_000);
      expect(
        (await queuedApps(e)).filter((app) => !before.has(app)),
        `${hook} ${args.join(' ')}`,
      ).toEqual(apps);
    }
    // queued for this host (NETQ_HOST_ID's default), nothing anywhere else
    const q = producer(configOf(e));
    try {
      const jobs = await q.rebuildQueue('local').getJobs(['waiting', 'delayed']);
      expect(jobs.map((j) => j.data.host)).toEqual(['local', 'local', 'local']);
    } finally {
      await q.close();
    }
  });

  it("keeps Redis's mirror right through clone, rename and delete in Dokku mode, as Dokku runs them", async () => {
    const host = await dokkuHost();
    const e = env();
    const vars = pluginEnv(host, e);
    const [a, clone, renamed] = [appName('orig'), appName('clone'), appName('renamed')];
    await host.createApp(a);
    await host.setProperty(a, 'tld', 'svc.example');
    // what a rebuild of the app mirrored
    const q = producer(configOf(e));
    try {
      await writeProperty(q.redis, q.keys, a, 'tld', 'svc.example');
    } finally {
      await q.close();
    }

    // dokku apps:clone: Dokku's plugins clone the files; netq's trigger touches nothing and queues nothing
    await host.cloneApp(a, clone, { skipDeploy: true });
    expect(await plugn(vars, 'post-app-clone-setup', a, clone)).toMatchObject({ code: 0, stderr: '' });
    expect(await mirrored(e, clone)).toEqual({});
    expect(await host.getProperty(clone, 'tld')).toBe('svc.example');
    expect(await mirrored(e, a)).toEqual({ tld: 'svc.example' });

    // dokku apps:rename: the mirror moves with the app
    await host.renameApp(a, renamed, { skipDeploy: true });
    expect(await plugn(vars, 'post-app-rename-setup', a, renamed)).toMatchObject({ code: 0, stderr: '' });
    expect(await mirrored(e, renamed)).toEqual({ tld: 'svc.example' });
    expect(await mirrored(e, a)).toEqual({});

    // dokku apps:destroy: forgotten
    await host.deleteApp(renamed);
    expect(await plugn(vars, 'post-delete', renamed, 'latest')).toMatchObject({ code: 0, stderr: '' });
    expect(await mirrored(e, renamed)).toEqual({});
    expect(await queuedApps(e)).toEqual([]);
  });

  it("install writes the settings file, checks netq and Redis, and mirrors every app's properties", async () => {
    const host = await dokkuHost();
    const e = env(host.env());
    const [a, b] = [appName('one'), appName('two')];
    await host.createApp(a);
    await host.createApp(b);
    await host.setProperty(a, 'tld', 'a.example');
    await host.setProperty(b, 'attach-post-deploy', ['net-one', 'net-two']);
    await host.setProperty('--global', 'tld', 'global.example');
    // the worker of this host, in Dokku mode
    await startPool(configOf(e));
    // the plugin itself is not told NETQ_DOKKU_ROOT: it runs netq in Dokku mode from Dokku's own roots
    const { NETQ_DOKKU_ROOT: _r, NETQ_DOKKU_LIB_ROOT: _l, ...settings } = e;
    await untilLive(pluginEnv(host, settings));
    const res = await plugn(pluginEnv(host, settings), 'install');
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/-----> netq: queued a rebuild of every app/);
    for (const [scope, want] of [
      [a, { tld: 'a.example' }],
      [b, { 'attach-post-deploy': 'net-one,net-two' }],
      ['--global', { tld: 'global.example' }],
    ] as const) {
      await until(`the mirror of ${scope}`, async () =>
        JSON.stringify(await mirrored(e, scope)) === JSON.stringify(want) ? true : undefined,
      );
    }

    // the settings file: Dokku's user's, 0600, with what the install was given and commented defaults
    const file = path.join(host.libRoot, 'config', 'netq', 'ENV');
    const { uid } = await ensureDokkuUser();
    expect(await stat(file)).toMatchObject({ uid });
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const written = await readFile(file, 'utf8');
    expect(written).toContain(`\nNETQ_BIN=${NETQ_BIN}\n`);
    expect(written).toContain(`\nNETQ_PREFIX=${e.NETQ_PREFIX}\n`);
    expect(written).toContain('\n# NETQ_HOST_ID=local\n');
    expect(written).toContain(`\n# NETQ_DOKKU_ROOT=${host.root}\n`);
    // a second install leaves an existing file alone
    expect((await plugn(pluginEnv(host, settings), 'install')).code).toBe(0);
    expect(await readFile(file, 'utf8')).toBe(written);
  });

  it('install and report never fail: Redis down, netq missing, no worker', async () => {
    const host = await dokkuHost();
    const app = appName('app');
    await host.createApp(app);
    // (testEnv: nothing is written there, and no clean-up may connect to it)
    const down = pluginEnv(host, testEnv({ REDIS_URL: 'redis://127.0.0.1:1' }));
    const missing = pluginEnv(host, { ...env(), NETQ_BIN: '/nonexistent/netq' });
    const idle = pluginEnv(host, env());
    const [installDown, reportDown, installMissing, reportMissing, installIdle] = await Promise.all([
      plugn(down, 'install'),
      plugn(down, 'report', app),
      plugn(missing, 'install'),
      plugn(missing, 'report', app),
      plugn(idle, 'install'),
    ]);
    expect(installDown.code).toBe(0);
    expect(installDown.stderr).toMatch(/^ ! {5}netq: cannot reach Redis at REDIS_URL=redis:\/\/127\.0\.0\.1:1/m);
    expect(installMissing.code).toBe(0);
    expect(installMissing.stderr).toMatch(/^ ! {5}netq: cannot run NETQ_BIN=\/nonexistent\/netq/m);
    expect(installIdle.code).toBe(0);
    expect(installIdle.stderr).toMatch(/^ ! {5}netq: no worker of host local is running/m);
    for (const [res, status] of [
      [reportDown, /^ {7}Netq status: +unreachable: /m],
      [reportMissing, /^ {7}Netq status: +cannot run NETQ_BIN=\/nonexistent\/netq$/m],
    ] as const) {
      expect(res.code).toBe(0);
      expect(res.stderr).toBe('');
      expect(res.stdout).toMatch(new RegExp(`^=====> ${app} netq information$`, 'm'));
      expect(res.stdout).toMatch(status);
    }
  });

  it('dokku netq:* runs netq with the host settings, and `dokku report` gets a netq section', async () => {
    const host = await dokkuHost();
    const e = env(host.env());
    const { NETQ_DOKKU_ROOT: _r, NETQ_DOKKU_LIB_ROOT: _l, ...settings } = e;
    const vars = pluginEnv(host, settings);
    const app = appName('web');
    await host.createApp(app);
    await host.setProperty(app, 'tld', 'svc.example');
    const { current } = await host.deploy(app, fast);
    await startPool(configOf(e));
    await untilLive(vars);

    // help: `dokku netq`, `dokku netq:help`, and the line in `dokku help`
    const help = await dokku(vars, 'netq');
    expect(help).toMatchObject({ code: 0, stderr: '' });
    expect(help.stdout).toMatch(/^Usage: dokku netq\[:COMMAND\]$/m);
    for (const cmd of ['netq:help', 'netq:hosts', 'netq:rebuild <app>', 'netq:rebuildall', 'netq:report']) {
      expect(help.stdout).toContain(`    ${cmd}`);
    }
    expect((await dokku(vars, 'netq:help')).stdout).toBe(help.stdout);
    expect((await dokku(vars, 'help')).stdout).toMatch(/^ {4}netq, \S/m);

    // an unknown subcommand is not netq's: Dokku says so
    const unknown = await dokku(vars, 'netq:bogus', app);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain(`\`netq:bogus ${app}\` is not a dokku command.`);
    const commands = path.join(pluginPath, 'enabled', 'netq', 'commands');
    for (const cmd of ['netq:bogus', 'apps:list', 'network:rebuild']) {
      expect((await asDokku(`${exportsOf(vars)}\nexec "$@"`, commands, cmd)).code, cmd).toBe(10);
    }

    // netq:rebuild: Dokku's checks, then netq's rebuild on this host
    expect(await dokku(vars, 'netq:rebuild')).toMatchObject({
      code: 1,
      stderr: ' !     Please specify an app to run the command on\n',
    });
    const ghost = appName('ghost');
    expect(await dokku(vars, 'netq:rebuild', ghost)).toMatchObject({
      code: 20,
      stderr: ` !     App ${ghost} does not exist\n`,
    });
    const rebuilt = await dokku(vars, 'netq:rebuild', app, '--format', 'json');
    expect(rebuilt.stderr).toBe('');
    expect(rebuilt.code).toBe(0);
    expect(JSON.parse(rebuilt.stdout)).toMatchObject({ app, host: 'local', containers: 1, configured: 1, failed: 0 });
    const id = current['web.1'] ?? '';
    const ip = (await docker.getContainer(id).inspect()).NetworkSettings.Networks.bridge?.IPAddress ?? '';
    expect(await host.ipFiles(app)).toEqual({ 'web.1': ip });
    const queued = await dokku(vars, 'netq:rebuild', app, '--no-wait');
    expect(queued.code).toBe(0);
    const q = producer(configOf(e));
    try {
      const job = await q.rebuildQueue('local').getJob(queued.stdout.trim());
      expect(job?.data).toMatchObject({ app, host: 'local' });
    } finally {
      await q.close();
    }

    // netq:rebuildall, netq:report (Dokku mode: the property files), netq:hosts
    const all = await dokku(vars, 'netq:rebuildall', '--format', 'json');
    expect(all.code).toBe(0);
    expect(JSON.parse(all.stdout)).toMatchObject({ apps: 1, containers: 1, configured: 1, failed: 0 });
    const report = await dokku(vars, 'netq:report', app, '--format', 'json');
    expect(report.code).toBe(0);
    expect(JSON.parse(report.stdout)).toMatchObject({ tld: 'svc.example', 'web-listeners': `${ip}:5000` });
    expect((await dokku(vars, 'netq:report', app, '--network-tld')).stdout).toBe('svc.example\n');
    expect(await dokku(vars, 'netq:report', ghost)).toMatchObject({ code: 20 });
    const listed = await dokku(vars, 'netq:hosts');
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/^=====> Hosts$/m);
    expect(listed.stdout).toMatch(/^ {7}local +yes +1 /m);

    // dokku report <app>: netq's section after the others, Dokku-styled
    const section = await plugn(vars, 'report', app);
    expect(section).toMatchObject({ code: 0, stderr: '' });
    expect(section.stdout).toBe(
      [
        `=====> ${app} netq information`,
        `       ${'Netq drift:'.padEnd(31)}`,
        `       ${'Netq host:'.padEnd(31)}local`,
        `       ${'Netq status:'.padEnd(31)}ok`,
        `       ${'Netq web listeners:'.padEnd(31)}${ip}:5000`,
        `       ${'Netq workers:'.padEnd(31)}1 live`,
        '',
      ].join('\n'),
    );
  });

  it("reads the host's settings from the plugin's ENV file; Dokku's environment wins over it", async () => {
    const host = await dokkuHost();
    const e = env();
    const app = appName('app');
    await host.createApp(app);
    // written as the install leaves it: Dokku's user's, 0600
    const lines = [
      '# netq settings',
      `export NETQ_BIN="${NETQ_BIN}"`,
      `REDIS_URL='${e.REDIS_URL}'`,
      `NETQ_PREFIX=${e.NETQ_PREFIX}`,
      'NETQ_HOST_ID=from-file',
      'PATH=/nonexistent', // not netq's: ignored
      '',
    ];
    const written = await asDokku(
      'mkdir -p "$1" && umask 077 && printf %s "$2" > "$1/ENV"',
      path.join(host.libRoot, 'config', 'netq'),
      lines.join('\n'),
    );
    expect(written.code).toBe(0);
    const res = await plugn(dokkuEnv(host), 'post-deploy', app);
    expect(res).toMatchObject({ code: 0, stderr: '' });
    expect(await queuedApps(e, 'from-file')).toEqual([app]);
    // a value in Dokku's environment (/etc/default/dokku, dokkurc) wins
    const other = appName('other');
    await host.createApp(other);
    expect(await plugn({ ...dokkuEnv(host), NETQ_HOST_ID: 'from-env' }, 'post-deploy', other)).toMatchObject({
      code: 0,
      stderr: '',
    });
    expect(await queuedApps(e, 'from-env')).toEqual([other]);
    expect(await queuedApps(e, 'from-file')).toEqual([app]);
  });
});
