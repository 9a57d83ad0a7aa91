import { type ChangeHook, ChangeHookRecords, hookStateOf, settleChangeHook } from './changeHook.js';
import type { DokkuPaths } from './config.js';
import type { DockerEngine } from './docker/engine.js';
import { readDokkuProperties } from './dokku/propertyFiles.js';
import { BadInputError, coerceError } from './errors.js';
import { attachAliases, attachNetworks, bindingDrift, describeDrift } from './netconfig/bindings.js';
import { buildNetworkConfig, listenersOf } from './netconfig/buildNetworkConfig.js';
import {
  type ComputedProperties,
  computeProperties,
  GLOBAL_SCOPE,
  type RawProperties,
} from './properties/properties.js';
import { storedNetworkOk, storedValueProblem } from './properties/validateProperty.js';
import type { NetqKeys, RedisClient as Redis } from './queue.js';
import { type PendingReplacement, recoverReplacements, replaceDyno, settleReplacements } from './replaceDyno.js';
import { type Dyno, selectDokkuDynos, selectLabelledDynos } from './selectDynos.js';
import { writeDokkuFiles } from './store/dokkuFiles.js';
import { type StoredNetworkConfig, writeNetworkConfig } from './store/networkConfigStore.js';
import { mirrorProperties, readProperties } from './store/propertyStore.js';
import { ReplacementFailures } from './store/replacementFailures.js';
import { ReplacementJournal } from './store/replacementJournal.js';
import type { ContainerFacts, ContainerNetworkConfig, Failure, RebuildResult } from './types.js';

export interface RebuildDeps {
  docker: DockerEngine;
  redis: Redis;
  keys: NetqKeys;
  prefix: string;
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
}

interface Bound {
  dyno: Dyno;
  /** why a binding could not be applied; the container keeps its listener but counts as failed */
  bindingFailure?: string;
}

/** Attaches a container to every attach network with its aliases, and detaches it from those netq no longer wants. */
async function applyAttachments(
  deps: RebuildDeps,
  app: string,
  proc: string,
  f: ContainerFacts,
  props: ComputedProperties,
  previouslyAttached: string[],
): Promise<string | undefined> {
  const wanted = attachNetworks(props);
  const aliases = attachAliases(app, proc, f.hostname, props.tld);
  const problems: string[] = [];
  for (const net of wanted) {
    const have = f.aliases[net];
    if (have && aliases.every((a) => have.includes(a))) continue;
    try {
      if (have) await deps.docker.disconnect(net, f.id);
      await deps.docker.connect(net, f.id, aliases);
    } catch (err) {
      problems.push(`cannot attach to ${net}: ${coerceError(err).message}`);
    }
  }
  for (const net of previouslyAttached) {
    if (wanted.includes(net) || f.networks[net] === undefined) continue;
    try {
      await deps.docker.disconnect(net, f.id);
    } catch (err) {
      problems.push(`cannot detach from ${net}: ${coerceError(err).message}`);
    }
  }
  return problems.length ? problems.join('; ') : undefined;
}

/** The networks netq attached on this host before (a record that is not a list of names counts as none). */
function parseAttached(raw: string | null): string[] {
  if (!raw) return [];
  try {
    const v: unknown = JSON.parse(raw);
    return Array.isArray(v) ? v.filter((n): n is string => typeof n === 'string' && storedNetworkOk(n)) : [];
  } catch {
    return [];
  }
}

