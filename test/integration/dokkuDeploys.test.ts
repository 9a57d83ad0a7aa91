import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { asDokku, useDokkuHosts } from '../dokkuHost.js';
import { appName, configOf, docker, runCli, startPool, tempDir, until, useTestEnvs } from '../helpers.js';

/**
 * The headline: zero-downtime redeploys on a Dokku host while netq's worker watches Docker's events. Dokku
 * switches each dyno itself; netq must never point a file at a container that is not the dyno's (an upcoming
 * one under check above all), must leave the files writable by dokku, and must run the change hook once per
 * deploy's switch.
 */
const env = useTestEnvs({ docker: true });
const dokkuHost = useDokkuHosts();

const DEPLOYS = 20;
const SAMPLE_MS = 50;
/** how long a file may still name the container its dyno was just switched from */
const SWITCH_GRACE_MS = 1_000;

/** An IP file read again after Dokku's in-place write had time to finish. */
async function settled(host: { ipFiles(app: string): Promise<Record<string, string>> }, app: string, dyno: string) {
  await new Promise((r) => setTimeout(r, 20));
  return (await host.ipFiles(app))[dyno] ?? '';
}

describe('zero-downtime deploys on a Dokku host, the event watcher on', () => {
  it("keeps every IP file on the dyno's current container through 20 redeploys of web=2 worker=1", async () => {
    const host = await dokkuHost();
    const hookLog = await tempDir();
    const log = path.join(hookLog.dir, 'hook.log');
    const e = env({
      ...host.env(),
      NETQ_ON_CHANGE: JSON.stringify(['/bin/sh', '-c', `echo "$NETQ_APP" >> ${log}`]),
    });
    const app = appName('zdt');
    await host.createApp(app);
    await host.deploy(app, { checksMs: 200, waitToRetireMs: 300, scale: { web: 2, worker: 1 } });
    await startPool(configOf(e), { watchEvents: true });
    const hookRuns = async () =>
      (await readFile(log, 'utf8').catch(() => '')).split('\n').filter((l) => l === app).length;
    // the worker's start-up rebuild of its host stores the listeners (the first change)
    await until('first listeners', async () => ((await hookRuns()) >= 1 ? true : undefined));

    // the sampler: every 50 ms, which running container each IP file names, against the CONTAINER files
    const violations: string[] = [];
    const switchedAt = new Map<string, { from: string; at: number }>();
    let lastCurrent: Record<string, string> = await host.currentContainers(app);
    let samples = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const ips = await host.ipFiles(app); // the files first: a switch after this read is seen below
        const current = await host.currentContainers(app);
        const now = Date.now();
        for (const [dyno, id] of Object.entries(current)) {
          if (lastCurrent[dyno] !== undefined && lastCurrent[dyno] !== id) {
            switchedAt.set(dyno, { from: lastCurrent[dyno] ?? '', at: now });
          }
        }
        lastCurrent = current;
        const list = await docker.listContainers({ filters: { label: [`com.dokku.app-name=${app}`] } });
        const byIp = new Map(list.map((c) => [c.NetworkSettings.Networks.bridge?.IPAddress ?? '', c]));
        for (const [dyno, read] of Object.entries(ips)) {
          // Dokku writes IP files in place (truncate, then write): an empty read may be Dokku mid-write,
          // which netq (temp file and rename) never shows; an empty file still empty a moment later is a violation
          const ip = read === '' ? await settled(host, app, dyno) : read;
          const owner = byIp.get(ip);
          const name = (owner?.Names[0] ?? '').replace(/^\//, '');
          if (!owner) violations.push(`${dyno}: ${ip} is no running container's`);
          else if (owner.Id === current[dyno]) continue;
          else if (/\.upcoming-/.test(name)) violations.push(`${dyno}: ${ip} is upcoming ${name}'s`);
          else {
            const sw = switchedAt.get(dyno);
            if (!(sw && sw.from === owner.Id && now - sw.at <= SWITCH_GRACE_MS)) {
              violations.push(`${dyno}: ${ip} is ${name}'s, not the dyno's current container`);
            }
          }
        }
        samples += 1;
        await new Promise((r) => setTimeout(r, SAMPLE_MS));
      }
    })();

    try {
      for (let i = 0; i < DEPLOYS; i++) {
        const runsBefore = await hookRuns();
        const result = await host.deploy(app, { checksMs: 200, waitToRetireMs: 300 });
        expect(result.failed).toEqual([]);
        // the switch reaches netq through the renames: the change hook runs once for it
        await until(`hook after deploy ${i + 1}`, async () => ((await hookRuns()) > runsBefore ? true : undefined));
        const rebuilt = await runCli(['network:rebuild', app, '--format', 'json'], e);
        expect(rebuilt.code, rebuilt.stderr).toBe(0);
        expect(JSON.parse(rebuilt.stdout)).toMatchObject({ containers: 3, configured: 3, failed: 0 });
        for (const f of ['IP.web.1', 'IP.web.2', 'IP.worker.1', 'PORT.web.1', 'PORT.web.2']) {
          expect((await asDokku('test -w "$1"', path.join(host.appRoot(app), f))).code, f).toBe(0);
        }
        expect(await hookRuns()).toBe(runsBefore + 1);
        await host.retireAll(app);
      }
    } finally {
      sampling = false;
      await sampler;
      await hookLog.remove();
    }
    console.log(`${DEPLOYS} deploys, ${samples} samples of 3 IP files, ${violations.length} violations`);
    expect(violations).toEqual([]);
    expect(samples).toBeGreaterThan(DEPLOYS * 10);
  }, 240_000);
});
