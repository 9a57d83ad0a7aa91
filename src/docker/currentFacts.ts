import type { ContainerFacts } from '../types.js';
import type { DockerEngine, ListedContainer } from './engine.js';
import { factsFromList, fixedFactsOf } from './fixedFacts.js';
import type { FixedFactsCache } from './fixedFactsCache.js';
import { mapLimit } from './mapLimit.js';

/** A container id as the engine gives it (a CONTAINER file may hold anything: a name, a prefix, garbage). */
const FULL_ID = /^[0-9a-f]{64}$/;

export interface CurrentFactsOptions {
  /** the list entries of these containers, when the caller made that list call itself (now) */
  listed?: ListedContainer[];
  /**
   * which containers to inspect even when the cache knows them: those the caller needs more of than the list
   * carries (their aliases on a network they are on, when they started), or `all` (then no list call is made)
   */
  inspect?: 'all' | ((l: ListedContainer) => boolean);
}

/**
 * The facts of these containers now, in their order (undefined: the engine has no such container). What can
 * change (state, name, networks and their addresses, published ports) comes from one list call for all of them,
 * or from the caller's own list; what cannot (src/docker/fixedFacts.ts) from the cache. A container is inspected
 * only when the cache does not know it yet, the list does not show it (gone, or not named by its full id), or
 * the caller asks (`inspect`); each inspect fills the cache. At most 16 inspects at once.
 */
export async function currentFacts(
  docker: DockerEngine,
  cache: FixedFactsCache,
  ids: string[],
  opts: CurrentFactsOptions = {},
): Promise<(ContainerFacts | undefined)[]> {
  const { inspect } = opts;
  if (inspect === 'all') return inspectFacts(docker, cache, ids);
  const listable = [...new Set(ids.filter((id) => FULL_ID.test(id)))];
  const listed = opts.listed ?? (listable.length > 0 ? await docker.listContainers(listable) : []);
  const byId = new Map(listed.map((l) => [l.id, l]));
  return mapLimit(ids, 16, async (id) => {
    const l = byId.get(id);
    const fixed = l === undefined ? undefined : cache.get(id);
    if (l !== undefined && fixed !== undefined && inspect?.(l) !== true) return factsFromList(l, fixed);
    return inspected(docker, cache, id);
  });
}

/** Every fact of these containers, from an inspect of each (at most 16 at once), which fills the cache. */
export function inspectFacts(
  docker: DockerEngine,
  cache: FixedFactsCache,
  ids: string[],
): Promise<(ContainerFacts | undefined)[]> {
  return mapLimit(ids, 16, (id) => inspected(docker, cache, id));
}

async function inspected(docker: DockerEngine, cache: FixedFactsCache, id: string) {
  const f = await docker.inspectContainer(id);
  if (f !== undefined) cache.set(f.id, fixedFactsOf(f));
  return f;
}
