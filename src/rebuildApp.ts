import type { Redis } from 'ioredis';
import type { DockerEngine } from './docker/engine.js';
import { buildNetworkConfig, listenersOf, processOf } from './netconfig/buildNetworkConfig.js';
import { computeProperties } from './properties/properties.js';
import type { NetqKeys } from './queue.js';
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

/**
 * The per-app job's work: read the app's containers (the ids a scan saw, else one list call),
 * build each container's network config, write it to Redis and to Dokku's files, and count.
 * A container that cannot be configured is a counted failure; an unreachable engine or Redis throws.
 */
export async function rebuildApp(deps: RebuildDeps, app: string, knownIds?: string[]): Promise<RebuildResult> {
  const ids = knownIds ?? (await deps.docker.listAppContainers(app)).map((c) => c.id);
  const [inspected, raw] = await Promise.all([
    mapLimit(ids, 16, (id) => deps.docker.inspectContainer(id)),
    readProperties(deps.redis, deps.prefix, app),
  ]);
  const props = computeProperties(raw.app, raw.global);
  const facts = inspected.filter((f): f is ContainerFacts => f !== undefined && f.labels[LABEL_APP] === app);

  const configs: ContainerNetworkConfig[] = [];
  const failures: Failure[] = [];
  const alive = new Set<string>();
  for (const f of facts.sort((a, b) => a.name.localeCompare(b.name))) {
    const id = processOf(f, app);
    if (id) alive.add(`${id.proc}.${id.index}`);
    const outcome = buildNetworkConfig(f, app, props);
    if (outcome.ok) configs.push(outcome.config);
    else failures.push(outcome.failure);
  }
  const listeners = listenersOf(configs);

  if (deps.dokkuRoot !== undefined) await writeDokkuFiles(deps.dokkuRoot, app, configs, alive);
  await writeNetworkConfig(deps.redis, deps.keys, {
    app,
    host: deps.hostId,
    updatedAt: new Date().toISOString(),
    listeners,
    containers: configs,
    failures,
  });
  return {
    app,
    host: deps.hostId,
    containers: facts.length,
    configured: configs.length,
    failed: failures.length,
    listeners,
    failures,
  };
}
