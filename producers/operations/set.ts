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
import { resolveHosts, runControl, waitForJob } from '../client.js';
import { checkApp, checkHost } from './checks.js';
import type { OperationContext } from './context.js';
import { rebuildAnswer } from './rebuild.js';

/**
 * `network:set <app>|--global <key> [<value>…]` (PUT /v1/apps/:app/properties/:key, PUT
 * /v1/global/properties/:key): store a property as Dokku does, then (unless `apply` is false) apply it. A
 * property is stored once; an app's is applied on every live host where the app runs, a global one everywhere.
 */

export interface SetInput {
  /** an app, or `--global` */
  scope: string;
  key: string;
  /** the values as given; none clears the key */
  values: string[];
  /** false: only store, as Dokku does (no worker needed); true: rebuild to apply it */
  apply: boolean;
  /**
   * the one host that stores it, checks its networks and applies it (default: an app's, every live host it was
   * last seen on; global, every live host)
   */
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
  /**
   * stored by a worker of `queue`'s host, which queued the app's rebuild on each of its hosts (or the rebuildall)
   * to apply it; `applied` is their results, one per host (or the rebuildall's)
   */
  | { state: 'set'; jobId: string; queue: string; stored: SetResult; applied?: Applied };

/** What applied a set, waited for: the app's rebuild on each host (in host order), or the rebuildall. */
export type Applied = RebuildResult[] | RebuildallResult;

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
 * The hosts an app's property applies on: the live hosts it was last seen on, else (seen nowhere yet) every live
 * host, as `network:rebuild` looks for it. Seen only on hosts that no worker serves now: the first, whose
 * worker the set waits for (the others rebuild their whole host when their worker starts).
 */
async function appHosts(q: NetqQueues, app: string): Promise<string[]> {
  const hosts = await resolveHosts(q, app);
  const live = new Set(await q.liveHosts());
  const running = hosts.filter((h) => live.has(h));
  return running.length ? running : hosts.slice(0, 1);
}

/**
 * Where a set goes: the host whose worker stores the property (checking its own engine) and queues what applies
 * it, the app's hosts to rebuild, and the warnings of the other hosts (asked whether they have its networks).
 * The property is stored once: an app's by the first of its hosts, which queues a rebuild on each; a global one
 * by the first live host, which queues the rebuildall. A host named is the only one.
 */
async function setHosts(
  q: NetqQueues,
  r: Request,
  input: SetInput,
): Promise<{ host: string; hosts?: string[]; warnings: string[] }> {
  if (input.host !== undefined) return { host: input.host, warnings: [] };
  const hosts = isGlobal(input) ? (await q.liveHosts()).sort() : await appHosts(q, r.scope);
  const [first, ...others] = hosts;
  if (first === undefined) throw new NoWorkerError('no netq worker is running: start one with `netq worker`');
  const warnings: string[] = [];
  for (const other of others) warnings.push(...(await missingNetworksOn(q, other, r, input.timeoutMs)));
  return { host: first, ...(isGlobal(input) ? {} : { hosts }), warnings };
}

/** Waits for what the worker queued to apply a set: the app's rebuild on each host, or the rebuildall. */
async function waitApplied(q: NetqQueues, result: SetResult, timeoutMs: number): Promise<Applied | undefined> {
  if (result.rebuilds) {
    return Promise.all(result.rebuilds.map((j) => waitForJob<RebuildResult>(q, j.queue, j.jobId, timeoutMs)));
  }
  if (result.jobId && result.queue) return waitForJob<RebuildallResult>(q, result.queue, result.jobId, timeoutMs);
  return undefined;
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
  const { host, hosts, warnings } = await setHosts(q, r, input);
  const data = setJobSchema.parse({
    host,
    scope: r.scope,
    key: input.key,
    values: r.values,
    apply: true,
    ...(hosts ? { hosts } : {}),
  });
  const queue = queueName.control(host);
  const { jobId, result } = await runControl(q, host, JOB.set, data, {
    wait: input.wait,
    timeoutMs: input.timeoutMs,
  });
  if (!result) return { state: 'queued', jobId, queue };
  const stored = { ...result, warnings: [...(result.warnings ?? []), ...warnings] };
  const applied = await waitApplied(q, result, input.timeoutMs);
  return { state: 'set', jobId, queue, stored, ...(applied ? { applied } : {}) };
}

/** The failed containers and the hosts a rebuildall could not scan, of what applied a set. */
export function failuresOf(applied: Applied): { failed: number; hostFailures: number } {
  if (Array.isArray(applied)) return { failed: applied.reduce((n, r) => n + r.failed, 0), hostFailures: 0 };
  return { failed: applied.failed, hostFailures: applied.hostFailures.length };
}

/**
 * The answer to a set (CLI `--format json`, HTTP): what was stored, with what applied it under `result` (one
 * host's rebuild as it is, several hosts' summed with one result per host, as `network:rebuild`'s).
 */
export function setAnswer(outcome: Exclude<SetOutcome, { state: 'queued' }>) {
  const applied = outcome.state === 'set' ? outcome.applied : undefined;
  if (!applied) return { ...outcome.stored };
  const result = Array.isArray(applied) ? rebuildAnswer(outcome.stored.scope, applied) : applied;
  return { ...outcome.stored, result };
}
