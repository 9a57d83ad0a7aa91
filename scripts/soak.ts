// The chaos soak (npm run soak -- --minutes N; scripts/soak installs, builds and starts the services first).
//
// A Dokku host simulated with test/dokkuHost.ts (30 apps, busybox httpd dynos) on a private Docker engine in its
// own network namespace (test/engines.ts), two `netq worker` processes in Dokku mode with their event watchers and
// a change hook that logs, and a redis-server of its own (append-only). For N minutes a producer loop runs
// `netq network:rebuild`, `netq network:set <app> tld …` and `netq network:rebuildall` and redeploys apps, while
// every few seconds one fault hits: a worker SIGKILLed and started again, Redis restarted, dockerd restarted, an
// app container killed (and started again on another IP), the change hook stalled past NETQ_ON_CHANGE_TIMEOUT_MS.
// The invariants (scripts/soak-invariants.ts) are checked throughout and reported in one table at the end
// (scripts/soak-report.ts); the exit code is 1 when one of them fails. `--json <file>` also writes the figures.
//
// Everything it starts it ends by pid, and the engine, Redis and folders go with the run. A run that is killed
// leaves them: the next run removes what a run whose process is gone left (its state file in the temp folder).
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { cp, mkdir, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { JobType } from 'bullmq';
import type Docker from 'dockerode';
import { Redis } from 'ioredis';
import { seededRandom } from '../bench/fleet/seededRandom.js';
import { loadConfig } from '../src/config.js';
import { enqueueRebuild } from '../src/enqueue.js';
import { queueName } from '../src/jobs.js';
import { NetqQueues } from '../src/queue.js';
import type { DokkuHost } from '../test/dokkuHost.js';
import type { NamespaceEngine } from '../test/engines.js';
import { FAULT_KINDS, type FaultKind, type FaultRecord, type FaultTarget, inject } from './soak-faults.js';
import { FileSampler, HookLog, JobTracker, overlaps } from './soak-invariants.js';
import {
  type CliResult,
  median,
  PrivateRedis,
  poll,
  runNetq,
  sleep,
  startWorker,
  type WorkerProcess,
} from './soak-procs.js';
import { faultSummary, formatReport, type RssFigure, type SoakReport, verdicts } from './soak-report.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const HOST_ID = 'local';
const PREFIX = 'soak';
const QUEUES = [queueName.rebuild(HOST_ID), queueName.scan(HOST_ID), queueName.control(HOST_ID), queueName.summary];
const TLDS = ['svc.cluster.local', 'soak.internal', 'example.test'];
const HOOK_TIMEOUT_MS = 2_000;
/** how long netq may wait for a stalled hook: the timeout, the SIGKILL 2 s after the SIGTERM, 1 s of slack */
const HOOK_LIMIT_MS = HOOK_TIMEOUT_MS + 2_000 + 1_000;
/** a worker's RSS at the end may be this many times its RSS after warm-up */
const RSS_LIMIT = 1.2;
const RSS_WINDOW_MS = 20_000;

const { values: args } = parseArgs({
  options: {
    minutes: { type: 'string', default: '30' },
    apps: { type: 'string', default: '30' },
    seed: { type: 'string' },
    json: { type: 'string' },
    keep: { type: 'boolean', default: false },
  },
});
const minutes = Number(args.minutes);
const appCount = Number(args.apps);
if (!(minutes > 0 && minutes <= 24 * 60) || !(appCount >= 2 && appCount <= 200)) {
  console.error('usage: npm run soak -- --minutes N [--apps 30] [--seed S] [--json file] [--keep]');
  process.exit(2);
}
const seed = args.seed === undefined ? randomBytes(4).readUInt32BE() : Number(args.seed);
/** no worker SIGKILL in the last minute of the chaos (3 in a 30-minute run): the newest worker's RSS is judged */
const KILL_QUIET_MS = Math.max(60_000, minutes * 6_000);

// the run's choices come from its seed, so a failing run's schedule can be tried again
const rng = seededRandom(seed);
const pick = <T>(xs: T[]): T => xs[Math.floor(rng() * xs.length)] as T;

const t0 = Date.now();
const log = (line: string) => console.log(`[soak +${((Date.now() - t0) / 1000).toFixed(1)}s] ${line}`);

let interrupted: NodeJS.Signals | undefined;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (interrupted) return;
    interrupted = signal;
    log(`${signal}: stopping, then cleaning up`);
  });
}

// ---- what an earlier, killed run left ------------------------------------------------------------------------

interface State {
  owner: number;
  engine: string;
  dokkuDir?: string;
  pids: number[];
  /** set once the run cleaned up after itself (its folder may be kept, with its logs) */
  clean?: boolean;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const cmdline = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return '';
  }
};

