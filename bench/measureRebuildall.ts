import os from 'node:os';
import { compareRoots, staleNetqFiles } from './appFiles.js';
import { type BenchRun, say } from './benchRun.js';
import { CONTENDERS, type Contender } from './contenders.js';
import { runDokkuWay } from './dokkuWay.js';
import { runFloor } from './floorRound.js';
import { ms } from './format.js';
import { growApps } from './growApps.js';
import { type NetqRound, runNetq } from './netqRebuildall.js';
import { netqTimeline, type Timeline } from './netqTimeline.js';
import { runOneCall } from './oneCall.js';
import { type Stats, stats } from './stats.js';
import { countLogLines, rssOf, settle, startWorker } from './workerChild.js';

export interface SizeResult {
  apps: number;
  containers: number;
  published: number;
  creation: { made: number; ms: number; parallel: number };
  warmup: Record<Contender, number>;
  rounds: Record<Contender, number[]>;
  netqExitMs: number[];
  netqQueueMs: number[];
  /** 1-minute load average after each round (the engine and machine are shared) */
  loadAverage: number[];
  /** rounds in which one of the worker's own host rebuilds ran at the same time as the CLI's */
  overlappedRounds: number;
  /** netq rounds run right after every file of its root was given a wrong value (all rewritten) */
  netqStaleMs: number[];
  stats: Record<Contender, Stats> & { netqQueue: Stats; netqStale?: Stats };
  workerRss: { rssMb: number; hwmMb: number } | undefined;
  timeline: Timeline | undefined;
}

/**
 * One size: grows the bench to n apps, starts a worker (left running for the storm and the latency), warms
 * every contender up, then runs the rounds, A B C C'' D each, and checks that A, B and C wrote the same files.
 */
export async function measureRebuildall(run: BenchRun, n: number): Promise<SizeResult> {
  const { parallel, rounds } = run.options;
  say(`\n== ${n} apps / ${n * 2} containers`);
  const creation = await growApps(run, n);
  say(`created ${creation.made} containers in ${(creation.ms / 1000).toFixed(1)} s (${parallel} at once)`);
  const w = await startWorker(run);
  const queues = run.queues();
  say(`worker ${w.pid} registered; ${await settle(w, queues)}`);

  const connectsBefore = await countLogLines(w.log, 'docker event stream connected');
  const warmup = { dokku: Number.NaN } as Record<Contender, number>;
  warmup.onecall = (await runOneCall(run, n)).ms;
  const netqWarm = await runNetq(run, n, queues);
  warmup.netq = netqWarm.ms;
  warmup.floor = (await runFloor(run, n)).ms;
  say(
    `warm-up (not counted): one-call ${ms(warmup.onecall)} ms, netq ${ms(warmup.netq)} ms (${netqWarm.outcome}), floor ${ms(warmup.floor)} ms`,
  );

  const times: Record<Contender, number[]> = { dokku: [], onecall: [], netq: [], floor: [] };
  const exitMs: number[] = [];
  const queueMs: number[] = [];
  const staleMs: number[] = [];
  const load: number[] = [];
  let overlapped = 0;
  let last: NetqRound | undefined;
  for (let r = 1; r <= rounds; r++) {
    const a = await runDokkuWay(run, n);
    const b = await runOneCall(run, n);
    const c = await runNetq(run, n, queues);
    await staleNetqFiles(run, n);
    const cStale = await runNetq(run, n, queues);
    const d = await runFloor(run, n);
    staleMs.push(cStale.ms);
    times.dokku.push(a.ms);
    times.onecall.push(b.ms);
    times.netq.push(c.ms);
    times.floor.push(d.ms);
    exitMs.push(c.exitMs);
    queueMs.push(c.queueMs);
    load.push(Number(os.loadavg()[0]?.toFixed(2)));
    overlapped += c.overlaps > 0 ? 1 : 0;
    last = c;
    say(
      `round ${r}/${rounds}: A ${ms(a.ms)}  B ${ms(b.ms)}  C ${ms(c.ms)} (in queue ${ms(c.queueMs)}${c.overlaps ? `, ${c.overlaps} host rebuild alongside` : ''}; every file stale ${ms(cStale.ms)})  D ${ms(d.ms)} ms; load ${load.at(-1)}`,
    );
  }
  const reconnects = (await countLogLines(w.log, 'docker event stream connected')) - connectsBefore;
  if (reconnects > 0) {
    run.notes.push(
      `${n} apps: the worker's Docker event stream reconnected ${reconnects} times during the rounds; each reconnect queues a host rebuild that may have overlapped a measured round`,
    );
    say(`note: ${run.notes.at(-1)}`);
  }
  const differ = await compareRoots(run, n);
  if (differ) run.problem(`${differ} of ${n} apps have different IP./PORT. files from the three contenders`);
  else say(`the three contenders wrote the same IP./PORT. files for all ${n} apps`);
  const errors = await countLogLines(w.log, '', /"level":(50|60)/);
  if (errors) run.problem(`the worker logged ${errors} errors at ${n} apps (see its log)`);
  const workerRss = await rssOf(w.pid).catch(() => undefined);
  if (workerRss) say(`worker RSS after the ${n * 2}-container rebuildalls: ${workerRss.rssMb.toFixed(1)} MB`);
  const timeline = last ? await netqTimeline(queues, last, run.apps.slice(0, n)) : undefined;
  const s = Object.fromEntries(CONTENDERS.map((c) => [c, stats(times[c])])) as Record<Contender, Stats>;
  return {
    apps: n,
    containers: n * 2,
    published: run.apps.slice(0, n).filter((a) => a.published).length * 2,
    creation: { ...creation, parallel },
    warmup,
    rounds: times,
    netqExitMs: exitMs,
    netqQueueMs: queueMs,
    loadAverage: load,
    overlappedRounds: overlapped,
    netqStaleMs: staleMs,
    stats: { ...s, netqQueue: stats(queueMs), netqStale: stats(staleMs) },
    workerRss,
    timeline,
  };
}
