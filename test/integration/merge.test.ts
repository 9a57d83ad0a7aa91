import { describe, expect, it } from 'vitest';
import { rebuild } from '../../producers/client.js';
import { queueName } from '../../src/jobs.js';
import { appName, configOf, createAppContainer, producer, startPool, until, useTestEnvs } from '../helpers.js';

const env = useTestEnvs();

describe('rebuild requests merge', () => {
  it('requests that arrive while a rebuild waits merge into it, and every waiting requester gets its result', async () => {
    const config = configOf(env());
    const app = appName('merge');
    await createAppContainer({ app, proc: 'web', index: 1 });
    const q = producer(config);
    try {
      // no worker yet: every request finds the first one waiting
      const queued = await Promise.all(
        Array.from({ length: 10 }, () => rebuild(q, { app, host: 'local' }, { wait: false, timeoutMs: 1000 })),
      );
      expect(new Set(queued.map((r) => r.jobId)).size).toBe(1);
      const waiting = Array.from({ length: 5 }, () =>
        rebuild(q, { app, host: 'local' }, { wait: true, timeoutMs: 20_000 }),
      );
      // all five have joined the waiting job (each listens for its completion) before a worker exists
      const events = await q.queueEvents(queueName.rebuild('local'));
      await until('five requesters on the merged job', async () =>
        events.listenerCount(`completed:${queued[0]?.jobId}`) === 5 ? true : undefined,
      );
      let runs = 0;
      await startPool(config, { onAppWork: (ev) => void (ev.phase === 'start' && runs++) });
      const results = await Promise.all(waiting);
      expect(results.map((r) => r.jobId)).toEqual(Array(5).fill(queued[0]?.jobId));
      expect(results.every((r) => r.result?.configured === 1)).toBe(true);
      expect(runs).toBe(1);
      expect(await q.rebuildQueue('local').getJobCounts('completed', 'waiting', 'delayed', 'active')).toEqual({
        completed: 1,
        waiting: 0,
        delayed: 0,
        active: 0,
      });
    } finally {
      await q.close();
    }
  });

  it('a request that arrives while a rebuild runs leads to exactly one more rebuild afterwards', async () => {
    const config = configOf(env());
    const app = appName('during');
    await createAppContainer({ app, proc: 'web', index: 1 });
    const q = producer(config);
    try {
      const starts: string[] = [];
      let during: Promise<unknown> | undefined;
      await startPool(config, {
        onAppWork: (ev) => {
          if (ev.phase !== 'start') return;
          starts.push(ev.jobId);
          // while the first rebuild runs, five more requests arrive
          if (starts.length === 1) {
            during = Promise.all(
              Array.from({ length: 5 }, () => rebuild(q, { app, host: 'local' }, { wait: true, timeoutMs: 20_000 })),
            );
          }
        },
      });
      const first = await rebuild(q, { app, host: 'local' }, { wait: true, timeoutMs: 20_000 });
      const later = (await during) as { jobId: string }[];
      expect(new Set(later.map((r) => r.jobId)).size).toBe(1);
      expect(later[0]?.jobId).not.toBe(first.jobId);
      expect(starts).toEqual([first.jobId, later[0]?.jobId]);
    } finally {
      await q.close();
    }
  });
});
