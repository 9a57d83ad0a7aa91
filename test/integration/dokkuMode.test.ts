import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RebuildResult } from '../../src/types.js';
import { asDokku, type DokkuHost, ensureDokkuUser, useDokkuHosts } from '../dokkuHost.js';
import {
  appName,
  configOf,
  createTestNetwork,
  docker,
  runCli,
  runHook,
  runId,
  startPool,
  storedListeners,
  useTestEnvs,
} from '../helpers.js';

/**
 * netq in Dokku mode beside a simulated Dokku host (test/dokkuHost.ts: Dokku's deploy sequence, its files,
 * a real dokku user): Dokku's own state is the truth, and netq never breaks what Dokku does next.
 */
const env = useTestEnvs({ docker: true });
const dokkuHost = useDokkuHosts();
const fast = { checksMs: 50, waitToRetireMs: 100 };

const bridgeIp = async (id: string) =>
  (await docker.getContainer(id).inspect()).NetworkSettings.Networks.bridge?.IPAddress ?? '';

async function rebuildJson(app: string, e: Record<string, string>): Promise<{ code: number; out: RebuildResult }> {
  const res = await runCli(['network:rebuild', app, '--format', 'json'], e);
  if (!res.stdout.startsWith('{')) throw new Error(`network:rebuild ${app}: exit ${res.code} ${res.stderr}`);
  return { code: res.code, out: JSON.parse(res.stdout) as RebuildResult };
}

/** Every IP.* file as bytes and its owner, and whether the dokku user can still rewrite it in place. */
async function ipFilesAsDokkuSeesThem(host: DokkuHost, app: string) {
  const dir = host.appRoot(app);
  const out: Record<string, { content: string; uid: number; mode: number; writable: boolean }> = {};
  for (const name of (await readdir(dir)).filter((n) => /^(IP|PORT)\./.test(n)).sort()) {
    const file = path.join(dir, name);
    const st = await stat(file);
    const writable = (await asDokku('test -w "$1"', file)).code === 0;
    out[name] = { content: await readFile(file, 'utf8'), uid: st.uid, mode: st.mode & 0o777, writable };
  }
  return out;
}

