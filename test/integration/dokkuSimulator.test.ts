import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type DeployPhase, DokkuHost, ensureDokkuUser } from '../dokkuHost.js';
import { appName, cleanupDocker, docker } from '../helpers.js';

const hosts: DokkuHost[] = [];
afterAll(async () => {
  await cleanupDocker();
  await Promise.all(hosts.map((h) => h.remove()));
});

const fast = { checksMs: 50, waitToRetireMs: 100 };
const re = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('Dokku host simulator', () => {
  it('deploys, redeploys and fails a check as Dokku does, writing its files as the dokku user', async () => {
    const { uid } = await ensureDokkuUser();
    const host = await DokkuHost.create();
    hosts.push(host);
    expect(host.env()).toEqual({ NETQ_DOKKU_ROOT: host.root, NETQ_DOKKU_LIB_ROOT: host.libRoot });
    const app = appName('sim');
    await host.createApp(app);
    expect((await stat(host.appRoot(app))).uid).toBe(uid);

    // first deploy: web.1, web.2, worker.1, each named <app>.<dyno> once core-post-deploy has run
    const phases: [DeployPhase, string][] = [];
    const first = await host.deploy(app, {
      ...fast,
      scale: { web: 2, worker: 1 },
      onPhase: (phase, dyno) => {
        phases.push([phase, dyno]);
      },
    });
    expect(first.failed).toEqual([]);
    expect(first.retired).toEqual([]);
    expect(Object.keys(first.current).sort()).toEqual(['web.1', 'web.2', 'worker.1']);
    expect(phases.filter(([, d]) => d === 'web.1').map(([p]) => p)).toEqual([
      'created',
      'started',
      'checked',
      'switched',
      'renamed',
    ]);
    for (const [dyno, id] of Object.entries(first.current)) {
      const info = await docker.getContainer(id).inspect();
      expect(info.Name).toBe(`/${app}.${dyno}`);
      expect(info.State.Running).toBe(true);
      expect(info.Config.Labels['com.dokku.dyno']).toBe(dyno);
      expect(info.Config.Env).toContain(dyno.startsWith('web.') ? 'PORT=5000' : 'PORT=');
      const file = path.join(host.appRoot(app), `CONTAINER.${dyno}`);
      expect(await readFile(file, 'utf8')).toBe(`${id}\n`);
      for (const f of ['CONTAINER', 'IP'])
        expect((await stat(path.join(host.appRoot(app), `${f}.${dyno}`))).uid).toBe(uid);
    }
    const ips = await host.ipFiles(app);
    for (const [dyno, id] of Object.entries(first.current)) {
      const info = await docker.getContainer(id).inspect();
      expect(ips[dyno]).toBe(info.NetworkSettings.Networks.bridge?.IPAddress);
      expect(ips[dyno]).toMatch(/^\d+\.\d+\.\d+\.\d+$/); // no trailing newline
    }
    expect(await host.portFiles(app)).toEqual({ 'web.1': '5000', 'web.2': '5000' });
    const scaleFile = path.join(host.libRoot, 'config/ps', app, 'scale');
    expect(await readFile(scaleFile, 'utf8')).toBe('web=2\nworker=1\n');
    expect((await stat(scaleFile)).mode & 0o777).toBe(0o600);
    expect((await stat(scaleFile)).uid).toBe(uid);
    expect(await host.getProperty(app, 'deployed', 'common')).toBe('true');

    // redeploy: new containers take the names, the old ones get dated names and are stopped after wait-to-retire
    const second = await host.deploy(app, fast);
    expect(second.retired.sort()).toEqual(Object.values(first.current).sort());
    for (const [dyno, id] of Object.entries(first.current)) {
      const info = await docker.getContainer(id).inspect();
      expect(info.Name).toMatch(new RegExp(`^/${re(app)}\\.${re(dyno)}\\.\\d+(-\\d+)?$`));
      expect(info.State.Running).toBe(false);
      expect((await docker.getContainer(second.current[dyno] ?? '').inspect()).Name).toBe(`/${app}.${dyno}`);
    }

    // a failed check: the upcoming container is killed and recorded, the old one stays current and serving;
    // the deploy stops there (web.2 and worker.1 are not redeployed)
    const third = await host.deploy(app, { ...fast, failCheck: ['web.1'] });
    expect(third.failed).toEqual(['web.1']);
    expect(third.current).toEqual(second.current);
    expect((await docker.getContainer(second.current['web.1'] ?? '').inspect()).State.Running).toBe(true);
    const failed = await readFile(
      path.join(host.libRoot, 'data/scheduler-docker-local', app, 'failed-containers'),
      'utf8',
    );
    const [failedId, failedDyno] = failed.trim().split(' ');
    expect(failedDyno).toBe('web.1');
    const upcoming = await docker.getContainer(failedId ?? '').inspect();
    expect(upcoming.Name).toMatch(new RegExp(`^/${re(app)}\\.web\\.1\\.upcoming-\\d+$`));
    expect(upcoming.State.Running).toBe(false);

    // the retire cron removes the stopped containers that are not current
    const removed = await host.retireAll(app);
    expect(removed).toEqual(expect.arrayContaining([...Object.values(first.current), failedId]));
    const left = await host.appContainers(app);
    expect(left.map((c) => c.id).sort()).toEqual(Object.values(second.current).sort());

    // network:set writes a dokku-owned 0600 property file without a newline; an empty value unsets it
    await host.setProperty(app, 'attach-post-deploy', ['net-a', 'net-b']);
    const propFile = path.join(host.libRoot, 'config/network', app, 'attach-post-deploy');
    expect(await readFile(propFile, 'utf8')).toBe('net-a,net-b');
    expect((await stat(propFile)).mode & 0o777).toBe(0o600);
    expect((await stat(propFile)).uid).toBe(uid);
    expect((await stat(path.dirname(propFile))).mode & 0o777).toBe(0o755);
    await host.setProperty(app, 'attach-post-deploy', '');
    expect(await host.getProperty(app, 'attach-post-deploy')).toBeUndefined();
  });
});
