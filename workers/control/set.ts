import type { Job } from 'bullmq';
import { appExists } from '../../src/dokku/dokkuState.js';
import { dokkuForm, readDokkuProperties, writePropertyFile } from '../../src/dokku/propertyFiles.js';
import { enqueueRebuild, enqueueRebuildall } from '../../src/enqueue.js';
import { AppDoesNotExistError, BadInputError } from '../../src/errors.js';
import { describeZodError, JOB, type SetResult, setJobSchema } from '../../src/jobs.js';
import { GLOBAL_SCOPE, networksToCheck } from '../../src/properties/properties.js';
import { attachConflict, OTHER_PHASE, validateProperty } from '../../src/properties/validateProperty.js';
import { queueName } from '../../src/queue.js';
import { readProperties, writeProperty } from '../../src/store/propertyStore.js';
import type { WorkerContext } from '../context.js';
import type { ControlHandler } from '../control.js';

/**
 * network:set, as the authority: the same checks as the producer, plus those that need state
 * (a network in both attach phases, a network missing on this host), then store and maybe apply.
 */
async function setProperty(ctx: WorkerContext, job: Job): Promise<SetResult> {
  const parsed = setJobSchema.safeParse(job.data);
  if (!parsed.success) throw new BadInputError(`bad set job: ${describeZodError(parsed.error)}`);
  const { scope, key: rawKey, values, apply, host } = parsed.data;
  if (host !== ctx.config.hostId) {
    throw new BadInputError(`set job for host ${host} reached a worker of host ${ctx.config.hostId}`);
  }
  const isGlobal = scope === GLOBAL_SCOPE;
  const { key, value } = validateProperty(isGlobal ? 'global' : 'app', rawKey, values);
  const dokku = ctx.config.dokku;
  if (dokku && !isGlobal && !(await appExists(dokku, scope))) throw new AppDoesNotExistError(scope);

  if (value !== '' && (key === 'attach-post-create' || key === 'attach-post-deploy')) {
    const stored = dokku
      ? await readDokkuProperties(dokku, isGlobal ? GLOBAL_SCOPE : scope)
      : await readProperties(ctx.redis, ctx.queues.prefix, scope);
    const other = OTHER_PHASE[key];
    attachConflict(key, value, (isGlobal ? stored.global : stored.app)[other] || stored.global[other] || '');
  }
  // as Dokku, a network that does not exist yet is stored (with a warning); its absence is a failure when applied
  const warnings: string[] = [];
  for (const net of networksToCheck(key, value)) {
    if (!(await ctx.docker.inspectNetwork(net))) {
      warnings.push(
        `Network ${net} does not exist on host ${host} yet: create it (netq network:create ${net}) before it is applied`,
      );
    }
  }

  if (dokku) {
    // Dokku's store is the truth: written as `dokku network:set` writes it, then mirrored
    await writePropertyFile(dokku, scope, key, value);
    await writeProperty(ctx.redis, ctx.queues.prefix, scope, key, dokkuForm(key, value));
  } else await writeProperty(ctx.redis, ctx.queues.prefix, scope, key, value);
  ctx.logger.info({ queue: job.queueName, jobId: job.id, scope, key, value, apply }, 'property set');
  const w = warnings.length ? { warnings } : {};
  if (!apply) return { scope, key, value, applied: 'none', ...w };
  if (isGlobal) {
    const run = await enqueueRebuildall(ctx.queues, (await ctx.queues.liveHosts()).sort());
    return { scope, key, value, applied: 'rebuildall', jobId: String(run.id), queue: queueName.summary, ...w };
  }
  const rebuild = await enqueueRebuild(ctx.queues, scope, host);
  return { scope, key, value, applied: 'rebuild', jobId: String(rebuild.id), queue: queueName.rebuild(host), ...w };
}

/** network:set handler, by job name. */
export const setHandlers: Record<string, ControlHandler> = { [JOB.set]: setProperty };