/** Ends the processes, engine and folders of soak runs whose own process is gone (each by the pid it recorded). */
async function removeLeftovers(Engine: typeof NamespaceEngine): Promise<void> {
  for (const name of await readdir(os.tmpdir())) {
    if (!name.startsWith('netq-soak-')) continue;
    const dir = path.join(os.tmpdir(), name);
    let state: State;
    try {
      state = JSON.parse(await readFile(path.join(dir, 'state.json'), 'utf8')) as State;
    } catch {
      continue;
    }
    if (state.clean || (alive(state.owner) && cmdline(state.owner).includes('soak'))) continue;
    log(`removing what the killed soak run ${name} left`);
    // its workers run netq from its folder, its redis-server keeps its files there: a recycled pid does not match
    for (const pid of state.pids) if (cmdline(pid).includes(dir)) process.kill(pid, 'SIGKILL');
    const pidfile = `/var/run/docker-${state.engine}.pid`;
    if (existsSync(pidfile)) {
      const pid = Number(readFileSync(pidfile, 'utf8').trim());
      if (cmdline(pid).includes(pidfile)) {
        process.kill(pid, 'SIGTERM');
        await poll(async () => (alive(pid) ? undefined : true), 30_000, 200);
      }
    }
    await new Engine(state.engine).destroy();
    if (state.dokkuDir) await rm(state.dokkuDir, { recursive: true, force: true });
    await rm(dir, { recursive: true, force: true });
  }
}

// ---- the run --------------------------------------------------------------------------------------------------

const id = randomBytes(4).toString('hex');
const runDir = path.join(os.tmpdir(), `netq-soak-${id}`);
const engineName = `netq-soak-${id}`;
const state: State = { owner: process.pid, engine: engineName, pids: [] };
const saveState = () => writeFile(path.join(runDir, 'state.json'), JSON.stringify(state));

// test/helpers.ts makes its dockerode client (which test/dokkuHost.ts uses) from DOCKER_HOST when it is first
// imported: pointed at the private engine, the simulated Dokku deploys there. Restored at once, so that the
// engine's image is loaded from the machine's engine (`docker save` in NamespaceEngine.start).
const outerDockerHost = process.env.DOCKER_HOST;
process.env.DOCKER_HOST = `unix:///var/run/docker-${engineName}.sock`;
const helpers = await import('../test/helpers.js');
const { DokkuHost: Host, asDokku } = await import('../test/dokkuHost.js');
const { NamespaceEngine: Engine } = await import('../test/engines.js');
if (outerDockerHost === undefined) delete process.env.DOCKER_HOST;
else process.env.DOCKER_HOST = outerDockerHost;
const docker: Docker = helpers.docker;
const scopeLabel = helpers.scopeLabel;
const runLabel = { [helpers.RUN_LABEL]: helpers.runId };

let engine: NamespaceEngine | undefined;
let host: DokkuHost | undefined;
let redis: PrivateRedis | undefined;
let q: NetqQueues | undefined;
let admin: Redis | undefined;
const allWorkers: WorkerProcess[] = [];
const current = new Map<string, WorkerProcess>();
const hookLog = new HookLog(path.join(runDir, 'hook.log'));
const faults: FaultRecord[] = [];
const spans: { kind: FaultKind; from: number; to: number }[] = [];
let report: SoakReport | undefined;

