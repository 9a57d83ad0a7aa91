import { bindDynos } from './bindDynos.js';
import { type ChangeHook, ChangeHookRecords, type HookRecord, hookStateOf, settleChangeHook } from './changeHook.js';
import type { DokkuPaths } from './config.js';
import type { DockerEngine } from './docker/engine.js';
import type { FixedFactsCache } from './docker/fixedFactsCache.js';
import { readDokkuProperties } from './dokku/propertyFiles.js';
import { BadInputError } from './errors.js';
import type { NetqKeys } from './keys.js';
import type { Logger } from './logger.js';
import { type AppNetworkConfig, appNetworkConfig } from './netconfig/appNetworkConfig.js';
import { attachNetworks } from './netconfig/bindings.js';
import {
  type ComputedProperties,
  computeProperties,
  GLOBAL_SCOPE,
  type RawProperties,
} from './properties/properties.js';
import { storedValueProblem } from './properties/validateProperty.js';
import type { RedisClient as Redis } from './redis.js';
import {
  type PendingReplacement,
  type ReplaceDeps,
  recoverReplacements,
  replaceDyno,
  settleReplacements,
} from './replaceDyno.js';
import { selectDokkuDynos, selectLabelledDynos } from './selectDynos.js';
import type { AppJobStart } from './store/appJobStart.js';
import type { AppLock } from './store/appLock.js';
import { AttachRecord } from './store/attachRecord.js';
import { writeDokkuFiles } from './store/dokkuFiles.js';
import type { KeyCommand } from './store/keyCommands.js';
import {
  afterNetworkConfigWrite,
  networkConfigWrite,
  type StoredNetworkConfig,
  writeNetworkConfig,
} from './store/networkConfigStore.js';
import { mirrorPropertyCommands } from './store/propertyStore.js';
import { ReplacementFailures } from './store/replacementFailures.js';
import { ReplacementJournal } from './store/replacementJournal.js';
import type { RebuildResult } from './types.js';

export interface RebuildDeps {
  docker: DockerEngine;
  /** the fixed facts of the host's containers the worker knows already (src/docker/fixedFactsCache.ts) */
  facts: FixedFactsCache;
  /**
   * true: every container is inspected, as a job that answers an event must (src/selectDynos.ts DynoSource);
   * false (a rebuildall's job): what can change comes from the list call
   */
  inspectAll: boolean;
  redis: Redis;
  keys: NetqKeys;
  hostId: string;
  /** Dokku mode: Dokku's files are the truth (dynos, properties) and IP/PORT files are written */
  dokku: DokkuPaths | undefined;
  /** 'never': report binding drift as a failure instead of replacing containers */
  replace: 'auto' | 'never';
  /** how long replaced containers keep serving after the config points at their successors */
  waitToRetireMs: number;
  /**
   * NETQ_ON_CHANGE: run after the config was written (before old containers retire) when the app's listeners
   * changed, and again by later rebuilds while a run failed or was cut short (src/changeHook.ts)
   */
  onChange?: ChangeHook;
  /**
   * the app's lock, which the job holds: `verify` throws (LockLostError) unless it still does, and is asked
   * before each change to a container and before files are written; Redis is written through `whileHeld`,
   * which checks it in the same script
   */
  lock: Pick<AppLock, 'verify' | 'whileHeld'>;
  /** what the job read from Redis as it took the lock (src/store/appJobStart.ts) */
  start: AppJobStart;
  /** asks for another rebuild of the app later (a failed replacement's backoff, a dyno Dokku switched meanwhile) */
  rebuildLater?: (app: string, delayMs: number) => Promise<void>;
  /** the job's logger: a binding or replacement failure is logged there with its error before it is counted */
  log?: Logger;
}

/**
 * The app's and the global properties: Dokku's files in Dokku mode (mirrored to Redis with the config: see
 * `mirror`), else what Redis held as the job started.
 */
async function loadProperties(deps: RebuildDeps, app: string): Promise<{ app: RawProperties; global: RawProperties }> {
  if (deps.dokku) return checkStored(await readDokkuProperties(deps.dokku, app), app, 'safe');
  return checkStored(deps.start.properties ?? { app: {}, global: {} }, app, 'strict');
}