/** The app's and the global properties: Dokku's files in Dokku mode (mirrored to Redis), else Redis. */
async function loadProperties(deps: RebuildDeps, app: string): Promise<{ app: RawProperties; global: RawProperties }> {
  if (!deps.dokku) return checkStored(await readProperties(deps.redis, deps.prefix, app), app, 'strict');
  const raw = checkStored(await readDokkuProperties(deps.dokku, app), app, 'safe');
  await mirrorProperties(deps.redis, deps.prefix, app, raw);
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
 * The per-app job's work: settle replacements a killed worker left, read the app's dynos (Dokku's in Dokku
 * mode, else the containers its labels name), apply the bindings the properties ask for, build each dyno's
 * network config, write it to Redis and to Dokku's files, then retire replaced containers, and count. A dyno
 * that cannot be configured is a counted failure; an unreachable engine or Redis throws.
 */
export async function rebuildApp(deps: RebuildDeps, app: string, knownIds?: string[]): Promise<RebuildResult> {
  const rdeps = {
    docker: deps.docker,
    journal: new ReplacementJournal(deps.redis, deps.keys, deps.hostId),
    failures: new ReplacementFailures(deps.redis, deps.keys, deps.hostId, app),
    dokku: deps.dokku,
    now: Date.now,
  };
  await recoverReplacements(rdeps, app);
  const [raw, attachedRaw] = await Promise.all([
    loadProperties(deps, app),
    deps.redis.hget(deps.keys.attachedOn(app), deps.hostId),
  ]);
  const props = computeProperties(raw.app, raw.global);
  const previouslyAttached = parseAttached(attachedRaw);
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
  try {
    const bound: Bound[] = [];
    for (const dyno of selection.dynos) {
      const isStatic = dyno.proc === 'web' && props.staticWebListener !== '';
      if (isStatic) {
        bound.push({ dyno });
        continue;
      }
      const problems: string[] = [];
      let facts = dyno.facts;
      const drift = bindingDrift(facts, dyno.proc, props);
      if (drift && deps.replace === 'never') problems.push(`${describeDrift(drift)} (NETQ_REPLACE=never)`);
      else if (drift) {
        const r = await replaceDyno(rdeps, app, dyno, drift);
        facts = r.facts;
        if (r.pending) pending.push(r.pending);
        if (r.failure) problems.push(r.failure);
        if (r.retryInMs !== undefined) retryInMs = Math.min(retryInMs ?? r.retryInMs, r.retryInMs);
      }
      const attachProblem = await applyAttachments(deps, app, dyno.proc, facts, props, previouslyAttached);
      if (attachProblem) problems.push(attachProblem);
      const next = { ...dyno, facts };
      bound.push(problems.length ? { dyno: next, bindingFailure: problems.join('; ') } : { dyno: next });
    }

    const configs: ContainerNetworkConfig[] = [];
    const failures: Failure[] = [...selection.failures];
    for (const b of bound) {
      const outcome = buildNetworkConfig(b.dyno.facts, app, props, { proc: b.dyno.proc, index: b.dyno.index });
      if (!outcome.ok) failures.push(outcome.failure);
      else {
        configs.push(outcome.config); // a container whose binding failed still serves: keep its listener
        if (b.bindingFailure) failures.push({ container: b.dyno.facts.name, reason: b.bindingFailure });
      }
    }
    const listeners = listenersOf(configs);
    failures.sort((a, b) => a.container.localeCompare(b.container));

    await deps.verifyLock?.();
    if (deps.dokku) {
      const files = await writeDokkuFiles(deps.dokku, app, configs, selection.scale ?? new Map());
      // Dokku switched a dyno while this job ran: its next rebuild (its rename event, or this) sees the new one
      if (files.superseded.length) retryInMs = 0;
    }
    // a hook run that failed or was cut short: shown with the config until a run succeeds
    const hookRecords = deps.onChange ? new ChangeHookRecords(deps.redis, deps.keys, deps.hostId) : undefined;
    const hookRecord = await hookRecords?.get(app);
    const hookShown = hookRecord ? hookStateOf(hookRecord) : undefined;
    const config: StoredNetworkConfig = {
      app,
      host: deps.hostId,
      updatedAt: new Date().toISOString(),
      listeners,
      containers: configs,
      failures,
      applied: props,
    };
    const previous = await writeNetworkConfig(
      deps.redis,
      deps.keys,
      hookShown ? { ...config, hook: hookShown } : config,
    );
    written = true;
    if (deps.onChange && hookRecords) {
      const hook = await settleChangeHook({ hook: deps.onChange, records: hookRecords, now: Date.now }, app, {
        before: previous?.listeners,
        listeners,
        record: hookRecord,
        gone: previous === undefined && configs.length + failures.length === 0,
      });
      if (hook.retryInMs !== undefined) retryInMs = Math.min(retryInMs ?? hook.retryInMs, hook.retryInMs);
      if (JSON.stringify(hook.state) !== JSON.stringify(hookShown)) {
        await deps.verifyLock?.(); // the hook may have run long: write only while the app is still this job's
        await writeNetworkConfig(deps.redis, deps.keys, hook.state ? { ...config, hook: hook.state } : config);
      }
    }
    // (an app with no containers and nothing attached before leaves no key: a deleted app stays gone)
    if (selection.dynos.length > 0 || previouslyAttached.length > 0) {
      await deps.redis.hset(deps.keys.attachedOn(app), deps.hostId, JSON.stringify(attachNetworks(props)));
    }
    await rdeps.failures.keepOnly(selection.ids);
    const containers = selection.dynos.length + selection.failures.length;
    return {
      ...base,
      containers,
      configured: containers - failures.length,
      failed: failures.length,
      listeners,
      failures,
    };
  } finally {
    // Once the config points at the new containers the old ones can go; if it was never written, a
    // replacement that did not switch yet is abandoned and a retry starts from the old state.
    await settleReplacements(rdeps, pending, written, deps.waitToRetireMs);
    if (retryInMs !== undefined && deps.rebuildLater) await deps.rebuildLater(app, retryInMs);
  }
}
