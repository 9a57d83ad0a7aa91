// `npm run bench -- --profile`: one size, no contenders but netq. Counts the Docker API calls and Redis
// commands of a rebuildall per job (through a counting Docker proxy and Redis MONITOR) and the Redis round
// trips of each per-app job (counted by the job itself and logged: src/store/roundTrips.ts), CPU-profiles the
// worker and the CLI, times netq's Dokku file write, runs the worker variants of the ablation and measures
// what each module the CLI loads costs its start-up; writes bench/results/<date>-profile.json.
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { NetqQueues } from '../src/queue.js';
import { ABLATION_ROUNDS, ablation } from './ablation.js';
import { type BenchRun, baseEnv, REDIS_URL, ROOT, say } from './benchRun.js';
import {
  clientAddresses,
  countBy,
  DockerCallCounter,
  logLength,
  perAppRoundTrips,
  RedisCallCounter,
} from './callCounters.js';
import { summariseCpuProfile } from './cpuProfile.js';
import { fileWriteCost } from './fileWriteCost.js';
import { ms, table } from './format.js';
import { growApps } from './growApps.js';
import { IMPORT_RUNS, importCosts } from './importCosts.js';
import { runNetq } from './netqRebuildall.js';
import { resultPath } from './resultFiles.js';
import { runTimed } from './runTimed.js';
import { stats } from './stats.js';
import { nowUs, type Window } from './timeWindow.js';
import { countLogLines, settle, startWorker, stopWorker, type WorkerChild } from './workerChild.js';

