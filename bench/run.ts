// `npm run bench` (scripts/bench): netq's rebuildall side by side with Dokku's way, the one-call limit and
// the queue floor, on real busybox app containers on the local engine. See docs/benchmarks.md.
//
//   npm run bench                 full run: 50/150/300 apps (100/300/600 containers), 5 rounds, storm,
//                                 event-to-write latency over 100 container starts
//   npm run bench -- --quick      10 apps / 20 containers, 3 rounds, a small storm, 10 starts (under a minute)
//   npm run bench -- --profile    counts Docker and Redis calls per job and CPU-profiles the worker
//   options: --rounds N, --sizes 50,150 (apps per size), --parallel N (containers created at once),
//            --no-storm, --starts N (event-to-write samples; 0 skips), --profile-apps N
//
// Every container carries a label unique to this run; they are all removed at the end, also after an
// error or Ctrl-C, as are the worker child, the Redis keys under the run's prefixes and the temp dir.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { Redis } from 'ioredis';
import { rebuild } from '../producers/client.js';
import { type Config, loadConfig } from '../src/config.js';
import { NetqQueues, queueName } from '../src/queue.js';
import { writeDokkuFiles } from '../src/store/dokkuFiles.js';
import { writeProperty } from '../src/store/propertyStore.js';
import type { RebuildallResult } from '../src/types.js';
import {
  BENCH_LABEL_KEY,
  type BenchApp,
  benchApps,
  countContainers,
  createApps,
  docker,
  layOutDokku,
  PROCS,
  removeByLabel,
} from './containers.js';
import { QueueFloor } from './floor.js';
import { type LatencyResult, measureEventLatency } from './latency.js';
import {
  clientAddresses,
  countBy,
  DockerCallCounter,
  nowUs,
  RedisCallCounter,
  summariseCpuProfile,
  type Window,
} from './profile.js';
import {
  Interrupted,
  interruptible,
  live,
  mapLimit,
  markdownTable,
  ms,
  ratio,
  running,
  runTimed,
  type Stats,
  sleep,
  stats,
  stop,
  type Timed,
  table,
} from './util.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const MB_PER_CONTAINER = 6; // busybox httpd + docker-init + shim, measured about 5 MB
const CONTENDERS = ['dokku', 'onecall', 'netq', 'floor'] as const;
type Contender = (typeof CONTENDERS)[number];
const NAMES: Record<Contender, string> = {
  dokku: "A Dokku's way (bash + docker CLI)",
  onecall: 'B one-call limit (node, 1 list call)',
  netq: 'C netq rebuildall (CLI, warm worker)',
  floor: 'D queue floor (BullMQ tree, no-op)',
};

// ---------------------------------------------------------------- options

const { values: opt } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    sizes: { type: 'string' },
    parallel: { type: 'string', default: '8' },
    'no-storm': { type: 'boolean', default: false },
    starts: { type: 'string' },
    'profile-apps': { type: 'string', default: '150' },
    help: { type: 'boolean', default: false },
  },
  strict: true,
});
if (opt.help) {
  console.log(
    'usage: npm run bench [-- --quick | --profile] [--rounds N] [--sizes 50,150,300] [--parallel 8] [--no-storm] [--starts 100]',
  );
  process.exit(0);
}
const positive = (name: string, v: string): number => {
  if (!/^\d+$/.test(v) || Number(v) < 1) throw new Error(`--${name}: expected a positive whole number, got ${v}`);
  return Number(v);
};
const mode: 'full' | 'quick' | 'profile' = opt.profile ? 'profile' : opt.quick ? 'quick' : 'full';
const rounds = opt.rounds ? positive('rounds', opt.rounds) : mode === 'quick' ? 3 : 5;
const parallel = positive('parallel', opt.parallel);
const memAvailableMb = await readFile('/proc/meminfo', 'utf8').then(
  (t) => Number(/MemAvailable:\s+(\d+)/.exec(t)?.[1] ?? 0) / 1024,
  () => os.freemem() / 2 ** 20,
);
const notes: string[] = [];
function plannedSizes(): number[] {
  if (opt.sizes) return opt.sizes.split(',').map((s) => positive('sizes', s.trim()));
  if (mode === 'quick') return [10];
  if (mode === 'profile') return [positive('profile-apps', opt['profile-apps'])];
  const sizes = [50, 150];
  const need = 600 * MB_PER_CONTAINER + 2048;
  if (memAvailableMb >= need) sizes.push(300);
  else notes.push(`300 apps / 600 containers skipped: ${Math.round(memAvailableMb)} MB available, ${need} MB needed`);
  return sizes;
}
const sizes = plannedSizes().sort((a, b) => a - b);
const latencyStarts =
  mode === 'profile'
    ? 0
    : opt.starts !== undefined
      ? opt.starts === '0'
        ? 0
        : positive('starts', opt.starts)
      : mode === 'quick'
        ? 10
        : 100;
const storm =
  opt['no-storm'] || mode === 'profile'
    ? undefined
    : mode === 'quick'
      ? { requests: 200, apps: 10 }
      : { requests: 1000, apps: 50 };

// ---------------------------------------------------------------- run identity and state

const runId = randomBytes(3).toString('hex');
const label = `${BENCH_LABEL_KEY}=${runId}`;
const netqPrefix = `bench-${runId}`;
const keyPattern = `{bench-${runId}*`; // netq's {bench-id}, the one-call's {bench-id-onecall}, the floor's {bench-id-floor}
const netqConfig: Config = loadConfig({ REDIS_URL, NETQ_PREFIX: netqPrefix, LOG_LEVEL: 'silent' });
const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 3 });
let tmp = '';
/** the copy of netq's build the bench runs (dist/ can be rebuilt by others while the bench runs) */
let build = ROOT;
let netqVersion = 'unknown';
let roots = { dokku: '', onecall: '', netq: '' };
/** netq's Dokku lib root (config/ps scale, config/common deployed, config/network properties), beside roots.netq */
let netqLib = '';
/** netq's Dokku mode, as every netq process of the bench runs (the worker and the CLI) */
const dokkuEnv = () => ({ NETQ_DOKKU_ROOT: roots.netq, NETQ_DOKKU_LIB_ROOT: netqLib });
let worker: WorkerChild | undefined;
let floor: QueueFloor | undefined;
const openQueues: NetqQueues[] = [];
let dockerCounter: DockerCallCounter | undefined;
let redisCounter: RedisCallCounter | undefined;
const problems: string[] = [];
let made = 0;

const say = (line = '') => console.log(line);
const problem = (what: string) => {
  problems.push(what);
  console.log(`  PROBLEM: ${what}`);
};

// ---------------------------------------------------------------- worker child

interface WorkerChild {
  child: ChildProcess;
  pid: number;
  log: string;
}

