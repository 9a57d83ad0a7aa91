import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import type { NetqKeys } from './keys.js';
import type { Logger } from './logger.js';
import type { RedisClient as Redis } from './redis.js';

type Listeners = Record<string, string[]>;

/** After the timeout (or after the hook exited, for what it left behind) SIGTERM, then SIGKILL this much later. */
export const HOOK_KILL_AFTER_MS = 2_000;
/** A failed run is tried again after 2 s, then 4 s, 8 s… and at most every 5 minutes. */
export const HOOK_RETRY_BASE_MS = 2_000;
export const HOOK_RETRY_MAX_MS = 300_000;
/** A retry that is due this soon is run now (a delayed job may start a hair before its record says). */
const DUE_SLACK_MS = 250;
/** The field of the per-host hash (queue.ts `changeHook`) that counts the host's failed runs (no app is named so). */
export const HOOK_FAILURES_FIELD = '#failures';

/**
 * setsid(1) (util-linux on Debian, busybox elsewhere) makes the hook the leader of its own session and process
 * group and then execs it (the same pid: the worker's child is never a group leader, so setsid does not fork):
 * what spawn's `detached: true` does, which execFile does not pass on. So the whole group can be signalled.
 */
const SETSID = ['/usr/bin/setsid', '/bin/setsid'].find((p) => existsSync(p));

/** True when two listener maps differ (both are kept in a stable order, so a reordering is no change). */
export function listenersChanged(before: Listeners | undefined, after: Listeners): boolean {
  return JSON.stringify(before ?? {}) !== JSON.stringify(after);
}

/** How one run of the hook ended. */
export interface HookRun {
  ok: boolean;
  /** why it failed: `exit code 3`, `killed by SIGKILL`, `timed out after 1000 ms`, `could not start: …` */
  reason?: string;
  durationMs: number;
}

/** The change hook as the per-app job sees it: one run, and how long a run can take at most (kill included). */
export interface ChangeHook {
  run(app: string, listeners: Listeners): Promise<HookRun>;
  budgetMs: number;
}

/** What `network:report`'s drift and the stored network config show of a hook waiting for its next try. */
export interface HookState {
  /** why the last run failed */
  failing: string;
  /** runs that failed in a row for the app's current listeners */
  attempts: number;
  /** when the next try is due (ms since the epoch) */
  nextAt: number;
}

/** An app's hook that must run (again): written before each run, deleted once a run succeeded. */
export interface HookRecord {
  /** the listeners the hook is to be told of */
  listeners: Listeners;
  attempts: number;
  /** why the last run failed (absent before the first failure) */
  failing?: string;
  nextAt: number;
  /** while a run is under way: when it started and by when it has ended at the latest */
  running?: { since: number; until: number };
}

const INTERRUPTED = 'interrupted: the worker stopped while the hook ran';

/** What a record shows: a run still marked as running (its rebuild holds the app's lock) was cut short. */
export function hookStateOf(record: HookRecord): HookState | undefined {
  if (record.running) {
    return { failing: INTERRUPTED, attempts: record.attempts + 1, nextAt: record.nextAt };
  }
  return record.failing === undefined
    ? undefined
    : { failing: record.failing, attempts: record.attempts, nextAt: record.nextAt };
}

/** The wait before try n+1 after n failed runs: 2 s doubling, at most 5 minutes. */
export function hookRetryDelayMs(attempts: number): number {
  return Math.min(HOOK_RETRY_MAX_MS, HOOK_RETRY_BASE_MS * 2 ** Math.min(Math.max(attempts - 1, 0), 20));
}

/** The hook records of one host (a hash: app -> JSON record, and the count of failed runs). */
export class ChangeHookRecords {
  private readonly key: string;

  constructor(
    private readonly redis: Redis,
    keys: NetqKeys,
    host: string,
  ) {
    this.key = keys.changeHook(host);
  }

  async get(app: string): Promise<HookRecord | undefined> {
    const raw = await this.redis.hget(this.key, app);
    return raw ? (JSON.parse(raw) as HookRecord) : undefined;
  }

  /** Stores a record; `failed` also counts one failed run (one that failed now, or one found cut short). */
  async put(app: string, record: HookRecord, failed: boolean): Promise<void> {
    const tx = this.redis.multi().hset(this.key, app, JSON.stringify(record));
    if (failed) tx.hincrby(this.key, HOOK_FAILURES_FIELD, 1);
    await tx.exec();
  }