export async function profileRun(run: BenchRun): Promise<void> {
  const n = run.options.sizes[0] ?? 150;
  const measured = 3;
  say(`netq profile, run ${run.id}: ${n} apps / ${n * 2} containers, ${measured} measured rebuildalls`);
  const creation = await growApps(run, n);
  say(`created ${creation.made} containers in ${(creation.ms / 1000).toFixed(1)} s`);
  const profDir = path.join(run.tmp, 'prof');
  await mkdir(profDir);
  const dockerCounter = new DockerCallCounter(path.join(run.tmp, 'docker.sock'));
  run.dockerCounter = dockerCounter;
  await dockerCounter.listen();
  const redisCounter = new RedisCallCounter(run.redis.duplicate(), `{${run.netqPrefix}}`);
  run.redisCounter = redisCounter;
  await redisCounter.start();
  const w = await startWorker(run, { DOCKER_HOST: `unix://${dockerCounter.path}` }, [
    '--cpu-prof',
    `--cpu-prof-dir=${profDir}`,
    '--cpu-prof-interval=200',
  ]);
  const queues = run.queues();
  say(`worker ${w.pid} registered; ${await settle(w, queues)}`);
  await runNetq(run, n, queues); // warm-up
  const counted = await countedRebuildalls(run, n, measured, w, queues, dockerCounter, redisCounter);
  const { windows, dockerCalls, fromWorker, fromCli, lua, walls, discarded, roundTrips } = counted;
  // the CLI's own CPU: one more rebuildall with --cpu-prof on the CLI (outside the counted windows)
  const cliProfDir = path.join(run.tmp, 'cli-prof');
  await mkdir(cliProfDir);
  const cliRun = await runTimed(
    process.execPath,
    [
      `--cpu-prof-dir=${cliProfDir}`,
      '--cpu-prof',
      '--cpu-prof-interval=200',
      'bin/netq.js',
      'network:rebuildall',
      '--format',
      'json',
    ],
    {
      cwd: run.build,
      env: { ...baseEnv(), REDIS_URL, NETQ_PREFIX: run.netqPrefix, ...run.dokkuEnv() },
      timeoutMs: 320_000,
    },
  );
  if (cliRun.code !== 0) run.problem(`profiled CLI run exited with ${cliRun.code}: ${cliRun.stderr.slice(0, 300)}`);
  await stopWorker(run, w);
  redisCounter.stop();

  const jobsPerRun = n + 2;
  const per = (k: number) => (k / measured / jobsPerRun).toFixed(2);
  const fmt = (list: [string, number][], div: number) =>
    list.map(([k, v]) => `${k} ${(v / measured / div).toFixed(2)}`).join(', ');
  if (discarded) say(`${discarded} runs not counted: the worker ran a host rebuild of its own alongside`);
  say(`\nwall time with the counters on (not comparable to the bench): ${walls.map((v) => ms(v)).join(', ')} ms`);
  say(
    `\nDocker API calls per rebuildall: ${dockerCalls.length / measured} (${per(dockerCalls.length)} per job, ${(dockerCalls.length / measured / n).toFixed(2)} per app)`,
  );
  say(
    `  per app: ${fmt(
      countBy(dockerCalls, (d) => d),
      n,
    )}`,
  );
  say(`Redis commands per rebuildall (touching the run's keys), ${jobsPerRun} jobs:`);
  say(`  worker, sent: ${fromWorker.length / measured} (${per(fromWorker.length)} per job)`);
  say(
    `    per job: ${fmt(
      countBy(fromWorker, (c) => c),
      jobsPerRun,
    )}`,
  );
  say(
    `  CLI, sent: ${fromCli.length / measured}: ${fmt(
      countBy(fromCli, (c) => c),
      1,
    )}`,
  );
  say(`  inside Lua scripts: ${lua.length / measured} (${per(lua.length)} per job)`);
  const trips = stats(roundTrips);
  const tripsMean = roundTrips.reduce((a, b) => a + b, 0) / roundTrips.length;
  say(
    `Redis round trips per per-app job, counted by the job itself (a command sent alone, a pipeline, a MULTI/EXEC or a script is one; BullMQ's own calls to take and complete the job are not in it), ${roundTrips.length} jobs: mean ${tripsMean.toFixed(2)}, median ${trips.median}, min–max ${trips.min}–${trips.max}`,
  );

  // what fsync costs: netq's file write (temp file, fsync, rename) against the same without fsync
  const fileWrite = await fileWriteCost(path.join(run.tmp, 'files'));
  say(
    `\nnetq's Dokku file write for one app (2 containers, 3 files, unchanged after the first): median ${ms(fileWrite.median)} ms`,
  );

  const variants = await ablation(run, n, queues);
  say(
    `\nsame rebuildall, plain worker (no counters, no profiler), alternating variants, ${ABLATION_ROUNDS} rounds each:`,
  );
  say(
    table(
      ['worker variant', 'CLI ms (median)', 'in queue ms (median)', 'in queue min–max'],
      variants.map((v) => [v.variant, ms(v.cli.median), ms(v.queue.median), `${ms(v.queue.min)}–${ms(v.queue.max)}`]),
    ),
  );

  const imports = await importCosts(run.build);
  say(`\nstart-up cost of a node process that loads … (best and median of ${IMPORT_RUNS} runs)`);
  say(
    table(
      ['loads', 'best ms', 'median ms'],
      imports.map((i) => [i.what, ms(i.best), ms(i.median)]),
    ),
  );

  const files = (await readdir(profDir)).filter((f) => f.endsWith('.cpuprofile'));
  let cpu: Awaited<ReturnType<typeof summariseCpuProfile>> | undefined;
  if (files[0]) {
    cpu = await summariseCpuProfile(path.join(profDir, files[0]), windows);
    if (cpu.totalMs === 0) cpu = await summariseCpuProfile(path.join(profDir, files[0]), []);
    const busy = cpu.totalMs - cpu.idleMs;
    say(
      `\nworker CPU in the measured windows: ${ms(busy)} ms busy of ${ms(cpu.totalMs)} ms sampled (${ms(busy / measured)} ms per rebuildall)`,
    );
    say(
      table(
        ['area (self time)', 'ms per rebuildall', '% of busy'],
        cpu.byArea.slice(0, 15).map(([k, v]) => [k, ms(v / measured), ((100 * v) / busy).toFixed(1)]),
      ),
    );
    say(
      `\n${table(
        ['function (self time)', 'ms per rebuildall'],
        cpu.topFunctions.map(([k, v]) => [k, ms(v / measured)]),
      )}`,
    );
  } else run.problem('the worker wrote no CPU profile');
  const cliFiles = (await readdir(cliProfDir)).filter((f) => f.endsWith('.cpuprofile'));
  let cliCpu: Awaited<ReturnType<typeof summariseCpuProfile>> | undefined;
  if (cliFiles[0]) {
    cliCpu = await summariseCpuProfile(path.join(cliProfDir, cliFiles[0]), []);
    const busy = cliCpu.totalMs - cliCpu.idleMs;
    say(
      `\nCLI (one rebuildall, ${ms(cliRun.ms)} ms to the printed summary): ${ms(busy)} ms busy of ${ms(cliCpu.totalMs)} ms sampled`,
    );
    say(
      table(
        ['area (self time)', 'ms', '% of busy'],
        cliCpu.byArea.slice(0, 15).map(([k, v]) => [k, ms(v), ((100 * v) / busy).toFixed(1)]),
      ),
    );
  } else run.problem('the CLI wrote no CPU profile');
  const out = await resultPath('-profile.json');
  await writeFile(
    out,
    `${JSON.stringify(
      {
        date: new Date().toISOString(),
        mode: run.options.mode,
        apps: n,
        containers: n * 2,
        measured,
        discarded,
        wallMsWithCounters: walls,
        dockerPerApp: countBy(dockerCalls, (d) => d).map(([k, v]) => [k, v / measured / n]),
        redisWorkerPerJob: countBy(fromWorker, (c) => c).map(([k, v]) => [k, v / measured / jobsPerRun]),
        redisCliPerRun: countBy(fromCli, (c) => c).map(([k, v]) => [k, v / measured]),
        redisLuaPerJob: countBy(lua, (c) => c).map(([k, v]) => [k, v / measured / jobsPerRun]),
        redisRoundTripsPerAppJob: { ...trips, mean: tripsMean, histogram: countBy(roundTrips, String) },
        dockerCallsPerAppJob: dockerCalls.length / measured / n,
        fileWriteMsPerApp: fileWrite,
        cpu,
        cliCpu,
        imports,
        variants,
        problems: run.problems,
      },
      null,
      2,
    )}\n`,
  );
  say(`\nwrote ${path.relative(ROOT, out)}`);
}