async function main(): Promise<void> {
  await removeLeftovers(Engine);
  await mkdir(runDir, { recursive: true });
  await saveState();
  log(`run ${id}, seed ${seed}, ${minutes} min of chaos, ${appCount} apps; files in ${runDir}`);

  // netq as built now, copied: a build by someone else during the run changes nothing here
  const netqDir = path.join(runDir, 'netq');
  await mkdir(path.join(netqDir, 'dist'), { recursive: true });
  await cp(path.join(ROOT, 'bin'), path.join(netqDir, 'bin'), { recursive: true });
  // (scripts/bundle.mjs swaps a new build in by renames: a copy that met one is made again)
  for (let attempt = 1; ; attempt++) {
    try {
      await cp(path.join(ROOT, 'dist/bundle'), path.join(netqDir, 'dist/bundle'), { recursive: true });
      break;
    } catch (err) {
      if (attempt >= 5) throw err;
      await rm(path.join(netqDir, 'dist/bundle'), { recursive: true, force: true });
      await sleep(1_000);
    }
  }
  await cp(path.join(ROOT, 'package.json'), path.join(netqDir, 'package.json'));
  await symlink(path.join(ROOT, 'node_modules'), path.join(netqDir, 'node_modules'));
  const bin = path.join(netqDir, 'bin/netq.js');
  let netqVersion = 'unknown';
  try {
    const head = execFileSync('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD']).toString().trim();
    const dirty = execFileSync('git', ['-C', ROOT, 'status', '--porcelain', '--', 'src', 'workers', 'producers'])
      .toString()
      .trim();
    netqVersion = `${head}${dirty ? ' + uncommitted changes' : ''}`;
  } catch {
    // not a git checkout
  }

  // the private engine and the Dokku host
  engine = new Engine(engineName);
  await engine.start();
  log(`private dockerd ${engineName} up`);
  const h = await Host.create();
  host = h;
  state.dokkuDir = h.dir;
  await saveState();
  const apps = Array.from({ length: appCount }, (_, i) => `soak-${String(i + 1).padStart(2, '0')}`);
  const scales = new Map(
    apps.map((app, i) => {
      const s: Record<string, number> = { web: (i + 1) % 6 === 0 ? 2 : 1 };
      if ((i + 1) % 5 === 0) s.worker = 1;
      return [app, s];
    }),
  );
  const containers = [...scales.values()].reduce((n, s) => n + Object.values(s).reduce((a, b) => a + b, 0), 0);
  let next = 0;
  const deployer = async () => {
    while (next < apps.length) {
      const app = apps[next++] as string;
      await h.createApp(app);
      // a tld from the start, so that the property mirror in Redis exists before the baseline is counted
      await h.setProperty(app, 'tld', pick(TLDS));
      await h.deploy(app, { scale: scales.get(app), checksMs: 100, waitToRetireMs: 100 });
    }
  };
  await Promise.all(Array.from({ length: 5 }, deployer));
  log(`${apps.length} apps deployed, ${containers} containers`);

  // Redis, the soak's own connections, and the workers
  const r = new PrivateRedis(path.join(runDir, 'redis'), await helpers.freePort());
  redis = r;
  await mkdir(r.dir);
  const remember = (pid: number) => {
    state.pids.push(pid);
    void saveState();
  };
  r.onStart = remember;
  await r.start();
  const netqEnv = {
    REDIS_URL: r.url,
    NETQ_PREFIX: PREFIX,
    NETQ_HOST_ID: HOST_ID,
    ...h.env(),
  };
  const config = loadConfig(netqEnv);
  const queues = new NetqQueues(config);
  q = queues;
  queues.redis.on('error', () => {});
  const adminRedis = new Redis(r.url, { maxRetriesPerRequest: null });
  admin = adminRedis;
  adminRedis.on('error', () => {});

  const stallFile = path.join(runDir, 'hook.stall');
  await writeFile(stallFile, '');
  const hookScript = [
    'app=$1 log=$2 stall=$3',
    'echo "start $(date +%s%3N) $$ $app" >> "$log"',
    's=$(cat "$stall" 2>/dev/null)',
    'if [ -n "$s" ]; then sleep "$s" & echo "sleep $! $$" >> "$log"; wait $!; fi',
    'echo "end $(date +%s%3N) $$ $app" >> "$log"',
  ].join('\n');
  const workerEnv = {
    ...netqEnv,
    DOCKER_HOST: engine.dockerHost,
    NETQ_SCOPE_LABEL: scopeLabel,
    NETQ_ON_CHANGE: JSON.stringify(['/bin/sh', '-c', hookScript, 'netq-soak-hook', '{app}', hookLog.file, stallFile]),
    NETQ_ON_CHANGE_TIMEOUT_MS: String(HOOK_TIMEOUT_MS),
    NETQ_SHUTDOWN_GRACE_MS: '10000',
  };
  const lives = new Map<string, number>();
  const startSlot = (slot: string): WorkerProcess => {
    const life = (lives.get(slot) ?? 0) + 1;
    lives.set(slot, life);
    const w = startWorker(bin, slot, life, workerEnv, path.join(runDir, `worker-${slot}-${life}.log`));
    allWorkers.push(w);
    current.set(slot, w);
    remember(w.pid);
    return w;
  };
  const health = async () => {
    const raw = await queues.redis.hgetall(queues.keys.workerHealth);
    const out = new Map<number, { workerId: string; at: number; watcher: string; reconnects: number }>();
    for (const v of Object.values(raw)) {
      const x = JSON.parse(v) as {
        workerId: string;
        pid: number;
        at: number;
        watcher: { state: string; reconnects: number };
      };
      out.set(x.pid, { workerId: x.workerId, at: x.at, watcher: x.watcher.state, reconnects: x.watcher.reconnects });
    }
    return out;
  };
  /** waits until the worker's heartbeat shows its event watcher connected; notes its workerId */
  const registered = async (w: WorkerProcess, timeoutMs = 30_000) => {
    const hw = await poll(
      async () => {
        const x = (await health()).get(w.pid);
        return x?.watcher === 'connected' ? x : undefined;
      },
      timeoutMs,
      100,
    );
    if (!hw) throw new Error(`worker ${w.name} (pid ${w.pid}) did not register in ${timeoutMs} ms`);
    w.workerId = hw.workerId;
  };
  const steady = startSlot('w1');
  startSlot('w2');
  await Promise.all([...current.values()].map((w) => registered(w)));
  log(`workers up: ${[...current.values()].map((w) => `${w.name} pid ${w.pid}`).join(', ')}`);

  const counts = async (name: string, ...states: JobType[]) =>
    Object.values(await queues.queue(name).getJobCounts(...states)).reduce((a, b) => a + b, 0);
  const busyStates: JobType[] = ['active', 'waiting', 'delayed', 'prioritized', 'waiting-children'];
  const idle = async () => {
    for (const name of QUEUES) if ((await counts(name, ...busyStates)) > 0) return undefined;
    return true;
  };
  // the start-up rebuildall of each worker (its event watcher connected)
  const started = await poll(
    async () => ((await counts(queueName.summary, 'completed')) >= 2 && (await idle()) ? true : undefined),
    90_000,
    200,
  );
  if (!started) throw new Error('the start-up rebuilds did not finish in 90 s');

  const cliEnv = netqEnv;
  const deployOpts = { checksMs: 200, waitToRetireMs: 300 };
  // warm-up: one of each kind of work, so that every key the run's work keeps exists in the baseline
  const warmSet = await runNetq(
    bin,
    ['network:set', apps[0] as string, 'tld', pick(TLDS), '--format', 'json'],
    cliEnv,
    60_000,
  );
  if (warmSet.code !== 0) throw new Error(`warm-up network:set failed: ${warmSet.stderr.trim()}`);
  await h.deploy(apps[1] as string, deployOpts);
  await h.retireAll(apps[1] as string);
  for (const app of apps) await enqueueRebuild(queues, app, HOST_ID);
  if (!(await poll(idle, 60_000, 200))) throw new Error('the warm-up did not finish in 60 s');
  // one stalled change hook (netq keeps a per-host count of failed hook runs)
  await writeFile(stallFile, '8');
  await h.deploy(apps[3] as string, deployOpts);
  const stalledOnce = await poll(
    async () => {
      await hookLog.read();
      return [...hookLog.runs.values()].some((x) => x.sleepPid !== undefined) ? true : undefined;
    },
    30_000,
    100,
  );
  await writeFile(stallFile, '');
  if (!stalledOnce) throw new Error('warm-up: the change hook did not run after a deploy');
  await h.retireAll(apps[3] as string);
  if (!(await poll(idle, 60_000, 200))) throw new Error('the warm-up did not finish in 60 s');
  await canary(h, apps[2] as string, queues);
  if (!(await poll(idle, 60_000, 200))) throw new Error('the warm-up did not finish in 60 s');
  await sleep(1_000);
  const keysBefore = await agedKeys(queues, adminRedis);
  const healthBefore = await adminRedis.hlen(queues.keys.workerHealth);
  log(`warm-up done; baseline: ${keysBefore.length} Redis keys without a TTL`);

  // ---- chaos ----
  const busy = new Set<string>();
  const hooks = hookLog;
  const sampler = new FileSampler(h, apps, docker, scopeLabel, 2_000, 250, (app, now) =>
    hooks.stalled(app, now, HOOK_LIMIT_MS) ? 'change hook stalled' : undefined,
  );
  const tracker = new JobTracker((name) => queues.queue(name));
  const chaosStart = Date.now();
  // the chaos lasts N minutes, and on a slow machine longer: until every kind of fault was injected once
  let chaosEnd = chaosStart + minutes * 60_000;
  const going = () => Date.now() < chaosEnd && !interrupted;
  const producer = {
    rebuilds: 0,
    sets: 0,
    rebuildalls: 0,
    deploys: 0,
    deploysCut: 0,
    refusedWhileRedisDown: 0,
    unexplained: [] as string[],
  };
  const during = (kind: FaultKind, from: number, to: number, slackMs: number) =>
    spans.some((s) => s.kind === kind && s.from - slackMs <= to && from <= s.to + slackMs);

  sampler.start();
  const background: Promise<void>[] = [];
  let backgroundOn = true;
  const every = (ms: number, fn: () => Promise<unknown>) =>
    background.push(
      (async () => {
        while (backgroundOn) {
          await fn().catch(() => {});
          await sleep(ms);
        }
      })(),
    );
  every(2_000, () => Promise.all(allWorkers.map((w) => w.sampleRss())));
  every(2_000, () => tracker.pollOnce());
  every(500, () => hooks.read());

  /** A Dokku deploy of the app; one that a fault cut short is done again once the engine answers. */
  const deploy = async (app: string) => {
    const from = Date.now();
    try {
      await h.deploy(app, deployOpts);
      await h.retireAll(app);
      producer.deploys += 1;
      return;
    } catch (err) {
      producer.deploysCut += 1;
      if (!during('dockerd-restart', from, Date.now(), 2_000)) {
        producer.unexplained.push(`deploy of ${app}: ${(err as Error).message}`);
      }
    }
    for (let attempt = 0; attempt < 5; attempt++) {
      await poll(async () => ((await docker.ping().catch(() => false)) ? true : undefined), 60_000, 500);
      try {
        await h.deploy(app, deployOpts);
        await h.retireAll(app);
        break;
      } catch {
        await sleep(1_000);
      }
    }
    // what the cut deploy left: containers of the app that no CONTAINER file names
    const keep = new Set(Object.values(await h.currentContainers(app)));
    const left = await docker.listContainers({ all: true, filters: { label: [`com.dokku.app-name=${app}`] } });
    for (const c of left) {
      if (!keep.has(c.Id))
        await docker
          .getContainer(c.Id)
          .remove({ force: true })
          .catch(() => {});
    }
  };

  const deployLane = async () => {
    while (going()) {
      const app = pick(apps.filter((a) => !busy.has(a)));
      busy.add(app);
      try {
        await deploy(app);
      } finally {
        busy.delete(app);
      }
      await sleep(1_000 + rng() * 2_000);
    }
  };

  const cli = async (args: string[], what: string): Promise<CliResult> => {
    const res = await runNetq(bin, args, cliEnv, 150_000);
    if (res.code === 0 || (res.stdout.startsWith('{') && !args.includes('--no-wait'))) return res;
    const err = res.stderr.trim().split('\n').pop() ?? `exit ${res.code}`;
    if (/Redis/.test(err) && during('redis-restart', res.startedAt, res.endedAt, 3_000)) {
      producer.refusedWhileRedisDown += 1;
    } else producer.unexplained.push(`${what} (exit ${res.code}): ${err}`);
    return res;
  };
  const json = (res: CliResult) => {
    try {
      return JSON.parse(res.stdout) as { jobId?: string; jobIds?: string[] };
    } catch {
      return {};
    }
  };
  const cliLane = async () => {
    while (going()) {
      const app = pick(apps);
      const x = rng();
      if (x < 0.4) {
        producer.rebuilds += 1;
        const res = await cli(
          ['network:rebuild', app, '--no-wait', '--format', 'json'],
          `network:rebuild ${app} --no-wait`,
        );
        for (const jobId of json(res).jobIds ?? []) tracker.track(queueName.rebuild(HOST_ID), jobId, 'rebuild');
      } else if (x < 0.55) {
        producer.rebuilds += 1;
        await cli(['network:rebuild', app, '--format', 'json', '--timeout', '120'], `network:rebuild ${app}`);
      } else if (x < 0.8) {
        producer.sets += 1;
        const res = await cli(
          ['network:set', app, 'tld', pick(TLDS), '--no-wait', '--format', 'json'],
          `network:set ${app} tld --no-wait`,
        );
        const jobId = json(res).jobId;
        if (jobId) tracker.track(queueName.control(HOST_ID), jobId, 'set');
      } else if (x < 0.93) {
        producer.sets += 1;
        await cli(
          ['network:set', app, 'tld', pick(TLDS), '--format', 'json', '--timeout', '120'],
          `network:set ${app} tld`,
        );
      } else {
        producer.rebuildalls += 1;
        const res = await cli(['network:rebuildall', '--no-wait', '--format', 'json'], 'network:rebuildall --no-wait');
        const jobId = json(res).jobId;
        if (jobId) tracker.track(queueName.summary, jobId, 'rebuildall');
      }
      await sleep(300 + rng() * 900);
    }
  };

  const target: FaultTarget = {
    rng,
    docker,
    engine,
    redis: r,
    sampler,
    hooks,
    apps,
    busy,
    scopeLabel,
    runLabel,
    stallFile,
    hookTimeoutMs: HOOK_TIMEOUT_MS,
    hookLimitMs: HOOK_LIMIT_MS,
    currentContainers: (app) => h.currentContainers(app),
    ipFiles: (app) => h.ipFiles(app),
    deploy,
    victim: () => current.get('w2') as WorkerProcess,
    restartVictim: async () => startSlot('w2'),
    askRebuilds: async () => {
      await Promise.all(apps.map((app) => enqueueRebuild(queues, app, HOST_ID)));
    },
    workers: () => [...current.values()],
    health,
    heldBy: async (workerId) => {
      const held = new Set<string>();
      const lockPrefix = queues.keys.appLock('');
      for (const key of await adminRedis.keys(`${lockPrefix}*`)) {
        if ((await adminRedis.get(key))?.startsWith(`${workerId}:`)) held.add(key.slice(lockPrefix.length));
      }
      for (const job of await queues.rebuildQueue(HOST_ID).getJobs(['active'])) {
        if (job.processedBy === workerId) held.add(job.data.app);
      }
      return [...held].sort();
    },
    log,
  };
  const faultLane = async () => {
    const bag: FaultKind[] = [];
    while (going()) {
      await sleep(2_000 + rng() * 4_000);
      // none that would outlast the chaos by much
      if (!going() || chaosEnd - Date.now() < 10_000) break;
      if (bag.length === 0) bag.push(...[...FAULT_KINDS].sort(() => rng() - 0.5));
      let kind = bag.pop() as FaultKind;
      // the last worker started lives long enough for its RSS to be judged (once one kill has been done)
      if (kind === 'worker-kill' && chaosEnd - Date.now() < KILL_QUIET_MS && faults.some((f) => f.kind === kind)) {
        if (bag.length === 0) bag.push(...FAULT_KINDS.filter((k) => k !== 'worker-kill'));
        kind = bag.pop() as FaultKind;
      }
      const span = { kind, from: Date.now(), to: Number.POSITIVE_INFINITY };
      spans.push(span);
      const rec = await inject(kind, target);
      span.to = rec.healedAt;
      faults.push(rec);
      const missing = FAULT_KINDS.filter((k) => !faults.some((f) => f.kind === k));
      if (missing.length > 0 && chaosEnd - Date.now() < 20_000) chaosEnd = Date.now() + 20_000;
    }
  };

  log(`chaos for ${minutes} min`);
  await Promise.all([deployLane(), cliLane(), faultLane()]);
  const chaosS = Math.round((Date.now() - chaosStart) / 1000);
  await writeFile(stallFile, '');
  log(`chaos over after ${chaosS} s; draining the queues`);

  // ---- the end: drain, then measure (briefly when interrupted: the cleanup matters more) ----
  const drained = await poll(async () => (interrupted ? true : idle()), 120_000, 500);
  if (!drained) log('the queues did not drain in 120 s');
  await sleep(3_000); // a few more samples of the files
  const finalWrong = [...sampler.latest.wrong];
  await poll(
    async () => {
      await tracker.pollOnce();
      return tracker.open.length === 0 || interrupted ? true : undefined;
    },
    30_000,
    1_000,
  );
  await sleep(2 * 2_000); // RSS samples of the settled workers
  backgroundOn = false;
  await Promise.all(background);
  await sampler.stop();
  await hooks.read();

  const rssOf = (w: WorkerProcess, warmFrom: number): RssFigure => {
    const at = (from: number, to: number) => median(w.rss.filter((s) => s.t >= from && s.t < to).map((s) => s.kb));
    const lastT = w.rss.at(-1)?.t ?? 0;
    const warmKb = at(warmFrom, warmFrom + RSS_WINDOW_MS);
    const endKb = at(lastT - RSS_WINDOW_MS, lastT + 1);
    const judged = warmKb > 0 && lastT - RSS_WINDOW_MS >= warmFrom + RSS_WINDOW_MS;
    const lived = Math.round((lastT - w.startedAt) / 1000);
    return {
      worker: w === steady ? `${w.name} (never killed)` : `${w.name} (the newest of the killed slot)`,
      warmKb,
      endKb,
      ratio: judged ? endKb / warmKb : undefined,
      note: judged
        ? `warm-up window from ${Math.round((warmFrom - w.startedAt) / 1000)} s after its start; lived ${lived} s`
        : `not judged: lived ${lived} s, too short for both windows`,
    };
  };
  // the steady worker warms up through the first quarter of the chaos (at most 60 s); a restarted one for 20 s
  const warmDelay = Math.min(60_000, (minutes * 60_000) / 4);
  const newest = current.get('w2') as WorkerProcess;
  const rss = [rssOf(steady, chaosStart + warmDelay), rssOf(newest, newest.startedAt + 20_000)];

  const all: Record<string, Record<string, number>> = {};
  const stuck: Record<string, Record<string, number>> = {};
  const failedReasons: Record<string, number> = {};
  for (const name of QUEUES) {
    const c = await queues.queue(name).getJobCounts(...busyStates, 'completed', 'failed');
    all[name] = Object.fromEntries(Object.entries(c).filter(([, n]) => n > 0));
    const s = Object.fromEntries(Object.entries(c).filter(([k, n]) => n > 0 && (busyStates as string[]).includes(k)));
    if (Object.keys(s).length) stuck[name] = s;
    for (const job of await queues.queue(name).getFailed(0, -1)) {
      const why = `${name}: ${(job.failedReason || '(no reason)').slice(0, 160)}`;
      failedReasons[why] = (failedReasons[why] ?? 0) + 1;
    }
  }
  const keysAfter = await agedKeys(queues, adminRedis);
  const healthAfter = await adminRedis.hlen(queues.keys.workerHealth);

  // the workers stop as an operator stops them: SIGTERM, exit 0
  const stopExit: string[] = [];
  for (const w of current.values()) {
    w.expectedExit = true;
    const exit = await w.stop('SIGTERM', 30_000);
    stopExit.push(`${w.name} exit ${exit.code ?? exit.signal}`);
  }
  const leftBehind = killHookLeftovers();

  const works = allWorkers.flatMap((w) => w.works);
  const ov = overlaps(works, Date.now());
  const hookWaits = allWorkers.flatMap((w) => w.hookWaits);
  const runs = [...hooks.runs.values()];
  const base: Omit<SoakReport, 'checks' | 'ok'> = {
    minutes,
    seed,
    netq: netqVersion,
    startedAt: new Date(t0).toISOString(),
    chaosS,
    totalS: Math.round((Date.now() - t0) / 1000),
    apps: apps.length,
    containers,
    faults: faultSummary(faults),
    producer,
    jobs: {
      tracked: tracker.jobs.length,
      completed: tracker.jobs.filter((j) => j.state === 'completed').length,
      failed: tracker.jobs.filter((j) => j.state === 'failed' && j.reason).length,
      lost: tracker.jobs.filter((j) => j.state === undefined).map((j) => `${j.queue} ${j.id} (${j.origin})`),
      failedWithoutReason: tracker.jobs
        .filter((j) => j.state === 'failed' && !j.reason)
        .map((j) => `${j.queue} ${j.id} (${j.origin})`),
      stuck,
      all,
      failedReasons,
    },
    files: {
      files: containers,
      samples: sampler.samples,
      checks: sampler.checks,
      blindSamples: sampler.blindSamples,
      violations: sampler.violations.length,
      violationDetails: sampler.violations.map(
        (v) =>
          `${v.file} held ${v.value} (${v.owner}), not ${v.expected}, for ${v.wrongMs} ms (${v.countedMs} ms outside ` +
          `fault windows) at +${((v.at - t0) / 1000).toFixed(1)} s`,
      ),
      longestWrongOutsideMs: sampler.longestOutside.ms,
      longestWrongInFaultMs: sampler.longestInFault.ms,
      longestWrongInFault: sampler.longestInFault.why,
      finalWrong,
    },
    overlaps: { stretches: works.length, found: ov },
    hooks: {
      runs: runs.length,
      stalledRuns: runs.filter((x) => x.sleepPid !== undefined).length,
      maxWaitMs: Math.max(0, ...hookWaits.map((x) => x.durationMs)),
      limitMs: HOOK_LIMIT_MS,
      overLimit: hookWaits
        .filter((x) => x.durationMs > HOOK_LIMIT_MS)
        .map((x) => `${x.proc} ${x.app}: ${x.durationMs} ms at +${((x.at - t0) / 1000).toFixed(1)} s`),
      leftBehind,
    },
    rss,
    redisKeys: {
      before: keysBefore.length,
      after: keysAfter.length,
      extra: keysAfter.filter((k) => !keysBefore.includes(k)),
      missing: keysBefore.filter((k) => !keysAfter.includes(k)),
      workerHealthBefore: healthBefore,
      workerHealthAfter: healthAfter,
    },
    workers: {
      started: allWorkers.length,
      unexpectedExits: allWorkers
        .filter((w) => w.exit && !w.expectedExit)
        .map((w) => `${w.name} pid ${w.pid} exit ${w.exit?.code ?? w.exit?.signal}`),
      errorLines: allWorkers.reduce((n, w) => n + w.errors, 0),
      firstErrors: allWorkers.flatMap((w) => w.firstErrors).slice(0, 10),
      stopExit,
      jobFailures: allWorkers.reduce<Record<string, number>>((acc, w) => {
        for (const [why, n] of w.failures) acc[why] = (acc[why] ?? 0) + n;
        return acc;
      }, {}),
      killsMidJob: faults.filter((f) => (f.held?.length ?? 0) > 0).length,
      appsHeldAtKills: faults.reduce((n, f) => n + (f.held?.length ?? 0), 0),
    },
  };
  const checks = verdicts(base, RSS_LIMIT);
  report = { ...base, checks, ok: checks.every((c) => c.ok) && !interrupted };
}

