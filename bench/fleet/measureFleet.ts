// One size of the fleet: a fresh private Redis state, the simulated engines of every host, the apps'
// properties, one worker per host (their own start-up rebuilds warm the fleet), an idle window, the
// measured rounds, one round on a terminal, then (smallest size only) a MONITOR round; Redis memory after
// the runs and at rest; then (smallest size only) what the heartbeats cost as workers are added.
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { PropertyKey } from '../../src/properties/properties.js';
import { writeProperty } from '../../src/store/propertyStore.js';
import { say } from '../benchRun.js';
import { mapLimit } from '../mapLimit.js';
import { FleetEngines } from './fleetEngines.js';
import { applyRetention, type MemoryState, memoryState, type Retention } from './fleetMemory.js';
import { type MonitorCounts, monitorRound } from './fleetMonitor.js';
import { hostIds } from './fleetOptions.js';
import { type FleetRound, measureRound } from './fleetRound.js';
import type { FleetRun } from './fleetRun.js';
import { problemLines, settleFleet, startWorkers, stopWorkers, unfinishedJobs } from './fleetWorkers.js';
import { type HeartbeatScaling, measureHeartbeatScaling } from './heartbeatScaling.js';
import { cpuSeconds, memoryMb, totalCpuSeconds } from './procStats.js';
import { measureProgressPoll, POLL_MS, type ProgressPoll } from './progressPoll.js';
import { between, snapshot } from './redisFigures.js';
import { ATTACH_NETWORK, hostApps, type SimApp } from './simHost.js';

export interface FleetSize {
  apps: number;
  hosts: number;
  appsPerHost: number;
  containers: number;
  /** apps with bind-all-interfaces (published port) and with an attach network */
  published: number;
  attached: number;
  setup: { enginesMs: number; propertiesMs: number; workersMs: number; warmMs: number };
  /** the warm, idle fleet over a few seconds: what its workers cost Redis and the CPU with nothing to do */
  idle: {
    seconds: number;
    redisCallsPerS: number;
    redisCpuShare: number;
    workersCpuShare: number;
    enginesCpuShare: number;
  };
  rounds: FleetRound[];
  /** one more round with the CLI on a terminal (its progress bar on), not among the medians */
  ttyRound: FleetRound;
  /** what one poll of the terminal round's progress bar costs Redis */
  progressPoll: ProgressPoll;
  monitor: MonitorCounts | undefined;
  heartbeats: HeartbeatScaling | undefined;
  memory: { empty: number; afterRun: MemoryState; atRest: MemoryState; retention: Retention; rebuildalls: number };
  workerRssMb: { median: number; max: number };
  loadAverage: number[];
  warnings: number;
}

const IDLE_S = 5;

