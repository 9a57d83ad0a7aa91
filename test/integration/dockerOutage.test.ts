import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { rebuildall } from '../../producers/client.js';
import { DockerodeEngine } from '../../src/docker/dockerodeEngine.js';
import { DockerUnreachableError } from '../../src/errors.js';
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
import { runOnce } from '../support/runOnce.js';

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
    // the scan and the summary run in a pool; the per-app jobs are stepped through attempt by attempt
    // (test/support/runOnce.ts), so each attempt's end is read, not polled for
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
      // each per-app job's first attempt meets the engine down: a failed attempt, kept for a retry after its backoff
      const first = await runOnce(config, docker);
      expect(first.map((o) => o.state)).toEqual(['retrying', 'retrying', 'retrying', 'retrying']);
      for (const o of first) if (o.state === 'retrying') expect(o.err).toBeInstanceOf(DockerUnreachableError);
      const delayed = await q.rebuildQueue('local').getDelayed();
      expect(delayed.map((j) => j.attemptsMade)).toEqual([1, 1, 1, 1]);
      await engine.start();
      for (const j of delayed) await j.promote(); // their backoff is BullMQ's: the retries run now
      const second = await runOnce(config, docker);
      expect(second.map((o) => o.state)).toEqual(['completed', 'completed', 'completed', 'completed']);
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
