// The fleet bench's report: tables printed at the end, bench/results/<date>-fleet.json and .md, and (for the
// documented plan: 1,000 / 5,000 / 10,000 apps on 20 hosts) the "Fleet (simulated)" section of
// docs/benchmarks.md, figures, growth, targets and the capacity arithmetic all taken from this run.
import { readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { HEARTBEAT_MS } from '../../src/liveness.js';
import { ROOT, say } from '../benchRun.js';
import { markdownTable, ratio, table } from '../format.js';
import { resultPath } from '../resultFiles.js';
import { median } from '../stats.js';
import type { FleetRun } from './fleetRun.js';
import { heartbeatShare, workersAtShare } from './heartbeatScaling.js';
import type { FleetSize } from './measureFleet.js';

/** One size's figures, medians over its rounds. */
export interface SizeFigures {
  apps: number;
  wallMs: number;
  wallMinMs: number;
  wallMaxMs: number;
  msPerApp: number;
  inQueueMsPerApp: number;
  enqueueMs: number;
  hostsMsPerApp: number;
  summaryRunMs: number;
  answerMs: number;
  scanListMs: number;
  appJobMs: number;
  appJobP95Ms: number;
  commandsPerApp: number;
  scriptsPerApp: number;
  redisCpuMsPerApp: number;
  workersCpuMsPerApp: number;
  enginesCpuMsPerApp: number;
  cliCpuS: number;
  dockerCallsPerApp: number;
  inspectsPerApp: number;
  listCalls: number;
  cliRssPeakMb: number;
  cliRssMedianMb: number;
  /** (used_memory − empty Redis) ÷ apps */
  bytesPerAppAfterRun: number;
  bytesPerAppAtRest: number;
  /** MEMORY USAGE of netq's keys at rest ÷ apps (what the data costs, without Redis's own overhead) */
  keyBytesPerAppAtRest: number;
  keysPerAppAtRest: number;
  /** of bytesPerAppAtRest: the clients' buffers (the workers' connections), and the queues' events streams */
  clientBytesPerAppAtRest: number;
  streamBytesPerAppAtRest: number;
  /** Redis's CPU over the rebuildall's wall time */
  redisBusyShare: number;
  /** the round on a terminal (progress bar on) */
  tty: { wallMs: number; hgetall: number; hgetallUsec: number; redisCpuS: number; cliCpuS: number };
}

const hgetall = (r: FleetSize['rounds'][number]) => r.redis.byCommand.find(([c]) => c === 'hgetall')?.[1] ?? 0;

export function figures(s: FleetSize): SizeFigures {
  const m = (f: (r: FleetSize['rounds'][number]) => number) => median(s.rounds.map(f));
  const walls = s.rounds.map((r) => r.wallMs);
  const docker = (r: FleetSize['rounds'][number]) => Object.values(r.docker).reduce((a, b) => a + b, 0);
  const keyBytes = s.memory.atRest.byKind.reduce((a, k) => a + k.bytes, 0);
  return {
    apps: s.apps,
    wallMs: median(walls),
    wallMinMs: Math.min(...walls),
    wallMaxMs: Math.max(...walls),
    msPerApp: median(walls) / s.apps,
    inQueueMsPerApp: m((r) => r.inQueueMs) / s.apps,
    enqueueMs: m((r) => r.steps.enqueueMs),
    hostsMsPerApp: m((r) => r.steps.hostsMs) / s.apps,
    summaryRunMs: m((r) => r.steps.summaryRunMs),
    answerMs: m((r) => r.steps.answerMs),
    scanListMs: m((r) => r.steps.scanListMs),
    appJobMs: m((r) => r.steps.appJobMs),
    appJobP95Ms: m((r) => r.steps.appJobP95Ms),
    commandsPerApp: m((r) => r.redis.calls) / s.apps,
    scriptsPerApp: m((r) => r.redis.scripts) / s.apps,
    redisCpuMsPerApp: (m((r) => r.cpuS.redis) * 1000) / s.apps,
    workersCpuMsPerApp: (m((r) => r.cpuS.workers) * 1000) / s.apps,
    enginesCpuMsPerApp: (m((r) => r.cpuS.engines) * 1000) / s.apps,
    cliCpuS: m((r) => r.cpuS.cli),
    dockerCallsPerApp: m(docker) / s.apps,
    inspectsPerApp: m((r) => r.docker['GET /containers/:id/json'] ?? 0) / s.apps,
    listCalls: m((r) => r.docker['GET /containers/json'] ?? 0),
    cliRssPeakMb: Math.max(...s.rounds.map((r) => r.cliRss.peakMb)),
    cliRssMedianMb: m((r) => r.cliRss.medianMb),
    bytesPerAppAfterRun: (s.memory.afterRun.usedMemory - s.memory.empty) / s.apps,
    bytesPerAppAtRest: (s.memory.atRest.usedMemory - s.memory.empty) / s.apps,
    keyBytesPerAppAtRest: keyBytes / s.apps,
    keysPerAppAtRest: s.memory.atRest.keys / s.apps,
    clientBytesPerAppAtRest: s.memory.atRest.memClients / s.apps,
    streamBytesPerAppAtRest:
      s.memory.atRest.byKind.filter((k) => k.kind.endsWith('events stream')).reduce((a, k) => a + k.bytes, 0) / s.apps,
    redisBusyShare: m((r) => r.cpuS.redis / (r.wallMs / 1000)),
    // the progress bar's polls: HGETALL beyond what a round without a terminal makes (property reads, …)
    tty: {
      wallMs: s.ttyRound.wallMs,
      hgetall: hgetall(s.ttyRound) - m(hgetall),
      hgetallUsec: (s.ttyRound.redis.usecByCommand.hgetall ?? 0) - m((r) => r.redis.usecByCommand.hgetall ?? 0),
      redisCpuS: s.ttyRound.cpuS.redis,
      cliCpuS: s.ttyRound.cpuS.cli,
    },
  };
}

const f1 = (v: number) => (Number.isFinite(v) ? v.toFixed(1) : '-');
const f2 = (v: number) => (Number.isFinite(v) ? v.toFixed(2) : '-');
const f0 = (v: number) => (Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : '-');
const kb = (bytes: number) => `${(bytes / 1024).toFixed(2)} KB`;
const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MB`;

/** The rows that should stay flat per app as the fleet grows: any that grows with the apps is a quadratic step. */
const PER_APP: [string, (f: SizeFigures) => number, (v: number) => string][] = [
  ['rebuildall wall time, ms/app (CLI start to exit)', (f) => f.msPerApp, f2],
  ['in queue (summary created → done), ms/app', (f) => f.inQueueMsPerApp, f2],
  ['hosts done (summary created → last scan done), ms/app', (f) => f.hostsMsPerApp, f2],
  ['Redis commands/app (inside scripts included)', (f) => f.commandsPerApp, f1],
  ['Redis script calls/app', (f) => f.scriptsPerApp, f1],
  ['Redis CPU, ms/app', (f) => f.redisCpuMsPerApp, f2],
  ['workers CPU, ms/app', (f) => f.workersCpuMsPerApp, f2],
  ['simulated engines CPU, ms/app', (f) => f.enginesCpuMsPerApp, f2],
  ['Docker API calls/app', (f) => f.dockerCallsPerApp, f2],
  ['one app job, median ms', (f) => f.appJobMs, f1],
  ['summary job run, ms/app', (f) => f.summaryRunMs / f.apps, f2],
  ['summary done → CLI exit, ms/app', (f) => f.answerMs / f.apps, f2],
  ['CLI CPU, ms/app', (f) => (f.cliCpuS * 1000) / f.apps, f2],
  ['on a terminal: wall time, ms/app', (f) => f.tty.wallMs / f.apps, f2],
  ["on a terminal: progress bar's HGETALL time in Redis, µs/app", (f) => f.tty.hgetallUsec / f.apps, f2],
  ['on a terminal: CLI CPU, ms/app', (f) => (f.tty.cliCpuS * 1000) / f.apps, f2],
  ['Redis memory after the runs, bytes/app', (f) => f.bytesPerAppAfterRun, f0],
  ['Redis memory at rest, bytes/app', (f) => f.bytesPerAppAtRest, f0],
];

function growthTable(figs: SizeFigures[]): { headers: string[]; rows: string[][] } {
  const first = figs[0];
  const last = figs.at(-1);
  const headers = ['per app', ...figs.map((f) => `${f.apps.toLocaleString('en-US')} apps`)];
  if (first && last && figs.length > 1) headers.push(`${last.apps} ÷ ${first.apps}`);
  const rows = PER_APP.map(([name, get, fmt]) => {
    const row = [name, ...figs.map((f) => fmt(get(f)))];
    if (first && last && figs.length > 1) row.push(ratio(get(last) / get(first)));
    return row;
  });
  return { headers, rows };
}

function sizeTable(sizes: FleetSize[], figs: SizeFigures[]): { headers: string[]; rows: string[][] } {
  const headers = [
    'apps',
    'hosts × apps',
    'containers',
    'rebuildall s (median, min–max)',
    'ms/app',
    'Redis cmds/app',
    'Redis CPU ms/app',
    'Docker calls/app',
    'CLI RSS MB (median, peak)',
    'Redis B/app after runs',
    'Redis B/app at rest',
  ];
  const rows = sizes.map((s, i) => {
    const f = figs[i] as SizeFigures;
    return [
      s.apps.toLocaleString('en-US'),
      `${s.hosts} × ${s.appsPerHost}`,
      s.containers.toLocaleString('en-US'),
      `${f2(f.wallMs / 1000)} (${f2(f.wallMinMs / 1000)}–${f2(f.wallMaxMs / 1000)})`,
      f2(f.msPerApp),
      f1(f.commandsPerApp),
      f2(f.redisCpuMsPerApp),
      f2(f.dockerCallsPerApp),
      `${f0(f.cliRssMedianMb)}, ${f0(f.cliRssPeakMb)}`,
      f0(f.bytesPerAppAfterRun),
      f0(f.bytesPerAppAtRest),
    ];
  });
  return { headers, rows };
}

function stepsTable(figs: SizeFigures[]): { headers: string[]; rows: string[][] } {
  const headers = ['where the time goes (medians)', ...figs.map((f) => `${f.apps.toLocaleString('en-US')} apps`)];
  const rows: [string, (f: SizeFigures) => string][] = [
    ['CLI start → summary job added, ms', (f) => f0(f.enqueueMs)],
    ['summary added → last host done, ms', (f) => f0(f.hostsMsPerApp * f.apps)],
    ['a scan lists its host and adds its app jobs, ms (median host)', (f) => f0(f.scanListMs)],
    ['one app job, ms (median / p95)', (f) => `${f1(f.appJobMs)} / ${f1(f.appJobP95Ms)}`],
    ['summary job run, ms', (f) => f0(f.summaryRunMs)],
    ['summary done → CLI exit, ms', (f) => f0(f.answerMs)],
    ['list calls / inspects per app', (f) => `${f0(f.listCalls)} / ${f2(f.inspectsPerApp)}`],
    ['CLI CPU, s', (f) => f2(f.cliCpuS)],
    ['Redis busy (its CPU ÷ wall time)', (f) => `${(f.redisBusyShare * 100).toFixed(1)}%`],
    [
      "on a terminal: wall s, the progress bar's HGETALL calls (ms in Redis), CLI CPU s",
      (f) => `${f2(f.tty.wallMs / 1000)}, ${f0(f.tty.hgetall)} (${f0(f.tty.hgetallUsec / 1000)}), ${f2(f.tty.cliCpuS)}`,
    ],
  ];
  return { headers, rows: rows.map(([name, get]) => [name, ...figs.map(get)]) };
}

function memoryTable(s: FleetSize): { headers: string[]; rows: string[][] } {
  const after = new Map(s.memory.afterRun.byKind.map((k) => [k.kind, k]));
  const rest = new Map(s.memory.atRest.byKind.map((k) => [k.kind, k]));
  const kinds = [...new Set([...after.keys(), ...rest.keys()])].sort(
    (a, b) => (after.get(b)?.bytes ?? 0) - (after.get(a)?.bytes ?? 0),
  );
  const headers = [
    'kind of key',
    'keys after runs',
    'bytes/app after runs',
    'keys at rest',
    'bytes/app at rest',
    'stream entries at rest (bytes each)',
  ];
  const rows = kinds.map((k) => {
    const r = rest.get(k);
    return [
      k,
      f0(after.get(k)?.keys ?? 0),
      f0((after.get(k)?.bytes ?? 0) / s.apps),
      f0(r?.keys ?? 0),
      f0((r?.bytes ?? 0) / s.apps),
      r?.entries ? `${f0(r.entries)} (${f0(r.bytes / r.entries)})` : '',
    ];
  });
  rows.push([
    "clients' buffers (not a key)",
    '',
    f0(s.memory.afterRun.memClients / s.apps),
    '',
    f0(s.memory.atRest.memClients / s.apps),
    '',
  ]);
  return { headers, rows };
}

function monitorTable(s: FleetSize): { headers: string[]; rows: string[][] } | undefined {
  const m = s.monitor;
  if (!m) return undefined;
  const rows = m.sentByCommand.slice(0, 14).map(([cmd, count]) => [cmd, f2(count / m.apps)]);
  rows.push(['all commands sent', f2(m.sent / m.apps)], ['run inside those scripts', f2(m.inScripts / m.apps)]);
  return { headers: [`sent per app (MONITOR round, ${m.apps.toLocaleString('en-US')} apps)`, 'commands'], rows };
}

interface Verdict {
  target: string;
  measured: string;
  met: boolean;
}

function verdicts(figs: SizeFigures[], sizes: FleetSize[]): Verdict[] {
  const first = figs[0];
  const last = figs.at(-1);
  if (!first || !last) return [];
  const out: Verdict[] = [];
  const t = last.msPerApp / first.msPerApp;
  out.push({
    target: `time per app at ${last.apps} ≤ 1.2× time per app at ${first.apps}`,
    measured: `${ratio(t)} (${f2(last.msPerApp)} vs ${f2(first.msPerApp)} ms/app; in queue ${ratio(last.inQueueMsPerApp / first.inQueueMsPerApp)})`,
    met: t <= 1.2,
  });
  const lastSize = sizes.at(-1) as FleetSize;
  const firstSize = sizes[0] as FleetSize;
  const marginal =
    sizes.length > 1
      ? (lastSize.memory.atRest.usedMemory - firstSize.memory.atRest.usedMemory) / (lastSize.apps - firstSize.apps)
      : Number.NaN;
  out.push({
    target: 'Redis memory per app ≤ 2 KB at rest',
    measured: `${kb(last.bytesPerAppAtRest)} per app at ${last.apps} apps (used_memory over the empty Redis ÷ apps: the workers' connection buffers ${kb(last.clientBytesPerAppAtRest)}, netq's keys ${kb(last.keyBytesPerAppAtRest)}, of which the queues' events streams ${kb(last.streamBytesPerAppAtRest)}); each app added ${first.apps}→${last.apps}: ${Number.isFinite(marginal) ? kb(marginal) : '-'}`,
    met: last.bytesPerAppAtRest <= 2048,
  });
  // a step quadratic in the apps grows per app as the apps do; call it growing from √ of that up
  const sizeRatio = last.apps / first.apps;
  const growth = PER_APP.filter(([name]) => !name.startsWith('Redis memory'))
    .map(([name, get]) => ({ name, g: get(last) / get(first) }))
    .filter((x) => Number.isFinite(x.g))
    .sort((a, b) => b.g - a.g);
  const growing = growth.filter((x) => x.g >= Math.sqrt(sizeRatio));
  const worst = growth[0];
  out.push({
    target: 'no step whose cost grows with the square of the apps',
    measured: growing.length
      ? `over ${ratio(sizeRatio)} the apps, these per-app figures grew with them: ${growing.map((x) => `${x.name} ${ratio(x.g)}`).join('; ')}`
      : `over ${ratio(sizeRatio)} the apps, the per-app figure that grew most: ${worst ? `${worst.name}, ${ratio(worst.g)}` : '-'} (a step quadratic in the apps would grow about ${ratio(sizeRatio)} per app)`,
    met: growth.length > 0 && growing.length === 0,
  });
  return out;
}

