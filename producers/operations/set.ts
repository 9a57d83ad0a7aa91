import type { Config } from '../../src/config.js';
import { appExists, isDeployed } from '../../src/dokku/dokkuState.js';
import { readDokkuProperties, writePropertyFile } from '../../src/dokku/propertyFiles.js';
import { AppDoesNotExistError, NoWorkerError } from '../../src/errors.js';
import { JOB, networkJobSchema, queueName, type SetResult, setJobSchema } from '../../src/jobs.js';
import { GLOBAL_SCOPE, networksToCheck, type PropertyKey } from '../../src/properties/properties.js';
import { attachConflict, OTHER_PHASE, validateProperty } from '../../src/properties/validateProperty.js';
import type { NetqQueues } from '../../src/queue.js';
import { readProperties, writeProperty } from '../../src/store/propertyStore.js';
import type { RebuildallResult, RebuildResult } from '../../src/types.js';
import { hostForCommand, resolveHost, runControl, waitForJob } from '../client.js';
import { checkApp, checkHost } from './checks.js';
import type { OperationContext } from './context.js';

/**
 * `network:set <app>|--global <key> [<value>…]` (PUT /v1/apps/:app/properties/:key, PUT
 * /v1/global/properties/:key): store a property as Dokku does, then (unless `apply` is false) apply it.
 */

export interface SetInput {
  /** an app, or `--global` */
  scope: string;
  key: string;
  /** the values as given; none clears the key */
  values: string[];
  /** false: only store, as Dokku does (no worker needed); true: rebuild to apply it */
  apply: boolean;
  /** the host whose worker stores it and checks its networks (default: where the app was last seen; global: every live host) */
  host?: string;
  /** false: only enqueue the set job */
  wait: boolean;
  timeoutMs: number;
}

/** What a set did. */
export type SetOutcome =
  /** `wait` false: the set job is queued */
  | { state: 'queued'; jobId: string; queue: string }
  /** stored here, without a worker; `idle` says why nothing was applied */
  | { state: 'stored'; stored: SetResult; idle: string }
  /** stored by a worker of `queue`'s host, which queued a rebuild (or rebuildall) to apply it; `applied` is its result */
  | { state: 'set'; jobId: string; queue: string; stored: SetResult; applied?: RebuildResult | RebuildallResult };

interface Request {
  scope: string;
  key: PropertyKey;
  value: string;
  /** the values as given (the worker validates them again) */
  values: string[];
}

const isGlobal = (input: { scope: string }) => input.scope === GLOBAL_SCOPE;

/**
 * The checks before anything connects: the app (a missing app first, as Dokku's VerifyAppName: exit 20 whatever
 * else is wrong), the key and values (Dokku's messages), the host.
 */
async function checkSet(ctx: OperationContext, input: SetInput): Promise<Request> {
  if (!isGlobal(input)) {
    checkApp(input.scope);
    const dokku = ctx.config.dokku;
    if (dokku && !(await appExists(dokku, input.scope))) throw new AppDoesNotExistError(input.scope);
  }
  const { key, value } = validateProperty(isGlobal(input) ? 'global' : 'app', input.key, input.values);
  checkHost(input.host, ctx.hostInput);
  return { scope: input.scope, key, value, values: input.values };
}

/** The warning for each network of the value that another live host does not have yet (asked of its worker). */
async function missingNetworksOn(q: NetqQueues, host: string, r: Request, timeoutMs: number): Promise<string[]> {
  const warnings: string[] = [];
  for (const network of networksToCheck(r.key, r.value)) {
    const data = networkJobSchema.parse({ host, network });
    const { result } = await runControl(q, host, JOB.networkExists, data, {
      wait: true,
      timeoutMs,
    });
    if (!result) {
      warnings.push(
        `Network ${network} does not exist on host ${host} yet: create it (netq network:create ${network}) before it is applied`,
      );
    }
  }
  return warnings;
}

/**
 * Stores a property without a worker (`apply` false, or nothing to apply): in Dokku mode in Dokku's files (the
 * truth) and Redis's mirror, else in Redis. The other attach phase is checked first, as the worker does.
 */
