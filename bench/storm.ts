// The storm: many rebuild requests for a few apps at once, through the producer API, each waiting for its
// answer: how many rebuild jobs ran for them, and how long the answers took.
import { setTimeout as sleep } from 'node:timers/promises';
import { rebuild } from '../producers/client.js';
import { queueName } from '../src/jobs.js';
import { type BenchRun, say } from './benchRun.js';
import { ms } from './format.js';
import { interruptible, live } from './interrupt.js';
import { stats } from './stats.js';
import { countLogLines, rssOf, type WorkerChild } from './workerChild.js';

export interface StormResult {
  requests: number;
  apps: number;
  jobsRan: number;
  logLines: number;
  lockBounces: number;
  firstAnswerMs: number;
  medianAnswerMs: number;
  lastAnswerMs: number;
  wrongAnswers: number;
}

/** The storm on the run's first apps (at most plan.apps of the n there are), against the running worker. */
export async function measureStorm(
  run: BenchRun,
  plan: { requests: number; apps: number },
  n: number,
  w: WorkerChild,
): Promise<{ storm: StormResult; rssAfterStorm: { rssMb: number; hwmMb: number } | undefined }> {
  const stormApps = Math.min(plan.apps, n);
  say(`\nstorm: ${plan.requests} rebuild requests over ${stormApps} apps, enqueued at once (producer API, wait)`);
  const storm = await runStorm(run, plan.requests, stormApps, w);
  const rssAfterStorm = await rssOf(w.pid).catch(() => undefined);
  say(
    `  ${storm.jobsRan} rebuild jobs ran (${storm.logLines} 'rebuilt app' log lines, ${storm.lockBounces} lock bounces); last answer after ${ms(storm.lastAnswerMs)} ms`,
  );
  if (storm.wrongAnswers) run.problem(`storm: ${storm.wrongAnswers} answers were not 2 configured, 0 failed`);
  return { storm, rssAfterStorm };
}

async function runStorm(run: BenchRun, requests: number, n: number, w: WorkerChild): Promise<StormResult> {
  live();
  const queues = run.queues();
  const q = queues.rebuildQueue('local');
  // every waiting requester listens on the queue and its events
  (await queues.queueEvents(queueName.rebuild('local'))).setMaxListeners(requests * 4);
  q.setMaxListeners(requests * 4);
  const before = await q.getJobCounts('completed', 'failed');
  const linesBefore = await countLogLines(w.log, 'rebuilt app');
  const stormApps = run.apps.slice(0, n).map((a) => a.app);
  const t0 = performance.now();
  const t0Epoch = Date.now();
  const answers = await interruptible(
    Promise.all(
      Array.from({ length: requests }, async (_, i) => {
        const app = stormApps[i % stormApps.length] as string;
        const { result } = await rebuild(queues, { app }, { wait: true, timeoutMs: 300_000 });
        return { ms: performance.now() - t0, ok: result?.configured === 2 && result.failed === 0 };
      }),
    ),
  );
  const after = await q.getJobCounts('completed', 'failed');
  await sleep(300); // the worker's log lines are written asynchronously
  const times = answers.map((a) => a.ms).sort((a, b) => a - b);
  const ran = (after.completed ?? 0) + (after.failed ?? 0) - (before.completed ?? 0) - (before.failed ?? 0);
  const jobs = (await q.getJobs(['completed'], 0, ran + 10, false)).filter((j) => j.timestamp >= t0Epoch);
  const st = stats(times);
  return {
    requests,
    apps: n,
    jobsRan: ran,
    logLines: (await countLogLines(w.log, 'rebuilt app')) - linesBefore,
    lockBounces: jobs.reduce((s, j) => s + Math.max(0, (j.attemptsStarted ?? 1) - 1 - j.attemptsMade), 0),
    firstAnswerMs: st.min,
    medianAnswerMs: st.median,
    lastAnswerMs: st.max,
    wrongAnswers: answers.filter((a) => !a.ok).length,
  };
}
