import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { netqKeys } from '../src/keys.js';
import { writeProperty } from '../src/store/propertyStore.js';
import type { BenchRun } from './benchRun.js';
import { benchApps, countContainers, createApps, layOutDokku } from './containers.js';

/**
 * Grows the bench to `count` apps (2 containers each): containers, the apps' folders, and (not timed) the
 * Dokku host netq reads in Dokku mode: CONTAINER files, scale, deployed marker, network properties.
 */
export async function growApps(run: BenchRun, count: number): Promise<{ made: number; ms: number }> {
  const wanted = benchApps(run.id, count);
  const fresh = wanted.slice(run.apps.length);
  const started = performance.now();
  let ids: Map<string, string> | undefined;
  try {
    ids = await createApps(fresh, run.id, run.options.parallel);
    run.made += ids.size;
  } finally {
    // count what exists, whatever happened (the cleanup removes by label anyway)
    run.apps.push(...fresh);
  }
  const took = performance.now() - started;
  for (const a of fresh) {
    for (const root of Object.values(run.roots)) await mkdir(path.join(root, a.app), { recursive: true });
    // netq applies bind-all-interfaces: without it the published half would be replaced on the first run.
    // Dokku mode reads it from Dokku's property files (layOutDokku); label mode (an ablation variant) from Redis.
    if (a.published)
      await writeProperty(run.redis, netqKeys(run.netqConfig.prefix), a.app, 'bind-all-interfaces', 'true');
  }
  await layOutDokku({ root: run.roots.netq, libRoot: run.netqLib }, fresh, ids);
  const runningNow = await countContainers(run.label);
  if (runningNow !== count * 2) run.problem(`${runningNow} bench containers running, ${count * 2} expected`);
  return { made: fresh.length * 2, ms: took };
}