/**
 * The sampler is not blind: a wrong value written into one IP file (as Dokku's user) is a violation once it has
 * been wrong longer than the grace, and a rebuild of the app puts it right.
 */
async function canary(h: DokkuHost, app: string, queues: NetqQueues): Promise<void> {
  const probe = new FileSampler(h, [app], docker, scopeLabel, 300, 50);
  const [dyno] = Object.keys(await h.currentContainers(app));
  const file = path.join(h.appRoot(app), `IP.${dyno}`);
  const written = await asDokku('printf %s 10.255.255.254 > "$1"', file);
  if (written.code !== 0) throw new Error(`canary: cannot write ${file}: ${written.stderr.trim()}`);
  await probe.sampleOnce();
  await sleep(400);
  await probe.sampleOnce();
  if (probe.violations.length !== 1) throw new Error(`canary: the sampler did not see the wrong ${file}`);
  await enqueueRebuild(queues, app, HOST_ID);
  const fixed = await poll(
    async () => {
      await probe.sampleOnce();
      return probe.latest.wrong.length === 0 ? true : undefined;
    },
    15_000,
    100,
  );
  if (!fixed) throw new Error(`canary: netq did not put ${file} right after a rebuild of ${app}`);
  log(`canary: a wrong ${app}/IP.${dyno} was seen by the sampler and put right by a rebuild`);
}

