import { stat } from 'node:fs/promises';
import type { DokkuPaths } from './config.js';
import { isContainerProblem } from './containerProblem.js';
import type { ContainerChange, DockerEngine, Replacement } from './docker/engine.js';
import { tempNameFor } from './docker/replaceContainer.js';
import { appFolder, readContainerFile } from './dokku/dokkuState.js';
import { coerceError, dockerStatus } from './errors.js';
import type { Logger } from './logger.js';
import { describeDrift } from './netconfig/bindings.js';
import type { Dyno } from './selectDynos.js';
import { writeFileAtomically } from './store/atomicFile.js';
import type { ReplaceFailure, ReplacementFailures } from './store/replacementFailures.js';
import type { JournalEntry, ReplacementJournal } from './store/replacementJournal.js';
import type { ContainerFacts } from './types.js';

export interface ReplaceDeps {
  docker: DockerEngine;
  journal: Pick<ReplacementJournal, 'record' | 'drop' | 'entries'>;
  failures: Pick<ReplacementFailures, 'get' | 'failed' | 'forget'>;
  /** Dokku mode: the replacement ends with Dokku's books kept (CONTAINER file, names) */
  dokku: DokkuPaths | undefined;
  now: () => number;
  /** where a replacement's failure is logged with its error (stack and cause) before it is counted */
  log?: Logger;
  /**
   * Throws LockLostError once the app's lock is no longer this job's: asked before a killed worker's
   * replacement is settled and before an old container is retired, so that a job that lost the app leaves
   * them to the new holder. (Abandoning its own replacement that never switched only undoes its own work.)
   */
  verifyLock: () => Promise<void>;
}

/** A replacement that runs and waits for the config to point at it, then for its predecessor to retire. */
export interface PendingReplacement {
  entry: JournalEntry;
  replacement: Replacement;
}

export interface ReplaceOutcome {
  /** the dyno's container now (the new one when replaced) */
  facts: ContainerFacts;
  pending?: PendingReplacement;
  /** why the binding could not be applied (the dyno keeps serving from its container) */
  failure?: string;
  /** a failed replacement's next try, from now */
  retryInMs?: number;
}

/** A rename refused because another container holds the name (409) is left so; anything else is thrown. */
const nameTaken = (err: unknown) => {
  if (dockerStatus(err) !== 409) throw err;
};

/** How a replacement that keeps failing shows in the failures (and so in network:report's drift). */
const failedReplacement = (what: string, rec: ReplaceFailure, now: number) =>
  `${what}: replacement failed ${rec.attempts} time(s), the old container keeps running (last: ${rec.reason}); next try in ${Math.ceil((rec.nextAt - now) / 1000)} s`;

/** The name a dyno's container has: Dokku's `<app>.<proc>.<n>` in Dokku mode, else the container's own. */
const dynoName = (deps: ReplaceDeps, app: string, dyno: Dyno) =>
  deps.dokku ? `${app}.${dyno.proc}.${dyno.index}` : dyno.facts.name;

/** Writes `CONTAINER.<proc>.<n>` as Dokku's deploy does (`echo "$cid" > file`: a trailing newline), owned like the app folder. */
async function writeContainerFile(d: DokkuPaths, app: string, proc: string, index: number, id: string) {
  const dir = appFolder(d, app);
  const st = await stat(dir);
  await writeFileAtomically(dir, `CONTAINER.${proc}.${index}`, `${id}\n`, {
    mode: 0o644,
    owner: { uid: st.uid, gid: st.gid },
  });
}

/**
 * Replaces a dyno's container with one that has the binding asked for, journalled step by step. A
 * replacement that failed for this container and this change before is not tried again before its backoff
 * ends. In Dokku mode it ends switched: the old container has Dokku's retired name `<name>.<epoch>`, the new
 * one the dyno's name, and `CONTAINER.<proc>.<n>` names the new one.
 */