/** `first`: the smallest size also runs the MONITOR round and measures the heartbeats' growth. */
export async function measureFleetSize(run: FleetRun, apps: number, first: boolean): Promise<FleetSize> {
  const { redis, queues } = run.ready();
  const o = run.options;
  const hosts = hostIds(o.hosts);
  const appsPerHost = apps / o.hosts;
  const loadAverage = [os.loadavg()[0] ?? 0];
  say(`\n${apps} apps: ${o.hosts} hosts × ${appsPerHost} apps, ${apps * o.procs.length} containers`);

  await redis.client.flushall();
  await redis.client.config('RESETSTAT');
  const empty = (await snapshot(redis.client)).usedMemory;

  let t = performance.now();
  run.engines = await FleetEngines.start({
    dir: run.sockDir,
    hosts,
    shape: {
      apps: appsPerHost,
      procs: o.procs,
      seed: o.seed,
      publishedShare: o.publishedShare,
      attachShare: o.attachShare,
      serviceShare: o.serviceShare,
    },
    latency: o.latency,
  });
  const enginesMs = performance.now() - t;

  t = performance.now();
  const { all, props } = await writeAppProperties(run, hosts);
  const propertiesMs = performance.now() - t;

  t = performance.now();
  const since = Date.now();
  run.workers = await startWorkers(
    { build: run.build, redisUrl: redis.url, prefix: run.prefix, logDir: run.logDir },
    hosts.map((host) => ({ host, dockerHost: run.engines?.dockerHost(host) ?? '' })),
    queues,
  );
  const workersMs = performance.now() - t;
  t = performance.now();
  await settleFleet(queues, hosts, Math.max(180_000, apps * 60));
  const warmMs = performance.now() - t;
  say(
    `  engines ${(enginesMs / 1000).toFixed(1)} s, properties of ${props} apps ${(propertiesMs / 1000).toFixed(1)} s, workers registered ${(workersMs / 1000).toFixed(1)} s, their start-up rebuilds ${(warmMs / 1000).toFixed(1)} s`,
  );

  const pids = run.workers.map((w) => w.pid);
  const idle = await idleWindow(run, pids, run.engines.pid);
  say(
    `  idle fleet: ${idle.redisCallsPerS.toFixed(0)} Redis commands/s, Redis CPU ${(idle.redisCpuShare * 100).toFixed(1)}%, workers' CPU ${(idle.workersCpuShare * 100).toFixed(1)}% of a core`,
  );

  const rounds: FleetRound[] = [];
  for (let r = 1; r <= o.rounds; r++) {
    loadAverage.push(os.loadavg()[0] ?? 0);
    const round = await measureRound(run, apps, hosts);
    rounds.push(round);
    say(
      `  round ${r}: ${(round.wallMs / 1000).toFixed(2)} s (${(round.wallMs / apps).toFixed(2)} ms/app), in queue ${(round.inQueueMs / 1000).toFixed(2)} s, ${(round.redis.calls / apps).toFixed(1)} Redis commands/app, CLI peak RSS ${round.cliRss.peakMb.toFixed(0)} MB; ${round.outcome}`,
    );
    // the next round starts on an idle fleet
    const deadline = Date.now() + 60_000;
    while ((await unfinishedJobs(queues, hosts)) > 0 && Date.now() < deadline) await sleep(200);
    await sleep(500);
  }
  // the same on a terminal, as a user at a shell runs it: its progress bar polls the run's progress hash
  const ttyRound = await measureRound(run, apps, hosts, true);
  say(
    `  on a terminal: ${(ttyRound.wallMs / 1000).toFixed(2)} s, ${ttyRound.redis.byCommand.find(([c]) => c === 'hgetall')?.[1] ?? 0} HGETALL (progress bar and the jobs' own), Redis CPU ${ttyRound.cpuS.redis.toFixed(2)} s, CLI CPU ${ttyRound.cpuS.cli.toFixed(2)} s; ${ttyRound.outcome}`,
  );
  const progressPoll = await measureProgressPoll(run, ttyRound.runId);
  say(
    `  its progress bar: one poll (HGETALL of ${progressPoll.fields} fields) costs Redis ${(progressPoll.usec / 1000).toFixed(2)} ms, every ${POLL_MS} ms while the run lasts`,
  );
  await sleep(500);
  const monitor = first ? await monitorRound(run, apps) : undefined;
  if (monitor) {
    say(
      `  MONITOR round: ${(monitor.sent / apps).toFixed(1)} commands sent per app (scripts once each), ${(monitor.inScripts / apps).toFixed(1)} more run inside scripts`,
    );
  }

  const rss = (await Promise.all(pids.map(memoryMb))).map((m) => m?.rssMb ?? Number.NaN).sort((a, b) => a - b);
  const afterRun = await memoryState(run);
  const retention = await applyRetention(run, hosts);
  const atRest = await memoryState(run);
  // the workers' start-up host rebuilds make one fleet-wide rebuildall's worth of jobs; the rounds, the
  // terminal round and the MONITOR round one each
  const rebuildalls = 2 + o.rounds + (monitor ? 1 : 0);
  say(
    `  Redis memory: ${((afterRun.usedMemory - empty) / apps).toFixed(0)} B/app after ${rebuildalls} rebuildalls, ${((atRest.usedMemory - empty) / apps).toFixed(0)} B/app at rest (${retention.completedJobsCleaned} completed jobs cleaned, ${retention.expiringKeysDeleted} expiring keys deleted)`,
  );
  const heartbeats = first ? await measureHeartbeatScaling(run) : undefined;
  if (heartbeats) {
    say(
      `  heartbeats: one worker-health entry adds ${heartbeats.usecPerEntryPerBeat.toFixed(2)} µs to every beat (script time ${heartbeats.scriptUsecPerS.without.toFixed(0)} → ${heartbeats.scriptUsecPerS.with.toFixed(0)} µs/s with ${heartbeats.extraEntries} more entries)`,
    );
  }
  const warnings = await noteWarnings(run, apps, since);

  await stopWorkers(run.workers);
  run.workers = [];
  await run.engines.close();
  run.engines = undefined;
  loadAverage.push(os.loadavg()[0] ?? 0);
  return {
    apps,
    hosts: o.hosts,
    appsPerHost,
    containers: apps * o.procs.length,
    published: all.filter((a) => a.published).length,
    attached: all.filter((a) => a.attach).length,
    setup: { enginesMs, propertiesMs, workersMs, warmMs },
    idle,
    rounds,
    ttyRound,
    progressPoll,
    monitor,
    heartbeats,
    memory: { empty, afterRun, atRest, retention, rebuildalls },
    workerRssMb: { median: rss[Math.floor(rss.length / 2)] ?? Number.NaN, max: rss.at(-1) ?? Number.NaN },
    loadAverage: loadAverage.map((l) => Number(l.toFixed(2))),
    warnings,
  };
}

