import { describe, expect, it } from 'vitest';
import { queueName } from '../../src/jobs.js';
import { configOf, producer, startPool, until, useTestEnvs } from '../helpers.js';

/**
 * A worker whose start fails after it registered (its first heartbeat written) closes what it opened and takes
 * its registration back: no BullMQ worker keeps fetching, no entry in `workers:<host>` or `worker-health`, and
 * the host's entry in `hosts` is what it was before (none here), so the host is not shown live without a worker.
 */
const env = useTestEnvs();

describe('a worker pool whose start fails half-way', () => {
  it('takes its registration back when the start fails after its first heartbeat', async () => {
    const config = configOf(env());
    const q = producer(config);
    try {
      // the replacement journal, read right after the first heartbeat, is a key of the wrong type
      await q.redis.set(q.keys.replacing(config.hostId), 'not a hash');
      await expect(startPool(config)).rejects.toThrow(/WRONGTYPE/);
      const h = config.hostId;
      const queues = [queueName.rebuild(h), queueName.scan(h), queueName.control(h), queueName.summary].map((n) =>
        q.queue(n),
      );
      await until('no worker left on any queue', async () =>
        (await Promise.all(queues.map((x) => x.getWorkers()))).every((w) => w.length === 0) ? true : undefined,
      );
      expect(await q.redis.zscore(q.keys.hosts, config.hostId)).toBeNull();
      expect(await q.redis.zcard(q.keys.workers(config.hostId))).toBe(0);
      expect(await q.redis.hlen(q.keys.workerHealth)).toBe(0);
      expect(await q.liveHosts()).not.toContain(config.hostId);
    } finally {
      await q.close();
    }
  });

  it("leaves a live host's entry and its other worker alone", async () => {
    const config = configOf(env());
    const q = producer(config);
    try {
      const first = await startPool(config, { roles: ['scan'] });
      const before = await q.redis.zscore(q.keys.hosts, config.hostId);
      expect(before).not.toBeNull();
      await q.redis.set(q.keys.replacing(config.hostId), 'not a hash');
      await expect(startPool(config)).rejects.toThrow(/WRONGTYPE/);
      // the second worker's beat moved the host's entry on; it stays, since the first worker serves the host
      expect(Number(await q.redis.zscore(q.keys.hosts, config.hostId))).toBeGreaterThanOrEqual(Number(before));
      expect(await q.redis.zrange(q.keys.workers(config.hostId), '0', '-1')).toEqual([first.workerId]);
      expect(Object.keys(await q.redis.hgetall(q.keys.workerHealth))).toEqual([first.workerId]);
      expect(await q.liveHosts()).toContain(config.hostId);
    } finally {
      await q.close();
    }
  });
});
