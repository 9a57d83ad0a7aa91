// The CLI as deploy hooks and people call it one app at a time, against the warm worker: `netq network:rebuild
// <app>` from process start to its printed result, and a hook's `netq network:rebuild <app> --no-wait` from
// process start to its exit. Each sample takes another app (no merge into a job of the previous one) and waits
// for the worker to be idle again first, so that no sample pays for the one before.
import type { NetqQueues } from '../src/queue.js';
import type { RebuildResult } from '../src/types.js';
import { type BenchRun, baseEnv, REDIS_URL, say } from './benchRun.js';
import { ms } from './format.js';
import { runTimed } from './runTimed.js';
import { type Stats, stats } from './stats.js';

export interface CliCallsResult {
  samples: number;
  /** `network:rebuild <app>`: process start to the printed result */
  rebuildApp: Stats;
  rebuildAppSamplesMs: number[];
  /** `network:rebuild <app> --no-wait`: process start to exit */
  hookNoWait: Stats;
  hookNoWaitSamplesMs: number[];
}

const IDLE_DEADLINE_MS = 60_000;

async function idle(queues: NetqQueues): Promise<void> {
  const q = queues.rebuildQueue('local');
  const until = Date.now() + IDLE_DEADLINE_MS;
  while (Date.now() < until) {
    const c = await q.getJobCounts('active', 'waiting', 'delayed');
    if ((c.active ?? 0) + (c.waiting ?? 0) + (c.delayed ?? 0) === 0) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`the rebuild queue did not empty in ${IDLE_DEADLINE_MS / 1000} s`);
}

export async function measureCliCalls(run: BenchRun, n: number, samples: number): Promise<CliCallsResult> {
  const queues = run.queues();
  const env = { ...baseEnv(), REDIS_URL, NETQ_PREFIX: run.netqPrefix, ...run.dokkuEnv() };
  const apps = run.apps.slice(0, n).map((a) => a.app);
  say(`\nthe CLI one app at a time (warm worker): ${samples} samples each over ${Math.min(n, samples)} apps`);
  const rebuildMs: number[] = [];
  const hookMs: number[] = [];
  for (let i = 0; i < samples; i++) {
    const app = apps[i % apps.length] as string;
    await idle(queues);
    const r = await runTimed(process.execPath, ['bin/netq.js', 'network:rebuild', app, '--format', 'json'], {
      cwd: run.build,
      env,
      timeoutMs: 60_000,
    });
    const result = (() => {
      try {
        return JSON.parse(r.stdout) as RebuildResult;
      } catch {
        return undefined;
      }
    })();
    if (r.code !== 0 || result?.app !== app || result.failed !== 0) {
      run.problem(`network:rebuild ${app}: exit ${r.code}, ${r.stdout.slice(0, 200)} ${r.stderr.slice(0, 200)}`);
    }
    rebuildMs.push(r.ms);
    await idle(queues);
    const h = await runTimed(process.execPath, ['bin/netq.js', 'network:rebuild', app, '--no-wait'], {
      cwd: run.build,
      env,
      timeoutMs: 60_000,
    });
    if (h.code !== 0 || !/\S/.test(h.stdout)) {
      run.problem(
        `network:rebuild ${app} --no-wait: exit ${h.code}, ${h.stdout.slice(0, 200)} ${h.stderr.slice(0, 200)}`,
      );
    }
    hookMs.push(h.exitMs);
  }
  await idle(queues);
  const result = {
    samples,
    rebuildApp: stats(rebuildMs),
    rebuildAppSamplesMs: rebuildMs,
    hookNoWait: stats(hookMs),
    hookNoWaitSamplesMs: hookMs,
  };
  say(
    `  network:rebuild <app>: median ${ms(result.rebuildApp.median)} ms (${ms(result.rebuildApp.min)}–${ms(result.rebuildApp.max)}); --no-wait: median ${ms(result.hookNoWait.median)} ms (${ms(result.hookNoWait.min)}–${ms(result.hookNoWait.max)})`,
  );
  return result;
}