async function startWorker(extraEnv: Record<string, string> = {}, nodeArgs: string[] = []): Promise<WorkerChild> {
  live();
  const log = path.join(tmp, `worker-${Date.now()}.log`);
  const fd = openSync(log, 'a');
  const child = spawn(process.execPath, [...nodeArgs, 'bin/netq.js', 'worker'], {
    cwd: build,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/root',
      REDIS_URL,
      NETQ_PREFIX: netqPrefix,
      NETQ_SCOPE_LABEL: label,
      ...dokkuEnv(),
      LOG_LEVEL: 'info',
      ...extraEnv,
    },
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  if (child.pid === undefined) throw new Error('could not start the worker');
  const w = { child, pid: child.pid, log };
  worker = w;
  const deadline = Date.now() + 20_000;
  for (;;) {
    live();
    if (child.exitCode !== null) {
      throw new Error(`the worker exited with ${child.exitCode}: ${(await readFile(log, 'utf8')).slice(-2000)}`);
    }
    const members = await redis.zrange(`{${netqPrefix}}:workers:local`, '0', '-1');
    if (members.some((m) => m.includes(`-${child.pid}-`))) return w;
    if (Date.now() > deadline) throw new Error('the worker did not register within 20 s');
    await sleep(50);
  }
}

/**
 * Waits until a fresh worker's own start-up work is done: its Docker event watcher connects and queues a
 * rebuild of the whole host, which must not overlap the measured runs.
 */
async function settle(w: WorkerChild, queues: NetqQueues): Promise<string> {
  const deadline = Date.now() + 300_000;
  let watching = false;
  while (Date.now() < deadline - 290_000 && !watching) {
    live();
    watching = (await countLogLines(w.log, 'docker event stream connected')) > 0;
    if (!watching) await sleep(100);
  }
  const queuesToDrain = [queues.summaryQueue(), queues.scanQueue('local'), queues.rebuildQueue('local')];
  let idleSince: number | undefined;
  for (;;) {
    live();
    let busy = 0;
    for (const q of queuesToDrain) {
      const c = await q.getJobCounts('wait', 'active', 'delayed', 'prioritized', 'waiting-children');
      busy += Object.values(c).reduce((a, b) => a + b, 0);
    }
    if (busy > 0) idleSince = undefined;
    else idleSince ??= Date.now();
    if (idleSince !== undefined && Date.now() - idleSince >= 500) break;
    if (Date.now() > deadline) throw new Error(`the worker still had ${busy} jobs after 300 s`);
    await sleep(100);
  }
  const hostRebuilds = await countLogLines(w.log, 'rebuildall summary');
  return watching
    ? `its start-up host rebuild is done (${hostRebuilds} summary)`
    : 'no event watcher line in its log within 10 s; queues idle';
}

async function stopWorker(w: WorkerChild): Promise<void> {
  if (w.child.exitCode !== null || w.child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => w.child.once('exit', () => resolve()));
  w.child.kill('SIGTERM'); // finishes active jobs, then exits
  const timer = setTimeout(() => w.child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
  if (worker === w) worker = undefined;
}

async function rssOf(pid: number): Promise<{ rssMb: number; hwmMb: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(status)?.[1] ?? Number.NaN);
  return { rssMb: kb('VmRSS') / 1024, hwmMb: kb('VmHWM') / 1024 };
}

const countLogLines = async (file: string, msg: string, pattern?: RegExp) =>
  (await readFile(file, 'utf8')).split('\n').filter((l) => (pattern ? pattern.test(l) : l.includes(`"msg":"${msg}"`)))
    .length;

// ---------------------------------------------------------------- containers and apps

const apps: BenchApp[] = [];

/**
 * Grows the bench to `count` apps (2 containers each): containers, the apps' folders, and (not timed) the
 * Dokku host netq reads in Dokku mode: CONTAINER files, scale, deployed marker, network properties.
 */
async function growTo(count: number): Promise<{ made: number; ms: number }> {
  const wanted = benchApps(runId, count);
  const fresh = wanted.slice(apps.length);
  const started = performance.now();
  let ids: Map<string, string> | undefined;
  try {
    ids = await createApps(fresh, runId, parallel);
    made += ids.size;
  } finally {
    // count what exists, whatever happened (the cleanup removes by label anyway)
    apps.push(...fresh);
  }
  const took = performance.now() - started;
  for (const a of fresh) {
    for (const root of Object.values(roots)) await mkdir(path.join(root, a.app), { recursive: true });
    // netq applies bind-all-interfaces: without it the published half would be replaced on the first run.
    // Dokku mode reads it from Dokku's property files (layOutDokku); label mode (an ablation variant) from Redis.
    if (a.published) await writeProperty(redis, netqConfig.prefix, a.app, 'bind-all-interfaces', 'true');
  }
  await layOutDokku({ root: roots.netq, libRoot: netqLib }, fresh, ids);
  const runningNow = await countContainers(label);
  if (runningNow !== count * 2) problem(`${runningNow} bench containers running, ${count * 2} expected`);
  return { made: fresh.length * 2, ms: took };
}

/**
 * Copies dist/, bin/ and package.json into the temp dir (node_modules linked) and runs netq from there, so
 * that a rebuild of dist/ by someone else during the bench cannot change the code measured halfway.
 */
async function snapshotBuild(): Promise<string> {
  const dir = path.join(tmp, 'build');
  await mkdir(dir);
  await cp(path.join(ROOT, 'dist'), path.join(dir, 'dist'), { recursive: true });
  await cp(path.join(ROOT, 'bin'), path.join(dir, 'bin'), { recursive: true });
  await cp(path.join(ROOT, 'package.json'), path.join(dir, 'package.json'));
  await symlink(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  const exec = promisify(execFile);
  const git = (...a: string[]) =>
    exec('git', a, { cwd: ROOT }).then(
      (r) => r.stdout.trim(),
      () => '',
    );
  const head = await git('rev-parse', '--short', 'HEAD');
  const dirty = (await git('status', '--porcelain', '--', 'src', 'workers', 'producers', 'bin'))
    .split('\n')
    .filter(Boolean);
  netqVersion = `${head || 'unknown'}${dirty.length ? ` + ${dirty.length} uncommitted changes in src/workers/producers` : ''}`;
  return dir;
}

/**
 * The Dokku files of one bench app, as Dokku writes them: `IP.<proc>.1` for every process type and
 * `PORT.web.1` for web only (Dokku writes no PORT file for other process types).
 */
const APP_FILES = [...PROCS.map((proc) => `IP.${proc}.1`), 'PORT.web.1'];
/** What each of them holds: the value alone, without a trailing newline (Dokku writes them so). */
const FILE_VALUE = { IP: /^\d{1,3}(\.\d{1,3}){3}$/, PORT: /^\d{1,5}$/ };

/**
 * Gives every IP./PORT. file in netq's root a wrong value (not timed). netq leaves a file that already holds
 * the right value alone, so rounds after the first write nothing; a rebuildall after this rewrites (and
 * fsyncs) every file, as after a reboot that moved every container.
 */
async function staleNetqFiles(n: number): Promise<void> {
  await mapLimit(apps.slice(0, n), 16, (a) =>
    Promise.all(APP_FILES.map((f) => writeFile(path.join(roots.netq, a.app, f), 'stale'))),
  );
}

/**
 * How many apps' Dokku files are wrong in the roots of A, B and C: all must hold the same values, each an
 * address or a port without a trailing newline, and no root may hold an IP./PORT. file beyond APP_FILES
 * (a PORT file of a non-web process, say).
 */
async function compareRoots(n: number): Promise<number> {
  const read = async (root: string, app: string) => {
    const dir = path.join(root, app);
    const values = await Promise.all(APP_FILES.map((f) => readFile(path.join(dir, f), 'utf8').catch(() => 'missing')));
    const extra = (await readdir(dir)).filter((f) => /^(IP|PORT)\./.test(f) && !APP_FILES.includes(f));
    return { values, extra };
  };
  const wellFormed = (values: string[]) =>
    values.every((v, i) => FILE_VALUE[(APP_FILES[i] ?? '').startsWith('IP.') ? 'IP' : 'PORT'].test(v));
  let differ = 0;
  for (const a of apps.slice(0, n)) {
    const [x, y, z] = await Promise.all([
      read(roots.dokku, a.app),
      read(roots.onecall, a.app),
      read(roots.netq, a.app),
    ]);
    const same =
      JSON.stringify(x.values) === JSON.stringify(y.values) && JSON.stringify(y.values) === JSON.stringify(z.values);
    const extra = [x, y, z].some((r) => r.extra.length > 0);
    if (!same || !wellFormed(x.values) || extra) differ += 1;
  }
  return differ;
}

// ---------------------------------------------------------------- the contenders

const baseEnv = () => ({ PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root' });

async function runDokkuWay(n: number): Promise<Timed> {
  const r = await runTimed('bash', [path.join(ROOT, 'bench/dokku-way.sh'), roots.dokku, label], {
    cwd: ROOT,
    env: baseEnv(),
    timeoutMs: 600_000,
  });
  const [configured, failed] = r.stdout.trim().split(/\s+/).map(Number);
  if (r.code !== 0 || configured !== n * 2 || failed !== 0) {
    problem(`Dokku's way: exit ${r.code}, printed "${r.stdout.trim()}" (want ${n * 2} 0) ${r.stderr.slice(0, 300)}`);
  }
  return r;
}

async function runOneCall(n: number): Promise<Timed> {
  const r = await runTimed(process.execPath, [path.join(ROOT, 'bench/one-call.mjs')], {
    cwd: ROOT,
    env: {
      ...baseEnv(),
      REDIS_URL,
      BENCH_LABEL: label,
      BENCH_ROOT: roots.onecall,
      BENCH_PREFIX: `bench-${runId}-onecall`,
    },
    timeoutMs: 120_000,
  });
  let s: { apps?: number; configured?: number; failed?: number } = {};
  try {
    s = JSON.parse(r.stdout) as typeof s;
  } catch {}
  if (r.code !== 0 || s.apps !== n || s.configured !== n * 2 || s.failed !== 0) {
    problem(`one-call: exit ${r.code}, printed ${r.stdout.trim().slice(0, 200)} ${r.stderr.slice(0, 300)}`);
  }
  return r;
}

interface NetqRound extends Timed {
  /** summary job created → finished, from BullMQ's own timestamps */
  queueMs: number;
  runId: string;
  startedAt: number;
  /** other rebuildalls (the worker's own host rebuilds) that ran while this one did */
  overlaps: number;
  /** what the CLI printed: "<configured> of <containers> configured, <failed> failed" */
  outcome: string;
}

async function runNetq(n: number, queues: NetqQueues): Promise<NetqRound> {
  const startedAt = Date.now();
  const r = await runTimed(
    process.execPath,
    ['bin/netq.js', 'network:rebuildall', '--format', 'json', '--timeout', '300'],
    { cwd: build, env: { ...baseEnv(), REDIS_URL, NETQ_PREFIX: netqPrefix, ...dokkuEnv() }, timeoutMs: 320_000 },
  );
  let s: RebuildallResult | undefined;
  try {
    s = JSON.parse(r.stdout) as RebuildallResult;
  } catch {}
  if (
    r.code !== 0 ||
    !s ||
    s.apps !== n ||
    s.containers !== n * 2 ||
    s.configured !== n * 2 ||
    s.failed !== 0 ||
    s.hostFailures.length !== 0
  ) {
    const got = s ? `${s.apps} apps, ${s.containers} containers, ${s.configured} configured, ${s.failed} failed` : '';
    problem(
      `netq: exit ${r.code}, ${got || r.stdout.slice(0, 200)} (want ${n} apps, ${n * 2} configured, 0 failed) ${r.stderr.slice(0, 300)}`,
    );
  }
  // this CLI's run: the first summary added after it started (the worker's own host rebuild is older)
  const recent = await queues.summaryQueue().getJobs(['completed'], 0, 20, false);
  const job = recent.filter((j) => j.timestamp >= startedAt).sort((a, b) => a.timestamp - b.timestamp)[0];
  const queueMs = job?.finishedOn && job.timestamp ? job.finishedOn - job.timestamp : Number.NaN;
  // the worker's own host rebuilds (its event watcher queues one on every reconnect) that ran at the same time
  const overlaps = job
    ? recent.filter(
        (j) => j.id !== job.id && j.timestamp <= (job.finishedOn ?? 0) && (j.finishedOn ?? 0) >= job.timestamp,
      ).length
    : 0;
  const outcome = s ? `${s.configured} of ${s.containers} configured, ${s.failed} failed` : 'no summary';
  return { ...r, queueMs, runId: String(job?.id ?? ''), startedAt, overlaps, outcome };
}

async function runFloor(n: number): Promise<{ ms: number }> {
  live();
  if (!floor) throw new Error('the queue floor is not started');
  const { ms: took, summary } = await interruptible(floor.run(apps.slice(0, n).map((a) => a.app)));
  if (summary.apps !== n || summary.containers !== n * 2 || summary.failed !== 0) {
    problem(`queue floor: ${JSON.stringify(summary)} (want ${n} apps)`);
  }
  return { ms: took };
}

/** Where the time of one netq rebuildall went, from BullMQ's job timestamps (ms after the CLI started). */
async function netqTimeline(queues: NetqQueues, round: NetqRound, n: number) {
  const summary = await queues.summaryQueue().getJob(round.runId);
  const scan = await queues.scanQueue('local').getJob(`${round.runId}.local`);
  const rebuilds = await Promise.all(
    apps.slice(0, n).map((a) => queues.rebuildQueue('local').getJob(`${round.runId}.local.${a.app}`)),
  );
  const t0 = round.startedAt;
  const at = (v: number | undefined) => (v === undefined ? Number.NaN : v - t0);
  const done = rebuilds.filter((j) => j?.processedOn !== undefined && j.finishedOn !== undefined);
  const durations = done.map((j) => (j?.finishedOn ?? 0) - (j?.processedOn ?? 0));
  return {
    summaryAdded: at(summary?.timestamp),
    childrenAdded: at(Math.min(...rebuilds.map((j) => j?.timestamp ?? Number.POSITIVE_INFINITY))),
    firstRebuildStarted: at(Math.min(...done.map((j) => j?.processedOn ?? Number.POSITIVE_INFINITY))),
    lastRebuildFinished: at(Math.max(...done.map((j) => j?.finishedOn ?? 0))),
    scanFinished: at(scan?.finishedOn),
    summaryFinished: at(summary?.finishedOn),
    printed: round.ms,
    exited: round.exitMs,
    rebuildJobMs: stats(durations),
    rebuildJobs: done.length,
  };
}
type Timeline = Awaited<ReturnType<typeof netqTimeline>>;

// ---------------------------------------------------------------- storm

interface StormResult {
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

async function runStorm(requests: number, n: number, w: WorkerChild): Promise<StormResult> {
  live();
  const queues = new NetqQueues(netqConfig);
  openQueues.push(queues);
  const q = queues.rebuildQueue('local');
  // every waiting requester listens on the queue and its events
  (await queues.queueEvents(queueName.rebuild('local'))).setMaxListeners(requests * 4);
  q.setMaxListeners(requests * 4);
  const before = await q.getJobCounts('completed', 'failed');
  const linesBefore = await countLogLines(w.log, 'rebuilt app');
  const stormApps = apps.slice(0, n).map((a) => a.app);
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

// ---------------------------------------------------------------- one size

interface SizeResult {
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

async function benchSize(n: number): Promise<SizeResult> {
  say(`\n== ${n} apps / ${n * 2} containers`);
  const creation = await growTo(n);
  say(`created ${creation.made} containers in ${(creation.ms / 1000).toFixed(1)} s (${parallel} at once)`);
  const w = await startWorker();
  const queues = new NetqQueues(netqConfig);
  openQueues.push(queues);
  say(`worker ${w.pid} registered; ${await settle(w, queues)}`);

  const connectsBefore = await countLogLines(w.log, 'docker event stream connected');
  const warmup = { dokku: Number.NaN } as Record<Contender, number>;
  warmup.onecall = (await runOneCall(n)).ms;
  const netqWarm = await runNetq(n, queues);
  warmup.netq = netqWarm.ms;
  warmup.floor = (await runFloor(n)).ms;
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
    const a = await runDokkuWay(n);
    const b = await runOneCall(n);
    const c = await runNetq(n, queues);
    await staleNetqFiles(n);
    const cStale = await runNetq(n, queues);
    const d = await runFloor(n);
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
    notes.push(
      `${n} apps: the worker's Docker event stream reconnected ${reconnects} times during the rounds; each reconnect queues a host rebuild that may have overlapped a measured round`,
    );
    say(`note: ${notes.at(-1)}`);
  }
  const differ = await compareRoots(n);
  if (differ) problem(`${differ} of ${n} apps have different IP./PORT. files from the three contenders`);
  else say(`the three contenders wrote the same IP./PORT. files for all ${n} apps`);
  const errors = await countLogLines(w.log, '', /"level":(50|60)/);
  if (errors) problem(`the worker logged ${errors} errors at ${n} apps (see its log)`);
  const workerRss = await rssOf(w.pid).catch(() => undefined);
  if (workerRss) say(`worker RSS after the ${n * 2}-container rebuildalls: ${workerRss.rssMb.toFixed(1)} MB`);
  const timeline = last ? await netqTimeline(queues, last, n) : undefined;
  const s = Object.fromEntries(CONTENDERS.map((c) => [c, stats(times[c])])) as Record<Contender, Stats>;
  return {
    apps: n,
    containers: n * 2,
    published: apps.slice(0, n).filter((a) => a.published).length * 2,
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

// ---------------------------------------------------------------- report

const pairedRatios = (num: number[], den: number[]) => stats(num.map((v, i) => v / (den[i] ?? Number.NaN)));

interface Target {
  target: string;
  measured: string;
  result: 'pass' | 'MISS' | 'n/a';
}

function targets(results: SizeResult[], rss: SizeResult | undefined, latency: LatencyResult | undefined): Target[] {
  const at300 = results.find((r) => r.containers === 300) ?? results.at(-1);
  const at100 = results.find((r) => r.containers === 100);
  const at600 = results.find((r) => r.containers === 600);
  const out: Target[] = [];
  const where = (r: SizeResult) =>
    r.containers === 300 ? '' : ` (at ${r.containers} containers: no 300 size in this run)`;
  if (at300) {
    const speedup = at300.stats.dokku.median / at300.stats.netq.median;
    out.push({
      target: "netq ≥30× faster than Dokku's way at 300 containers",
      measured: `${ratio(speedup)}${where(at300)}`,
      result: at300.containers === 300 ? (speedup >= 30 ? 'pass' : 'MISS') : 'n/a',
    });
    const overLimit = at300.stats.netq.median / at300.stats.onecall.median;
    out.push({
      target: 'netq within 2× of the one-call limit at 300 containers',
      measured: `${ratio(overLimit)}${where(at300)}`,
      result: at300.containers === 300 ? (overLimit <= 2 ? 'pass' : 'MISS') : 'n/a',
    });
  }
  const stale = at300?.stats.netqStale;
  if (at300 && stale) {
    const speedup = at300.stats.dokku.median / stale.median;
    const overLimit = stale.median / at300.stats.onecall.median;
    out.push({
      target: "the same two, when every file is stale (netq rewrites all: C'')",
      measured: `${ratio(speedup)} faster; ${ratio(overLimit)} of the limit${where(at300)}`,
      result: at300.containers === 300 ? (speedup >= 30 && overLimit <= 2 ? 'pass' : 'MISS') : 'n/a',
    });
  }
  if (at100 && at600) {
    const growth = at600.stats.netq.median / 600 / (at100.stats.netq.median / 100);
    out.push({
      target: 'netq ms/container at 600 within 1.2× of at 100',
      measured: `${ratio(growth)} (${(at600.stats.netq.median / 600).toFixed(2)} vs ${(at100.stats.netq.median / 100).toFixed(2)} ms)`,
      result: growth <= 1.2 ? 'pass' : 'MISS',
    });
  } else {
    out.push({
      target: 'netq ms/container at 600 within 1.2× of at 100',
      measured: 'not measured: needs the 100- and 600-container sizes',
      result: 'n/a',
    });
  }
  if (rss?.workerRss) {
    const ok = rss.workerRss.rssMb <= 150;
    out.push({
      target: 'worker RSS after the 300-container rebuildall ≤150 MB',
      measured: `${rss.workerRss.rssMb.toFixed(1)} MB (peak ${rss.workerRss.hwmMb.toFixed(1)} MB)${rss.containers === 300 ? '' : ` at ${rss.containers} containers`}`,
      result: rss.containers === 300 ? (ok ? 'pass' : 'MISS') : 'n/a',
    });
  }
  out.push(
    latency
      ? {
          target: 'event-to-write latency: median ≤300 ms, p99 ≤1 s',
          measured: `median ${ms(latency.medianMs)} ms, p99 ${ms(latency.p99Ms)} ms over ${latency.starts} starts`,
          result: latency.starts >= 100 ? (latency.medianMs <= 300 && latency.p99Ms <= 1000 ? 'pass' : 'MISS') : 'n/a',
        }
      : { target: 'event-to-write latency: median ≤300 ms, p99 ≤1 s', measured: 'not measured', result: 'n/a' },
  );
  return out;
}

function sizeRows(r: SizeResult): string[][] {
  const netq = r.stats.netq.median;
  const rows = CONTENDERS.map((c) => {
    const s = r.stats[c];
    const vs =
      c === 'netq' ? '1' : c === 'dokku' ? `netq ${ratio(s.median / netq)} faster` : `netq = ${ratio(netq / s.median)}`;
    return [NAMES[c], ms(s.median), `${ms(s.min)}–${ms(s.max)}`, (s.median / r.containers).toFixed(2), vs];
  });
  const q = r.stats.netqQueue;
  rows.splice(3, 0, [
    "C' netq in queue (summary created → done)",
    ms(q.median),
    `${ms(q.min)}–${ms(q.max)}`,
    (q.median / r.containers).toFixed(2),
    `floor ${ratio(q.median / r.stats.floor.median)}`,
  ]);
  const st = r.stats.netqStale;
  if (st)
    rows.splice(4, 0, [
      "C'' netq, every file stale (all rewritten)",
      ms(st.median),
      `${ms(st.min)}–${ms(st.max)}`,
      (st.median / r.containers).toFixed(2),
      `${ratio(r.stats.dokku.median / st.median)} faster than A; ${ratio(st.median / r.stats.onecall.median)} of B`,
    ]);
  return rows;
}
const SIZE_HEADERS = ['contender', 'median ms', 'min–max ms', 'ms/container', 'ratio'];

function ratioRows(r: SizeResult): string[][] {
  const p = (num: number[], den: number[]) => {
    const s = pairedRatios(num, den);
    return [ratio(s.median), `${ratio(s.min)}–${ratio(s.max)}`];
  };
  return [
    ["Dokku's way ÷ netq (speed-up)", ...p(r.rounds.dokku, r.rounds.netq)],
    ['netq ÷ one-call limit', ...p(r.rounds.netq, r.rounds.onecall)],
    ['netq ÷ queue floor', ...p(r.rounds.netq, r.rounds.floor)],
    ['netq in-queue ÷ queue floor', ...p(r.netqQueueMs, r.rounds.floor)],
  ];
}
const RATIO_HEADERS = ['ratio (paired by round)', 'median', 'min–max'];

function perContainerRows(results: SizeResult[]): { headers: string[]; rows: string[][] } {
  const headers = ['ms/container', ...results.map((r) => `${r.containers}`)];
  const first = results[0];
  const lastR = results.at(-1);
  const multi = first && lastR && first !== lastR;
  if (multi)
    headers.push(
      `${lastR.containers} ÷ ${first.containers}`,
      `marginal ms/container ${first.containers}→${lastR.containers}`,
    );
  const row = (name: string, pick: (r: SizeResult) => number) => {
    const cells = [name, ...results.map((r) => (pick(r) / r.containers).toFixed(2))];
    if (multi) {
      cells.push(ratio(pick(lastR) / lastR.containers / (pick(first) / first.containers)));
      cells.push(((pick(lastR) - pick(first)) / (lastR.containers - first.containers)).toFixed(2));
    }
    return cells;
  };
  const rows = CONTENDERS.map((c) => row(NAMES[c], (r) => r.stats[c].median));
  rows.splice(
    3,
    0,
    row("C' netq in queue", (r) => r.stats.netqQueue.median),
  );
  return { headers, rows };
}

function timelineRows(results: SizeResult[]): { headers: string[]; rows: string[][] } {
  const headers = ['netq rebuildall, ms after the CLI started', ...results.map((r) => `${r.containers}`)];
  const pick = (f: (t: Timeline) => number) => results.map((r) => (r.timeline ? ms(f(r.timeline)) : '-'));
  return {
    headers,
    rows: [
      ['summary job added (CLI start-up, connect)', ...pick((t) => t.summaryAdded)],
      ['scan added the per-app children', ...pick((t) => t.childrenAdded)],
      ['first per-app job started', ...pick((t) => t.firstRebuildStarted)],
      ['last per-app job finished', ...pick((t) => t.lastRebuildFinished)],
      ['scan finished', ...pick((t) => t.scanFinished)],
      ['summary finished', ...pick((t) => t.summaryFinished)],
      ['summary printed by the CLI', ...pick((t) => t.printed)],
      ['CLI exited', ...pick((t) => t.exited)],
      ['per-app job duration, median', ...pick((t) => t.rebuildJobMs.median)],
      ['per-app job duration, max', ...pick((t) => t.rebuildJobMs.max)],
    ],
  };
}

async function machineFacts() {
  const exec = promisify(execFile);
  const cli = await exec('docker', ['version', '--format', '{{.Client.Version}}']).then(
    (r) => r.stdout.trim(),
    () => 'unknown',
  );
  const server = await docker.version().then(
    (v) => `${v.Version} (API ${v.ApiVersion})`,
    () => 'unknown',
  );
  const info = await redis.info('server');
  const bullmq = JSON.parse(await readFile(path.join(ROOT, 'node_modules/bullmq/package.json'), 'utf8')) as {
    version: string;
  };
  return {
    nproc: os.availableParallelism(),
    cpu: os.cpus()[0]?.model ?? 'unknown',
    memoryGiB: Number((os.totalmem() / 2 ** 30).toFixed(1)),
    memAvailableMbAtStart: Math.round(memAvailableMb),
    kernel: os.release(),
    docker: { server, cli },
    redis: /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown',
    node: process.version,
    bullmq: bullmq.version,
    loadAverageAtStart: os.loadavg().map((l) => Number(l.toFixed(2))),
    netq: netqVersion,
  };
}

// ---------------------------------------------------------------- main: comparisons

/** What the comparisons gathered so far: reported at the end, or as a partial report after an error or signal. */
const gathered = {
  results: [] as SizeResult[],
  storm: undefined as StormResult | undefined,
  latency: undefined as LatencyResult | undefined,
  rssAfterStorm: undefined as { rssMb: number; hwmMb: number } | undefined,
  facts: undefined as Awaited<ReturnType<typeof machineFacts>> | undefined,
  reported: false,
};

async function main(): Promise<void> {
  const facts = await machineFacts();
  gathered.facts = facts;
  say(`netq bench (${mode}), run ${runId}: label ${label}, Redis prefixes ${keyPattern}`);
  say(
    `machine: ${facts.nproc} CPUs (${facts.cpu}), ${facts.memoryGiB} GiB, docker ${facts.docker.server} / CLI ${facts.docker.cli}, redis ${facts.redis}, node ${facts.node}, bullmq ${facts.bullmq}; load ${facts.loadAverageAtStart.join(' ')}`,
  );
  say(
    `sizes: ${sizes.map((n) => `${n} apps / ${n * 2} containers`).join(', ')}; ${rounds} rounds, alternating A B C D`,
  );
  say(`netq: commit ${facts.netq}, run from a copy of dist/ taken at the start`);
  for (const n of notes) say(`note: ${n}`);

  floor = new QueueFloor(REDIS_URL, `{bench-${runId}-floor}`);
  await interruptible(floor.ready());

  for (const n of sizes) {
    gathered.results.push(await benchSize(n));
    if (storm && gathered.storm === undefined && worker) {
      const stormApps = Math.min(storm.apps, n);
      say(`\nstorm: ${storm.requests} rebuild requests over ${stormApps} apps, enqueued at once (producer API, wait)`);
      const stormResult = await runStorm(storm.requests, stormApps, worker);
      gathered.storm = stormResult;
      gathered.rssAfterStorm = await rssOf(worker.pid).catch(() => undefined);
      say(
        `  ${stormResult.jobsRan} rebuild jobs ran (${stormResult.logLines} 'rebuilt app' log lines, ${stormResult.lockBounces} lock bounces); last answer after ${ms(stormResult.lastAnswerMs)} ms`,
      );
      if (stormResult.wrongAnswers)
        problem(`storm: ${stormResult.wrongAnswers} answers were not 2 configured, 0 failed`);
    }
    if (latencyStarts > 0 && gathered.latency === undefined && worker) {
      const latencyApps = apps.slice(0, Math.min(10, n)).map((a) => a.app);
      say(`\nevent-to-write latency: ${latencyStarts} container starts over ${latencyApps.length} apps`);
      const queues = new NetqQueues(netqConfig);
      openQueues.push(queues);
      const l = await interruptible(
        measureEventLatency({
          queues,
          host: 'local',
          label,
          apps: latencyApps,
          starts: latencyStarts,
          dokkuRoot: roots.netq,
          live,
        }),
      );
      gathered.latency = l;
      say(
        `  median ${ms(l.medianMs)} ms, p99 ${ms(l.p99Ms)} ms, min–max ${ms(l.minMs)}–${ms(l.maxMs)} ms over ${l.starts} starts`,
      );
      if (l.wrong) problem(`event latency: ${l.wrong} samples left an IP file that did not match Docker`);
    }
    if (worker) await stopWorker(worker);
  }
  await report(false);
}

async function report(partial: boolean): Promise<void> {
  gathered.reported = true;
  const { results, storm: stormResult, rssAfterStorm, facts, latency } = gathered;
  if (partial) say(`\nPARTIAL REPORT: the run stopped after ${results.length} of ${sizes.length} sizes`);
  const rssSize = results.find((r) => r.containers === 300) ?? results.at(-1);
  const tg = targets(results, rssSize, latency);
  const pc = perContainerRows(results);
  const tl = timelineRows(results);

  const text: string[] = [];
  const md: string[] = [];
  for (const r of results) {
    const head = `${r.apps} apps / ${r.containers} containers (${r.published} with a published port); containers created in ${(r.creation.ms / 1000).toFixed(1)} s, ${r.creation.parallel} at once; ${rounds} rounds; load average ${Math.min(...r.loadAverage)}–${Math.max(...r.loadAverage)}${r.overlappedRounds === undefined ? '' : `; C rounds run alongside one of the worker's own host rebuilds: ${r.overlappedRounds}`}`;
    text.push(`\n${head}\n${table(SIZE_HEADERS, sizeRows(r))}\n\n${table(RATIO_HEADERS, ratioRows(r))}`);
    md.push(
      `#### ${head}\n\n${markdownTable(SIZE_HEADERS, sizeRows(r))}\n\n${markdownTable(RATIO_HEADERS, ratioRows(r))}`,
    );
  }
  text.push(`\ncost per container as the size grows (medians)\n${table(pc.headers, pc.rows)}`);
  md.push(`#### Cost per container as the size grows (medians)\n\n${markdownTable(pc.headers, pc.rows)}`);
  text.push(`\nwhere netq's time goes (last round of each size)\n${table(tl.headers, tl.rows)}`);
  md.push(
    `#### Where netq's time goes (last round of each size, from BullMQ's job timestamps)\n\n${markdownTable(tl.headers, tl.rows)}`,
  );
  const other: string[][] = results.map((r) => [
    `worker RSS after the ${r.containers}-container rebuildalls`,
    r.workerRss ? `${r.workerRss.rssMb.toFixed(1)} MB (peak ${r.workerRss.hwmMb.toFixed(1)} MB)` : '-',
  ]);
  if (stormResult) {
    other.push([
      `storm: ${stormResult.requests} rebuild requests over ${stormResult.apps} apps at once`,
      `${stormResult.jobsRan} rebuild jobs ran; answers after ${ms(stormResult.firstAnswerMs)} (first) / ${ms(stormResult.medianAnswerMs)} (median) / ${ms(stormResult.lastAnswerMs)} ms (last); ${stormResult.lockBounces} lock bounces`,
    ]);
    if (rssAfterStorm)
      other.push([
        'worker RSS after the storm',
        `${rssAfterStorm.rssMb.toFixed(1)} MB (peak ${rssAfterStorm.hwmMb.toFixed(1)} MB)`,
      ]);
  }
  if (latency)
    other.push([
      `event-to-write latency over ${latency.starts} container starts (NETQ_DEBOUNCE_MS 250)`,
      `median ${ms(latency.medianMs)} ms, p99 ${ms(latency.p99Ms)} ms, min–max ${ms(latency.minMs)}–${ms(latency.maxMs)} ms`,
    ]);
  text.push(`\n${table(['also measured', 'value'], other)}`);
  md.push(`#### Also measured\n\n${markdownTable(['also measured', 'value'], other)}`);
  const tgRows = tg.map((t) => [t.target, t.measured, t.result]);
  text.push(`\ntargets\n${table(['target', 'measured', 'result'], tgRows)}`);
  md.push(`#### Targets\n\n${markdownTable(['target', 'measured', 'result'], tgRows)}`);
  say(text.join('\n'));

  const stamp = new Date()
    .toISOString()
    .replace(/\.\d+Z$/, 'Z')
    .replace(/:/g, '-');
  const base = path.join(
    ROOT,
    'bench/results',
    `${stamp}${mode === 'full' ? '' : `-${mode}`}${partial ? '-partial' : ''}`,
  );
  await mkdir(path.dirname(base), { recursive: true });
  const loadAverageAtEnd = os.loadavg().map((l) => Number(l.toFixed(2)));
  await writeFile(
    `${base}.json`,
    `${JSON.stringify({ date: new Date().toISOString(), mode, partial, runId, rounds, machine: { ...facts, loadAverageAtEnd }, notes, sizes: results, storm: stormResult, rssAfterStorm, latency, targets: tg, problems }, null, 2)}\n`,
  );
  await writeFile(`${base}.md`, `${md.join('\n\n')}\n`);
  say(`\nwrote ${path.relative(ROOT, base)}.json and .md`);
}

// ---------------------------------------------------------------- main: profile

async function profileMain(): Promise<void> {
  const n = sizes[0] ?? 150;
  const measured = 3;
  say(`netq profile, run ${runId}: ${n} apps / ${n * 2} containers, ${measured} measured rebuildalls`);
  const creation = await growTo(n);
  say(`created ${creation.made} containers in ${(creation.ms / 1000).toFixed(1)} s`);
  const profDir = path.join(tmp, 'prof');
  await mkdir(profDir);
  dockerCounter = new DockerCallCounter(path.join(tmp, 'docker.sock'));
  await dockerCounter.listen();
  redisCounter = new RedisCallCounter(redis.duplicate(), `{${netqPrefix}}`);
  await redisCounter.start();
  const w = await startWorker({ DOCKER_HOST: `unix://${dockerCounter.path}` }, [
    '--cpu-prof',
    `--cpu-prof-dir=${profDir}`,
    '--cpu-prof-interval=200',
  ]);
  const queues = new NetqQueues(netqConfig);
  openQueues.push(queues);
  say(`worker ${w.pid} registered; ${await settle(w, queues)}`);
  await runNetq(n, queues); // warm-up
  const windows: Window[] = [];
  const dockerCalls: string[] = [];
  const fromWorker: string[] = [];
  const fromCli: string[] = [];
  const lua: string[] = [];
  const walls: number[] = [];
  let discarded = 0;
  while (windows.length < measured) {
    if (discarded > 10) throw new Error('the worker kept running host rebuilds of its own during the measured runs');
    const existing = await clientAddresses(redis);
    const connects = await countLogLines(w.log, 'docker event stream connected');
    const w0 = nowUs();
    const r = await runNetq(n, queues);
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
    dockerCalls.push(...dockerCounter.in(win));
    for (const c of redisCounter.in(win)) {
      if (c.source === 'lua') lua.push(c.command);
      else if (existing.has(c.source)) fromWorker.push(c.command);
      else fromCli.push(c.command);
    }
  }
  // the CLI's own CPU: one more rebuildall with --cpu-prof on the CLI (outside the counted windows)
  const cliProfDir = path.join(tmp, 'cli-prof');
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
    { cwd: build, env: { ...baseEnv(), REDIS_URL, NETQ_PREFIX: netqPrefix, ...dokkuEnv() }, timeoutMs: 320_000 },
  );
  if (cliRun.code !== 0) problem(`profiled CLI run exited with ${cliRun.code}: ${cliRun.stderr.slice(0, 300)}`);
  await stopWorker(w);
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

  // what fsync costs: netq's file write (temp file, fsync, rename) against the same without fsync
  const fileRoot = path.join(tmp, 'files');
  await mkdir(fileRoot);
  const configs = [
    { container: 'x.web.1', id: 'a', proc: 'web', index: 1, ip: '172.17.0.2', port: 5000, listener: '172.17.0.2:5000' },
    {
      container: 'x.worker.1',
      id: 'b',
      proc: 'worker',
      index: 1,
      ip: '172.17.0.3',
      port: 5000,
      listener: '172.17.0.3:5000',
    },
  ];
  const keep = new Map([
    ['web', 1],
    ['worker', 1],
  ]);
  for (let i = 0; i < 10; i++) {
    // the app folders and their CONTAINER files (not timed): netq reads each dyno's CONTAINER file again just
    // before it writes the dyno's files, and leaves them alone unless it names the config's container
    const appDir = path.join(fileRoot, `app-${i}`);
    await mkdir(appDir);
    for (const c of configs) await writeFile(path.join(appDir, `CONTAINER.${c.proc}.${c.index}`), `${c.id}\n`);
  }
  const fileTimes: number[] = [];
  for (let i = 0; i < 50; i++) {
    const t = performance.now();
    await writeDokkuFiles({ root: fileRoot, libRoot: fileRoot }, `app-${i % 10}`, configs, keep);
    fileTimes.push(performance.now() - t);
  }
  say(
    `\nnetq's Dokku file write for one app (2 containers, 3 files, unchanged after the first): median ${ms(stats(fileTimes).median)} ms`,
  );

  const variants = await ablation(n, queues);
  say(
    `\nsame rebuildall, plain worker (no counters, no profiler), alternating variants, ${ABLATION_ROUNDS} rounds each:`,
  );
  say(
    table(
      ['worker variant', 'CLI ms (median)', 'in queue ms (median)', 'in queue min–max'],
      variants.map((v) => [v.variant, ms(v.cli.median), ms(v.queue.median), `${ms(v.queue.min)}–${ms(v.queue.max)}`]),
    ),
  );

  const imports = await importCosts();
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
  } else problem('the worker wrote no CPU profile');
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
  } else problem('the CLI wrote no CPU profile');
  const stamp = new Date()
    .toISOString()
    .replace(/\.\d+Z$/, 'Z')
    .replace(/:/g, '-');
  const out = path.join(ROOT, 'bench/results', `${stamp}-profile.json`);
  await mkdir(path.dirname(out), { recursive: true });
  await writeFile(
    out,
    `${JSON.stringify(
      {
        date: new Date().toISOString(),
        mode,
        apps: n,
        containers: n * 2,
        measured,
        discarded,
        wallMsWithCounters: walls,
        dockerPerApp: countBy(dockerCalls, (d) => d).map(([k, v]) => [k, v / measured / n]),
        redisWorkerPerJob: countBy(fromWorker, (c) => c).map(([k, v]) => [k, v / measured / jobsPerRun]),
        redisCliPerRun: countBy(fromCli, (c) => c).map(([k, v]) => [k, v / measured]),
        redisLuaPerJob: countBy(lua, (c) => c).map(([k, v]) => [k, v / measured / jobsPerRun]),
        fileWriteMsPerApp: stats(fileTimes),
        cpu,
        cliCpu,
        imports,
        variants,
        problems,
      },
      null,
      2,
    )}\n`,
  );
  say(`\nwrote ${path.relative(ROOT, out)}`);
}

const ABLATION_ROUNDS = 3;
/**
 * Which part of a per-app job costs the time: the same rebuildall against a worker as users run it (Dokku
 * mode), one in label mode (NETQ_DOKKU_ROOT unset: it reads no Dokku state, finds the containers by their
 * labels and writes no Dokku files), and one with NETQ_CONCURRENCY=32. Each round restarts the worker and
 * lets its start-up host rebuild finish first.
 */
async function ablation(n: number, queues: NetqQueues) {
  const variants: { variant: string; env: Record<string, string> }[] = [
    { variant: 'as users run it (files, concurrency 8)', env: {} },
    {
      variant: 'label mode: no Dokku files, containers by label (NETQ_DOKKU_ROOT unset)',
      env: { NETQ_DOKKU_ROOT: '', NETQ_DOKKU_LIB_ROOT: '' },
    },
    { variant: 'files, NETQ_CONCURRENCY=32', env: { NETQ_CONCURRENCY: '32' } },
  ];
  const cli = variants.map(() => [] as number[]);
  const queue = variants.map(() => [] as number[]);
  for (let r = 0; r < ABLATION_ROUNDS; r++) {
    for (const [i, v] of variants.entries()) {
      const w = await startWorker(v.env);
      await settle(w, queues);
      await runNetq(n, queues); // warm
      let round = await runNetq(n, queues);
      // a round that ran alongside one of the worker's own host rebuilds is run again (3 tries)
      for (let again = 0; round.overlaps > 0 && again < 3; again++) {
        await settle(w, queues);
        round = await runNetq(n, queues);
      }
      cli[i]?.push(round.ms);
      queue[i]?.push(round.queueMs);
      await stopWorker(w);
    }
  }
  return variants.map((v, i) => ({ variant: v.variant, cli: stats(cli[i] ?? []), queue: stats(queue[i] ?? []) }));
}

/** What each piece the CLI loads costs a fresh process (its start-up), against `node -e 0`. */
const IMPORT_RUNS = 5;
async function importCosts(): Promise<{ what: string; best: number; median: number }[]> {
  const exec = promisify(execFile);
  const esm = (m: string): [string, string[]] => [
    m,
    ['--input-type=module', '-e', `await import(${JSON.stringify(m)})`],
  ];
  const entries: [string, string[]][] = [
    ['nothing (node -e 0)', ['-e', '0']],
    ...['commander', 'zod', 'ioredis', 'bullmq', 'pino', 'dockerode', 'fastify', '@bull-board/api'].map(esm),
    esm('./dist/producers/client.js'),
    esm('./dist/producers/commands/rebuild.js'),
    esm('./dist/workers/pool.js'),
    ['bin/netq.js --help (everything the CLI loads)', ['bin/netq.js', '--help']],
  ];
  const out: { what: string; best: number; median: number }[] = [];
  for (const [what, args] of entries) {
    live();
    const times: number[] = [];
    for (let i = 0; i < IMPORT_RUNS; i++) {
      const t = performance.now();
      await exec(process.execPath, args, { cwd: build });
      times.push(performance.now() - t);
    }
    out.push({ what, best: Math.min(...times), median: stats(times).median });
  }
  return out;
}

// ---------------------------------------------------------------- cleanup, always

async function cleanup(): Promise<void> {
  say('\ncleanup');
  const step = async (what: string, fn: () => Promise<string>) => {
    try {
      say(`  ${what}: ${await fn()}`);
    } catch (err) {
      problems.push(`cleanup ${what}: ${(err as Error).message}`);
      say(`  ${what}: FAILED ${(err as Error).message}`);
    }
  };
  await step('child processes', async () => {
    const n = running.size;
    for (const c of running) c.kill('SIGKILL');
    if (worker) {
      const pid = worker.pid;
      await stopWorker(worker);
      return `worker ${pid} stopped; ${n} other children ended`;
    }
    return `${n} ended`;
  });
  await step('queue floor and producers', async () => {
    await floor?.close();
    await Promise.allSettled(openQueues.map((q) => q.close()));
    await dockerCounter?.close();
    redisCounter?.stop();
    return 'closed';
  });
  await step('containers', async () => `${await removeByLabel(label)} removed (${made} were made)`);
  await step('redis keys', async () => {
    if (redis.status === 'wait') await redis.connect();
    let n = 0;
    for await (const batch of redis.scanStream({ match: keyPattern, count: 1000 })) {
      const keys = batch as string[];
      if (keys.length) n += await redis.unlink(...keys);
    }
    return `${n} removed`;
  });
  await step('temp dir', async () => {
    if (!tmp) return 'none';
    await rm(tmp, { recursive: true, force: true });
    return `${tmp} removed`;
  });
  await step('left behind', async () => {
    const containers = (await docker.listContainers({ all: true, filters: { label: [label] } })).length;
    const keys = (await redis.scan('0', 'MATCH', keyPattern, 'COUNT', 100_000))[1].length;
    if (containers || keys) throw new Error(`${containers} containers, ${keys} keys`);
    return 'nothing';
  });
  redis.disconnect();
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
  await redis.connect();
  tmp = await mkdtemp(path.join(os.tmpdir(), 'netq-bench-'));
  roots = { dokku: path.join(tmp, 'dokku-way'), onecall: path.join(tmp, 'one-call'), netq: path.join(tmp, 'netq') };
  netqLib = path.join(tmp, 'netq-lib');
  for (const r of [...Object.values(roots), netqLib]) await mkdir(r);
  build = await snapshotBuild();
  await (mode === 'profile' ? profileMain() : main());
} catch (err) {
  if (err instanceof Interrupted || stop.signal.aborted) {
    console.error(`bench ${(err as Error).message}`);
    exitCode = 130;
  } else {
    problems.push((err as Error).message);
    console.error(`bench failed: ${(err as Error).stack ?? err}`);
  }
} finally {
  if (mode !== 'profile' && !gathered.reported && gathered.results.length > 0) {
    await report(true).catch((err: Error) => console.error(`could not write the partial report: ${err.message}`));
  }
  await cleanup();
}
if (problems.length && exitCode === 0) {
  exitCode = 1;
  say(`\n${problems.length} problems:\n${problems.map((p) => `  ${p}`).join('\n')}`);
}
process.exit(exitCode);