/** The apps' properties, as `netq network:set` stores them: bind-all-interfaces and attach-post-deploy. */
async function writeAppProperties(run: FleetRun, hosts: string[]): Promise<{ all: SimApp[]; props: number }> {
  const { queues } = run.ready();
  const shape = run.engines?.spec.shape;
  if (!shape) throw new Error('no simulated engines');
  const all = hosts.flatMap((host) => hostApps({ ...shape, host }));
  const props: { app: string; key: PropertyKey; value: string }[] = [
    ...all.filter((a) => a.published).map((a) => ({ app: a.app, key: 'bind-all-interfaces' as const, value: 'true' })),
    ...all
      .filter((a) => a.attach)
      .map((a) => ({ app: a.app, key: 'attach-post-deploy' as const, value: ATTACH_NETWORK })),
  ];
  await mapLimit(props, 32, (p) => writeProperty(queues.redis, queues.keys, p.app, p.key, p.value));
  return { all, props: props.length };
}

/** What a warm fleet with nothing to do costs, over IDLE_S seconds. */
async function idleWindow(run: FleetRun, workerPids: number[], enginesPid: number): Promise<FleetSize['idle']> {
  const { redis } = run.ready();
  const i0 = await Promise.all([snapshot(redis.client), totalCpuSeconds(workerPids), cpuSeconds(enginesPid)]);
  await sleep(IDLE_S * 1000);
  const i1 = await Promise.all([snapshot(redis.client), totalCpuSeconds(workerPids), cpuSeconds(enginesPid)]);
  const d = between(i0[0], i1[0]);
  return {
    seconds: d.seconds,
    redisCallsPerS: d.calls / d.seconds,
    redisCpuShare: d.cpuS / d.seconds,
    workersCpuShare: (i1[1] - i0[1]) / d.seconds,
    enginesCpuShare: (i1[2] - i0[2]) / d.seconds,
  };
}

/** The workers' warnings and errors since `since`, counted, as a note of the run; returns how many. */
async function noteWarnings(run: FleetRun, apps: number, since: number): Promise<number> {
  const warnings = await problemLines(run.workers, since);
  if (!warnings.length) return 0;
  const kinds = new Map<string, number>();
  for (const w of warnings) kinds.set(w, (kinds.get(w) ?? 0) + 1);
  const listed = [...kinds].map(([w, n]) => `${n} × ${w}`);
  run.notes.push(
    `${apps} apps: ${warnings.length} worker log lines at warn or worse: ${listed.slice(0, 5).join('; ')}${listed.length > 5 ? '; …' : ''}`,
  );
  return warnings.length;
}
