// `npm run bench` (scripts/bench): netq's rebuildall side by side with Dokku's way, the one-call limit and
// the queue floor, on real busybox app containers on the local engine. See docs/benchmarks.md.
//
//   npm run bench                 full run: 50/150/300 apps (100/300/600 containers), 5 rounds, storm,
//                                 event-to-write latency over 100 container starts
//   npm run bench -- --quick      10 apps / 20 containers, 3 rounds, a small storm, 10 starts (under a minute)
//   npm run bench -- --profile    counts Docker and Redis calls per job and CPU-profiles the worker
//   npm run bench -- --fleet      only the simulated fleet: 20 hosts, 1,000 / 5,000 / 10,000 apps (bench/fleet/)
//   options: --rounds N, --sizes 50,150 (apps per size), --parallel N (containers created at once),
//            --no-storm, --starts N (event-to-write samples; 0 skips), --profile-apps N
//
// Every container carries a label unique to this run; they are all removed at the end, also after an
// error or Ctrl-C, as are the worker child, the Redis keys under the run's prefixes and the temp dir.
//
// This file is the order of things; each step lives in the module named after it (options.ts, benchRun.ts,
// measureRebuildall.ts and the contenders, storm.ts, latency.ts, report.ts, profileRun.ts, cleanup.ts).
import { BenchRun, REDIS_URL, say } from './benchRun.js';
import { cleanup } from './cleanup.js';
import { measureCliCalls } from './cliCalls.js';
import { QueueFloor } from './floor.js';
import { Interrupted, interruptible, stop } from './interrupt.js';
import { measureLatency } from './latency.js';
import { machineFacts } from './machineFacts.js';
import { measureRebuildall } from './measureRebuildall.js';
import { parseBenchArgs, planBench, USAGE } from './options.js';
import { profileRun } from './profileRun.js';
import { type Gathered, writeReport } from './report.js';
import { measureRssGrowth } from './rssGrowth.js';
import { running } from './runTimed.js';
import { measureStorm } from './storm.js';
import { stopWorker } from './workerChild.js';

const args = parseBenchArgs();
if (args.help) {
  console.log(USAGE);
  process.exit(0);
}
if (args.fleet) {
  // the simulated fleet runs alone, on its own Redis and engines (bench/fleet/runFleet.ts)
  const { planFleet } = await import('./fleet/fleetOptions.js');
  const { runFleet } = await import('./fleet/runFleet.js');
  process.exit(await runFleet(planFleet(args)));
}
const run = new BenchRun(await planBench(args));
const gathered: Gathered = {
  results: [],
  storm: undefined,
  latency: undefined,
  rssAfterStorm: undefined,
  cliCalls: undefined,
  rssGrowth: undefined,
  facts: undefined,
  reported: false,
};

/** The comparisons: every size, then (once, on the first size) the storm and the event-to-write latency. */
async function compare(run: BenchRun): Promise<void> {
  const { mode, sizes, rounds, storm, latencyStarts, cliSamples, rssRuns } = run.options;
  const facts = await machineFacts(run);
  gathered.facts = facts;
  say(`netq bench (${mode}), run ${run.id}: label ${run.label}, Redis prefixes ${run.keyPattern}`);
  say(
    `machine: ${facts.nproc} CPUs (${facts.cpu}), ${facts.memoryGiB} GiB, docker ${facts.docker.server} / CLI ${facts.docker.cli}, redis ${facts.redis}, node ${facts.node}, bullmq ${facts.bullmq}; load ${facts.loadAverageAtStart.join(' ')}`,
  );
  say(
    `sizes: ${sizes.map((n) => `${n} apps / ${n * 2} containers`).join(', ')}; ${rounds} rounds, alternating A B C D`,
  );
  say(`netq: commit ${facts.netq}, run from a copy of dist/ taken at the start`);
  for (const n of run.notes) say(`note: ${n}`);

  run.floor = new QueueFloor(REDIS_URL, `{bench-${run.id}-floor}`);
  await interruptible(run.floor.ready());

  for (const n of sizes) {
    gathered.results.push(await measureRebuildall(run, n));
    if (storm && gathered.storm === undefined && run.worker) {
      Object.assign(gathered, await measureStorm(run, storm, n, run.worker));
    }
    if (latencyStarts > 0 && gathered.latency === undefined && run.worker) {
      gathered.latency = await measureLatency(run, latencyStarts, n);
    }
    if (cliSamples > 0 && gathered.cliCalls === undefined && run.worker) {
      gathered.cliCalls = await measureCliCalls(run, n, cliSamples);
    }
    if (rssRuns > 0 && n === sizes.at(-1) && run.worker) {
      gathered.rssGrowth = await measureRssGrowth(run, run.worker, n, rssRuns);
    }
    if (run.worker) await stopWorker(run, run.worker);
  }
  await writeReport(run, gathered, false);
}

// `on`, not `once`: a Ctrl-C reaches the whole process group and tsx forwards it too, so it comes twice.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stop.signal.aborted) return;
    console.error(`\n${signal}: stopping, then cleaning up`);
    stop.abort(signal);
    for (const c of running) c.kill('SIGTERM');
  });
}

let exitCode = 0;
try {
  await run.open();
  await (run.options.mode === 'profile' ? profileRun(run) : compare(run));
} catch (err) {
  if (err instanceof Interrupted || stop.signal.aborted) {
    console.error(`bench ${(err as Error).message}`);
    exitCode = 130;
  } else {
    run.problems.push((err as Error).message);
    console.error(`bench failed: ${(err as Error).stack ?? err}`);
  }
} finally {
  if (run.options.mode !== 'profile' && !gathered.reported && gathered.results.length > 0) {
    await writeReport(run, gathered, true).catch((err: Error) =>
      console.error(`could not write the partial report: ${err.message}`),
    );
  }
  await cleanup(run);
}
if (run.problems.length && exitCode === 0) {
  exitCode = 1;
  say(`\n${run.problems.length} problems:\n${run.problems.map((p) => `  ${p}`).join('\n')}`);
}
process.exit(exitCode);