/**
 * The keys that stay once the run's jobs have aged out: completed and failed jobs are cleaned from every queue
 * (what removeOnComplete's 24 h and removeOnFail's 7 days do in time, src/queue.ts retryOptions), and keys with
 * a TTL (app locks, pending-rebuild ids, a run's progress hash: 24 h) are left out, since they expire by
 * themselves.
 */
async function agedKeys(queues: NetqQueues, r: Redis): Promise<string[]> {
  for (const name of QUEUES) {
    for (const type of ['completed', 'failed'] as const) {
      while ((await queues.queue(name).clean(0, 1_000, type)).length > 0) {
        // cleaned a thousand; more may be left
      }
    }
  }
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [nextCursor, batch] = await r.scan(cursor, 'COUNT', 1000);
    cursor = nextCursor;
    keys.push(...batch);
  } while (cursor !== '0');
  const ttls = await Promise.all(keys.map((k) => r.pttl(k)));
  return keys.filter((_, i) => ttls[i] === -1).sort();
}

/** Hook `sleep`s still running (netq should have killed them with their hook): killed by pid, and counted. */
function killHookLeftovers(): number {
  let n = 0;
  for (const run of hookLog.runs.values()) {
    const pid = run.sleepPid;
    if (pid === undefined || !alive(pid) || !/\bsleep\b/.test(cmdline(pid))) continue;
    process.kill(pid, 'SIGKILL');
    n += 1;
  }
  return n;
}