describe('Dokku mode', () => {
  it("configures exactly Dokku's dynos, writes their files as Dokku does, and Dokku can rewrite them", async () => {
    const { uid } = await ensureDokkuUser();
    const host = await dokkuHost();
    const e = env({ ...host.env(), NETQ_WAIT_TO_RETIRE_MS: '100' });
    await startPool(configOf(e));
    const app = appName('dyn');
    await host.createApp(app);
    await host.deploy(app, { ...fast, scale: { web: 2, worker: 1 } });
    // a second deploy: the first deploy's containers stay behind, renamed and stopped (waiting for the retire cron)
    const { current } = await host.deploy(app, fast);
    expect((await host.appContainers(app)).filter((c) => c.state !== 'running')).toHaveLength(3);
    const dokkuWrote = await ipFilesAsDokkuSeesThem(host, app);

    // what Dokku wrote is what netq writes: nothing to change, and the exit status is 0
    const { code, out } = await rebuildJson(app, e);
    expect(code).toBe(0);
    expect(out).toMatchObject({ containers: 3, configured: 3, failed: 0, failures: [] });
    expect(out.listeners).toEqual({
      web: [`${await bridgeIp(current['web.1'] ?? '')}:5000`, `${await bridgeIp(current['web.2'] ?? '')}:5000`],
      worker: [`${await bridgeIp(current['worker.1'] ?? '')}:5000`],
    });
    expect(await ipFilesAsDokkuSeesThem(host, app)).toEqual(dokkuWrote);
    expect(Object.keys(dokkuWrote)).toEqual(['IP.web.1', 'IP.web.2', 'IP.worker.1', 'PORT.web.1', 'PORT.web.2']);

    // files gone wrong (a stale IP, a lost file): netq rewrites them byte for byte, owned by dokku, 0644
    await asDokku('printf %s 10.9.9.9 > "$1/IP.web.1"; rm -f "$1/IP.worker.1" "$1/PORT.web.2"', host.appRoot(app));
    expect((await rebuildJson(app, e)).code).toBe(0);
    const rewritten = await ipFilesAsDokkuSeesThem(host, app);
    expect(rewritten).toEqual(dokkuWrote);
    for (const f of Object.values(rewritten)) expect(f).toMatchObject({ uid, mode: 0o644, writable: true });
    // and Dokku's own write (os.Create as dokku, in place) still works on the file netq wrote
    expect((await asDokku('printf %s 10.1.1.1 > "$1/IP.web.1"', host.appRoot(app))).code).toBe(0);
  });

  it('never uses an upcoming container, and a failed check leaves the serving one in the files', async () => {
    const host = await dokkuHost();
    const e = env({ ...host.env(), NETQ_DEBOUNCE_MS: '0' });
    // the event watcher on: the upcoming container's start must not reach the files
    await startPool(configOf(e), { watchEvents: true });
    const app = appName('check');
    await host.createApp(app);
    const first = await host.deploy(app, fast);
    const serving = first.current['web.1'] ?? '';
    const servingIp = await bridgeIp(serving);
    await expect.poll(() => storedListeners(configOf(e), app), { timeout: 10_000 }).toEqual([`${servingIp}:5000`]);

    let upcomingIp = '';
    const seenDuringCheck: string[] = [];
    const failed = await host.deploy(app, {
      checksMs: 1500,
      waitToRetireMs: 100,
      failCheck: ['web.1'],
      onPhase: async (phase, _dyno, id) => {
        if (phase === 'started') upcomingIp = await bridgeIp(id);
        if (phase !== 'started') return;
        // while it is under check, the files keep naming the serving container
        for (let i = 0; i < 10; i++) {
          seenDuringCheck.push((await host.ipFiles(app))['web.1'] ?? '');
          await new Promise((r) => setTimeout(r, 100));
        }
      },
    });
    expect(failed.failed).toEqual(['web.1']);
    expect(upcomingIp).not.toBe(servingIp);
    expect(new Set(seenDuringCheck)).toEqual(new Set([servingIp]));
    const { code, out } = await rebuildJson(app, e);
    expect(code).toBe(0);
    expect(out.listeners).toEqual({ web: [`${servingIp}:5000`] });
    expect((await host.ipFiles(app))['web.1']).toBe(servingIp);
  });

  it('follows scale up and down, and a stopped app has nothing to build (exit 0, files left alone)', async () => {
    const host = await dokkuHost();
    const e = env(host.env());
    await startPool(configOf(e));
    const app = appName('scale');
    await host.createApp(app);
    await host.deploy(app, { ...fast, scale: { web: 1 } });
    await host.scale(app, { web: 3 }, fast);
    let r = await rebuildJson(app, e);
    expect(r.code).toBe(0);
    expect(r.out).toMatchObject({ containers: 3, configured: 3 });
    expect(Object.keys(await host.ipFiles(app)).sort()).toEqual(['web.1', 'web.2', 'web.3']);

    await host.scale(app, { web: 1 }, fast);
    // a file left beyond the scale (an older netq, a crash) goes, as Dokku's deploy removes them
    await asDokku('printf %s 172.17.9.9 > "$1/IP.web.3"', host.appRoot(app));
    r = await rebuildJson(app, e);
    expect(r.code).toBe(0);
    expect(r.out).toMatchObject({ containers: 1, configured: 1 });
    expect(Object.keys(await host.ipFiles(app))).toEqual(['web.1']);

    await host.psStop(app);
    const before = await ipFilesAsDokkuSeesThem(host, app);
    r = await rebuildJson(app, e);
    expect(r.code).toBe(0);
    expect(r.out).toMatchObject({ containers: 0, failed: 0, skipped: 'stopped: none of its dynos runs' });
    expect(await ipFilesAsDokkuSeesThem(host, app)).toEqual(before);

    // an app that is not deployed, and one with a static web listener, have nothing to build either
    const fresh = appName('fresh');
    await host.createApp(fresh);
    expect((await rebuildJson(fresh, e)).out).toMatchObject({ containers: 0, skipped: 'not deployed' });
    const staticApp = appName('static');
    await host.createApp(staticApp);
    await host.deploy(staticApp, fast);
    await host.setProperty(staticApp, 'static-web-listener', '10.0.0.5:8080');
    expect((await rebuildJson(staticApp, e)).out).toMatchObject({
      containers: 0,
      skipped: 'static-web-listener 10.0.0.5:8080',
    });
  });

  it("takes properties from Dokku's store, and network:set writes them as dokku network:set does", async () => {
    const { uid } = await ensureDokkuUser();
    const host = await dokkuHost();
    const e = env(host.env());
    await startPool(configOf(e));
    const app = appName('props');
    await host.createApp(app);
    const { current } = await host.deploy(app, fast);
    const [net1, net2] = [`netq-t${runId}-p1`, `netq-t${runId}-p2`];
    await createTestNetwork(net1);
    await createTestNetwork(net2);

    // dokku network:set (files): netq's report shows it at once, and its next rebuild applies it
    await host.setProperty(app, 'tld', 'svc.example');
    await host.setProperty(app, 'attach-post-deploy', [net1]);
    const report = async () =>
      JSON.parse((await runCli(['network:report', app, '--format', 'json'], e)).stdout) as Record<string, string>;
    expect(await report()).toMatchObject({ 'network-tld': 'svc.example', 'network-attach-post-deploy': net1 });
    expect((await rebuildJson(app, e)).code).toBe(0);
    const info = await docker.getContainer(current['web.1'] ?? '').inspect();
    expect(info.NetworkSettings.Networks[net1]?.Aliases).toEqual(
      expect.arrayContaining([`${app}.web.svc.example`, `${info.Config.Hostname}.${app}.web.svc.example`]),
    );

    // netq network:set: the file Dokku would have written (comma-joined, no newline, 0600, owned by dokku)
    const set = await runCli(['network:set', app, 'attach-post-deploy', net1, net2, '--no-apply'], e);
    expect(set.code, set.stderr).toBe(0);
    expect(await host.getProperty(app, 'attach-post-deploy')).toBe(`${net1},${net2}`);
    const file = path.join(host.libRoot, 'config/network', app, 'attach-post-deploy');
    expect(await stat(file)).toMatchObject({ uid, mode: expect.any(Number) });
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await runCli(['network:set', '--global', 'tld', 'global.example', '--no-apply'], e)).code).toBe(0);
    expect(await host.getProperty('--global', 'tld')).toBe('global.example');
    expect((await runCli(['network:set', app, 'tld', '--no-apply'], e)).code).toBe(0);
    expect(await host.getProperty(app, 'tld')).toBeUndefined();
    expect(await report()).toMatchObject({
      'network-tld': '',
      'network-computed-tld': 'global.example',
      'network-attach-post-deploy': `${net1},${net2}`,
    });
    // an app Dokku does not have is refused, and nothing is written for it
    const ghost = appName('ghost');
    const refused = await runCli(['network:set', ghost, 'tld', 'x.example', '--no-apply'], e);
    expect(refused.code).toBe(20); // Dokku's AppDoesNotExist
    expect(refused.stderr).toBe(` !     App ${ghost} does not exist\n`);
    await expect(stat(path.join(host.libRoot, 'config/network', ghost))).rejects.toThrow(/ENOENT/);
  });

  it("keeps Dokku's apps right through rename, clone and delete with netq's hooks", async () => {
    const host = await dokkuHost();
    const e = env(host.env());
    await startPool(configOf(e));
    const [a, b, c] = [appName('orig'), appName('renamed'), appName('clone')];
    await host.createApp(a);
    await host.deploy(a, fast);
    await host.setProperty(a, 'tld', 'svc.example');
    expect((await rebuildJson(a, e)).code).toBe(0);

    // dokku apps:rename (Dokku's own plugins move the files), then netq's post-app-rename-setup
    await host.renameApp(a, b, { deploy: fast });
    expect(await runHook('post-app-rename-setup', [a, b], e)).toMatchObject({ code: 0, stderr: '' });
    const rb = await rebuildJson(b, e);
    expect(rb.code).toBe(0);
    expect(rb.out).toMatchObject({ containers: 1, configured: 1 });
    const reportOf = async (app: string) =>
      JSON.parse((await runCli(['network:report', app, '--format', 'json'], e)).stdout) as Record<string, string>;
    expect(await reportOf(b)).toMatchObject({ 'network-tld': 'svc.example' });
    // the old name is gone from Dokku and from netq's report of all apps
    const all = await runCli(['network:report', '--format', 'json-by-app'], e);
    expect(Object.keys(JSON.parse(all.stdout))).toEqual([b]);

    // dokku apps:clone: the clone has the properties and nothing deployed yet
    await host.cloneApp(b, c, { skipDeploy: true });
    expect(await reportOf(c)).toMatchObject({ 'network-tld': 'svc.example' });
    const rc = await rebuildJson(c, e);
    expect(rc.code).toBe(0);
    expect(rc.out).toMatchObject({ containers: 0, failed: 0 });

    // dokku apps:destroy, then netq's post-delete
    await host.deleteApp(b);
    expect(await runHook('post-delete', [b], e)).toMatchObject({ code: 0, stderr: '' });
    expect((await rebuildJson(b, e)).out).toMatchObject({ containers: 0, skipped: `app ${b} does not exist` });
    expect(Object.keys(JSON.parse((await runCli(['network:report', '--format', 'json-by-app'], e)).stdout))).toEqual([
      c,
    ]);
  });
});