/** How much one Redis serves, from the largest size's figures: the arithmetic, written out. */
function capacity(sizes: FleetSize[], figs: SizeFigures[]): string[] {
  const s = sizes.at(-1);
  const f = figs.at(-1);
  if (!s || !f) return [];
  const hb = sizes.find((x) => x.heartbeats)?.heartbeats;
  const cpuPerApp = f.redisCpuMsPerApp; // ms of Redis CPU per app per rebuild
  const appsPerCpuS = 1000 / cpuPerApp;
  const idlePerHost = s.idle.redisCpuShare / s.hosts; // share of a core per idle host, at this fleet size
  const idleCallsPerHost = s.idle.redisCallsPerS / s.hosts;
  const quarter = 0.25; // what idle hosts may take of one Redis core
  const hostsLinear = quarter / idlePerHost;
  const perDay = 10; // rebuilds per app per day from events (deploys, restarts, scale)
  const bytes = f.bytesPerAppAtRest;
  const n = (v: number) => v.toLocaleString('en-US', { maximumFractionDigits: 0 });
  const lines = [
    `- **Redis CPU per app rebuild**: ${f2(cpuPerApp)} ms at ${n(f.apps)} apps (Redis's CPU over a rebuildall ÷ apps; ${f1(f.commandsPerApp)} commands per app, inside scripts included). One Redis core absorbs about 1000 ÷ ${f2(cpuPerApp)} ≈ ${n(appsPerCpuS)} app rebuilds per second. Here Redis was busy ${(f.redisBusyShare * 100).toFixed(0)}% of the rebuildall's wall time: the bottleneck on this machine is the workers' CPU (${s.hosts} worker processes on ${os.availableParallelism()} shared cores, ${f2(f.workersCpuMsPerApp)} ms of worker CPU per app). On a real fleet every host's worker has its own CPU, and a rebuildall tends to Redis's bound: ${n(f.apps)} apps × ${f2(cpuPerApp)} ms ≈ ${f1((f.apps * cpuPerApp) / 1000)} s; 100,000 apps ≈ ${n((100_000 * cpuPerApp) / 1000)} s of Redis CPU.`,
    `- **An idle host costs** ${f1(idleCallsPerHost)} Redis commands/s and ${(idlePerHost * 100).toFixed(2)}% of a Redis core (the ${s.hosts}-host fleet at rest: ${n(s.idle.redisCallsPerS)} commands/s, ${(s.idle.redisCpuShare * 100).toFixed(1)}%: heartbeats, BullMQ's blocking waits and stalled-job checks of its 4 queue workers). Linear in the hosts, a quarter of a core would be reached at 25% ÷ ${(idlePerHost * 100).toFixed(2)}% ≈ ${n(hostsLinear)} hosts.`,
  ];
  if (hb) {
    const at = (w: number) => `${(heartbeatShare(w, hb.usecPerEntryPerBeat) * 100).toFixed(1)}%`;
    const wq = workersAtShare(quarter, hb.usecPerEntryPerBeat);
    lines.push(
      `- **But the heartbeat grows with the square of the workers.** Each worker's beat (every ${HEARTBEAT_MS / 1000} s) reads and JSON-decodes every entry of \`worker-health\` to drop stale ones (workers/pool.ts, HEARTBEAT_LUA). Measured on the idle fleet with ${n(hb.extraEntries)} more entries: ${f2(hb.usecPerEntryPerBeat)} µs per entry per beat (script time ${n(hb.scriptUsecPerS.without)} → ${n(hb.scriptUsecPerS.with)} µs/s). So W workers cost W ÷ ${HEARTBEAT_MS / 1000} beats/s × W entries × ${f2(hb.usecPerEntryPerBeat)} µs: ${at(100)} of a core at 100 workers, ${at(500)} at 500, ${at(1000)} at 1,000; a quarter of a core at √(0.25 × ${HEARTBEAT_MS / 1000} s ÷ ${f2(hb.usecPerEntryPerBeat)} µs) ≈ ${n(wq)} workers. This, not apps, is what first limits the hosts one Redis serves (the fix, in workers/pool.ts: sweep stale entries from a zset of beat times, \`ZRANGEBYSCORE\` over the stale ones only, or sweep once a minute instead of on every beat).`,
    );
  }
  lines.push(
    `- **Steady state**: at ${perDay} event-driven rebuilds per app per day (deploys, restarts, scaling), 100,000 apps make ${f1((100_000 * perDay) / 86_400)} rebuilds/s × ${f2(cpuPerApp)} ms ≈ ${f1((100_000 * perDay * cpuPerApp) / 86_400 / 10)}% of a core: events do not limit one Redis; fleet-wide rebuildalls (N × ${f2(cpuPerApp)} ms) and the hosts' own cost do.`,
    `- **Memory**: ${n(bytes)} bytes per app at rest at ${n(f.apps)} apps (${n(f.keyBytesPerAppAtRest)} of it in netq's keys, ${f2(f.keysPerAppAtRest)} keys per app); 100,000 apps ≈ ${mb(100_000 * bytes)}. Memory does not limit one Redis; between retentions the completed jobs kept for a day add ${kb(f.bytesPerAppAfterRun - f.bytesPerAppAtRest)} per app (after ${s.memory.rebuildalls} rebuildalls).`,
    `- **So**, on these figures one Redis serves ${hb ? `about ${n(Math.min(hostsLinear, workersAtShare(quarter, hb.usecPerEntryPerBeat)))} hosts (one worker each) before their own upkeep takes a quarter of its core` : `about ${n(hostsLinear)} hosts before their upkeep takes a quarter of its core`}, and any number of apps that a rebuildall may take N × ${f2(cpuPerApp)} ms of Redis CPU for: ${n(appsPerCpuS * 10)} apps per 10 s of rebuildall, ${n(appsPerCpuS * 60)} per minute.`,
    `- **A Redis Cluster** changes availability, not these bounds. netq puts every key of an installation under one hash tag (\`{NETQ_PREFIX}\`, src/keys.ts), so all of it lives in one slot on one master: a Cluster gives failover to a replica, but netq's whole load stays on one node and one core. That is by design: a rebuildall is one BullMQ flow (the summary parent with one scan child per host), and a flow's parent and children must share a slot. Spreading the load needs a prefix per group of hosts, that is separate netq installations (their own workers, CLI target and rebuildall), which netq does not do today.`,
  );
  return lines;
}

