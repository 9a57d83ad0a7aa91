import { bindDynos } from './bindDynos.js';
import { type ChangeHook, ChangeHookRecords, hookStateOf, settleChangeHook } from './changeHook.js';
import type { DokkuPaths } from './config.js';
import type { DockerEngine } from './docker/engine.js';
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
import { AttachRecord } from './store/attachRecord.js';
import { writeDokkuFiles } from './store/dokkuFiles.js';
import { type StoredNetworkConfig, writeNetworkConfig } from './store/networkConfigStore.js';
import { mirrorProperties, readProperties } from './store/propertyStore.js';
import { ReplacementFailures } from './store/replacementFailures.js';
import { ReplacementJournal } from './store/replacementJournal.js';
import type { RebuildResult } from './types.js';

export interface RebuildDeps {
  docker: DockerEngine;
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
  /** throws (LockLostError) unless the job still holds the app's lock: checked before anything is written */
  verifyLock?: () => Promise<void>;
  /** asks for another rebuild of the app later (a failed replacement's backoff, a dyno Dokku switched meanwhile) */
  rebuildLater?: (app: string, delayMs: number) => Promise<void>;
  /** the job's logger: a binding or replacement failure is logged there with its error before it is counted */
  log?: Logger;
}

/** The app's and the global properties: Dokku's files in Dokku mode (mirrored to Redis), else Redis. */
async function loadProperties(deps: RebuildDeps, app: string): Promise<{ app: RawProperties; global: RawProperties }> {
  if (!deps.dokku) return checkStored(await readProperties(deps.redis, deps.keys, app), app, 'strict');
  const raw = checkStored(await readDokkuProperties(deps.dokku, app), app, 'safe');
  await mirrorProperties(deps.redis, deps.keys, app, raw);
  return raw;
}

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
 * or was cut short, that state), calls `onWritten`, then settles the change hook (src/changeHook.ts): it runs
 * when the listeners changed, and its state is written with the config. Returns when the hook asks for
 * another rebuild, if it does.
 */
async function storeConfig(
  deps: RebuildDeps,
  app: string,
  props: ComputedProperties,
  built: AppNetworkConfig,
  onWritten: () => void,
): Promise<number | undefined> {
  // a hook run that failed or was cut short: shown with the config until a run succeeds
  const hookRecords = deps.onChange ? new ChangeHookRecords(deps.redis, deps.keys, deps.hostId) : undefined;
  const hookRecord = await hookRecords?.get(app);
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
  const previous = await writeNetworkConfig(deps.redis, deps.keys, hookShown ? { ...config, hook: hookShown } : config);
  onWritten();
  if (!deps.onChange || !hookRecords) return undefined;
  const hook = await settleChangeHook({ hook: deps.onChange, records: hookRecords, now: Date.now }, app, {
    before: previous?.listeners,
    listeners: built.listeners,
    record: hookRecord,
    gone: previous === undefined && built.configs.length + built.failures.length === 0,
  });
  if (JSON.stringify(hook.state) !== JSON.stringify(hookShown)) {
    await deps.verifyLock?.(); // the hook may have run long: write only while the app is still this job's
    await writeNetworkConfig(deps.redis, deps.keys, hook.state ? { ...config, hook: hook.state } : config);
  }
  return hook.retryInMs;
}

/** The replacement step's dependencies for one app (src/replaceDyno.ts). */
function replaceDepsOf(deps: RebuildDeps, app: string): ReplaceDeps & { failures: ReplacementFailures } {
  return {
    docker: deps.docker,
    journal: new ReplacementJournal(deps.redis, deps.keys, deps.hostId),
    failures: new ReplacementFailures(deps.redis, deps.keys, deps.hostId, app),
    dokku: deps.dokku,
    now: Date.now,
    ...(deps.log ? { log: deps.log } : {}),
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
  const attachRecord = new AttachRecord(deps.redis, deps.keys, deps.hostId, app);
  const [raw, previouslyAttached] = await Promise.all([loadProperties(deps, app), attachRecord.read()]);
  const props = computeProperties(raw.app, raw.global);
  const selection = deps.dokku
    ? await selectDokkuDynos(deps.docker, deps.dokku, app, props)
    : await selectLabelledDynos(deps.docker, app, knownIds);
  const base = { app, host: deps.hostId, ...(selection.ignored.length ? { ignored: selection.ignored } : {}) };
  if (selection.skipped !== undefined) {
    // nothing to build (Dokku's BuildConfig does nothing either): files and stored config stay as they are
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
      },
      app,
      selection.dynos,
      props,
      previouslyAttached,
    );
    const built = appNetworkConfig(app, props, bound, selection.failures);

    await deps.verifyLock?.();
    if (deps.dokku) {
      const files = await writeDokkuFiles(deps.dokku, app, built.configs, selection.scale ?? new Map());
      // Dokku switched a dyno while this job ran: its next rebuild (its rename event, or this) sees the new one
      if (files.superseded.length) later(0);
    }
    const hookRetryInMs = await storeConfig(deps, app, props, built, () => {
      written = true;
    });
    if (hookRetryInMs !== undefined) later(hookRetryInMs);
    // (an app with no containers and nothing attached before leaves no key: a deleted app stays gone)
    if (selection.dynos.length > 0 || previouslyAttached.length > 0) {
      await attachRecord.write(attachNetworks(props));
    }
    await rdeps.failures.keepOnly(selection.ids);
    const { containers, configured, failed, listeners, failures } = built;
    return { ...base, containers, configured, failed, listeners, failures };
  } finally {
    // Once the config points at the new containers the old ones can go; if it was never written, a
    // replacement that did not switch yet is abandoned and a retry starts from the old state.
    await settleReplacements(rdeps, pending, written, deps.waitToRetireMs);
    if (retryInMs !== undefined && deps.rebuildLater) await deps.rebuildLater(app, retryInMs);
  }
}