async function storeHere(config: Config, q: NetqQueues, r: Request): Promise<void> {
  const stored = config.dokku
    ? await readDokkuProperties(config.dokku, r.scope)
    : await readProperties(q.redis, q.keys, r.scope);
  if (r.value !== '' && (r.key === 'attach-post-create' || r.key === 'attach-post-deploy')) {
    const other = OTHER_PHASE[r.key];
    const own = r.scope === GLOBAL_SCOPE ? stored.global : stored.app;
    attachConflict(r.key, r.value, own[other] || stored.global[other] || '');
  }
  if (config.dokku) await writePropertyFile(config.dokku, r.scope, r.key, r.value);
  await writeProperty(q.redis, q.keys, r.scope, r.key, r.value);
}

/**
 * Why a set needs no rebuild: an app Dokku has not deployed (nothing runs), or a global value with no worker
 * anywhere (the next rebuild of each app applies it). Anything else is applied by a worker.
 */
async function nothingToApply(config: Config, q: NetqQueues, r: Request): Promise<string | undefined> {
  if (r.scope === GLOBAL_SCOPE) return (await q.liveHosts()).length === 0 ? 'no netq worker is running' : undefined;
  if (config.dokku && !(await isDeployed(config.dokku, r.scope))) return `${r.scope} is not deployed`;
  return undefined;
}

/**
 * The host whose worker stores the property, with the warnings of the other hosts. A global property applies on
 * every host: unless one is named, the first live host stores it (checking its own engine) and queues the
 * rebuildall, and the others are asked whether they have its networks.
 */
async function storingHost(
  ctx: OperationContext,
  q: NetqQueues,
  r: Request,
  input: SetInput,
): Promise<{ host: string; warnings: string[] }> {
  if (!isGlobal(input)) return { host: await resolveHost(q, r.scope, input.host, ctx.hostInput), warnings: [] };
  if (input.host !== undefined) return { host: await hostForCommand(q, input.host, ctx.hostInput), warnings: [] };
  const [first, ...others] = (await q.liveHosts()).sort();
  if (first === undefined) throw new NoWorkerError('no netq worker is running: start one with `netq worker`');
  const warnings: string[] = [];
  for (const other of others) warnings.push(...(await missingNetworksOn(q, other, r, input.timeoutMs)));
  return { host: first, warnings };
}

/** Stores a property of an app or `--global`, then applies it (a rebuild, or a rebuildall) unless told not to. */
export async function set(ctx: OperationContext, input: SetInput): Promise<SetOutcome> {
  const r = await checkSet(ctx, input);
  const q = await ctx.queues();
  const idle = input.apply ? await nothingToApply(ctx.config, q, r) : 'not asked to apply it';
  if (idle !== undefined) {
    await storeHere(ctx.config, q, r);
    return { state: 'stored', stored: { scope: r.scope, key: r.key, value: r.value, applied: 'none' }, idle };
  }
  const { host, warnings } = await storingHost(ctx, q, r, input);
  const data = setJobSchema.parse({ host, scope: r.scope, key: input.key, values: r.values, apply: true });
  const queue = queueName.control(host);
  const { jobId, result } = await runControl(q, host, JOB.set, data, {
    wait: input.wait,
    timeoutMs: input.timeoutMs,
  });
  if (!result) return { state: 'queued', jobId, queue };
  const stored = { ...result, warnings: [...(result.warnings ?? []), ...warnings] };
  if (!result.jobId || !result.queue) return { state: 'set', jobId, queue, stored };
  const applied = await waitForJob<RebuildResult | RebuildallResult>(q, result.queue, result.jobId, input.timeoutMs);
  return { state: 'set', jobId, queue, stored, applied };
}

/** The answer to a set (CLI `--format json`, HTTP): what was stored, with the applied rebuild under `result`. */
export function setAnswer(outcome: Exclude<SetOutcome, { state: 'queued' }>) {
  const applied = outcome.state === 'set' ? outcome.applied : undefined;
  return { ...outcome.stored, ...(applied ? { result: applied } : {}) };
}