/** Dokku mode: the writes that make Redis's copy of the properties what Dokku's files say. */
const mirror = (deps: RebuildDeps, app: string, raw: { app: RawProperties; global: RawProperties }): KeyCommand[] =>
  deps.dokku ? mirrorPropertyCommands(deps.keys, app, raw) : [];

/**
 * The worker trusts no stored value: what Redis holds passes the producer's checks again ('strict': anything
 * else was written around netq), and what Dokku's files hold passes the checks that keep netq safe ('safe': a
 * network name Docker would read as a network mode such as `container:<id>`, a control character that would
 * end up in an IP file or an alias); Dokku stores other values unchecked, and so they are taken. A bad value
 * fails the job at once (BadInputError), before anything is touched.
 */
function checkStored(
  raw: { app: RawProperties; global: RawProperties },
  app: string,
  mode: 'strict' | 'safe',
): { app: RawProperties; global: RawProperties } {
  for (const [scope, props] of [
    [app, raw.app],
    [GLOBAL_SCOPE, raw.global],
  ] as const) {
    for (const [key, value] of Object.entries(props)) {
      if (value === undefined || value === '') continue;
      const problem = storedValueProblem(scope === GLOBAL_SCOPE ? 'global' : 'app', key, value, mode);
      if (problem) {
        throw new BadInputError(
          `stored property ${key} of ${scope} is not valid (${problem}): set it again with netq network:set`,
        );
      }
    }
  }
  return raw;
}

/**
 * Writes the app's network config to Redis (with the properties applied and, while a change hook run failed
 * or was cut short, that state) together with `also` (the job's other writes), in one script that checks the
 * app's lock; calls `onWritten`, then settles the change hook (src/changeHook.ts): it runs when the listeners
 * changed, and its state is written with the config. Returns when the hook asks for another rebuild, if it does.
 */
async function storeConfig(
  deps: RebuildDeps,
  app: string,
  props: ComputedProperties,
  built: AppNetworkConfig,
  also: KeyCommand[],
  onWritten: () => void,
): Promise<number | undefined> {
  // a hook run that failed or was cut short: shown with the config until a run succeeds
  const hookRecords = deps.onChange ? new ChangeHookRecords(deps.redis, deps.keys, deps.hostId) : undefined;
  const hookRecord =
    hookRecords && deps.start.hookRecord ? (JSON.parse(deps.start.hookRecord) as HookRecord) : undefined;
  const hookShown = hookRecord ? hookStateOf(hookRecord) : undefined;
  const config: StoredNetworkConfig = {
    app,
    host: deps.hostId,
    updatedAt: new Date().toISOString(),
    listeners: built.listeners,
    containers: built.configs,
    failures: built.failures,
    applied: props,
  };
  const stored = hookShown ? { ...config, hook: hookShown } : config;
  const [previousRaw] = await deps.lock.whileHeld([...networkConfigWrite(deps.keys, stored), ...also]);
  const previous = await afterNetworkConfigWrite(deps.redis, deps.keys, stored, previousRaw);
  onWritten();
  if (!deps.onChange || !hookRecords) return undefined;
  const hook = await settleChangeHook({ hook: deps.onChange, records: hookRecords, now: Date.now }, app, {
    before: previous?.listeners,
    listeners: built.listeners,
    record: hookRecord,
    gone: previous === undefined && built.configs.length + built.failures.length === 0,
  });
  if (JSON.stringify(hook.state) !== JSON.stringify(hookShown)) {
    await deps.lock.verify(); // the hook may have run long: write only while the app is still this job's
    await writeNetworkConfig(deps.redis, deps.keys, hook.state ? { ...config, hook: hook.state } : config);
  }
  return hook.retryInMs;
}

/** The replacement step's dependencies for one app (src/replaceDyno.ts). */
function replaceDepsOf(deps: RebuildDeps, app: string): ReplaceDeps & { failures: ReplacementFailures } {
  return {
    docker: deps.docker,
    journal: new ReplacementJournal(deps.redis, deps.keys, deps.hostId).prime(app, deps.start.journal),
    failures: new ReplacementFailures(deps.redis, deps.keys, deps.hostId, app),
    dokku: deps.dokku,
    now: Date.now,
    ...(deps.log ? { log: deps.log } : {}),
    verifyLock: () => deps.lock.verify(),
  };
}

