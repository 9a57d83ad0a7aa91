import { listenersChanged } from './changeHook.js';
import type { DockerEngine, Replacement } from './docker/engine.js';
import { coerceError } from './errors.js';
import { attachAliases, attachNetworks, bindingDrift, describeDrift } from './netconfig/bindings.js';
import { buildNetworkConfig, listenersOf, processOf } from './netconfig/buildNetworkConfig.js';
import { type ComputedProperties, computeProperties } from './properties/properties.js';
import type { NetqKeys, RedisClient as Redis } from './queue.js';
import { writeDokkuFiles } from './store/dokkuFiles.js';
import { writeNetworkConfig } from './store/networkConfigStore.js';
import { readProperties } from './store/propertyStore.js';
import {
  type ContainerFacts,
  type ContainerNetworkConfig,
  type Failure,
  LABEL_APP,
  type RebuildResult,
} from './types.js';

export interface RebuildDeps {
  docker: DockerEngine;
  redis: Redis;
  keys: NetqKeys;
  prefix: string;
  hostId: string;
  dokkuRoot: string | undefined;
  /** 'never': report binding drift as a failure instead of replacing containers */
  replace: 'auto' | 'never';
  /** how long replaced containers keep serving after the config points at their successors */
  waitToRetireMs: number;
  /** called after the config was written when the app's listeners changed (before old containers retire) */
  onChange?: (app: string, listeners: Record<string, string[]>) => Promise<void>;
}

/** Runs fn over items with at most `limit` at once, keeping order. */
async function mapLimit<T, R>(items: T[], limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const run = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, run));
  return out;
}

interface Bound {
  facts: ContainerFacts;
  /** why a binding could not be applied; the container keeps its listener but counts as failed */
  bindingFailure?: string;
}

/** Replaces a container whose published ports or initial network differ from the properties. */
async function applyReplacement(
  deps: RebuildDeps,
  f: ContainerFacts,
  proc: string,
  props: ComputedProperties,
  retirees: Replacement[],
): Promise<Bound> {
  const drift = bindingDrift(f, proc, props);
  if (!drift) return { facts: f };
  if (deps.replace === 'never') return { facts: f, bindingFailure: `${describeDrift(drift)} (NETQ_REPLACE=never)` };
  let replacement: Replacement;
  try {
    replacement = await deps.docker.replaceContainer(f.id, drift);
  } catch (err) {
    return {
      facts: f,
      bindingFailure: `replacement failed, the old container keeps running: ${coerceError(err).message}`,
    };
  }
  const fresh = await deps.docker.inspectContainer(replacement.newId);
  if (!fresh) {
    await replacement.abandon();
    return { facts: f, bindingFailure: 'replacement vanished right after it started' };
  }
  retirees.push(replacement);
  // the name moves to the new container when the old one retires
  return { facts: { ...fresh, name: f.name } };
}

/** Attaches a container to every attach network with its aliases, and detaches it from those netq no longer wants. */
async function applyAttachments(
  deps: RebuildDeps,
  app: string,
  f: ContainerFacts,
  props: ComputedProperties,
  previouslyAttached: string[],
): Promise<string | undefined> {
  const id = processOf(f, app);
  if (!id) return undefined;
  const wanted = attachNetworks(props);
  const aliases = attachAliases(app, id.proc, f.hostname, props.tld);
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

/**
 * The per-app job's work: read the app's containers (the ids a scan saw, else one list call), apply
 * the bindings the properties ask for, build each container's network config, write it to Redis and to
 * Dokku's files, then retire replaced containers, and count. A container that cannot be configured is
 * a counted failure; an unreachable engine or Redis throws.
 */
export async function rebuildApp(deps: RebuildDeps, app: string, knownIds?: string[]): Promise<RebuildResult> {
  const ids = knownIds ?? (await deps.docker.listAppContainers(app)).map((c) => c.id);
  const [inspected, raw, attachedRaw] = await Promise.all([
    mapLimit(ids, 16, (id) => deps.docker.inspectContainer(id)),
    readProperties(deps.redis, deps.prefix, app),
    deps.redis.get(deps.keys.attached(app)),
  ]);
  const props = computeProperties(raw.app, raw.global);
  const previouslyAttached = attachedRaw ? (JSON.parse(attachedRaw) as string[]) : [];
  const facts = inspected
    .filter((f): f is ContainerFacts => f !== undefined && f.labels[LABEL_APP] === app)
    .sort((a, b) => a.name.localeCompare(b.name));

  const retirees: Replacement[] = [];
  let written = false;
  try {
    const bound: Bound[] = [];
    for (const f of facts) {
      const id = processOf(f, app);
      const isStatic = id?.proc === 'web' && props.staticWebListener !== '';
      if (!f.running || !id || isStatic) {
        bound.push({ facts: f });
        continue;
      }
      const b = await applyReplacement(deps, f, id.proc, props, retirees);
      const attachProblem = await applyAttachments(deps, app, b.facts, props, previouslyAttached);
      const failure = [b.bindingFailure, attachProblem].filter(Boolean).join('; ');
      bound.push(failure ? { facts: b.facts, bindingFailure: failure } : { facts: b.facts });
    }

    const configs: ContainerNetworkConfig[] = [];
    const failures: Failure[] = [];
    const alive = new Set<string>();
    for (const b of bound) {
      const id = processOf(b.facts, app);
      if (id) alive.add(`${id.proc}.${id.index}`);
      const outcome = buildNetworkConfig(b.facts, app, props);
      if (!outcome.ok) failures.push(outcome.failure);
      else {
        configs.push(outcome.config); // a container whose binding failed still serves: keep its listener
        if (b.bindingFailure) failures.push({ container: b.facts.name, reason: b.bindingFailure });
      }
    }
    const listeners = listenersOf(configs);

    if (deps.dokkuRoot !== undefined) await writeDokkuFiles(deps.dokkuRoot, app, configs, alive);
    const previous = await writeNetworkConfig(deps.redis, deps.keys, {
      app,
      host: deps.hostId,
      updatedAt: new Date().toISOString(),
      listeners,
      containers: configs,
      failures,
      applied: props,
    });
    written = true;
    if (deps.onChange && listenersChanged(previous?.listeners, listeners)) await deps.onChange(app, listeners);
    // (an app with no containers and nothing attached before leaves no key: a deleted app stays gone)
    if (facts.length > 0 || previouslyAttached.length > 0) {
      await deps.redis.set(deps.keys.attached(app), JSON.stringify(attachNetworks(props)));
    }
    return {
      app,
      host: deps.hostId,
      containers: facts.length,
      configured: facts.length - failures.length,
      failed: failures.length,
      listeners,
      failures,
    };
  } finally {
    // Once the config points at the new containers the old ones can go; if it was never written,
    // the new ones go instead and a retry starts from the old state.
    if (written && retirees.length && deps.waitToRetireMs > 0) {
      await new Promise((r) => setTimeout(r, deps.waitToRetireMs));
    }
    for (const r of retirees) await (written ? r.retire() : r.abandon());
  }
}