/**
 * `measured` rebuildalls with the counters on, each in its own time window; a run that one of the worker's
 * own host rebuilds ran alongside (or during which its event stream reconnected) is not counted.
 */
async function countedRebuildalls(
  run: BenchRun,
  n: number,
  measured: number,
  w: WorkerChild,
  queues: NetqQueues,
  dockerCounter: DockerCallCounter,
  redisCounter: RedisCallCounter,
) {
  const windows: Window[] = [];
  const dockerCalls: string[] = [];
  const fromWorker: string[] = [];
  const fromCli: string[] = [];
  const lua: string[] = [];
  const walls: number[] = [];
  const roundTrips: number[] = [];
  let discarded = 0;
  while (windows.length < measured) {
    if (discarded > 10) throw new Error('the worker kept running host rebuilds of its own during the measured runs');
    const existing = await clientAddresses(run.redis);
    const connects = await countLogLines(w.log, 'docker event stream connected');
    const logFrom = await logLength(w.log);
    const w0 = nowUs();
    const r = await runNetq(run, n, queues);
    await sleep(100); // jobs' last commands (lock release, heartbeats) land
    const win = { fromUs: w0, toUs: nowUs() };
    if (r.overlaps > 0 || (await countLogLines(w.log, 'docker event stream connected')) !== connects) {
      // one of the worker's own host rebuilds (queued on an event stream reconnect) ran alongside: not counted
      discarded += 1;
      await settle(w, queues);
      continue;
    }
    windows.push(win);
    walls.push(r.ms);
    const trips = await perAppRoundTrips(w.log, logFrom);
    if (trips.length !== n) run.problem(`${trips.length} per-app jobs logged their round trips in a run of ${n} apps`);
    roundTrips.push(...trips);
    dockerCalls.push(...dockerCounter.in(win));
    for (const c of redisCounter.in(win)) {
      if (c.source === 'lua') lua.push(c.command);
      else if (existing.has(c.source)) fromWorker.push(c.command);
      else fromCli.push(c.command);
    }
  }
  return { windows, dockerCalls, fromWorker, fromCli, lua, walls, discarded, roundTrips };
}