/** What grows with the apps or the runs, from the figures, and where it would change. */
function findings(sizes: FleetSize[], figs: SizeFigures[]): string[] {
  const s = sizes.at(-1);
  const f = figs.at(-1);
  const f0s = figs[0];
  if (!s || !f || !f0s) return [];
  const kind = (k: string) => s.memory.atRest.byKind.find((x) => x.kind === k);
  const per = (k: string) => (kind(k)?.bytes ?? 0) / s.apps;
  const each = (k: string) => {
    const x = kind(k);
    return x?.entries ? x.bytes / x.entries : Number.NaN;
  };
  const out: string[] = [];
  out.push(
    `- **Events streams keep growing at rest.** Of the ${n0(f.keyBytesPerAppAtRest)} bytes per app in netq's keys at rest, ${n0(f.streamBytesPerAppAtRest)} are BullMQ's events streams, which job retention does not touch (BullMQ trims them by count only: 10,000 entries per queue by default). A \`completed\` entry carries the job's return value: ${n0(each('summary queue: events stream'))} bytes per summary entry (every app's result), ${n0(each('scan queue: events stream'))} per scan entry (its host's apps' results), ${n0(each('rebuild queue: events stream'))} per per-app job entry. So at rest Redis grows by about ${n0((per('summary queue: events stream') + per('scan queue: events stream')) / s.memory.rebuildalls)} bytes per app with every rebuildall (summary and scan streams, ${s.memory.rebuildalls} rebuildalls here), and each host's rebuild stream fills up to about 10,000 × ${n0(each('rebuild queue: events stream'))} bytes ≈ ${mb(10_000 * each('rebuild queue: events stream'))}. The fix is one option where netq makes its queues (src/queue.ts, \`NetqQueues.queue\`): \`streams: { events: { maxLen } }\` of a few hundred for the scan and summary queues (no one reads scan events; the CLI reads the summary's from the moment it subscribes) and of a few thousand for the rebuild queues (a CLI waiting for one app's rebuild reads that stream).`,
  );
  const pg = (x: SizeFigures) => x.tty.hgetallUsec / x.apps;
  out.push(
    `- **The progress bar is quadratic in the apps.** On a terminal the CLI polls the run's progress hash (\`run:<id>\`, one field per app) with HGETALL every 200 ms (producers/client.ts \`readProgress\`, src/store/runProgress.ts): each poll costs O(apps) and a run lasts O(apps). Measured per app: ${f2(pg(f0s))} µs of Redis time at ${n0(f0s.apps)} apps, ${f2(pg(f))} µs at ${n0(f.apps)} (${ratio(pg(f) / pg(f0s))}); the CLI's CPU ${f2((f0s.tty.cliCpuS * 1000) / f0s.apps)} → ${f2((f.tty.cliCpuS * 1000) / f.apps)} ms per app. Without a terminal (hooks, scripts, this bench's timed rounds) there is no bar and no poll. The fix: count in the hash as well (\`HINCRBY\` of \`done:<host>\` and \`failed:<host>\` next to the per-app field, which stays so a retried job is not counted twice: write the per-app field with HSETNX and count only when it was new) and have the bar read the counters with HMGET: O(hosts) per poll.`,
  );
  out.push(
    `- **Two small keys per app**: \`app-hosts:<app>\` (a set, ${n0(per('app-hosts'))} bytes per app) and \`attached-on:<app>\` (a hash, ${n0(per('attached-on'))} bytes per app) against ${n0(per('netconfig'))} bytes per app for the network config itself. \`attached-on\` is written by every rebuild of an app with dynos, even when it holds \`[]\` (no attach network, none attached before: src/rebuildApp.ts); skipping that write saves its key for the ${Math.round((1 - s.attached / s.apps) * 100)}% of apps here without an attach network, and one command per app job.`,
  );
  return out;
}

