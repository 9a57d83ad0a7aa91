// The fleet bench's report: tables printed at the end, bench/results/<date>-fleet.json and .md, and (for the
// documented plan: 1,000 / 5,000 / 10,000 apps on 20 hosts) the "Fleet (simulated)" section of
// docs/benchmarks.md, figures, growth, targets and the capacity arithmetic all taken from this run.
import { readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ROOT, say } from '../benchRun.js';
import { markdownTable, ratio, table } from '../format.js';
import { resultPath } from '../resultFiles.js';
import { cpuPerApp, f0, f1, f2, figures, kb, type SizeFigures } from './fleetFigures.js';
import { capacity, findings } from './fleetReading.js';
import type { FleetRun } from './fleetRun.js';
import type { FleetSize } from './measureFleet.js';

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
  ["all processes' CPU (workers, Redis, engines, CLI), ms/app", (f) => cpuPerApp(f), f2],
  ['on a terminal: wall time, ms/app', (f) => f.tty.wallMs / f.apps, f2],
  ["on a terminal: the progress bar's polls, Redis µs/app", (f) => f.tty.barUsecPerApp, f2],
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
      'on a terminal: wall s; progress polls × Redis ms per poll; CLI CPU s',
      (f) => `${f2(f.tty.wallMs / 1000)}; ${f0(f.tty.polls)} × ${f2(f.tty.pollUsec / 1000)}; ${f2(f.tty.cliCpuS)}`,
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
  const lastSize = sizes.at(-1) as FleetSize;
  const firstSize = sizes[0] as FleetSize;
  const load = (x: FleetSize) => `${Math.min(...x.loadAverage)}–${Math.max(...x.loadAverage)}`;
  out.push({
    target: `time per app at ${last.apps} ≤ 1.2× time per app at ${first.apps}`,
    measured: `${ratio(t)} (${f2(last.msPerApp)} vs ${f2(first.msPerApp)} ms/app; in queue ${ratio(last.inQueueMsPerApp / first.inQueueMsPerApp)}); the CPU all processes spent per app: ${ratio(cpuPerApp(last) / cpuPerApp(first))} (${f2(cpuPerApp(last))} vs ${f2(cpuPerApp(first))} ms); load average ${load(firstSize)} at ${first.apps}, ${load(lastSize)} at ${last.apps}`,
    met: t <= 1.2,
  });
  const marginal =
    sizes.length > 1
      ? (lastSize.memory.atRest.usedMemory - firstSize.memory.atRest.usedMemory) / (lastSize.apps - firstSize.apps)
      : Number.NaN;
  out.push({
    target: 'Redis memory per app ≤ 2 KB at rest',
    measured: `${kb(last.bytesPerAppAtRest)} per app at ${last.apps} apps (used_memory over the empty Redis ÷ apps: the workers' connection buffers ${kb(last.clientBytesPerAppAtRest)}, netq's keys ${kb(last.keyBytesPerAppAtRest)}, of which the queues' events streams ${kb(last.streamBytesPerAppAtRest)}; without those streams ${kb(last.bytesPerAppAtRest - last.streamBytesPerAppAtRest)}); each app added ${first.apps}→${last.apps}: ${Number.isFinite(marginal) ? kb(marginal) : '-'}`,
    met: last.bytesPerAppAtRest <= 2048,
  });
  // a step quadratic in the apps grows per app as the apps do; a linear one stays flat, give or take the
  // noise of a shared machine: a cost per app that doubles (or grows by √ of the apps' growth, if less) is
  // called growing. A job's latency is not a cost (it waits for CPU), nor is memory (another target).
  const sizeRatio = last.apps / first.apps;
  const growth = PER_APP.filter(([name]) => !name.startsWith('Redis memory') && !name.startsWith('one app job'))
    .map(([name, get]) => ({ name, g: get(last) / get(first) }))
    .filter((x) => Number.isFinite(x.g))
    .sort((a, b) => b.g - a.g);
  const growing = growth.filter((x) => x.g >= Math.min(2, Math.sqrt(sizeRatio)));
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
generated from a seed; log-normal latency, median ${o.latency.medianMs} ms, plus ${o.latency.listPerContainerMs} ms per container a list call looks at: every one on the engine for a label filter, only the named ones for an id filter, as dockerd's id index does), one
\`netq worker\` process per host (NETQ_HOST_ID h01…h${String(o.hosts).padStart(2, '0')}, label mode: Redis is the store), one private
redis-server (Redis ${machine.redis}), every process on this machine's ${machine.nproc} shared cores (${machine.cpu}; load
average ${Math.min(...loads)}–${Math.max(...loads)}). Each app has a web and a worker container; ${Math.round(o.publishedShare * 100)}% of apps have
\`bind-all-interfaces\` (a published web port), ${Math.round(o.attachShare * 100)}% an attach network; ${Math.round(o.serviceShare * 100)}% have a service container a label-filtered list
must skip. Every size runs on all ${o.hosts} hosts (${sizes.map((s) => `${s.appsPerHost} apps each`).join(', ')}), on a flushed Redis, with fresh workers whose own start-up rebuilds
warm the fleet; then ${o.rounds} rounds of \`netq network:rebuildall --format json\` from CLI process start to exit, each
checked (every container configured, none failed). The CLI's output goes to a file: through a pipe whose reader
lags, the CLI loses the end of a result of several megabytes (it leaves 50 ms after its last write,
producers/cli.ts; seen at 5,000 and 10,000 apps). Redis commands are INFO commandstats deltas (commands run inside
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
${run.notes.length ? `\nNotes from this run:\n\n${run.notes.map((n) => `- ${n}`).join('\n')}\n` : ''}`;
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