  async drop(app: string): Promise<void> {
    await this.redis.hdel(this.key, app);
  }
}

/** For `/metrics`: apps of a host whose hook waits for a retry, and the host's failed runs so far. */
export async function changeHookStats(
  redis: Redis,
  keys: NetqKeys,
  host: string,
  now: number,
): Promise<{ pending: number; failures: number }> {
  const all = await redis.hgetall(keys.changeHook(host));
  let pending = 0;
  for (const [field, raw] of Object.entries(all)) {
    if (field === HOOK_FAILURES_FIELD) continue;
    const r = JSON.parse(raw) as HookRecord;
    // a run under way is not waiting, unless it is past the longest a run can take (its worker died)
    if (r.running ? r.running.until < now : r.failing !== undefined) pending++;
  }
  return { pending, failures: Number(all[HOOK_FAILURES_FIELD] ?? 0) };
}

/**
 * Runs the hook when it is owed, after the app's config was written: when the listeners changed (a new change
 * replaces any earlier record), or when a record says an earlier run failed and its retry is due, or that a run
 * was cut short (its worker died: the record is written before the hook starts). A run that fails is recorded
 * with its backoff; the caller asks for a rebuild after `retryInMs`. Returns what the stored config should show.
 * `gone`: the app has nothing stored and no containers (deleted), so there is nothing to tell the hook.
 */
export async function settleChangeHook(
  d: { hook: ChangeHook; records: ChangeHookRecords; now: () => number },
  app: string,
  s: { before: Listeners | undefined; listeners: Listeners; record: HookRecord | undefined; gone: boolean },
): Promise<{ state?: HookState; retryInMs?: number }> {
  const { record, listeners } = s;
  if (s.gone) {
    if (record) await d.records.drop(app);
    return {};
  }
  const changed = listenersChanged(s.before, listeners);
  if (!changed && !record) return {};
  const now = d.now();
  if (!changed && record && !record.running && record.nextAt > now + DUE_SLACK_MS) {
    // not due yet: keep showing it, and make sure a rebuild comes when it is
    return { ...withState(hookStateOf(record)), retryInMs: record.nextAt - now };
  }
  const cutShort = !changed && record?.running !== undefined;
  const before: HookRecord = changed
    ? { listeners, attempts: 0, nextAt: now }
    : { ...(record as HookRecord), listeners, attempts: (record?.attempts ?? 0) + (cutShort ? 1 : 0) };
  if (cutShort) before.failing = INTERRUPTED;
  await d.records.put(app, { ...before, nextAt: now, running: { since: now, until: now + d.hook.budgetMs } }, cutShort);
  const run = await d.hook.run(app, listeners);
  if (run.ok) {
    await d.records.drop(app);
    return {};
  }
  const attempts = before.attempts + 1;
  const delay = hookRetryDelayMs(attempts);
  const state: HookState = { failing: run.reason ?? 'failed', attempts, nextAt: d.now() + delay };
  await d.records.put(app, { listeners, ...state }, true);
  return { state, retryInMs: delay };
}

const withState = (state: HookState | undefined) => (state ? { state } : {});

/**
 * Runs NETQ_ON_CHANGE once for an app whose listeners changed: argv as given (`{app}` in an argument replaced
 * by the app), no shell, the app also in the environment, in a process group of its own. Bounded: after
 * `timeoutMs` the whole group gets SIGTERM, then SIGKILL 2 s later; the run ends when the hook's process exits
 * (not when its pipes close: a child it left may hold them), and whatever of its group is still there then gets
 * SIGTERM and, 2 s later, SIGKILL. Never throws: the outcome is returned (and logged).
 */