const n0 = (v: number) => (Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : '-');

export interface FleetReport {
  sizes: FleetSize[];
  figures: SizeFigures[];
  verdicts: Verdict[];
}

export async function writeFleetReport(run: FleetRun, sizes: FleetSize[], partial: boolean): Promise<FleetReport> {
  const o = run.options;
  const figs = sizes.map(figures);
  const v = verdicts(figs, sizes);
  const st = sizeTable(sizes, figs);
  const gt = growthTable(figs);
  const tt = stepsTable(figs);
  const last = sizes.at(-1);
  const mt = last ? memoryTable(last) : undefined;
  const mon = sizes[0] ? monitorTable(sizes[0]) : undefined;
  const cap = capacity(sizes, figs);
  const found = findings(sizes, figs);
  const vt = {
    headers: ['target', 'measured', 'result'],
    rows: v.map((x) => [x.target, x.measured, x.met ? 'met' : 'NOT met']),
  };

  say(`\nfleet (simulated): ${o.hosts} hosts, ${o.rounds} rounds per size${partial ? ' — PARTIAL' : ''}`);
  say(table(st.headers, st.rows));
  say(`\n${table(gt.headers, gt.rows)}`);
  say(`\n${table(tt.headers, tt.rows)}`);
  if (mt && last) say(`\nRedis memory by kind of key at ${last.apps} apps\n${table(mt.headers, mt.rows)}`);
  if (mon) say(`\n${table(mon.headers, mon.rows)}`);
  say(`\n${table(vt.headers, vt.rows)}`);
  say(`\n${cap.join('\n')}`);
  say(`\n${found.join('\n')}`);
  for (const n of run.notes) say(`note: ${n}`);

  const base = await resultPath(`-fleet${partial ? '-partial' : ''}`);
  const machine = {
    nproc: os.availableParallelism(),
    cpu: os.cpus()[0]?.model ?? 'unknown',
    memoryGiB: Number((os.totalmem() / 2 ** 30).toFixed(1)),
    node: process.version,
    netq: run.netqVersion,
    redis: (await run.redis?.client.info('server').catch(() => ''))?.match(/redis_version:(\S+)/)?.[1] ?? 'unknown',
  };
  await writeFile(
    `${base}.json`,
    `${JSON.stringify({ options: o, machine, partial, sizes, figures: figs, verdicts: v, notes: run.notes, problems: run.problems }, null, 2)}\n`,
  );
  const section = fleetSection(run, sizes, machine, {
    sizes: markdownTable(st.headers, st.rows),
    growth: markdownTable(gt.headers, gt.rows),
    steps: markdownTable(tt.headers, tt.rows),
    memory: mt ? markdownTable(mt.headers, mt.rows) : '',
    monitor: mon ? markdownTable(mon.headers, mon.rows) : '',
    verdicts: markdownTable(vt.headers, vt.rows),
    capacity: cap.join('\n'),
    findings: found.join('\n'),
    resultFile: path.relative(ROOT, `${base}.json`),
  });
  await writeFile(`${base}.md`, `${section}\n`);
  say(`\nwrote ${path.relative(ROOT, base)}.json and .md`);
  if (o.documented && !partial && run.problems.length === 0) {
    await updateDocs(section);
    say('updated the "Fleet (simulated)" section of docs/benchmarks.md');
  } else {
    say('docs/benchmarks.md left alone (only a complete run of the documented plan, without problems, updates it)');
  }
  return { sizes, figures: figs, verdicts: v };
}

