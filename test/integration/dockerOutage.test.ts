import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { rebuildall } from '../../producers/client.js';
import { DockerodeEngine } from '../../src/docker/dockerodeEngine.js';
import { NamespaceEngine } from '../engines.js';
import {
  appName,
  cleanupPrefix,
  closePools,
  configOf,
  createAppContainer,
  openPools,
  producer,
  runId,
  scopeLabel,
  startPool,
  storedListeners,
  testEnv,
  until,
} from '../helpers.js';

const engine = new NamespaceEngine(`netq-out-${runId}`);
const envs: Record<string, string>[] = [];
beforeAll(() => engine.start(), 90_000);
afterEach(async () => {
  await closePools();
  expect(openPools()).toBe(0);
  if (
    !(await engine.docker.ping().then(
      () => true,
      () => false,
    ))
  )
    await engine.start();
  const left = await engine.docker.listContainers({ all: true, filters: { label: [scopeLabel] } });
  await Promise.all(left.map((c) => engine.docker.getContainer(c.Id).remove({ force: true })));
  for (const e of envs.splice(0)) await cleanupPrefix(configOf(e));
});
afterAll(() => engine.destroy());

/** An app container on the test engine that comes back with it, as Dokku's do. */
const appOnEngine = (app: string) => createAppContainer({ app, engine: engine.docker, restartAlways: true });

/** Waits until the host's scan has listed its apps and added their jobs. */
async function scanned(q: ReturnType<typeof producer>, prefix: string) {
  await until('scan', async () => {
    for (const k of await q.redis.keys(`${prefix}:run-totals:*`))
      if (await q.redis.hexists(k, 'total:local')) return true;
    return undefined;
  });
}

describe('a Docker engine that goes away', () => {
  it('per-app jobs back off while it is down and succeed once it is back', async () => {
    const e = testEnv({ NETQ_ATTEMPTS: '8', NETQ_BACKOFF_MS: '300' });
    envs.push(e);
    const config = configOf(e);
    const apps = [appName('out'), appName('out'), appName('out'), appName('out')];
    for (const a of apps) await appOnEngine(a);
    const docker = new DockerodeEngine(engine.dockerHost, scopeLabel);
    await startPool(config, { docker, roles: ['scan', 'summary'] });
    const q = producer(config);
    try {
      const run = rebuildall(q, { wait: true, timeoutMs: 120_000 });
      await scanned(q, config.prefix);
      await engine.stop();
      // the per-app jobs start while the engine is down
      await startPool(config, { docker, roles: ['rebuild'] });
      await until('a failed attempt', async () => {
        const jobs = await q.rebuildQueue('local').getJobs(['delayed', 'waiting']);
        return jobs.some((j) => j.attemptsMade >= 1 && /Docker engine unreachable/.test(j.failedReason ?? ''))
          ? true
          : undefined;
      });
      await engine.start();
      const { result } = await run;
      expect(result).toMatchObject({ apps: 4, containers: 4, configured: 4, failed: 0, hostFailures: [] });
      const done = await q.rebuildQueue('local').getCompleted();
      expect(done).toHaveLength(4);
      expect(Math.max(...done.map((j) => j.attemptsMade))).toBeGreaterThanOrEqual(1);
      // and the stored config is what the engine says now, after its restart
      for (const app of apps) {
        const [c] = await engine.docker.listContainers({ filters: { label: [`com.dokku.app-name=${app}`] } });
        const ip = c
          ? (await engine.docker.getContainer(c.Id).inspect()).NetworkSettings.Networks.bridge?.IPAddress
          : '';
        expect(await storedListeners(config, app), app).toEqual([`${ip}:5000`]);
      }
    } finally {
      await q.close();
    }
  }, 180_000);

  it('with the engine gone for good, jobs use up their tries and the summary still completes with the reason', async () => {
    const e = testEnv({ NETQ_ATTEMPTS: '3', NETQ_BACKOFF_MS: '100' });
    envs.push(e);
    const config = configOf(e);
    const apps = [appName('gone'), appName('gone')];
    for (const a of apps) await appOnEngine(a);
    const docker = new DockerodeEngine(engine.dockerHost, scopeLabel);
    await startPool(config, { docker, roles: ['scan', 'summary'] });
    const q = producer(config);
    try {
      const run = rebuildall(q, { wait: true, timeoutMs: 60_000 });
      await scanned(q, config.prefix);
      await engine.stop();
      await startPool(config, { docker, roles: ['rebuild'] });
      const { result } = await run;
      expect(result).toMatchObject({ apps: 2, containers: 2, configured: 0, failed: 2 });
      for (const f of result?.results.flatMap((r) => r.failures) ?? []) {
        expect(f.reason).toMatch(/^Docker engine unreachable during container (inspect|list) \(E[A-Z]+\)$/);
      }
      expect((await q.rebuildQueue('local').getFailed()).map((j) => j.attemptsMade)).toEqual([3, 3]);
    } finally {
      await q.close();
    }
  }, 120_000);
});