export function runChangeHook(
  argv: string[],
  env: { app: string; hostId: string; listeners: Listeners },
  logger: Logger,
  opts: { timeoutMs: number },
): Promise<HookRun> {
  const [command, ...template] = argv;
  if (!command) return Promise.resolve({ ok: true, durationMs: 0 });
  // `{app}` in an argument is the app's name (a checked app name; no shell ever sees it)
  const rest = template.map((a) => a.replaceAll('{app}', env.app));
  const file = SETSID ?? command;
  const args = SETSID ? ['--', command, ...rest] : rest;
  const started = performance.now();
  return new Promise((resolve) => {
    let stderr = '';
    let timedOutAt: number | undefined;
    let done = false;
    let killTimer: NodeJS.Timeout | undefined;
    const child = execFile(
      file,
      args,
      {
        shell: false,
        env: {
          PATH: process.env.PATH ?? '/usr/bin:/bin',
          NETQ_APP: env.app,
          NETQ_HOST_ID: env.hostId,
          NETQ_LISTENERS: JSON.stringify(env.listeners),
        },
      },
      () => {}, // the outcome is taken from `exit`; this fires on `close`, after the pipes are destroyed
    );
    const pid = child.pid;
    const signal = (sig: NodeJS.Signals) => {
      if (pid !== undefined) signalHook(pid, sig, !done);
    };
    const timer = setTimeout(() => {
      timedOutAt = Date.now();
      signal('SIGTERM');
      killTimer = setTimeout(() => signal('SIGKILL'), HOOK_KILL_AFTER_MS);
    }, opts.timeoutMs);
    child.stderr?.on('data', (d: Buffer | string) => {
      if (stderr.length < 2_000) stderr += String(d);
    });

    const finish = async (outcome: { ok: boolean; reason?: string }) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      clearTimeout(killTimer);
      // a child the hook left (`sleep 600 &`) holds the pipes open: stop reading them
      for (const s of [child.stdin, child.stdout, child.stderr]) s?.destroy();
      if (pid !== undefined && SETSID) {
        await endGroup(pid, (timedOutAt ?? Date.now()) + HOOK_KILL_AFTER_MS).catch(() => {});
      }
      const durationMs = Math.round(performance.now() - started);
      if (outcome.ok) logger.info({ app: env.app, durationMs }, 'change hook ran');
      else
        logger.warn(
          { app: env.app, durationMs, reason: outcome.reason, stderr: stderr.slice(0, 500) },
          'change hook failed',
        );
      resolve({ ...outcome, durationMs });
    };

    child.once('error', (err) => {
      // a hook that started reports through `exit`; this is one that could not be started at all
      if (pid === undefined) void finish({ ok: false, reason: `could not start: ${err.message}` });
    });
    child.once('exit', (code, sig) => {
      let reason: string | undefined;
      if (timedOutAt !== undefined) reason = `timed out after ${opts.timeoutMs} ms`;
      else if (sig && child.killed) reason = 'killed: more output than the 1 MiB kept';
      else if (sig) reason = `killed by ${sig}`;
      else if (code !== 0) reason = `exit code ${code}`;
      void finish(reason === undefined ? { ok: true } : { ok: false, reason });
    });
  });
}

/**
 * Signals the hook's process group (its pid is the group's id). Without setsid there is no group: the process
 * alone, and only while it has not exited (its pid may be reused after).
 */
function signalHook(pid: number, sig: NodeJS.Signals, running: boolean): void {
  try {
    if (SETSID) process.kill(-pid, sig);
    else if (running) process.kill(pid, sig);
  } catch {
    // gone already
  }
}

/** Members of a process group that have not exited (zombies left to a parent that does not reap do not count). */
async function liveMembers(pgid: number): Promise<number> {
  try {
    process.kill(-pgid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM' ? 1 : 0;
  }
  let names: string[];
  try {
    names = await readdir('/proc');
  } catch {
    return 1; // no /proc: the group answered, so take it as there
  }
  let n = 0;
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    const stat = await readFile(`/proc/${name}/stat`, 'utf8').catch(() => '');
    // pid (comm) state ppid pgrp …; comm may hold spaces and parentheses, so split after the last ')'
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (pgrp === String(pgid) && state !== 'Z' && state !== 'X') n++;
  }
  return n;
}

/** Ends what is left of a hook's group after its process exited: SIGTERM, then SIGKILL at `killAt`. */
async function endGroup(pgid: number, killAt: number): Promise<void> {
  if ((await liveMembers(pgid)) === 0) return;
  signalHook(pgid, 'SIGTERM', false);
  while (Date.now() < killAt) {
    await new Promise((r) => setTimeout(r, 50));
    if ((await liveMembers(pgid)) === 0) return;
  }
  signalHook(pgid, 'SIGKILL', false);
}
