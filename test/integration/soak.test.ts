import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { SoakReport } from '../../scripts/soak-report.js';
import { collect, ROOT, tempDir } from '../helpers.js';

/**
 * The chaos soak (scripts/soak.ts, `npm run soak -- --minutes N`) for 2 minutes: 30 simulated Dokku apps on a
 * private engine, two workers, a producer loop, and every kind of fault (worker SIGKILL, Redis restart, dockerd
 * restart, app container killed, change hook stalled). The soak checks its invariants itself; this test runs it
 * and asserts them one by one, so that a failure names the one that broke.
 */
const MINUTES = 2;
/**
 * The test's timeout (the literal below): setup (30 deploys, workers, warm-up) and the end (drain, checks,
 * cleanup) come on top of the chaos; about 160 s in all on a 2-core machine.
 */
const TIMEOUT_MS = 300_000;

describe('chaos soak', () => {
  it('keeps every invariant through 2 minutes of faults of every kind', async () => {
    const dir = await tempDir();
    const out = path.join(dir.dir, 'soak.json');
    try {
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', 'scripts/soak.ts', '--minutes', String(MINUTES), '--json', out],
        { cwd: ROOT, env: process.env, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      // the soak cleans up after itself on SIGTERM: sent before this test's own timeout
      const term = setTimeout(() => child.kill('SIGTERM'), TIMEOUT_MS - 40_000);
      const kill = setTimeout(() => child.kill('SIGKILL'), TIMEOUT_MS - 10_000);
      const res = await collect(child).finally(() => {
        clearTimeout(term);
        clearTimeout(kill);
      });
      console.log(res.stdout.slice(res.stdout.indexOf('netq chaos soak')));
      expect(res.code, `${res.stdout.slice(-3000)}\n${res.stderr.slice(-3000)}`).toBe(0);
      const r = JSON.parse(await readFile(out, 'utf8')) as SoakReport;

      expect(r.files.violationDetails).toEqual([]);
      expect(r.files.finalWrong).toEqual([]);
      expect(r.files.checks).toBeGreaterThan(5_000);
      expect(r.jobs.lost).toEqual([]);
      expect(r.jobs.failedWithoutReason).toEqual([]);
      expect(r.jobs.stuck).toEqual({});
      expect(r.jobs.tracked).toBeGreaterThan(20);
      expect(r.overlaps.found).toEqual([]);
      expect(r.overlaps.stretches).toBeGreaterThan(100);
      const steady = r.rss.find((x) => x.worker.includes('never killed'));
      expect(steady?.ratio).toBeLessThanOrEqual(1.2);
      expect(r.redisKeys.extra).toEqual([]);
      expect(r.redisKeys.after).toBe(r.redisKeys.before);
      for (const [kind, f] of Object.entries(r.faults)) {
        expect(f.injected, kind).toBeGreaterThan(0);
        expect(f.survived, `${kind}: ${f.notes.join('; ')}`).toBe(f.injected);
      }
      expect(r.hooks.overLimit).toEqual([]);
      expect(r.hooks.stalledRuns).toBeGreaterThan(0);
      expect(r.workers.unexpectedExits).toEqual([]);
      expect(r.producer.unexplained).toEqual([]);
      expect(r.checks.filter((c) => !c.ok)).toEqual([]);
    } finally {
      await dir.remove();
    }
  }, 300_000);
});