/**
 * The per-app job's work: settle replacements a killed worker left, read the app's dynos (Dokku's in Dokku
 * mode, else the containers its labels name), apply the bindings the properties ask for, build each dyno's
 * network config, write it to Redis and to Dokku's files, then retire replaced containers, and count. A dyno
 * that cannot be configured, or whose binding the engine refused, is a counted failure; only a container's own
 * problem counts so (src/containerProblem.ts). Anything else, an engine or Redis that stopped answering above
 * all, throws: BullMQ retries the job, which never completes on facts read before the engine went away.
 */
export async function rebuildApp(deps: RebuildDeps, app: string, knownIds?: string[]): Promise<RebuildResult> {
  const rdeps = replaceDepsOf(deps, app);
  await recoverReplacements(rdeps, app);
  const attachRecord = new AttachRecord(deps.keys, deps.hostId, app);
  const previouslyAttached = deps.start.attached;
  const raw = await loadProperties(deps, app);
  const props = computeProperties(raw.app, raw.global);
  const source = { docker: deps.docker, facts: deps.facts, inspectAll: deps.inspectAll };
  const selection = deps.dokku
    ? await selectDokkuDynos(source, deps.dokku, app, props)
    : await selectLabelledDynos(source, app, props, knownIds);
  const base = { app, host: deps.hostId, ...(selection.ignored.length ? { ignored: selection.ignored } : {}) };
  if (selection.skipped !== undefined) {
    // nothing to build (Dokku's BuildConfig does nothing either): files and stored config stay as they are
    const mirrored = mirror(deps, app, raw);
    if (mirrored.length > 0) await deps.lock.whileHeld(mirrored);
    return {
      ...base,
      containers: 0,
      configured: 0,
      failed: 0,
      listeners: {},
      failures: [],
      skipped: selection.skipped,
    };
  }

  const pending: PendingReplacement[] = [];
  let retryInMs: number | undefined;
  let written = false;
  const later = (ms: number) => {
    retryInMs = Math.min(retryInMs ?? ms, ms);
  };
  try {
    const bound = await bindDynos(
      {
        docker: deps.docker,
        replace: deps.replace,
        replaceDyno: async (dyno, change) => {
          const r = await replaceDyno(rdeps, app, dyno, change);
          if (r.pending) pending.push(r.pending);
          if (r.retryInMs !== undefined) later(r.retryInMs);
          return r;
        },
        ...(deps.log ? { log: deps.log } : {}),
        verifyLock: rdeps.verifyLock,
      },
      app,
      selection.dynos,
      props,
      previouslyAttached,
    );
    const built = appNetworkConfig(app, props, bound, selection.failures);

    if (deps.dokku) {
      const files = await writeDokkuFiles(deps.dokku, app, built.configs, selection.scale ?? new Map(), () =>
        deps.lock.verify(),
      );
      // Dokku switched a dyno while this job ran: its next rebuild (its rename event, or this) sees the new one
      if (files.superseded.length) later(0);
    }
    // written with the config, in one round trip: the properties' mirror, the networks attached now (an app with
    // no containers and nothing attached before leaves no key: a deleted app stays gone), failure records of
    // containers no longer the app's dropped
    const also = [
      ...mirror(deps, app, raw),
      ...(selection.dynos.length > 0 || previouslyAttached.length > 0
        ? attachRecord.writeCommands(attachNetworks(props), deps.start.attachedRaw)
        : []),
      ...rdeps.failures.keepOnlyCommands(deps.start.failureIds, selection.ids),
    ];
    const hookRetryInMs = await storeConfig(deps, app, props, built, also, () => {
      written = true;
    });
    if (hookRetryInMs !== undefined) later(hookRetryInMs);
    const { containers, configured, failed, listeners, failures } = built;
    return { ...base, containers, configured, failed, listeners, failures };
  } finally {
    // Once the config points at the new containers the old ones can go; if it was never written, a
    // replacement that did not switch yet is abandoned and a retry starts from the old state.
    await settleReplacements(rdeps, pending, written, deps.waitToRetireMs);
    if (retryInMs !== undefined && deps.rebuildLater) await deps.rebuildLater(app, retryInMs);
  }
}
