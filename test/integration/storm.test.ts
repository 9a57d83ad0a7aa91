import { describe, expect, it } from 'vitest';
import { rebuild } from '../../producers/client.js';
import { appName, configOf, createAppContainer, producer, startPool, useTestEnvs } from '../helpers.js';

const env = useTestEnvs();

describe('a deploy-hook storm', () => {
  it('1,000 rebuild requests over 50 apps: each app rebuilt after its last request, at most twice, all answered', async () => {
    const e = env({ NETQ_CONCURRENCY: '8' });
    const config = configOf(e);
    const apps = Array.from({ length: 50 }, () => appName('storm'));
    for (let i = 0; i < apps.length; i += 10) {
      await Promise.all(apps.slice(i, i + 10).map((app) => createAppContainer({ app })));
    }
    const runs = new Map<string, number[]>();
    await startPool(config, {
      onAppWork: (ev) => {
        if (ev.phase === 'start') runs.set(ev.app, [...(runs.get(ev.app) ?? []), Date.now()]);
      },
    });
    const q = producer(config);
    try {
      await q.queueEvents('rebuild.local');
      const lastRequest = new Map<string, number>();
      const started = Date.now();
      const answers: Promise<unknown>[] = [];
      // 1,000 requests spread over about a second, as hooks of many deploys would send them
      for (let i = 0; i < 1000; i++) {
        const app = apps[i % apps.length] as string;
        lastRequest.set(app, Date.now());
        answers.push(rebuild(q, { app, host: 'local' }, { wait: true, timeoutMs: 60_000, delayMs: 250 }));
        if (i % 50 === 49) await new Promise((r) => setTimeout(r, 40));
      }
      const sent = Date.now() - started;
      const results = (await Promise.all(answers)) as { result?: { configured: number } }[];
      const answeredAfter = Date.now() - started;
      expect(results).toHaveLength(1000);
      expect(results.every((r) => r.result?.configured === 1)).toBe(true);
      let total = 0;
      for (const app of apps) {
        const times = runs.get(app) ?? [];
        total += times.length;
        expect(times.length, app).toBeGreaterThanOrEqual(1);
        expect(times.length, app).toBeLessThanOrEqual(2);
        expect(Math.max(...times), app).toBeGreaterThanOrEqual(lastRequest.get(app) ?? 0);
      }
      console.log(
        `storm: 1000 requests sent in ${sent} ms, ${total} rebuilds for 50 apps, last answer after ${answeredAfter} ms`,
      );
    } finally {
      await q.close();
    }
  }, 180_000);
});
