import type { Job } from 'bullmq';
import { appExists } from '../../src/dokku/dokkuState.js';
import { dokkuForm, readDokkuProperties, writePropertyFile } from '../../src/dokku/propertyFiles.js';
import { enqueueRebuild, enqueueRebuildall } from '../../src/enqueue.js';
import { AppDoesNotExistError } from '../../src/errors.js';
import { JOB, queueName, type SetResult, setJobSchema } from '../../src/jobs.js';
import { GLOBAL_SCOPE, networksToCheck, type PropertyKey } from '../../src/properties/properties.js';
import { attachConflict, OTHER_PHASE, validateProperty } from '../../src/properties/validateProperty.js';
import { readProperties, writeProperty } from '../../src/store/propertyStore.js';
import type { ControlHandlers, WorkerContext } from '../context.js';
import { parseJobData } from '../jobData.js';

/**
 * network:set, as the authority: the same checks as the producer, plus those that need state
 * (a network in both attach phases, a network missing on this host), then store and maybe apply. A property is
 * stored once, whatever the number of hosts: an app's is applied by a rebuild on each host of the job's `hosts`
 * (queued here, after the store, so that none reads the old value), a global one by a rebuildall.
 */
async function setProperty(ctx: WorkerContext, job: Job): Promise<SetResult> {
  const data = parseJobData(job, JOB.set, setJobSchema, ctx.config.hostId);
  const { scope, key: rawKey, values, apply, host } = data;
  const isGlobal = scope === GLOBAL_SCOPE;
  const { key, value } = validateProperty(isGlobal ? 'global' : 'app', rawKey, values);
  const dokku = ctx.config.dokku;
  if (dokku && !isGlobal && !(await appExists(dokku, scope))) throw new AppDoesNotExistError(scope);

  await refuseAttachConflict(ctx, scope, key, value);
  const warnings = await missingNetworks(ctx, key, value, host);
  await store(ctx, scope, key, value);
  ctx.logger.info({ queue: job.queueName, jobId: job.id, scope, key, value, apply }, 'property set');
  const w = warnings.length ? { warnings } : {};
  if (!apply) return { scope, key, value, applied: 'none', ...w };
  if (isGlobal) {
    const run = await enqueueRebuildall(ctx.queues, (await ctx.queues.liveHosts()).sort());
    return { scope, key, value, applied: 'rebuildall', jobId: String(run.id), queue: queueName.summary, ...w };
  }
  const rebuilds = await Promise.all(
    (data.hosts ?? [host]).map(async (on) => ({
      host: on,
      jobId: String((await enqueueRebuild(ctx.queues, scope, on)).id),
      queue: queueName.rebuild(on),
    })),
  );
  return { scope, key, value, applied: 'rebuild', rebuilds, ...w };
}

/** A network may be attached in one phase only: refused when the other phase (of the scope, else global) has it. */
async function refuseAttachConflict(ctx: WorkerContext, scope: string, key: PropertyKey, value: string): Promise<void> {
  if (value === '' || (key !== 'attach-post-create' && key !== 'attach-post-deploy')) return;
  const isGlobal = scope === GLOBAL_SCOPE;
  const dokku = ctx.config.dokku;
  const stored = dokku
    ? await readDokkuProperties(dokku, isGlobal ? GLOBAL_SCOPE : scope)
    : await readProperties(ctx.redis, ctx.queues.keys, scope);
  const other = OTHER_PHASE[key];
  attachConflict(key, value, (isGlobal ? stored.global : stored.app)[other] || stored.global[other] || '');
}

/** As Dokku, a network that does not exist yet is stored with a warning; its absence is a failure when applied. */
async function missingNetworks(ctx: WorkerContext, key: PropertyKey, value: string, host: string): Promise<string[]> {
  const warnings: string[] = [];
  for (const net of networksToCheck(key, value)) {
    if (!(await ctx.docker.inspectNetwork(net))) {
      warnings.push(
        `Network ${net} does not exist on host ${host} yet: create it (netq network:create ${net}) before it is applied`,
      );
    }
  }
  return warnings;
}

/** In Dokku mode Dokku's store is the truth: written as `dokku network:set` writes it, then mirrored to Redis. */
async function store(ctx: WorkerContext, scope: string, key: PropertyKey, value: string): Promise<void> {
  const dokku = ctx.config.dokku;
  if (dokku) {
    await writePropertyFile(dokku, scope, key, value);
    await writeProperty(ctx.redis, ctx.queues.keys, scope, key, dokkuForm(key, value));
  } else await writeProperty(ctx.redis, ctx.queues.keys, scope, key, value);
}

/** network:set handler, by job name. */
export const setHandlers: ControlHandlers<typeof JOB.set> = { [JOB.set]: setProperty };
