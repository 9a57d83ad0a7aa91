import { describe, expect, it } from 'vitest';
import { NetqMetrics } from '../../producers/http/metrics.js';
import { queueName } from '../../src/jobs.js';
import { KNOWN_HOST_MS } from '../../src/liveness.js';
import { silentLogger } from '../../src/logger.js';
import { configOf, producer, until, useTestEnvs } from '../helpers.js';

// /metrics follows the QueueEvents of every known host's queues (producers/http/metrics.ts): a host that is
// forgotten (silent for KNOWN_HOST_MS) has its subscriptions closed, so that connections do not grow over time.

const env = useTestEnvs();

/** The Redis database this file's connections use, and no other test's: its client count is this test's own. */
const METRICS_DB = 12;

describe('the metrics subscriptions', () => {
  it("closes a forgotten host's queue events and their connections, and follows it again when it comes back", async () => {
    const url = new URL(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
    url.pathname = `/${METRICS_DB}`;
    const config = configOf(env({ REDIS_URL: url.toString() }));
    const q = producer(config);
    const metrics = new NetqMetrics(q, silentLogger());
    const clients = async () =>
      String(await q.redis.call('CLIENT', 'LIST'))
        .split('\n')
        .filter((line) => line.includes(` db=${METRICS_DB} `)).length;
    const beat = async (host: string, ageMs: number) => q.redis.zadd(q.keys.hosts, (await q.redisNow()) - ageMs, host);
    const queuesOf = (host: string) => [queueName.control(host), queueName.rebuild(host), queueName.scan(host)];
    /** the connection count reaching `n` (a closed connection leaves the server's list a moment later) */
    const settlesAt = (n: number) =>
      until(`${n} connections`, async () => ((await clients()) === n ? true : undefined), 10_000);
    try {
      await beat('h1', 0);
      await metrics.subscribe();
      expect(metrics.subscribedQueues()).toEqual([...queuesOf('h1'), queueName.summary].sort());
      const withH1 = await clients();
      await beat('h2', 0);
      await metrics.subscribe();
      expect(metrics.subscribedQueues()).toEqual([...queuesOf('h1'), ...queuesOf('h2'), queueName.summary].sort());
      const withBoth = await clients();
      expect(withBoth).toBeGreaterThanOrEqual(withH1 + 3);

      // h2 beat last a day ago: forgotten, its three subscriptions closed with their connections
      await beat('h2', KNOWN_HOST_MS + 1000);
      await metrics.subscribe();
      expect(metrics.subscribedQueues()).toEqual([...queuesOf('h1'), queueName.summary].sort());
      await settlesAt(withH1);

      // it comes back: followed again, with as many connections as before
      await beat('h2', 0);
      await metrics.subscribe();
      expect(metrics.subscribedQueues()).toEqual([...queuesOf('h1'), ...queuesOf('h2'), queueName.summary].sort());
      await settlesAt(withBoth);

      // many hosts coming and going leave no connection behind
      for (let i = 0; i < 5; i++) {
        await beat(`passing-${i}`, 0);
        await metrics.subscribe();
        await beat(`passing-${i}`, KNOWN_HOST_MS + 1000);
      }
      await metrics.subscribe();
      expect(metrics.subscribedQueues()).toEqual([...queuesOf('h1'), ...queuesOf('h2'), queueName.summary].sort());
      await settlesAt(withBoth);
    } finally {
      await metrics.close();
      await q.close();
    }
  });
});
