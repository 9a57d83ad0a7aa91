import { describe, expect, it } from 'vitest';
import { enqueueRebuildall } from '../../src/enqueue.js';
import { configOf, producer, startPool, until, useTestEnvs } from '../helpers.js';

const env = useTestEnvs();

describe('waiting for a job', () => {
  it('hears of an event written while its event reader is still starting, and of none from before', async () => {
    const q = producer(configOf(env()));
    try {
      const stream = `${q.prefix}:rebuild.local:events`;
      await q.redis.xadd(stream, '*', 'event', 'completed', 'jobId', 'before', 'returnvalue', '"old"');
      // Redis runs one connection's commands in order: the reader's starting point (read on this
      // connection) comes before this event, and its first read (on a new connection, after a handshake)
      // comes after it. A reader that starts at `$` would never see the event.
      const ready = q.queueEvents('rebuild.local');
      const written = q.redis.xadd(stream, '*', 'event', 'completed', 'jobId', 'meanwhile', 'returnvalue', '"new"');
      const events = await ready;
      await written;
      const heard: string[] = [];
      events.on('completed', (args: { jobId: string }) => heard.push(args.jobId));
      await until('the event written meanwhile', async () => (heard.length ? true : undefined), 10_000);
      expect(heard).toEqual(['meanwhile']);
    } finally {
      await q.close();
    }
  });

  it("keeps a summary queue's event stream to about 100 events, not BullMQ's 10,000", async () => {
    // a summary's `completed` event carries the whole run's result: 10,000 of them held gigabytes at 10,000 apps
    const config = configOf(env());
    // a worker of the summary queue only: it sets the queue up; no scan of host `nowhere` ever runs, so each
    // rebuildall adds two summary events (added, waiting-children) and stays there
    await startPool(config, { roles: ['summary'] });
    const q = producer(config);
    try {
      for (let i = 0; i < 150; i++) await enqueueRebuildall(q, ['nowhere']);
      const length = await q.redis.xlen(`${q.prefix}:summary:events`);
      // trimmed approximately (whole stream nodes of 100 entries): well under the 300 written
      expect(length).toBeLessThanOrEqual(200);
      expect(length).toBeGreaterThanOrEqual(100);
    } finally {
      await q.close();
    }
  });
});
