import { describe, expect, it } from 'vitest';
import { configOf, producer, until, useTestEnvs } from '../helpers.js';

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
});
