import type { DokkuPaths } from './config.js';
import { currentFacts, inspectFacts } from './docker/currentFacts.js';
import type { DockerEngine, ListedContainer } from './docker/engine.js';
import type { FixedFactsCache } from './docker/fixedFactsCache.js';
import { isTempName } from './docker/replaceContainer.js';
import { appExists, isDeployed, readContainerFiles, readScale } from './dokku/dokkuState.js';
import { attachNetworks } from './netconfig/bindings.js';
import { processOf } from './netconfig/buildNetworkConfig.js';
import type { ComputedProperties } from './properties/properties.js';
import { type ContainerFacts, type Failure, LABEL_APP } from './types.js';

/** One dyno of an app (`web.1`) and the container that is it. */
export interface Dyno {
  proc: string;
  index: number;
  facts: ContainerFacts;
}

/** Which containers a rebuild configures, which it counts as failed, and which it leaves alone. */
export interface DynoSelection {
  /** the app's dynos whose container runs: configured */
  dynos: Dyno[];
  /** dynos the app should have whose container is missing or not running: counted */
  failures: Failure[];
  /** containers with the app's labels that are not its dynos: neither configured nor counted */
  ignored: Failure[];
  /** Dokku mode: the app's scale (files of dynos outside it are removed) */
  scale?: Map<string, number>;
  /** why there is nothing to build at all */
  skipped?: string;
  /** every container id the selection looked at */
  ids: string[];
}

/** Where the per-app job reads its containers: the engine, and the fixed facts it knows of them already. */
export interface DynoSource {
  docker: DockerEngine;
  facts: FixedFactsCache;
  /**
   * true: every container is inspected. A job that answers an event (or a request that may follow one) must see
   * what the event announced, and the engine's list call shows some changes only a moment after their event
   * (a network connect or disconnect: the event is sent before the list's view of the container is updated);
   * an inspect waits for the change. A job of a rebuildall takes what can change from the list call.
   */
  inspectAll: boolean;
}

/**
 * Which containers to inspect: all of them (`inspectAll`), else a running one that is on one of the attach
 * networks already, whose aliases there (which the list call does not carry) decide whether it rejoins.
 */
const toInspect = (src: DynoSource, props: ComputedProperties) => {
  if (src.inspectAll) return 'all' as const;
  const wanted = attachNetworks(props);
  return (l: ListedContainer) => l.running && wanted.some((net) => l.networks[net] !== undefined);
};

const empty = (skipped: string): DynoSelection => ({ dynos: [], failures: [], ignored: [], skipped, ids: [] });

/**
 * Dokku mode: the app's dynos are Dokku's. For each `proc=count` of the scale and each index, the container
 * `CONTAINER.<proc>.<n>` names; nothing else with the app's labels (upcoming, retiring, exited, strays) is
 * the app's. As Dokku's BuildConfig: an app that does not exist or is not deployed, has a static web listener
 * or no scale has nothing to build; a dyno without a CONTAINER file is not deployed yet. An app none of whose
 * dynos runs is stopped (`ps:stop`): nothing to build either. Otherwise a dyno whose container is gone or
 * not running is a failure.
 */
export async function selectDokkuDynos(
  src: DynoSource,
  d: DokkuPaths,
  app: string,
  props: ComputedProperties,
): Promise<DynoSelection> {
  if (!(await appExists(d, app))) return empty(`app ${app} does not exist`);
  if (!(await isDeployed(d, app))) return empty('not deployed');
  if (props.staticWebListener !== '') return empty(`static-web-listener ${props.staticWebListener}`);
  const [scale, files] = await Promise.all([readScale(d, app), readContainerFiles(d, app)]);
  if ([...scale.values()].every((n) => n === 0)) return { ...empty('no process is scaled up'), scale };
  const wanted: { proc: string; index: number; id: string }[] = [];
  for (const [proc, count] of scale) {
    for (let index = 1; index <= count; index++) {
      const id = files.get(`${proc}.${index}`) ?? '';
      if (id !== '') wanted.push({ proc, index, id });
    }
  }
  const ids = wanted.map((w) => w.id);
  // one list call for the app's dynos (never the scan's list); an inspect only for what the list lacks
  const facts = await currentFacts(src.docker, src.facts, ids, { inspect: toInspect(src, props) });
  if (wanted.length > 0 && !facts.some((f) => f?.running))
    return { ...empty('stopped: none of its dynos runs'), scale, ids };
  const sel: DynoSelection = { dynos: [], failures: [], ignored: [], scale, ids };
  wanted.forEach((w, i) => {
    const f = facts[i];
    const dyno = `${w.proc}.${w.index}`;
    if (f === undefined) {
      sel.failures.push({
        container: `${app}.${dyno}`,
        reason: `container ${w.id.slice(0, 12)} named in CONTAINER.${dyno} does not exist`,
      });
    } else if (!f.running) {
      sel.failures.push({ container: f.name, reason: `container is ${f.state}, not running` });
    } else sel.dynos.push({ proc: w.proc, index: w.index, facts: f });
  });
  return sel;
}

