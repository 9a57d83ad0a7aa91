import { type ChildProcess, spawn } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config.js';
import type { JournalEntry } from '../../src/store/replacementJournal.js';
import { asDokku, type DokkuHost, ensureDokkuUser, useDokkuHosts } from '../dokkuHost.js';
import {
  appName,
  configOf,
  docker,
  IMAGE,
  ROOT,
  RUN_LABEL,
  runCli,
  runId,
  startPool,
  until,
  useTestEnvs,
} from '../helpers.js';

/**
 * A replacement (bind-all-interfaces, initial-network) on a Dokku host ends with Dokku's books kept, is
 * journalled so that a SIGKILL at any step leaves exactly one container per dyno, and is never looped.
 */
const env = useTestEnvs({ docker: true });
const dokkuHost = useDokkuHosts();
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
});
const fast = { checksMs: 50, waitToRetireMs: 100 };

/** The app's containers that run, by name. */
async function running(app: string): Promise<{ id: string; name: string; ports: number[] }[]> {
  const list = await docker.listContainers({ filters: { label: [`com.dokku.app-name=${app}`] } });
  return list
    .map((c) => ({
      id: c.Id,
      name: (c.Names[0] ?? '').replace(/^\//, ''),
      ports: c.Ports.filter((p) => p.PublicPort).map((p) => p.PrivatePort),
    }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** Exactly one container runs for web.1: it has the dyno's name, CONTAINER.web.1 and IP.web.1 name it. */
async function expectOneDyno(host: DokkuHost, app: string): Promise<string> {
  const live = await running(app);
  expect(live.map((c) => c.name)).toEqual([`${app}.web.1`]);
  const id = live[0]?.id ?? '';
  expect((await host.currentContainers(app))['web.1']).toBe(id);
  const ip = (await docker.getContainer(id).inspect()).NetworkSettings.Networks.bridge?.IPAddress;
  expect((await host.ipFiles(app))['web.1']).toBe(ip);
  return id;
}

function journal(config: Config) {
  const redis = new Redis(config.redisUrl);
  const key = `${config.prefix}:replacing:local`;
  return {
    async entries(): Promise<JournalEntry[]> {
      return Object.values(await redis.hgetall(key)).map((v) => JSON.parse(v) as JournalEntry);
    },
    async write(e: JournalEntry) {
      await redis.hset(key, `${e.app}/${e.proc}.${e.index}`, JSON.stringify(e));
    },
    close: () => redis.disconnect(),
  };
}

/** `netq worker` as its own process, to be killed. */
function spawnWorker(e: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, [path.join(ROOT, 'bin/netq.js'), 'worker'], {
    env: { PATH: process.env.PATH ?? '', ...e },
    stdio: 'ignore',
  });
  children.push(child);
  return child;
}

describe('replacement in Dokku mode', () => {
  it("keeps Dokku's books: CONTAINER file, names, and the next Dokku deploy leaves no orphan", async () => {
    const { uid } = await ensureDokkuUser();
    const host = await dokkuHost();
    const e = env({ ...host.env(), NETQ_WAIT_TO_RETIRE_MS: '200' });
    await startPool(configOf(e), { watchEvents: true });
    const app = appName('books');
    await host.createApp(app);
    const old = (await host.deploy(app, fast)).current['web.1'] ?? '';

    const set = await runCli(['network:set', app, 'bind-all-interfaces', 'true', '--format', 'json'], e);
    expect(set.code, set.stderr).toBe(0);
    await until('the old container retired', async () =>
      (await docker.listContainers({ all: true, filters: { id: [old] } })).length === 0 ? true : undefined,
    );
    const replaced = await expectOneDyno(host, app);
    expect(replaced).not.toBe(old);
    expect((await running(app))[0]?.ports).toEqual([5000]);
    const containerFile = path.join(host.appRoot(app), 'CONTAINER.web.1');
    expect(await readFile(containerFile, 'utf8')).toBe(`${replaced}\n`);
    expect((await stat(containerFile)).uid).toBe(uid);
    expect((await asDokku('test -w "$1"', containerFile)).code).toBe(0);

    // Dokku's next deploy (which now publishes the port itself) retires netq's replacement like any old container
    const next = await host.deploy(app, fast);
    expect(next.retired).toEqual([replaced]);
    const now = await expectOneDyno(host, app);
    expect(now).toBe(next.current['web.1']);
    const r = await runCli(['network:rebuild', app, '--format', 'json'], e);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ containers: 1, configured: 1, failed: 0 });
    expect(await expectOneDyno(host, app)).toBe(now); // no drift left: not replaced again
    const everything = await docker.listContainers({ all: true, filters: { label: [`com.dokku.app-name=${app}`] } });
    expect(everything.filter((c) => /\.netq-/.test(c.Names[0] ?? ''))).toEqual([]);
  });

  for (const [when, step, waitMs] of [
    ['before the switch (the new container under its settle check)', 'created', '200'],
    ['after the switch (waiting for the old one to retire)', 'switched', '8000'],
  ] as const) {
    it(`a worker SIGKILLed ${when} leaves one container for the dyno once a worker starts again`, async () => {
      const host = await dokkuHost();
      const e = env({ ...host.env(), NETQ_WAIT_TO_RETIRE_MS: waitMs });
      const config = configOf(e);
      const app = appName(`kill-${step}`);
      await host.createApp(app);
      await host.deploy(app, fast);
      await host.setProperty(app, 'bind-all-interfaces', 'true');
      const worker = spawnWorker(e);
      const j = journal(config);
      try {
        // the worker's own start-up rebuild of its host (its watcher connecting) may be the one that replaces
        // the dyno, or the rebuild asked for below: the journal is watched from the start either way
        const asked = until('the worker', async () =>
          (await runCli(['hosts', '--format', 'json'], e)).stdout.includes('local') ? true : undefined,
        ).then(() => runCli(['network:rebuild', app, '--no-wait'], e));
        const entry = await until(
          `journal step ${step}`,
          async () => (await j.entries()).find((x) => x.app === app && x.step === step),
          20_000,
        );
        worker.kill('SIGKILL');
        await new Promise((r) => worker.once('exit', r));
        await asked.catch(() => {});
        expect(entry.newId).toMatch(/^[0-9a-f]{64}$/);
        // two containers now (old and new): a worker that starts settles the journal, then rebuilds
        await startPool(config);
        await until('journal settled', async () => ((await j.entries()).length === 0 ? true : undefined));
        await until('one container for web.1', async () => ((await running(app)).length === 1 ? true : undefined));
        const id = await expectOneDyno(host, app);
        expect((await running(app))[0]?.ports).toEqual([5000]);
        if (step === 'switched') expect(id).toBe(entry.newId);
      } finally {
        j.close();
      }
    });
  }

  it('settles a replacement journalled at each step by hand: finished once switched, else rolled back', async () => {
    const host = await dokkuHost();
    const e = env(host.env());
    const config = configOf(e);
    const j = journal(config);
    // the state each step leaves: the old container (deployed by Dokku), the new one (a copy), names, files
    const states = [
      'creating',
      'creating+made',
      'created',
      'handed-over',
      'old-renamed',
      'both-renamed',
      'file-written',
    ];
    const apps = states.map((s) => appName(`step-${s.replace('+', '-')}`));
    const expected = new Map<string, string>();
    try {
      for (const [i, state] of states.entries()) {
        const app = apps[i] ?? '';
        await host.createApp(app);
        const oldId = (await host.deploy(app, fast)).current['web.1'] ?? '';
        const info = await docker.getContainer(oldId).inspect();
        const name = `${app}.web.1`;
        const entry: JournalEntry = {
          app,
          proc: 'web',
          index: 1,
          oldId,
          name,
          tempName: `${name}.netq-abc123`,
          step: 'creating',
        };
        if (state === 'creating') {
          await j.write(entry);
          expected.set(app, oldId);
          continue;
        }
        const copy = await docker.createContainer({
          name: entry.tempName,
          Image: IMAGE,
          Cmd: info.Config.Cmd,
          Env: info.Config.Env,
          Labels: { ...info.Config.Labels, [RUN_LABEL]: runId },
          HostConfig: { Init: true },
        });
        if (state === 'creating+made') {
          await j.write(entry); // killed between the create call and its journal entry
          expected.set(app, oldId);
          continue;
        }
        await copy.start();
        const made = { ...entry, newId: copy.id, step: 'created' as const };
        if (state === 'created') await j.write(made);
        if (state === 'handed-over') {
          await docker.getContainer(oldId).stop({ t: 1 }); // a fixed host port handed over: the old one stopped
          await j.write(made);
        }
        const dated = { ...made, step: 'started' as const, datedName: `${name}.1700000000` };
        if (state === 'old-renamed' || state === 'both-renamed' || state === 'file-written') {
          await docker.getContainer(oldId).rename({ name: dated.datedName });
          if (state !== 'old-renamed') await copy.rename({ name });
          if (state === 'file-written')
            await asDokku('echo "$2" > "$1"', path.join(host.appRoot(app), 'CONTAINER.web.1'), copy.id);
          await j.write(dated);
        }
        expected.set(app, state === 'file-written' ? copy.id : oldId);
      }
      await startPool(config);
      await until('journal settled', async () => ((await j.entries()).length === 0 ? true : undefined));
      for (const [i, state] of states.entries()) {
        const app = apps[i] ?? '';
        await until(`${state}: rebuilt`, async () => ((await host.ipFiles(app))['web.1'] ? true : undefined));
        expect(await expectOneDyno(host, app), state).toBe(expected.get(app));
      }
    } finally {
      j.close();
    }
  });

  it('does not loop on a replacement that exits at once: retried with backoff, shown in the drift', async () => {
    const host = await dokkuHost();
    const e = env({ ...host.env(), NETQ_DEBOUNCE_MS: '50' });
    await startPool(configOf(e), { watchEvents: true });
    const app = appName('flaky');
    await host.createApp(app);
    // an app that runs only under its own host name: an identical replacement (another host name) exits at once
    const c = await docker.createContainer({
      name: `${app}.web.1`,
      Hostname: 'orig',
      Image: IMAGE,
      Cmd: ['/bin/sh', '-c', '[ "$(hostname)" = orig ] && exec httpd -f -p 5000; exit 3'],
      Env: ['DYNO=web.1', 'PORT=5000'],
      ExposedPorts: { '5000/tcp': {} },
      Labels: {
        'com.dokku.app-name': app,
        'com.dokku.container-type': 'deploy',
        'com.dokku.process-type': 'web',
        'com.dokku.dyno': 'web.1',
        [RUN_LABEL]: runId,
      },
      HostConfig: { Init: true },
    });
    await c.start();
    await host.writeScale(app, { web: 1 }, true);
    await host.setProperty(app, 'deployed', 'true', 'common');
    await asDokku('echo "$2" > "$1"', path.join(host.appRoot(app), 'CONTAINER.web.1'), c.id);

    const since = Math.floor(Date.now() / 1000);
    const set = await runCli(['network:set', app, 'bind-all-interfaces', 'true', '--format', 'json'], e);
    expect(set.code).toBe(1); // the one container whose binding could not be applied
    await new Promise((r) => setTimeout(r, 30_000)); // the window in which a loop would show: counted below
    const stream = await docker.getEvents({
      since,
      until: Math.floor(Date.now() / 1000),
      filters: { type: ['container'], event: ['create'] },
    });
    let text = '';
    for await (const chunk of stream) text += chunk.toString();
    const attempts = text
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { Actor?: { Attributes?: { name?: string } } })
      .filter((ev) => ev.Actor?.Attributes?.name?.startsWith(`${app}.web.1.netq-`)).length;
    // tries at 0 s and after 10 s (then 20 s later): two or three in 30 s, never a loop
    expect(attempts).toBeGreaterThanOrEqual(2);
    expect(attempts).toBeLessThanOrEqual(3);
    // the app keeps serving from its container, and the report says why its binding is not applied
    expect((await running(app)).map((x) => x.id)).toEqual([c.id]);
    expect((await host.currentContainers(app))['web.1']).toBe(c.id);
    const report = JSON.parse((await runCli(['network:report', app, '--format', 'json-by-app'], e)).stdout)[app];
    expect(report['network-drift']).toMatch(/replacement failed \d time\(s\).*next try in \d+ s/);
  }, 90_000);
});
