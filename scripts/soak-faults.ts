// The faults of the chaos soak (scripts/soak.ts), one at a time: SIGKILL a worker and start it again, restart
// Redis, restart the private dockerd, kill an app container (and start it again on another IP), stall the change
// hook. Each one returns when it is over and says whether netq survived it.
import { writeFile } from 'node:fs/promises';
import type Docker from 'dockerode';
import type { NamespaceEngine } from '../test/engines.js';
import type { FileSampler, HookLog } from './soak-invariants.js';
import { type PrivateRedis, poll, sleep, type WorkerProcess } from './soak-procs.js';

export const FAULT_KINDS = ['worker-kill', 'redis-restart', 'dockerd-restart', 'container-kill', 'hook-stall'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export const FAULT_TITLES: Record<FaultKind, string> = {
  'worker-kill': 'worker SIGKILL + restart',
  'redis-restart': 'Redis restart (AOF)',
  'dockerd-restart': 'dockerd restart',
  'container-kill': 'app container killed',
  'hook-stall': 'change hook stalled',
};

export interface FaultRecord {
  kind: FaultKind;
  at: number;
  /** when the fault was over (the process back, the container started again, the hook no longer stalled) */
  healedAt: number;
  /** from healedAt to the first sample with every IP file right */
  recoveredMs: number | undefined;
  survived: boolean;
  note: string;
  /** worker-kill: the apps whose lock or active job the killed worker held */
  held?: string[];
}

/** How long after the fault is over every file must be right again, for the fault to count as survived. */
const RECOVERY_CAP_MS: Record<FaultKind, number> = {
  // its held jobs come back through BullMQ's stalled-job check: job lock 15 s + check every 10 s, then the job
  'worker-kill': 35_000,
  'redis-restart': 20_000,
  // the event stream reconnects with backoff (1 s, doubling), then the worker rebuilds its whole host
  'dockerd-restart': 45_000,
  'container-kill': 10_000,
  'hook-stall': 15_000,
};

/** What the faults act on: the soak's processes, engine, Dokku host and sampler. */
export interface FaultTarget {
  rng: () => number;
  docker: Docker;
  engine: NamespaceEngine;
  redis: PrivateRedis;
  sampler: FileSampler;
  hooks: HookLog;
  apps: string[];
  /** apps under a deploy or a fault: a fault picks another */
  busy: Set<string>;
  scopeLabel: string;
  runLabel: Record<string, string>;
  /** the stall file the hook reads (its content: seconds to sleep) */
  stallFile: string;
  hookTimeoutMs: number;
  /** how long netq may wait for a hook: the timeout, the SIGKILL 2 s later, and slack */
  hookLimitMs: number;
  currentContainers(app: string): Promise<Record<string, string>>;
  ipFiles(app: string): Promise<Record<string, string>>;
  /** a Dokku deploy of the app (to give the stalled hook a change to run on) */
  deploy(app: string): Promise<void>;
  /** the live worker that the soak kills and starts again, and the one it leaves alone */
  victim(): WorkerProcess;
  restartVictim(): Promise<WorkerProcess>;
  workers(): WorkerProcess[];
  /** the workerId and watcher state each live worker last reported (the worker-health hash) */
  health(): Promise<Map<number, { workerId: string; at: number; watcher: string; reconnects: number }>>;
  /** asks for a rebuild of every app at once (work for the victim to be killed in) */
  askRebuilds(): Promise<void>;
  /** apps whose lock, or active rebuild job, a worker (by workerId) holds */
  heldBy(workerId: string): Promise<string[]>;
  log(line: string): void;
}

const pick = <T>(rng: () => number, xs: T[]): T | undefined => xs[Math.floor(rng() * xs.length)];

export async function inject(kind: FaultKind, t: FaultTarget): Promise<FaultRecord> {
  const at = Date.now();
  let r: Awaited<ReturnType<Fault>>;
  try {
    r = await FAULTS[kind](t);
  } catch (err) {
    r = { healedAt: Date.now(), ok: false, note: `the fault itself failed: ${(err as Error).message}` };
  }
  let recoveredMs = r.recoveredMs;
  if (recoveredMs === undefined) {
    const recovered = await t.sampler.allRightAfter(r.healedAt, RECOVERY_CAP_MS[kind]);
    recoveredMs = recovered === undefined ? undefined : recovered - r.healedAt;
  }
  if (recoveredMs !== undefined && recoveredMs > RECOVERY_CAP_MS[kind]) recoveredMs = undefined;
  const survived = r.ok && recoveredMs !== undefined && t.workers().every((w) => w.running);
  const note =
    recoveredMs === undefined ? `${r.note}; files not all right ${RECOVERY_CAP_MS[kind] / 1000} s after` : r.note;
  t.log(
    `fault ${kind}: ${survived ? 'survived' : 'NOT SURVIVED'}, over in ${r.healedAt - at} ms, files right ` +
      `${recoveredMs === undefined ? 'never' : `${recoveredMs} ms`} after (${note})`,
  );
  return { kind, at, healedAt: r.healedAt, recoveredMs, survived, note, ...(r.held ? { held: r.held } : {}) };
}

/**
 * `recoveredMs`: measured by the fault itself (a killed container: until its own file was right); `held`: the apps
 * whose lock or active job a killed worker held
 */
type Fault = (
  t: FaultTarget,
) => Promise<{ healedAt: number; ok: boolean; note: string; recoveredMs?: number; held?: string[] }>;

const FAULTS: Record<FaultKind, Fault> = {
  /**
   * SIGKILL the victim worker while it works on an app (rebuilds of a few apps are asked for if it has nothing
   * to do); the apps whose lock or active job it held cannot be worked on until BullMQ hands its jobs back (a
   * window over their files); start it again after up to 1.5 s and wait for its heartbeat and connected event
   * watcher.
   */
  'worker-kill': async (t) => {
    const victim = t.victim();
    // a burst of rebuilds (as a rebuildall gives): the victim takes some, and dies in the middle of them
    await t.askRebuilds();
    const working = await poll(async () => (victim.working ? true : undefined), 8_000, 2);
    victim.expectedExit = true;
    process.kill(victim.pid, 'SIGKILL');
    const exit = await victim.exited;
    const held = victim.workerId ? await t.heldBy(victim.workerId).catch(() => [] as string[]) : [];
    for (const app of held) t.sampler.exemptApp(app, exit.at + RECOVERY_CAP_MS['worker-kill'], 'worker killed');
    await sleep(t.rng() * 1_500);
    const fresh = await t.restartVictim();
    const up = await poll(
      async () => {
        const h = (await t.health()).get(fresh.pid);
        return h && h.watcher === 'connected' ? h : undefined;
      },
      30_000,
      200,
    );
    if (up) fresh.workerId = up.workerId;
    return {
      healedAt: Date.now(),
      ok: up !== undefined && victim.workerId !== undefined,
      held,
      note:
        `pid ${victim.pid} killed ${working ? 'while working' : 'idle'}, holding ${held.length ? held.join(', ') : 'no app'}; ` +
        `pid ${fresh.pid} ${up ? 'up' : 'did not come up in 30 s'}`,
    };
  },

  /** SIGTERM Redis (it writes its AOF and exits), keep it down 0.5-3 s, start it on the same port and folder. */
  'redis-restart': async (t) => {
    const window = t.sampler.openGlobal('Redis down');
    const exit = await t.redis.stop();
    const downMs = 500 + Math.floor(t.rng() * 2_500);
    await sleep(downMs);
    await t.redis.start();
    const backAt = Date.now();
    // ioredis reconnects within 2 s (its backoff), then the events queued meanwhile are sent
    t.sampler.closeGlobal(window, 3_000);
    const pids = t.workers().map((w) => w.pid);
    const beats = await poll(
      async () => {
        const h = await t.health();
        return pids.every((p) => (h.get(p)?.at ?? 0) > backAt) ? true : undefined;
      },
      15_000,
      200,
    );
    return {
      healedAt: backAt,
      ok: exit?.code === 0 && beats === true,
      note: `exit ${exit?.code}, down ${downMs} ms; ${beats ? 'every worker beat again' : 'a worker did not beat again in 15 s'}`,
    };
  },

  /**
   * Stop the private dockerd (its containers stop with it), start it again after 0.5-2 s; Docker restarts the
   * dynos (restart policy on-failure); wait until every worker's event stream is connected again, then allow
   * the host rebuild that follows every reconnect.
   */
  'dockerd-restart': async (t) => {
    const window = t.sampler.openGlobal('dockerd down');
    const before = await t.health().catch(() => new Map());
    await t.engine.stop();
    await sleep(500 + t.rng() * 1_500);
    await t.engine.start();
    const backAt = Date.now();
    // the dynos: Docker restarts them; one it did not restart in 20 s the soak starts, as `ps:restore` would
    let startedBySoak = 0;
    const current = new Set<string>();
    for (const app of t.apps) for (const id of Object.values(await t.currentContainers(app))) current.add(id);
    const allUp = await poll(
      async () => {
        const running = new Set(
          (await t.docker.listContainers({ filters: { label: [t.scopeLabel] } })).map((c) => c.Id),
        );
        return [...current].every((id) => running.has(id)) ? true : undefined;
      },
      20_000,
      200,
    );
    if (!allUp) {
      const running = new Set((await t.docker.listContainers({ filters: { label: [t.scopeLabel] } })).map((c) => c.Id));
      for (const id of current) {
        if (running.has(id)) continue;
        await t.docker
          .getContainer(id)
          .start()
          .then(() => {
            startedBySoak += 1;
          })
          .catch(() => {});
      }
    }
    const pids = t.workers().map((w) => w.pid);
    const watching = await poll(
      async () => {
        const h = await t.health();
        return pids.every((p) => {
          const now = h.get(p);
          return now?.watcher === 'connected' && now.reconnects > (before.get(p)?.reconnects ?? -1);
        })
          ? true
          : undefined;
      },
      40_000,
      200,
    );
    const connectedAt = Date.now();
    t.sampler.closeGlobal(window, 10_000);
    return {
      healedAt: connectedAt,
      ok: watching === true,
      note:
        `engine back ${backAt - window.from} ms after the stop, event streams ${connectedAt - backAt} ms later` +
        `${watching ? '' : ' (NOT all reconnected in 40 s)'}${startedBySoak ? `; ${startedBySoak} dynos started by the soak` : ''}`,
    };
  },

  /**
   * `docker kill` one dyno's container (its restart policy does not apply to a kill), hold its IP with
   * short-lived squatter containers so that it comes back on another one, start it again (as a restart would),
   * and remove the squatters 5 s later. netq must point the file at the new IP: the sampler judges it.
   */
  'container-kill': async (t) => {
    const app = pick(
      t.rng,
      t.apps.filter((a) => !t.busy.has(a)),
    );
    if (!app) return { healedAt: Date.now(), ok: true, note: 'every app busy: nothing killed' };
    t.busy.add(app);
    const squatters: Docker.Container[] = [];
    try {
      const dynos = Object.entries(await t.currentContainers(app));
      const [dyno, id] = pick(t.rng, dynos) ?? [];
      if (!dyno || !id) return { healedAt: Date.now(), ok: true, note: `${app} has no dyno` };
      const c = t.docker.getContainer(id);
      const oldIp = (await c.inspect()).NetworkSettings.Networks.bridge?.IPAddress ?? '';
      await c.kill();
      await sleep(300 + t.rng() * 1_700);
      for (let i = 0; i < 4; i++) {
        const s = await t.docker.createContainer({
          Image: 'local/busybox:latest',
          Cmd: ['sleep', '60'],
          Labels: t.runLabel,
          HostConfig: { Init: true },
        });
        squatters.push(s);
        await s.start();
        if ((await s.inspect()).NetworkSettings.Networks.bridge?.IPAddress === oldIp) break;
      }
      // only if it is still the dyno's (a deploy may have switched it meanwhile)
      const still = (await t.currentContainers(app))[dyno] === id;
      if (!still) return { healedAt: Date.now(), ok: true, note: `${app}.${dyno} was switched by a deploy meanwhile` };
      await c.start();
      const info = await c.inspect();
      const newIp = info.NetworkSettings.Networks.bridge?.IPAddress ?? '';
      // how long netq takes to point the dyno's file at the container's new IP, from when Docker started it (its
      // start event comes then; the API call returns later)
      const healedAt = Date.parse(info.State.StartedAt) || Date.now();
      const rightAt = await poll(
        async () => ((await t.ipFiles(app))[dyno] === newIp ? Date.now() : undefined),
        RECOVERY_CAP_MS['container-kill'],
        20,
      );
      const recoveredMs = rightAt === undefined ? undefined : rightAt - healedAt;
      return {
        healedAt,
        ok: rightAt !== undefined,
        recoveredMs,
        note: `${app}.${dyno} ${oldIp} -> ${newIp}, IP file right ${recoveredMs ?? 'never'} ms after the start`,
      };
    } finally {
      t.busy.delete(app);
      setTimeout(() => {
        for (const s of squatters) void s.remove({ force: true }).catch(() => {});
      }, 5_000).unref();
    }
  },

  /**
   * For 8-15 s the change hook sleeps 4x NETQ_ON_CHANGE_TIMEOUT_MS; a deploy meanwhile changes an app's
   * listeners, so the hook runs. netq must end each stalled hook at its timeout (SIGTERM to its process group,
   * SIGKILL 2 s later) and go on: every hook wait the workers log must stay under the limit.
   */
  'hook-stall': async (t) => {
    const from = Date.now();
    const sleepS = Math.ceil((4 * t.hookTimeoutMs) / 1000);
    await writeFile(t.stallFile, String(sleepS));
    const windowMs = 8_000 + t.rng() * 7_000;
    const app = pick(
      t.rng,
      t.apps.filter((a) => !t.busy.has(a)),
    );
    if (app) {
      t.busy.add(app);
      await t
        .deploy(app)
        .catch(() => {})
        .finally(() => t.busy.delete(app));
    }
    await sleep(Math.max(0, from + windowMs - Date.now()));
    await writeFile(t.stallFile, '');
    const healedAt = Date.now();
    // the runs that started stalled: each must be over (ended or killed) within the limit
    await sleep(t.hookLimitMs);
    await t.hooks.read();
    const stalled = [...t.hooks.runs.values()].filter((r) => r.sleepPid !== undefined && r.start >= from);
    const waits = t
      .workers()
      .flatMap((w) => w.hookWaits)
      .filter((h) => h.at >= from);
    const over = waits.filter((h) => h.durationMs > t.hookLimitMs);
    const ok = stalled.length > 0 && over.length === 0;
    return {
      healedAt,
      ok,
      note:
        `${stalled.length} stalled hook run(s) (sleep ${sleepS} s, timeout ${t.hookTimeoutMs} ms); ` +
        `longest wait by netq ${Math.max(0, ...waits.map((h) => h.durationMs))} ms (limit ${t.hookLimitMs} ms)` +
        `${over.length ? `; ${over.length} over the limit` : ''}${stalled.length === 0 ? '; no hook ran during the stall' : ''}`,
    };
  },
};