function fleetSection(
  run: FleetRun,
  sizes: FleetSize[],
  machine: { nproc: number; cpu: string; node: string; netq: string; redis: string },
  t: {
    sizes: string;
    growth: string;
    steps: string;
    memory: string;
    monitor: string;
    verdicts: string;
    capacity: string;
    findings: string;
    resultFile: string;
  },
): string {
  const o = run.options;
  const last = sizes.at(-1);
  const date = new Date()
    .toISOString()
    .replace(/:\d\d\.\d+Z$/, ' UTC')
    .replace('T', ' ');
  const loads = sizes.flatMap((s) => s.loadAverage);
  return `## Fleet (simulated)

\`npm run bench -- --fleet\` (${date}, netq at ${machine.netq}; raw figures: \`${t.resultFile}\`). **Simulated**:
${o.hosts} hosts, each a simulated Docker engine (\`bench/fleet/simEngine.ts\`: a small HTTP server on a unix socket
that answers the Docker API calls netq makes, with Dokku-labelled containers, events and per-call latency
generated from a seed; log-normal latency, median ${o.latency.medianMs} ms, plus ${o.latency.listPerContainerMs} ms per container for a list call), one
\`netq worker\` process per host (NETQ_HOST_ID h01…h${String(o.hosts).padStart(2, '0')}, label mode: Redis is the store), one private
redis-server (Redis ${machine.redis}), every process on this machine's ${machine.nproc} shared cores (${machine.cpu}; load
average ${Math.min(...loads)}–${Math.max(...loads)}). Each app has a web and a worker container; ${Math.round(o.publishedShare * 100)}% of apps have
\`bind-all-interfaces\` (a published web port), ${Math.round(o.attachShare * 100)}% an attach network; ${Math.round(o.serviceShare * 100)}% have a service container a label-filtered list
must skip. Every size runs on all ${o.hosts} hosts (${sizes.map((s) => `${s.appsPerHost} apps each`).join(', ')}), on a flushed Redis, with fresh workers whose own start-up rebuilds
warm the fleet; then ${o.rounds} rounds of \`netq network:rebuildall --format json\` from CLI process start to exit, each
checked (every container configured, none failed). Redis commands are INFO commandstats deltas (commands run inside
scripts count too); CPU from /proc; the CLI's RSS sampled every 20 ms while it waits. Memory is used_memory over
the empty Redis, after the runs (${last?.memory.rebuildalls ?? '-'} rebuildalls' jobs kept) and at rest: what is left once job retention
has done its work a day later (completed jobs removed with \`Queue.clean(0, 0, 'completed')\`, as removeOnComplete's
24 h age would, and the keys that expire within a day deleted: run progress, pending requests, locks).

${t.sizes}

Growth (per app; a figure that stays flat does not grow with the fleet):

${t.growth}

${t.steps}
${last ? `\nRedis memory by kind of key at ${last.apps.toLocaleString('en-US')} apps (MEMORY USAGE of every key):\n\n${t.memory}\n` : ''}
${t.monitor ? `Round trips: the commands clients sent (a script is one), from one more rebuildall with MONITOR on:\n\n${t.monitor}\n\n` : ''}${t.verdicts}

### How many hosts and apps one Redis serves

${t.capacity}

### What grows, and where it would change

${t.findings}
`;
}

/** Replaces the "Fleet (simulated)" section (up to the next `## ` heading), or appends it. */
export async function updateDocs(section: string, file = path.join(ROOT, 'docs/benchmarks.md')): Promise<void> {
  const text = await readFile(file, 'utf8');
  const start = text.indexOf('\n## Fleet (simulated)\n');
  let out: string;
  if (start < 0) out = `${text.trimEnd()}\n\n${section}`;
  else {
    const next = text.indexOf('\n## ', start + 1);
    out = `${text.slice(0, start + 1)}${section}${next < 0 ? '' : `\n${text.slice(next + 1)}`}`;
  }
  await writeFile(file, out.endsWith('\n') ? out : `${out}\n`);
}