/** Ends everything the run started, each step whatever the others did. */
async function cleanup(failed: boolean): Promise<void> {
  const step = async (what: string, fn: () => Promise<unknown>) => {
    try {
      await fn();
    } catch (err) {
      log(`cleanup: ${what} failed: ${(err as Error).message}`);
    }
  };
  await step('workers', () =>
    Promise.all(
      allWorkers.map((w) => {
        w.expectedExit = true;
        return w.stop('SIGKILL');
      }),
    ),
  );
  killHookLeftovers();
  await step('queues', async () => q?.close());
  admin?.disconnect();
  await step('redis', async () => redis?.stop());
  await step('engine', async () => engine?.destroy());
  await step('dokku host', async () => host?.remove());
  state.clean = true;
  await step('state', saveState);
  if (failed || args.keep) log(`logs and state kept in ${runDir}`);
  else await step('run folder', () => rm(runDir, { recursive: true, force: true }));
}

let failed = true;
try {
  await main();
  if (report) {
    console.log(`\n${formatReport(report)}`);
    if (args.json) await writeFile(args.json, JSON.stringify(report, null, 2));
    failed = !report.ok;
  }
} catch (err) {
  log(`soak failed: ${(err as Error).stack ?? String(err)}`);
} finally {
  await cleanup(failed);
}
process.exit(interrupted ? 130 : failed ? 1 : 0);