export async function replaceDyno(
  deps: ReplaceDeps,
  app: string,
  dyno: Dyno,
  change: ContainerChange,
): Promise<ReplaceOutcome> {
  const f = dyno.facts;
  const signature = JSON.stringify(change);
  const what = describeDrift(change);
  const known = await deps.failures.get(f.id, signature);
  if (known && deps.now() < known.nextAt) {
    return { facts: f, failure: failedReplacement(what, known, deps.now()), retryInMs: known.nextAt - deps.now() };
  }
  const name = dynoName(deps, app, dyno);
  let entry: JournalEntry = {
    app,
    proc: dyno.proc,
    index: dyno.index,
    oldId: f.id,
    name,
    tempName: tempNameFor(name),
    step: 'creating',
  };
  await deps.journal.record(entry);
  const failed = async (reason: string, err?: unknown): Promise<ReplaceOutcome> => {
    if (err !== undefined) deps.log?.warn({ err, container: f.name, change: what }, 'replacement failed: counted');
    await deps.journal.drop(entry);
    const rec = await deps.failures.failed(f.id, signature, reason, deps.now());
    return { facts: f, failure: failedReplacement(what, rec, deps.now()), retryInMs: rec.nextAt - deps.now() };
  };
  let replacement: Replacement;
  try {
    replacement = await deps.docker.replaceContainer(f.id, change, {
      tempName: entry.tempName,
      onCreated: async (newId) => {
        entry = { ...entry, newId, step: 'created' };
        await deps.journal.record(entry);
      },
    });
  } catch (err) {
    // an engine that stopped answering (or Redis) is no failure of this container: the job is retried, and
    // its next attempt settles the journal entry left here (src/containerProblem.ts)
    if (!isContainerProblem(err)) throw err;
    return failed(coerceError(err).message, err);
  }
  entry = { ...entry, newId: replacement.newId, step: 'started' };
  await deps.journal.record(entry);
  const fresh = await deps.docker.inspectContainer(replacement.newId);
  if (!fresh?.running) {
    await replacement.abandon();
    return failed('the replacement stopped right after it started');
  }
  if (deps.dokku) {
    const dokku = deps.dokku;
    entry = { ...entry, datedName: `${name}.${Math.floor(deps.now() / 1000)}` };
    await deps.journal.record(entry);
    const datedName = entry.datedName ?? name;
    let oldRenamed = false;
    try {
      if (f.name === name) {
        await deps.docker.renameContainer(f.id, datedName);
        oldRenamed = true;
      }
      await deps.docker.renameContainer(replacement.newId, name);
      await writeContainerFile(dokku, app, dyno.proc, dyno.index, replacement.newId);
    } catch (err) {
      // (a name still held by another container: Dokku is between a dyno's switch and its renames) the old
      // container keeps the dyno, under its own name again
      await replacement.abandon();
      if (oldRenamed) await deps.docker.renameContainer(f.id, name).catch(nameTaken);
      if (!isContainerProblem(err)) throw err;
      return failed(`could not hand the dyno over: ${coerceError(err).message}`, err);
    }
    entry = { ...entry, step: 'switched' };
    await deps.journal.record(entry);
  }
  return { facts: { ...fresh, name }, pending: { entry, replacement } };
}

/**
 * Ends replacements once the config was written (or was not): without Dokku a written config switches the
 * dyno (journalled), then the old container retires and the new one takes its name; an unwritten one
 * abandons the new container. In Dokku mode the dyno switched already: the old container retires once the
 * config is written; otherwise the journal is left for the next rebuild to finish.
 */
export async function settleReplacements(
  deps: ReplaceDeps,
  pending: PendingReplacement[],
  written: boolean,
  waitToRetireMs: number,
): Promise<void> {
  if (pending.length === 0) return;
  if (written) {
    if (!deps.dokku) for (const p of pending) await deps.journal.record({ ...p.entry, step: 'switched' });
    if (waitToRetireMs > 0) await new Promise((r) => setTimeout(r, waitToRetireMs));
  }
  for (const p of pending) {
    if (written) {
      // a job that lost the app retires nothing: the lock's new holder finishes the journalled switch
      await deps.verifyLock();
      if (deps.dokku) {
        await deps.docker.stopContainer(p.entry.oldId);
        await deps.docker.removeContainer(p.entry.oldId);
      } else await p.replacement.retire();
      await deps.failures.forget(p.entry.oldId);
      await deps.journal.drop(p.entry);
    } else if (!deps.dokku) {
      await p.replacement.abandon();
      await deps.journal.drop(p.entry);
    }
  }
}

/** Gives a container the dyno's name (unless another container holds it meanwhile) and starts it when stopped. */
async function serveAs(deps: ReplaceDeps, c: ContainerFacts, name: string): Promise<void> {
  // (a name another container holds meanwhile stays with it: Dokku renames by its CONTAINER files)
  if (c.name !== name) await deps.docker.renameContainer(c.id, name).catch(nameTaken);
  if (!c.running) await deps.docker.startContainer(c.id);
}

/** Finishes or rolls back one journalled replacement (see recoverReplacements). */
async function settleEntry(deps: ReplaceDeps, app: string, e: JournalEntry): Promise<void> {
  const newId = e.newId ?? (await deps.docker.inspectContainer(e.tempName))?.id;
  const fresh = newId === undefined ? undefined : await deps.docker.inspectContainer(newId);
  const old = await deps.docker.inspectContainer(e.oldId);
  const current = deps.dokku ? await readContainerFile(deps.dokku, app, e.proc, e.index) : undefined;
  const committed = fresh !== undefined && (deps.dokku ? current === fresh.id : e.step === 'switched');
  if (committed) {
    if (old) await deps.docker.removeContainer(old.id);
    await serveAs(deps, fresh, e.name);
    return;
  }
  if (fresh) await deps.docker.removeContainer(fresh.id);
  // in Dokku mode the old container is the dyno's only while its CONTAINER file still names it
  if (old && (!deps.dokku || current === old.id)) await serveAs(deps, old, e.name);
}

/**
 * Finishes or rolls back the journalled replacements of an app (a worker was killed at some step), so that
 * exactly one container serves each dyno: a switched replacement is finished (the old container removed,
 * the new one named and running); any other is rolled back (the new container removed, the old one named and
 * running again). Returns how many it settled.
 */
export async function recoverReplacements(deps: ReplaceDeps, app: string): Promise<number> {
  const entries = await deps.journal.entries(app);
  for (const e of entries) {
    await deps.verifyLock();
    await settleEntry(deps, app, e);
    await deps.journal.drop(e);
  }
  return entries.length;
}