/** Sorts the claimants of one dyno: running first, then the one named `<app>.<proc>.<n>`, then the latest started. */
function preferred(app: string, dyno: string) {
  const rank = (f: ContainerFacts) => [f.running ? 0 : 1, f.name === `${app}.${dyno}` ? 0 : 1] as const;
  return (a: ContainerFacts, b: ContainerFacts) => {
    const [ra, rb] = [rank(a), rank(b)];
    if (ra[0] !== rb[0]) return ra[0] - rb[0];
    if (ra[1] !== rb[1]) return ra[1] - rb[1];
    return b.startedAt.localeCompare(a.startedAt) || a.id.localeCompare(b.id);
  };
}

/**
 * Without Dokku: the app's containers are those with its labels (those of the scan's list, listed again by id,
 * else one list call by label), but netq's own temporary replacements. Two containers that claim one dyno are
 * never both used: the one kept is the running one, then the one named `<app>.<proc>.<n>`, then the one started
 * last (such claimants are inspected: the list call does not say when a container started); the others are
 * ignored (reported, not counted). The kept one counts as failed when it does not run.
 */
export async function selectLabelledDynos(
  src: DynoSource,
  app: string,
  props: ComputedProperties,
  knownIds?: string[],
): Promise<DynoSelection> {
  // the engine answers an id filter from its index, a label filter by walking every container it has
  const listed: ListedContainer[] =
    knownIds === undefined ? await src.docker.listAppContainers(app) : await src.docker.listContainers(knownIds);
  // a container of the scan's list is gone: the list is older than the app (a redeploy): read it afresh
  if (knownIds !== undefined && listed.length < new Set(knownIds).size) return selectLabelledDynos(src, app, props);
  const ids = listed.map((c) => c.id);
  const own = listed.filter((l) => l.labels[LABEL_APP] === app && !isTempName(l.name));
  const read = await currentFacts(
    src.docker,
    src.facts,
    own.map((l) => l.id),
    { listed: own, inspect: toInspect(src, props) },
  );
  const facts = read.filter((f): f is ContainerFacts => f !== undefined);
  const sel: DynoSelection = { dynos: [], failures: [], ignored: [], ids };
  const byDyno = new Map<string, ContainerFacts[]>();
  for (const f of facts) {
    const id = processOf(f, app);
    if (!id) {
      sel.failures.push({
        container: f.name,
        reason: 'cannot tell process type and index (no com.dokku.dyno label, name is not <app>.<proc>.<index>)',
      });
      continue;
    }
    const dyno = `${id.proc}.${id.index}`;
    byDyno.set(dyno, [...(byDyno.get(dyno) ?? []), f]);
  }
  for (const [dyno, listedClaimants] of [...byDyno].sort(([a], [b]) => a.localeCompare(b))) {
    const claimants =
      listedClaimants.length > 1
        ? (
            await inspectFacts(
              src.docker,
              src.facts,
              listedClaimants.map((f) => f.id),
            )
          ).filter((f): f is ContainerFacts => f !== undefined && f.labels[LABEL_APP] === app && !isTempName(f.name))
        : listedClaimants;
    const [kept, ...others] = claimants.sort(preferred(app, dyno));
    if (!kept) continue;
    const id = processOf(kept, app);
    if (!id) continue;
    for (const o of others) sel.ignored.push({ container: o.name, reason: `${kept.name} is dyno ${dyno}` });
    if (kept.running) sel.dynos.push({ proc: id.proc, index: id.index, facts: kept });
    else sel.failures.push({ container: kept.name, reason: `container is ${kept.state}, not running` });
  }
  return sel;
}
