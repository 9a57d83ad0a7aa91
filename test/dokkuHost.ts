/**
 * A Dokku host simulator for integration tests: the files Dokku 0.38 keeps under DOKKU_ROOT and DOKKU_LIB_ROOT,
 * written by a process running as the `dokku` user, and the containers a docker-local deploy creates, renames and
 * retires, step by step as Dokku's own scripts do. Paths in comments are inside the dokku/dokku repository.
 *
 * Where Dokku reads a network property (initial-network, attach-post-create, attach-post-deploy,
 * bind-all-interfaces, tld) the simulator reads it from the property store too, so `setProperty` then `deploy`
 * behaves like `dokku network:set` then a deploy; the deploy options override the stored values.
 */
import { spawn } from 'node:child_process';
import { chmod, chown, mkdir, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type Docker from 'dockerode';
import { afterAll } from 'vitest';
import { collect, docker, IMAGE, RUN_LABEL, runId, scopeLabel } from './helpers.js';

export interface ShResult {
  code: number;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[]): Promise<ShResult> {
  const child = spawn(cmd, args, {
    cwd: '/',
    env: { PATH: process.env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return collect(child);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function dokkuIds(): Promise<{ uid: number; gid: number } | undefined> {
  const u = await run('id', ['-u', 'dokku']);
  const g = await run('id', ['-g', 'dokku']);
  if (u.code !== 0 || g.code !== 0) return undefined;
  return { uid: Number(u.stdout.trim()), gid: Number(g.stdout.trim()) };
}

let dokkuUser: Promise<{ uid: number; gid: number }> | undefined;

/** Creates the `dokku` system user if missing (tolerating a concurrent creation) and returns its ids. */
export function ensureDokkuUser(): Promise<{ uid: number; gid: number }> {
  dokkuUser ??= (async () => {
    for (let attempt = 0; ; attempt++) {
      const ids = await dokkuIds();
      if (ids) return ids;
      // exit 9: the name exists (another process made it meanwhile); 10: /etc/passwd is locked by another useradd
      const r = await run('useradd', ['--system', '--user-group', '--no-create-home', 'dokku']);
      if (r.code === 0 || r.code === 9) continue;
      if (attempt >= 20) throw new Error(`useradd dokku failed (exit ${r.code}): ${r.stderr.trim()}`);
      await sleep(50);
    }
  })();
  dokkuUser.catch(() => {
    dokkuUser = undefined;
  });
  return dokkuUser;
}

/**
 * Runs a shell script as the dokku user (setpriv, so it really is a dokku process), with umask 022 as Dokku's
 * commands usually have; `args` are its positional parameters.
 */
export async function asDokku(script: string, ...args: string[]): Promise<ShResult> {
  await ensureDokkuUser();
  return run('setpriv', [
    '--reuid=dokku',
    '--regid=dokku',
    '--init-groups',
    'sh',
    '-c',
    `umask 022\n${script}`,
    '_',
    ...args,
  ]);
}

/** asDokku that fails on a non-zero exit, as the Dokku command would. */
async function dokkuSh(what: string, script: string, ...args: string[]): Promise<string> {
  const r = await asDokku(script, ...args);
  if (r.code !== 0) throw new Error(`${what} failed as user dokku (exit ${r.code}): ${r.stderr.trim()}`);
  return r.stdout;
}

/**
 * Shell functions shared by the scripts:
 * - pw DIR KEY VALUE: common.PropertyWrite (plugins/common/properties.go): the app's property folder made 0755,
 *   the value written without a trailing newline (truncating in place), the file chmod 0600 (the chown to
 *   dokku:dokku is implicit: we are dokku);
 * - register APP ID DEADTIME FILE: fn-scheduler-docker-local-register-retired
 *   (plugins/scheduler-docker-local/internal-functions), one `app id deadtime` line in dead-containers.
 */
const PRELUDE = `set -e
pw() { mkdir -p "$1"; chmod 0755 "$1"; printf %s "$3" > "$1/$2"; chmod 0600 "$1/$2"; }
register() {
  [ -n "$2" ] || return 0
  touch "$4"
  grep -q "$2" "$4" || echo "$1 $2 $3" >> "$4"
}
`;

export type DeployPhase = 'created' | 'started' | 'checked' | 'failed' | 'switched' | 'renamed' | 'retired';

export interface DeployOptions {
  /**
   * Scale to record first, with `ps:scale`'s semantics (plugins/ps/functions.go updateScale): merged into the
   * recorded scale, a count of 0 moving the process type to `scale.old`. Default: the recorded scale (`web=1`
   * since apps:create).
   */
  scale?: Record<string, number>;
  /** Replace the recorded scale instead of merging (updateScale's clearExisting, as app.json formations do). */
  replaceScale?: boolean;
  /** Deploy one process type only, as `ps:scale`/`ps:restart <proc>` do (`deploy <app> <tag> <proc>`). */
  processType?: string;
  /** How long an upcoming container is "checked" while the old one keeps serving (default 300). */
  checksMs?: number;
  /** Dynos (`web.1`) whose check fails. */
  failCheck?: string[];
  /** DOKKU_WAIT_TO_RETIRE, in ms (default 500). */
  waitToRetireMs?: number;
  /** Default: the computed `bind-all-interfaces` property. */
  bindAll?: boolean;
  /** Default: the computed `initial-network` property. */
  initialNetwork?: string;
  /** Default: the computed `attach-post-create` property (comma-separated). */
  attachPostCreate?: string[];
  /** Default: the computed `attach-post-deploy` property (comma-separated). */
  attachPostDeploy?: string[];
  onPhase?: (phase: DeployPhase, dyno: string, id: string) => Promise<void> | void;
}

export interface DeployResult {
  /** dyno (web.1) -> container id, from the CONTAINER.* files after the deploy */
  current: Record<string, string>;
  /** old containers the deploy sent SIGTERM to and then stopped */
  retired: string[];
  /** the dyno whose check failed: the deploy stopped there, as Dokku's does */
  failed: string[];
}

export interface AppContainer {
  id: string;
  name: string;
  state: string;
  dyno: string | undefined;
}

type Formation = [proc: string, count: number];

/** plugins/ps/functions.go parseProcessTuples: `proc=count` lines, the first of a process type wins. */
function parseTuples(lines: string[]): Formation[] {
  const out: Formation[] = [];
  const seen = new Set<string>();
  for (const line of lines) {
    const eq = line.indexOf('=');
    if (eq < 0) throw new Error(`Missing count for process type ${line}`);
    const proc = line.slice(0, eq).trim();
    const count = Number.parseInt(line.slice(eq + 1).trim(), 10);
    if (Number.isNaN(count)) throw new Error(`Invalid count for process type ${proc}`);
    if (seen.has(proc)) continue;
    seen.add(proc);
    out.push([proc, count]);
  }
  return out;
}

/** PropertyListGet: the lines a bufio.Scanner gives. */
function listLines(content: string | undefined): string[] {
  if (!content) return [];
  const lines = content.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines.map((l) => l.replace(/\r$/, ''));
}

/** `sort -t . -k 3 -n` of `<TYPE>.<proc>.<n>` names (a non-numeric key sorts as 0, ties by the whole name). */
function sortByIndex(names: string[]): string[] {
  const key = (n: string) => Number.parseFloat(n.split('.')[2] ?? '') || 0;
  return [...names].sort((a, b) => key(a) - key(b) || (a < b ? -1 : a > b ? 1 : 0));
}

async function readOrUndefined(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch {
    return undefined;
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch {
    return false;
  }
}

async function inspectOrUndefined(id: string): Promise<Docker.ContainerInspectInfo | undefined> {
  try {
    return await docker.getContainer(id).inspect();
  } catch {
    return undefined;
  }
}

const statusCode = (err: unknown) => (err as { statusCode?: number }).statusCode;

export class DokkuHost {
  private constructor(
    readonly dir: string,
    readonly root: string,
    readonly libRoot: string,
  ) {}

  static async create(): Promise<DokkuHost> {
    const { uid, gid } = await ensureDokkuUser();
    const dir = await mkdtemp(path.join(os.tmpdir(), 'netq-dokku-'));
    await chmod(dir, 0o755);
    const root = path.join(dir, 'home', 'dokku');
    const libRoot = path.join(dir, 'var', 'lib', 'dokku');
    for (const d of [path.join(dir, 'home'), path.join(dir, 'var'), path.join(dir, 'var', 'lib')]) {
      await mkdir(d, { recursive: true });
      await chmod(d, 0o755);
    }
    for (const d of [root, libRoot, path.join(libRoot, 'config'), path.join(libRoot, 'data')]) {
      await mkdir(d, { recursive: true });
      await chmod(d, 0o755);
      await chown(d, uid, gid);
    }
    return new DokkuHost(dir, root, libRoot);
  }

  env(): Record<string, string> {
    return { NETQ_DOKKU_ROOT: this.root, NETQ_DOKKU_LIB_ROOT: this.libRoot };
  }

  async remove(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }

  appRoot(app: string): string {
    return path.join(this.root, app);
  }

  private propDir(plugin: string, scope: string): string {
    return path.join(this.libRoot, 'config', plugin, scope);
  }

  private get deadContainersFile(): string {
    return path.join(this.libRoot, 'data', 'scheduler-docker-local', 'dead-containers');
  }

  /**
   * Property writes and deletes in one dokku process: ['w', plugin, scope, key, value] is PropertyWrite,
   * ['d', plugin, scope, key] PropertyDelete, ['x', plugin, scope] PropertyDestroy.
   */
  private async properties(ops: (readonly string[])[]): Promise<void> {
    const args = ops.flatMap(([op = '', plugin = '', scope = '', key = '', value = '']) => [
      op,
      this.propDir(plugin, scope),
      key,
      value,
    ]);
    await dokkuSh(
      'property write',
      `${PRELUDE}
while [ $# -gt 0 ]; do
  op=$1; d=$2; k=$3; v=$4; shift 4
  case $op in
    w) pw "$d" "$k" "$v" ;;
    d) rm -f "$d/$k" ;;
    x) rm -rf "$d" ;;
  esac
done`,
      ...args,
    );
  }

  // ---- property store -------------------------------------------------------------------------------------

  /**
   * `dokku network:set <scope> <key> <value>` (plugins/network/subcommands.go CommandSet, then
   * common.CommandPropertySet): PropertyWrite of the value, no trailing newline, mode 0600 in a 0755 folder,
   * owned by dokku; an empty value deletes the file. A list (attach-*) is stored comma-joined.
   */
  async setProperty(scope: string, key: string, value: string | string[], plugin = 'network'): Promise<void> {
    const v = Array.isArray(value) ? value.join(',') : value;
    await this.properties([v === '' ? ['d', plugin, scope, key] : ['w', plugin, scope, key, v]]);
  }

  /** The stored value (PropertyGet), or undefined when the property file does not exist. */
  async getProperty(scope: string, key: string, plugin = 'network'): Promise<string | undefined> {
    return readOrUndefined(path.join(this.propDir(plugin, scope), key));
  }

  /** plugins/network/report.go reportComputed*: the app's value, else the global one. */
  private async computedNetworkProperty(app: string, key: string): Promise<string> {
    return (await this.getProperty(app, key)) || (await this.getProperty('--global', key)) || '';
  }

  // ---- apps -----------------------------------------------------------------------------------------------

  /**
   * `dokku apps:create` (plugins/apps/functions.go createApp and the post-create triggers): the app folder
   * (MkdirAll 0755), apps' created-at property, the data folders of apps, ps and scheduler-docker-local, and
   * ps' default scale `web=1` (plugins/ps/triggers.go TriggerPostCreate: updateScale writes scale.old, then scale).
   */
  async createApp(app: string): Promise<void> {
    if (await exists(this.appRoot(app))) throw new Error(`Name is already taken: ${app}`);
    await dokkuSh(
      'apps:create',
      `${PRELUDE}
root=$1; lib=$2; app=$3; now=$4
mkdir -p "$root/$app"
pw "$lib/config/apps/$app" created-at "$now"
for p in apps ps scheduler-docker-local; do mkdir -p "$lib/data/$p/$app"; chmod 0755 "$lib/data/$p/$app"; done
pw "$lib/config/ps/$app" scale.old ''
pw "$lib/config/ps/$app" scale 'web=1
'`,
      this.root,
      this.libRoot,
      app,
      String(Math.floor(Date.now() / 1000)),
    );
  }

  /**
   * plugins/ps/functions.go getFormations (the `ps-current-scale` trigger): the scale, plus the process types
   * of scale.old not in it, sorted by process type.
   */
  async currentScale(app: string): Promise<Formation[]> {
    const scale = parseTuples(listLines(await readOrUndefined(path.join(this.propDir('ps', app), 'scale'))));
    const old = parseTuples(listLines(await readOrUndefined(path.join(this.propDir('ps', app), 'scale.old'))));
    const seen = new Set(scale.map(([p]) => p));
    for (const f of old) if (!seen.has(f[0])) scale.push(f);
    return scale.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }

  /**
   * plugins/ps/functions.go updateScale, for an app without a Procfile: the updates in their order, then the
   * recorded types not updated (unless clearExisting); a count of 0 goes to scale.old. PropertyListWrite of
   * scale.old then scale (one `proc=count` per line, each ending in a newline).
   */
  async writeScale(app: string, updates: Record<string, number>, clearExisting = false): Promise<void> {
    const updated: Formation[] = Object.entries(updates);
    const recorded = clearExisting
      ? []
      : parseTuples(listLines(await readOrUndefined(path.join(this.propDir('ps', app), 'scale'))));
    const names = new Set(updated.map(([p]) => p));
    const all = [...updated, ...recorded.filter(([p]) => !names.has(p))];
    const lines = (fs: Formation[]) => fs.map(([p, n]) => `${p}=${n}\n`).join('');
    await this.properties([
      ['w', 'ps', app, 'scale.old', lines(all.filter(([, n]) => n === 0))],
      ['w', 'ps', app, 'scale', lines(all.filter(([, n]) => n !== 0))],
    ]);
  }

  /**
   * plugins/common/common.go IsDeployed: the `deployed` property; when missing, scheduler-is-deployed (any
   * CONTAINER file) decides and the answer is written back.
   */
  async isDeployed(app: string): Promise<boolean> {
    const marker = await this.getProperty(app, 'deployed', 'common');
    if (marker) return marker === 'true';
    const files = await readdir(this.appRoot(app)).catch(() => [] as string[]);
    const deployed = files.some((f) => f === 'CONTAINER' || f.startsWith('CONTAINER.'));
    await this.properties([['w', 'common', app, 'deployed', String(deployed)]]);
    return deployed;
  }

  /** CONTAINER.* files: dyno -> id (the first line, trimmed, as common.ReadFirstLine reads it). */
  async currentContainers(app: string): Promise<Record<string, string>> {
    return this.stateFiles(app, 'CONTAINER', (s) => s.split('\n')[0]?.trim() ?? '');
  }

  /** IP.* files: dyno -> their exact content. */
  async ipFiles(app: string): Promise<Record<string, string>> {
    return this.stateFiles(app, 'IP', (s) => s);
  }

  /** PORT.* files: dyno -> their exact content. */
  async portFiles(app: string): Promise<Record<string, string>> {
    return this.stateFiles(app, 'PORT', (s) => s);
  }

  private async stateFiles(app: string, type: string, map: (s: string) => string): Promise<Record<string, string>> {
    const files = await readdir(this.appRoot(app)).catch(() => [] as string[]);
    const out: Record<string, string> = {};
    for (const f of files.filter((f) => f.startsWith(`${type}.`)).sort()) {
      const content = await readOrUndefined(path.join(this.appRoot(app), f));
      if (content !== undefined) out[f.slice(type.length + 1)] = map(content);
    }
    return out;
  }

  /** get_app_container_ids (plugins/common/functions): the ids in CONTAINER (legacy) and CONTAINER.<proc>.*. */
  private async containerIds(app: string, proc?: string): Promise<string[]> {
    const files = await readdir(this.appRoot(app)).catch(() => [] as string[]);
    const ids: string[] = [];
    for (const f of files.sort()) {
      if (f !== 'CONTAINER' && !f.startsWith(proc ? `CONTAINER.${proc}.` : 'CONTAINER.')) continue;
      const content = await readOrUndefined(path.join(this.appRoot(app), f));
      ids.push(...(content ?? '').split(/\s+/).filter(Boolean));
    }
    return [...new Set(ids)];
  }

  /** Every container with the app's label (of this test run): for tests. */
  async appContainers(app: string): Promise<AppContainer[]> {
    const found = await docker.listContainers({
      all: true,
      filters: { label: [`com.dokku.app-name=${app}`, scopeLabel] },
    });
    return found.map((c) => ({
      id: c.Id,
      name: (c.Names[0] ?? '').replace(/^\//, ''),
      state: c.State,
      dyno: c.Labels['com.dokku.dyno'],
    }));
  }

  // ---- deploy ---------------------------------------------------------------------------------------------

  /**
   * A docker-local deploy: plugins/scheduler-docker-local/scheduler-deploy, which runs bin/scheduler-deploy-process
   * per process type (web first, inline; the others after it, in ps-current-scale's sorted order) and
   * bin/scheduler-deploy-process-container per dyno, then the core-post-deploy triggers, then retires the old
   * containers. Dynos run one after the other (Dokku's default parallelism is 1).
   *
   * A failed check stops the deploy, as in Dokku: kill_new kills its script, `parallel --halt soon,fail=1` starts
   * no further dyno and `set -e` ends scheduler-deploy. The dynos switched before it keep their new containers
   * (still named `*.upcoming-*`: no core-post-deploy rename), their old ones are only registered for retirement
   * (dead-containers) and keep running; no later dyno is deployed.
   */
  async deploy(app: string, opts: DeployOptions = {}): Promise<DeployResult> {
    // `git push` creates a missing app (plugins/apps/functions.go maybeCreateApp)
    if (!(await exists(this.appRoot(app)))) await this.createApp(app);
    if (opts.scale) await this.writeScale(app, opts.scale, opts.replaceScale ?? false);
    else if ((await this.currentScale(app)).length === 0) await this.writeScale(app, { web: 1 });

    const checksMs = opts.checksMs ?? 300;
    const waitMs = opts.waitToRetireMs ?? 500;
    const waitS = Math.ceil(waitMs / 1000);
    const split = (v: string) => v.split(',').filter(Boolean);
    const net = {
      bindAll: opts.bindAll ?? (await this.computedNetworkProperty(app, 'bind-all-interfaces')) === 'true',
      initialNetwork: opts.initialNetwork ?? (await this.computedNetworkProperty(app, 'initial-network')),
      attachPostCreate: opts.attachPostCreate ?? split(await this.computedNetworkProperty(app, 'attach-post-create')),
      attachPostDeploy: opts.attachPostDeploy ?? split(await this.computedNetworkProperty(app, 'attach-post-deploy')),
      tld: await this.computedNetworkProperty(app, 'tld'),
    };
    const onPhase = opts.onPhase ?? (() => {});
    const failCheck = new Set(opts.failCheck ?? []);
    const dataDir = path.join(this.libRoot, 'data', 'scheduler-docker-local', app);

    // scheduler-deploy: forget the last deploy's failed containers; note the old ids (of the process type)
    await dokkuSh('scheduler-deploy', 'rm -f "$1/failed-containers"', dataDir);
    const oldIds = await this.containerIds(app, opts.processType);

    const scale = (await this.currentScale(app)).filter(([p]) => !opts.processType || p === opts.processType);
    const ordered = [...scale.filter(([p]) => p === 'web'), ...scale.filter(([p]) => p !== 'web')];
    for (const [proc, count] of ordered) {
      for (let n = 1; n <= count; n++) {
        const dyno = `${proc}.${n}`;
        const ok = await this.deployDyno(app, proc, n, {
          ...net,
          checksMs,
          waitS,
          fail: failCheck.has(dyno),
          dataDir,
          onPhase,
        });
        if (!ok) return { current: await this.currentContainers(app), retired: [], failed: [dyno] };
      }
      await this.scaleDownCleanup(app, proc, count, waitS);
    }

    // core-post-deploy, plugins in plugn's (alphabetical) order
    // common (plugins/common/triggers.go TriggerCorePostDeploy): the deployed marker
    await this.properties([['w', 'common', app, 'deployed', 'true']]);
    // network (plugins/network/triggers.go TriggerCorePostDeploy): attach-post-deploy networks, to every
    // running current container
    await this.attachPostDeploy(app, net.attachPostDeploy, net.tld);
    // ps (plugins/ps/triggers.go TriggerCorePostDeploy): scale.old dropped, restore=true
    await this.properties([
      ['d', 'ps', app, 'scale.old'],
      ['w', 'ps', app, 'restore', 'true'],
    ]);
    // scheduler-docker-local (core-post-deploy): state of process types no longer scaled, then the renames
    await this.corePostDeployRenames(app, onPhase);

    // scheduler-deploy: SIGTERM the old containers now, stop them after DOKKU_WAIT_TO_RETIRE
    const retired: string[] = [];
    for (const id of oldIds) {
      if (!(await inspectOrUndefined(id))) continue;
      retired.push(id);
      await docker
        .getContainer(id)
        .kill({ signal: 'SIGTERM' })
        .catch(() => {});
    }
    if (retired.length > 0) await sleep(waitMs);
    for (const id of retired) {
      const info = await inspectOrUndefined(id);
      if (!info) continue;
      const c = docker.getContainer(id);
      await c.update({ RestartPolicy: { Name: 'no', MaximumRetryCount: 0 } }).catch(() => {});
      await c.stop({ t: 30 }).catch(() => {});
      await onPhase('retired', info.Config.Labels?.['com.dokku.dyno'] ?? '', id);
    }
    return { current: await this.currentContainers(app), retired, failed: [] };
  }

  /** bin/scheduler-deploy-process-container for one dyno; false when its check failed. */
  private async deployDyno(
    app: string,
    proc: string,
    n: number,
    o: {
      bindAll: boolean;
      initialNetwork: string;
      attachPostCreate: string[];
      tld: string;
      checksMs: number;
      waitS: number;
      fail: boolean;
      dataDir: string;
      onPhase: NonNullable<DeployOptions['onPhase']>;
    },
  ): Promise<boolean> {
    const dyno = `${proc}.${n}`;
    const web = proc === 'web';
    // DOKKU_PORT: the ports plugin's container port, for web only; other processes get `PORT=` (empty)
    const port = web ? '5000' : '';
    const spec: Docker.ContainerCreateOptions = {
      Image: IMAGE,
      Cmd: ['/bin/httpd', '-f', '-p', '5000'],
      Env: [`DYNO=${dyno}`, `PORT=${port}`],
      Labels: {
        'com.dokku.app-name': app,
        'com.dokku.container-type': 'deploy',
        'com.dokku.process-type': proc,
        'com.dokku.dyno': dyno,
        [RUN_LABEL]: runId,
      },
      // the test image stands for a Dockerfile app whose image EXPOSEs 5000
      ...(web ? { ExposedPorts: { '5000/tcp': {} } } : {}),
      HostConfig: {
        // --init (INJECT_INIT_FLAG defaults to true), ps' computed --restart=on-failure:10
        Init: true,
        RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 10 },
        // the network plugin's docker-args-process-deploy: --network=<initial-network>; without it the CLI's
        // default NetworkMode ("default", the bridge)
        ...(o.initialNetwork ? { NetworkMode: o.initialNetwork } : {}),
        // bind-all-interfaces: `-p 5000`, a random host port on every interface
        ...(web && o.bindAll ? { PortBindings: { '5000/tcp': [{ HostIp: '', HostPort: '' }] } } : {}),
      },
    };
    // --name=$APP.$DYNO.upcoming-$RANDOM (a name clash, which would fail Dokku's deploy, draws again here)
    let container: Docker.Container | undefined;
    for (let attempt = 0; !container; attempt++) {
      const name = `${app}.${dyno}.upcoming-${1 + Math.floor(Math.random() * 32767)}`;
      try {
        container = await docker.createContainer({ ...spec, name });
      } catch (err) {
        if (statusCode(err) !== 409 || attempt > 5) throw err;
      }
    }
    const cid = container.id;
    await o.onPhase('created', dyno, cid);

    // post-container-create (plugins/network/triggers.go TriggerPostContainerCreate): note that its loop
    // returns after the first network, so only the first attach-post-create network is connected
    const first = o.attachPostCreate[0];
    if (first) await this.attach(cid, first, app, proc, o.tld);

    await container.start();
    await o.onPhase('started', dyno, cid);

    // network-get-ipaddr, right after the start (plugins/network/network.go GetContainerIpaddress)
    const info = await container.inspect();
    let ip = '';
    if (info.HostConfig.NetworkMode === 'host') ip = '127.0.0.1';
    else {
      ip = info.NetworkSettings.Networks?.[o.initialNetwork || 'bridge']?.IPAddress ?? '';
      if (!ip) ip = (info.NetworkSettings as { IPAddress?: string }).IPAddress ?? '';
    }
    ip = ip.trim();

    // check-deploy, while the old container keeps serving
    await sleep(o.checksMs);
    if (o.fail) {
      // kill_new: register for retirement, record in failed-containers, disable the restart policy, stop, kill
      await dokkuSh(
        'kill_new',
        `${PRELUDE}
register "$1" "$2" "$3" "$4"
mkdir -p "$5"
echo "$2 $6" >> "$5/failed-containers"`,
        app,
        cid,
        String(Math.floor(Date.now() / 1000) + o.waitS),
        this.deadContainersFile,
        o.dataDir,
        dyno,
      );
      await container.update({ RestartPolicy: { Name: 'no', MaximumRetryCount: 0 } }).catch(() => {});
      await container.stop().catch(() => {});
      await container.kill().catch(() => {});
      await o.onPhase('failed', dyno, cid);
      return false;
    }
    await o.onPhase('checked', dyno, cid);

    // schedule the old container's retirement; `echo "$cid" > CONTAINER.<dyno>`; network-write-ipaddr
    // (os.Create: truncate in place, no newline); network-write-port (web only); drop pre-migration files
    await dokkuSh(
      'switch',
      `${PRELUDE}
cd "$1"; dyno=$2; cid=$3; ip=$4; port=$5
if [ -f "CONTAINER.$dyno" ]; then register "$6" "$(cat "CONTAINER.$dyno")" "$7" "$8"; fi
if [ -n "$cid" ]; then echo "$cid" > "CONTAINER.$dyno"; fi
if [ -n "$ip" ]; then printf %s "$ip" > "IP.$dyno"; fi
if [ -n "$port" ]; then printf %s "$port" > "PORT.$dyno"; fi
rm -f CONTAINER IP PORT`,
      this.appRoot(app),
      dyno,
      cid,
      ip,
      port,
      app,
      String(Math.floor(Date.now() / 1000) + o.waitS),
      this.deadContainersFile,
    );
    await o.onPhase('switched', dyno, cid);
    return true;
  }

  /**
   * plugins/network/functions.go attachAppToNetwork for the deploy phase: nothing if already connected, else
   * `docker network connect --alias <app>.<proc>[.<tld>] --alias <hostname>.<app>.<proc>[.<tld>]`.
   */
  private async attach(cid: string, network: string, app: string, proc: string, tld: string): Promise<void> {
    const info = await docker.getContainer(cid).inspect();
    if (info.NetworkSettings.Networks?.[network]) return;
    const exists = (await docker.listNetworks()).some((n) => n.Name === network);
    if (!exists) throw new Error(`Network ${network} does not exist`);
    const alias = tld ? `${app}.${proc}.${tld}` : `${app}.${proc}`;
    await docker.getNetwork(network).connect({
      Container: cid,
      EndpointConfig: { Aliases: [alias, `${info.Config.Hostname}.${alias}`] },
    });
  }

  private async attachPostDeploy(app: string, networks: string[], tld: string): Promise<void> {
    for (const network of networks) {
      for (const id of await this.containerIds(app)) {
        const info = await inspectOrUndefined(id);
        if (!info?.State.Running) continue;
        await this.attach(id, network, app, info.Config.Labels?.['com.dokku.process-type'] ?? '', tld);
      }
    }
  }

  /**
   * bin/scheduler-deploy-process after its dynos ("cleanup when we scale down"): the CONTAINER.<proc>.* files
   * past the count (by position once sorted by index; all of them for a count of 0) have their containers
   * registered for retirement, then the CONTAINER, IP and PORT files past the count are removed (each type
   * listed and cut separately, as the script does).
   */
  private async scaleDownCleanup(app: string, proc: string, count: number, waitS: number): Promise<void> {
    const files = await readdir(this.appRoot(app)).catch(() => [] as string[]);
    const past = (type: string) => sortByIndex(files.filter((f) => f.startsWith(`${type}.${proc}.`))).slice(count);
    const orphans: string[] = [];
    for (const f of past('CONTAINER')) {
      const id = (await readOrUndefined(path.join(this.appRoot(app), f)))?.trim();
      if (id) orphans.push(id);
    }
    const doomed = [...past('CONTAINER'), ...past('IP'), ...past('PORT')];
    if (orphans.length === 0 && doomed.length === 0) return;
    await dokkuSh(
      'scale-down cleanup',
      `${PRELUDE}
cd "$1"; app=$2; t=$3; dead=$4; shift 4
while [ "$1" != -- ]; do register "$app" "$1" "$t" "$dead"; shift; done
shift
if [ $# -gt 0 ]; then rm -f "$@"; fi`,
      this.appRoot(app),
      app,
      String(Math.floor(Date.now() / 1000) + waitS),
      this.deadContainersFile,
      ...orphans,
      '--',
      ...doomed,
    );
  }

  /**
   * plugins/scheduler-docker-local/core-post-deploy: the CONTAINER/IP/PORT files of process types no longer in
   * ps-current-scale are removed; then for each CONTAINER.<dyno> file, each container whose name matches
   * `^.?<app>.<dyno>$` (a regex: the dots match any character) and is not dead triggers a rename of the container
   * named `<app>.<dyno>` to `<app>.<dyno>.<epoch seconds>`, and the current container is renamed `<app>.<dyno>`.
   * The current container itself matches when it already has the name: it is renamed away and back, as in Dokku.
   */
  private async corePostDeployRenames(app: string, onPhase: NonNullable<DeployOptions['onPhase']>): Promise<void> {
    const procTypes = new Set((await this.currentScale(app)).map(([p]) => p));
    const files = await readdir(this.appRoot(app)).catch(() => [] as string[]);
    const stale = sortByIndex(files.filter((f) => f.startsWith('CONTAINER.'))).filter(
      (f) => !procTypes.has(f.split('.')[1] ?? ''),
    );
    if (stale.length > 0) {
      const doomed = stale.flatMap((f) => [f, f.replace(/^CONTAINER/, 'IP'), f.replace(/^CONTAINER/, 'PORT')]);
      await dokkuSh('core-post-deploy state cleanup', 'cd "$1"; shift; rm -f "$@"', this.appRoot(app), ...doomed);
    }
    for (const [dyno, id] of Object.entries(await this.currentContainers(app))) {
      const name = `${app}.${dyno}`;
      const previous = await docker.listContainers({ all: true, filters: { name: [`^.?${name}$`] } });
      for (const p of previous) {
        if (p.State === 'dead') continue;
        await this.renameToDated(name);
      }
      if (!id || !(await inspectOrUndefined(id))) continue;
      await docker
        .getContainer(id)
        .rename({ name })
        .catch(() => {}); // "Failed to rename container": a warning in Dokku
      await onPhase('renamed', dyno, id);
    }
  }

  /**
   * `docker container rename <name> <name>.$(date +%s)`. Dokku's second rename of the same name within one
   * second fails (the dated name is taken) and leaves the container under `<name>`; here the dated name is made
   * unique instead with a `-<k>` suffix (`<name>.<epoch>-2`), so that fast successive test deploys all rename.
   */
  private async renameToDated(name: string): Promise<void> {
    const epoch = Math.floor(Date.now() / 1000);
    for (let k = 1; k < 100; k++) {
      const target = k === 1 ? `${name}.${epoch}` : `${name}.${epoch}-${k}`;
      try {
        await docker.getContainer(name).rename({ name: target });
        return;
      } catch (err) {
        if (statusCode(err) !== 409) return; // no container by that name (any more): Dokku only warns
      }
    }
  }

  /**
   * `dokku ps:scale app proc=count...` (plugins/ps/functions.go scaleSet with deployOnlyChanged): the scale is
   * recorded; if the app is deployed, each process type whose count changed is deployed on its own
   * (`deploy <app> <tag> <proc>`), stopping at the first failure.
   */
  async scale(app: string, scale: Record<string, number>, opts: DeployOptions = {}): Promise<DeployResult> {
    const before = new Map(await this.currentScale(app));
    await this.writeScale(app, scale);
    const result: DeployResult = { current: await this.currentContainers(app), retired: [], failed: [] };
    if (!(await this.isDeployed(app))) return result;
    for (const [proc, count] of Object.entries(scale)) {
      if (before.get(proc) === count) continue;
      const r = await this.deploy(app, { ...opts, scale: undefined, processType: proc });
      result.current = r.current;
      result.retired.push(...r.retired);
      result.failed.push(...r.failed);
      if (r.failed.length > 0) break;
    }
    return result;
  }

  /**
   * `dokku ps:stop` (plugins/ps/ps.go Stop, scheduler-docker-local/scheduler-stop): every running current
   * container, then every running container with the app's label, has its restart policy disabled and is
   * stopped; the CONTAINER files stay; post-stop writes ps' restore=false.
   */
  async psStop(app: string): Promise<void> {
    if (!(await this.isDeployed(app))) return;
    const stopOne = async (id: string) => {
      const c = docker.getContainer(id);
      await c.update({ RestartPolicy: { Name: 'no', MaximumRetryCount: 0 } }).catch(() => {});
      await c.stop({ t: 30 }).catch(() => {});
    };
    for (const id of await this.containerIds(app)) {
      if ((await inspectOrUndefined(id))?.State.Running) await stopOne(id);
    }
    const labelled = await docker.listContainers({ filters: { label: [`com.dokku.app-name=${app}`] } });
    for (const c of labelled) await stopOne(c.Id);
    await this.properties([['w', 'ps', app, 'restore', 'false']]);
  }

  /**
   * `dokku ps:start` (plugins/ps/ps.go Start): Dokku does not start the stopped containers again: when not all
   * of the app's current containers run (scheduler-app-status "false" or "mixed") it runs release-and-deploy,
   * i.e. a full deploy with new containers. Returns that deploy's result, or undefined when nothing was done.
   */
  async psStart(app: string, opts: DeployOptions = {}): Promise<DeployResult | undefined> {
    if (!(await this.isDeployed(app))) return undefined;
    const ids = await this.containerIds(app);
    let running = 0;
    for (const id of ids) if ((await inspectOrUndefined(id))?.State.Running) running++;
    if (ids.length > 0 && running === ids.length) return undefined;
    return this.deploy(app, opts);
  }

  /**
   * The retire cron (scheduler-retire, fn-scheduler-docker-local-retire-containers), as if every deadline had
   * passed: each container registered in dead-containers for the app is stopped if still running and removed,
   * and its line dropped; then, as the deploy's docker cleanup does, the app's exited or dead containers that
   * are not current are removed. Returns the removed ids.
   */
  async retireAll(app: string): Promise<string[]> {
    const removed = new Set<string>();
    const lines = listLines(await readOrUndefined(this.deadContainersFile));
    const done: string[] = [];
    for (const line of lines) {
      const [lineApp, id] = line.split(' ');
      if (lineApp !== app || !id) continue;
      const info = await inspectOrUndefined(id);
      if (info) {
        const c = docker.getContainer(id);
        if (info.State.Status !== 'exited' && info.State.Status !== 'dead') await c.stop().catch(() => {});
        await c.remove({ force: true }).catch(() => {});
        removed.add(info.Id);
      }
      done.push(id);
    }
    if (done.length > 0) {
      await dokkuSh(
        'retire',
        'f=$1; shift; for id in "$@"; do sed -i "/$id/d" "$f"; done',
        this.deadContainersFile,
        ...done,
      );
    }
    const current = new Set(Object.values(await this.currentContainers(app)));
    const exited = await docker.listContainers({
      all: true,
      filters: { label: [`com.dokku.app-name=${app}`], status: ['exited', 'dead'] },
    });
    for (const c of exited) {
      if (current.has(c.Id)) continue;
      await docker
        .getContainer(c.Id)
        .remove({ force: true })
        .catch(() => {});
      removed.add(c.Id);
    }
    return [...removed];
  }

  // ---- rename, clone, delete ------------------------------------------------------------------------------

  /**
   * The post-app-clone-setup / post-app-rename-setup triggers, in plugn's alphabetical order of plugins:
   * every plugin clones its properties (PropertyClone: each file PropertyWrite-n to the new app), and on rename
   * destroys the old ones; common (clone only) deletes the *source* app's `deployed` property (sic,
   * plugins/common/triggers.go TriggerPostAppCloneSetup); apps and ps copy their data folders; git copies the old
   * app folder's contents but cache, VHOST and URLS (`find ./* ... | cpio -pdmu`: top-level dot files are left),
   * which brings CONTAINER.*, IP.* and PORT.* along; network then removes the new app's IP.* and PORT.*
   * (ClearNetworkConfig); scheduler-docker-local (clone only) removes the new app's CONTAINER.* files.
   */
  private async appSetup(mode: 'clone' | 'rename', src: string, dst: string): Promise<void> {
    await dokkuSh(
      `post-app-${mode}-setup`,
      `${PRELUDE}
lib=$1; root=$2; src=$3; dst=$4; mode=$5
for p in "$lib"/config/*; do
  [ -d "$p/$src" ] || continue
  for f in "$p/$src"/* "$p/$src"/.[!.]*; do
    [ -f "$f" ] || continue
    n=$(basename "$f")
    mkdir -p "$p/$dst"; chmod 0755 "$p/$dst"; cat "$f" > "$p/$dst/$n"; chmod 0600 "$p/$dst/$n"
  done
  if [ "$mode" = rename ]; then rm -rf "$p/$src"; fi
done
if [ "$mode" = clone ]; then rm -f "$lib/config/common/$src/deployed"; fi
for p in apps ps; do
  if [ -d "$lib/data/$p/$src" ]; then mkdir -p "$lib/data/$p/$dst"; cp -pR "$lib/data/$p/$src/." "$lib/data/$p/$dst/"; fi
done
if [ -d "$root/$src" ]; then
  for f in "$root/$src"/*; do
    [ -e "$f" ] || continue
    case $(basename "$f") in cache|.cache|VHOST|URLS) continue ;; esac
    cp -pR "$f" "$root/$dst/"
  done
fi
rm -f "$root/$dst"/IP.* "$root/$dst"/PORT.*
if [ "$mode" = clone ]; then find "$root/$dst" -type f -name 'CONTAINER.*' -exec rm {} \\;; fi`,
      this.libRoot,
      this.root,
      src,
      dst,
      mode,
    );
  }

  /**
   * `dokku apps:rename old new` (plugins/apps/subcommands.go CommandRename): apps:create new, the
   * post-app-rename-setup triggers (see appSetup: the new app gets the old CONTAINER.* files, pointing at the old
   * app's containers, but no IP/PORT files), destroy the old app (containers, folder, properties), then
   * ps' post-app-rename rebuilds the new app (a full deploy) unless skipDeploy or the app was never deployed.
   */
  async renameApp(
    oldName: string,
    newName: string,
    opts: { skipDeploy?: boolean; deploy?: DeployOptions } = {},
  ): Promise<DeployResult | undefined> {
    const hadCode = await this.isDeployed(oldName);
    await this.createApp(newName);
    await this.appSetup('rename', oldName, newName);
    await this.deleteApp(oldName);
    if (opts.skipDeploy || !hadCode) return undefined;
    return this.deploy(newName, opts.deploy);
  }

  /**
   * `dokku apps:clone src dst` (plugins/apps/subcommands.go CommandClone): apps:create dst, the
   * post-app-clone-setup triggers (see appSetup: properties cloned, no CONTAINER/IP/PORT files), then ps'
   * post-app-clone rebuilds dst unless skipDeploy or the source was never deployed (standing for git-has-code).
   */
  async cloneApp(
    src: string,
    dst: string,
    opts: { skipDeploy?: boolean; deploy?: DeployOptions } = {},
  ): Promise<DeployResult | undefined> {
    const hadCode = await this.isDeployed(src);
    await this.createApp(dst);
    await this.appSetup('clone', src, dst);
    if (opts.skipDeploy || !hadCode) return undefined;
    return this.deploy(dst, opts.deploy);
  }

  /**
   * `dokku apps:destroy app --force` (plugins/apps/functions.go destroyApp): scheduler-stop (running current and
   * labelled containers stopped), the post-delete triggers (every plugin's `config/<plugin>/<app>` destroyed, the
   * data folders removed, running labelled containers removed), the docker cleanup (exited and dead labelled
   * containers removed), then the app folder.
   */
  async deleteApp(app: string): Promise<void> {
    const ids = new Set(await this.containerIds(app));
    for (const c of await docker.listContainers({ all: true, filters: { label: [`com.dokku.app-name=${app}`] } })) {
      ids.add(c.Id);
    }
    for (const id of ids) {
      const info = await inspectOrUndefined(id);
      if (!info) continue;
      const c = docker.getContainer(id);
      if (info.State.Running) {
        await c.update({ RestartPolicy: { Name: 'no', MaximumRetryCount: 0 } }).catch(() => {});
        await c.stop({ t: 30 }).catch(() => {});
      }
      // only the app's containers by label are removed (a CONTAINER file naming another app's container is
      // only stopped)
      if (info.Config.Labels?.['com.dokku.app-name'] === app) await c.remove({ force: true }).catch(() => {});
    }
    await dokkuSh(
      'apps:destroy',
      `lib=$1; root=$2; app=$3
for p in "$lib"/config/* "$lib"/data/*; do rm -rf "$p/$app"; done
rm -rf "$root/$app/" "$root/$app"`,
      this.libRoot,
      this.root,
      app,
    );
  }
}

/** Dokku hosts for one test file: each call makes a fresh one; all are removed after the file's tests. */
export function useDokkuHosts(): () => Promise<DokkuHost> {
  const hosts: DokkuHost[] = [];
  afterAll(async () => {
    await Promise.all(hosts.splice(0).map((h) => h.remove()));
  });
  return async () => {
    const h = await DokkuHost.create();
    hosts.push(h);
    return h;
  };
}
