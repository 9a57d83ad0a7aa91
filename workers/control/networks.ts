import type { Job } from 'bullmq';
import type { z } from 'zod';
import { isDockerNetwork } from '../../src/docker/networks.js';
import { BadInputError, dockerStatus } from '../../src/errors.js';
import {
  JOB,
  type NetworkDestroyResult,
  type NetworkExistsResult,
  type NetworkJob,
  type NetworkListJob,
  networkJobSchema,
  networkListJobSchema,
} from '../../src/jobs.js';
import type { NetworkFacts } from '../../src/types.js';
import type { ControlHandlers, WorkerContext } from '../context.js';
import { parseJobData } from '../jobData.js';

/** The label Dokku puts on the networks it creates; `network:list --managed` shows only these. */
export const LABEL_NETWORK_NAME = 'com.dokku.network-name';
export const LABEL_NETWORK_CREATED_BY = 'com.dokku.network-created-by';

/** Parses a job's payload again on the worker side: anything that did not come from our producers gets the same checks. */
const parse = <S extends z.ZodType>(schema: S, ctx: WorkerContext, job: Job): z.infer<S> =>
  parseJobData(job, job.name, schema, ctx.config.hostId);

/**
 * The network of exactly this name. Docker resolves `network inspect X` by id, then name, then id
 * prefix: a name that happens to be another network's id prefix must not count as existing.
 */
async function findNetwork(ctx: WorkerContext, name: string): Promise<NetworkFacts | undefined> {
  const found = await ctx.docker.inspectNetwork(name);
  return found?.name === name ? found : undefined;
}

function refuseDockerNetwork(name: string, action: string): void {
  if (isDockerNetwork(name)) {
    throw new BadInputError(`cannot ${action} ${name}: it is one of Docker's own networks`);
  }
}

/**
 * A refusal of the engine as the `docker` CLI prints it (`Error response from daemon: <message>`), which is
 * what Dokku's `network:create|destroy` pass on after `Unable to create network: `. Anything that is not
 * an answer of the engine (unreachable, a bug) is left alone.
 */
function daemonRefusal(err: unknown): BadInputError | undefined {
  const status = dockerStatus(err);
  if (status === undefined || status >= 500) return undefined;
  const json = (err as { json?: unknown }).json;
  let message: unknown = (json as { message?: unknown } | null)?.message;
  if (typeof json === 'string') {
    try {
      message = (JSON.parse(json) as { message?: unknown }).message;
    } catch {
      message = json;
    }
  }
  const text = typeof message === 'string' && message.trim() !== '' ? message.trim() : (err as Error).message;
  return new BadInputError(`Error response from daemon: ${text}`, { cause: err });
}

/**
 * A retry of a create whose first try may have made the network before losing the engine: a
 * network that netq labelled, created no earlier than the job, is taken as this job's own.
 */
const CREATE_CLOCK_SLACK_MS = 60_000;
function madeByEarlierTry(job: Job, facts: NetworkFacts): boolean {
  if (job.attemptsMade === 0) return false;
  if (facts.labels[LABEL_NETWORK_CREATED_BY] !== 'netq' || facts.labels[LABEL_NETWORK_NAME] !== facts.name)
    return false;
  const created = Date.parse(facts.created);
  return Number.isFinite(created) && created >= job.timestamp - CREATE_CLOCK_SLACK_MS;
}

/**
 * `docker network create --attachable --label com.dokku.network-name=<net> <net>` as Dokku runs it, plus
 * netq's `com.dokku.network-created-by=netq` (and the worker's scope label). A name already taken is
 * refused by the engine itself, so the failure reads as Docker's (`network with name <net> already exists`).
 */
async function create(ctx: WorkerContext, job: Job): Promise<NetworkFacts> {
  const data: NetworkJob = parse(networkJobSchema, ctx, job);
  const name = data.network;
  refuseDockerNetwork(name, 'create network');
  const existing = await findNetwork(ctx, name);
  if (existing && madeByEarlierTry(job, existing)) return existing;
  const labels: Record<string, string> = { [LABEL_NETWORK_NAME]: name, [LABEL_NETWORK_CREATED_BY]: 'netq' };
  // a worker scoped to a label (an engine shared with others, or a test run) marks what it makes
  const scope = ctx.config.scopeLabel;
  if (scope !== undefined) {
    const at = scope.indexOf('=');
    labels[scope.slice(0, at)] = scope.slice(at + 1);
  }
  try {
    const made = await ctx.docker.createNetwork(name, labels);
    ctx.logger.info({ network: name, id: made.id, jobId: job.id }, 'network created');
    return made;
  } catch (err) {
    // a name taken (409), a bad option (400), a predefined network (403): the engine's own words
    throw daemonRefusal(err) ?? err;
  }
}

/**
 * `docker network rm <net>` as Dokku runs it, but of the network of exactly this name (the CLI would also
 * take an id or an id prefix). The engine refuses a network with attached containers itself.
 */
async function destroy(ctx: WorkerContext, job: Job): Promise<NetworkDestroyResult> {
  const data: NetworkJob = parse(networkJobSchema, ctx, job);
  const name = data.network;
  const facts = await findNetwork(ctx, name);
  if (!facts) {
    // a retry: the network was there when the first try looked, so it is gone as asked
    if (job.attemptsMade > 0) return { network: name, id: '', removed: false };
    // the engine's words for a network it does not have
    throw new BadInputError(`Error response from daemon: network ${name} not found`);
  }
  try {
    await ctx.docker.removeNetwork(facts.id);
  } catch (err) {
    if (dockerStatus(err) === 404) {
      if (job.attemptsMade > 0) return { network: name, id: facts.id, removed: false };
      throw new BadInputError(`Error response from daemon: network ${name} not found`, { cause: err });
    }
    // "has active endpoints" (a container is attached), "pre-defined network": the engine's own words
    throw daemonRefusal(err) ?? err;
  }
  ctx.logger.info({ network: name, id: facts.id, jobId: job.id }, 'network destroyed');
  return { network: name, id: facts.id, removed: true };
}

async function exists(ctx: WorkerContext, job: Job): Promise<NetworkExistsResult> {
  const data: NetworkJob = parse(networkJobSchema, ctx, job);
  return (await findNetwork(ctx, data.network)) !== undefined;
}

/** The network of exactly this name, or null when there is none (`network:info` says so as Dokku does). */
async function info(ctx: WorkerContext, job: Job): Promise<NetworkFacts | null> {
  const data: NetworkJob = parse(networkJobSchema, ctx, job);
  return (await findNetwork(ctx, data.network)) ?? null;
}

async function list(ctx: WorkerContext, job: Job): Promise<NetworkFacts[]> {
  const data: NetworkListJob = parse(networkListJobSchema, ctx, job);
  const all = await ctx.docker.listNetworks();
  return data.managed ? all.filter((n) => Object.hasOwn(n.labels, LABEL_NETWORK_NAME)) : all;
}

/** network:create|destroy|exists|info|list handlers, by job name. */
export const networkHandlers: ControlHandlers<
  | typeof JOB.networkCreate
  | typeof JOB.networkDestroy
  | typeof JOB.networkExists
  | typeof JOB.networkInfo
  | typeof JOB.networkList
> = {
  [JOB.networkCreate]: create,
  [JOB.networkDestroy]: destroy,
  [JOB.networkExists]: exists,
  [JOB.networkInfo]: info,
  [JOB.networkList]: list,
};
