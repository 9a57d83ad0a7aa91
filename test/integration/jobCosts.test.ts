import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { rebuild, rebuildall } from '../../producers/client.js';
import { DockerodeEngine } from '../../src/docker/dockerodeEngine.js';
import type { DockerEngine } from '../../src/docker/engine.js';
import { createRedis } from '../../src/redis.js';
import { countRoundTrips } from '../../src/store/roundTrips.js';
import {
  appName,
  configOf,
  createAppContainer,
  dokkuLayout,
  producer,
  scopeLabel,
  startPool,
  useTestEnvs,
} from '../helpers.js';
import { captureLogger } from '../support/captureLogger.js';

// What one per-app job asks of Docker and of Redis in Dokku mode (workers/rebuild.ts, src/rebuildApp.ts): a job
// of a rebuildall that finds its app as it left it makes one list call (the fixed facts of its containers come
// from the worker's cache: src/docker/fixedFactsCache.ts) and three Redis round trips, four when Dokku's files
// must be rewritten; a job that answers a request (or an event) inspects every container instead.

const env = useTestEnvs({ docker: true });
const layouts: { remove: () => Promise<void> }[] = [];
afterEach(async () => {
  for (const l of layouts.splice(0)) await l.remove();
});

/** The engine, recording the name of every call made through it. */
function recording(engine: DockerEngine): { docker: DockerEngine; calls: string[] } {
  const calls: string[] = [];
  const docker = new Proxy(engine, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop, target);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls.push(String(prop));
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { docker, calls };
}

describe('the cost of a per-app job', () => {
  it('counts a command, a MULTI, a pipeline and a script as one round trip each', async () => {
    const redis = createRedis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
    try {
      const { client, roundTrips } = countRoundTrips(redis);
      const key = `test-${scopeLabel}-round-trips`;
      await client.set(key, '1', 'PX', 10_000);
      await client.multi().get(key).incr(key).exec();
      await client.pipeline().get(key).get(key).exec();
      await client.eval("return redis.call('get', KEYS[1])", 1, key);
      await client.del(key);
      expect(roundTrips()).toBe(5);
    } finally {
      redis.disconnect();
    }
  });

  it('warm, in Dokku mode: one list call and no inspect, three Redis round trips (four with files to rewrite)', async () => {
    const app = appName('costs');
    const layout = await dokkuLayout();
    layouts.push(layout);
    const web = await createAppContainer({ app, proc: 'web', index: 1 });
    const worker = await createAppContainer({ app, proc: 'worker', index: 1 });
    await layout.register(app, { 'web.1': web.id, 'worker.1': worker.id });
    const config = configOf(env(layout.env));
    const { docker, calls } = recording(new DockerodeEngine(config.dockerHost, scopeLabel));
    const { logger, lines } = captureLogger();
    await startPool(config, { docker, logger });
    const q = producer(config);
    const jobLines = () => lines.filter((l) => l.msg === 'rebuilt app');
    const measured = async (run: () => Promise<void>) => {
      const before = calls.length;
      await run();
      return { docker: calls.slice(before), redis: jobLines().at(-1)?.redisRoundTrips };
    };
    const all = () =>
      measured(async () => {
        const { result } = await rebuildall(q, { wait: true, timeoutMs: 60_000 });
        expect(result).toMatchObject({ apps: 1, containers: 2, configured: 2, failed: 0 });
      });
    const one = () =>
      measured(async () => {
        const { result } = await rebuild(q, { app, host: 'local' }, { wait: true, timeoutMs: 60_000 });
        expect(result).toMatchObject({ containers: 2, configured: 2, failed: 0 });
      });
    try {
      // cold: the worker inspects each container once, and writes the files (Redis may be seeing the job's
      // scripts for the first time: their round trips are counted below, once it has them)
      const cold = await all();
      expect(cold.docker.filter((c) => c === 'inspectContainer')).toHaveLength(2);

      const warm = await all();
      expect(warm.docker).toEqual(['listContainers']);
      expect(warm.redis).toBe(3);

      // a file with a wrong value: rewritten, after the lock was checked (one more round trip)
      await writeFile(path.join(layout.root, app, 'IP.web.1'), '10.9.9.9');
      const stale = await all();
      expect(stale.docker).toEqual(['listContainers']);
      expect(stale.redis).toBe(4);

      // a rebuild asked for by itself (as an event asks): every container inspected, no list call
      const asked = await one();
      expect(asked.docker).toEqual(['inspectContainer', 'inspectContainer']);
      expect(asked.redis).toBe(3);
      expect(jobLines()).toHaveLength(4);
    } finally {
      await q.close();
    }
  });
});
