import type { DokkuPaths } from './config.js';
import type { DockerEngine } from './docker/engine.js';
import { isTempName } from './docker/replaceContainer.js';
import { appExists, isDeployed, readContainerFiles, readScale } from './dokku/dokkuState.js';
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

/** Runs fn over items with at most `limit` at once, keeping order. */
export async function mapLimit<T, R>(items: T[], limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
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
  docker: DockerEngine,
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
  const facts = await mapLimit(wanted, 16, (w) => docker.inspectContainer(w.id));
  const ids = wanted.map((w) => w.id);
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
 * Without Dokku: the app's containers are those with its labels (the ids a scan listed, else one list call),
 * but netq's own temporary replacements. Two containers that claim one dyno are never both used: the one
 * kept is the running one, then the one named `<app>.<proc>.<n>`, then the one started last; the others are
 * ignored (reported, not counted). The kept one counts as failed when it does not run.
 */
export async function selectLabelledDynos(
  docker: DockerEngine,
  app: string,
  knownIds?: string[],
): Promise<DynoSelection> {
  const ids = knownIds ?? (await docker.listAppContainers(app)).map((c) => c.id);
  const inspected = await mapLimit(ids, 16, (id) => docker.inspectContainer(id));
  // a container of the scan's list is gone: the list is older than the app (a redeploy): read it afresh
  if (knownIds !== undefined && inspected.some((f) => f === undefined)) return selectLabelledDynos(docker, app);
  const facts = inspected.filter(
    (f): f is ContainerFacts => f !== undefined && f.labels[LABEL_APP] === app && !isTempName(f.name),
  );
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
  for (const [dyno, claimants] of [...byDyno].sort(([a], [b]) => a.localeCompare(b))) {
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
