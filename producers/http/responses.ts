import { z } from 'zod';
import type { NetworkDestroyResult, SetResult } from '../../src/jobs.js';
import type { NetworkFacts, RebuildallResult, RebuildResult } from '../../src/types.js';
import type { HostInfo } from '../hosts.js';
import type { ForgetResult } from '../operations/forget.js';
import type { RebuildSum } from '../operations/rebuild.js';
import type { RenameResult } from '../operations/rename.js';

/**
 * The zod schemas of the answers. Fastify serialises every answer through its route's schema, and the
 * OpenAPI document (/openapi.json) is generated from them. Each schema that stands for a result type of
 * the operations is checked against that type when compiling: a field added to the type and not here
 * fails the type check (an answer would otherwise lose it silently).
 */

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;

/** The schema as it is, when its output is exactly T; a compile error otherwise. */
const exactly =
  <T>() =>
  <S extends z.ZodType>(
    schema: S,
    ..._mismatch: Same<z.output<S>, T> extends true ? [] : [`schema is not ${string}`]
  ) =>
    schema;

export const errorSchema = z
  .object({ error: z.string().meta({ description: 'one line naming the problem' }) })
  .meta({ description: 'what went wrong' });

/** The answer of every route to an error, by status class. */
export const errorResponses = { '4xx': errorSchema, '5xx': errorSchema } as const;

const failure = z.object({ container: z.string(), reason: z.string() });

export const rebuildResultSchema = exactly<RebuildResult>()(
  z
    .object({
      app: z.string(),
      host: z.string(),
      containers: z.number().int(),
      configured: z.number().int(),
      failed: z.number().int(),
      listeners: z.record(z.string(), z.array(z.string())).meta({ description: 'process type -> ip:port' }),
      failures: z.array(failure),
      ignored: z.array(failure).optional(),
      skipped: z.string().optional(),
    })
    .meta({ description: "one host's rebuild of the app" }),
);

const rebuildSumSchema = exactly<RebuildSum>()(
  z
    .object({
      app: z.string(),
      containers: z.number().int(),
      configured: z.number().int(),
      failed: z.number().int(),
      results: z.array(rebuildResultSchema),
    })
    .meta({ description: 'an app on several hosts: the counts summed, one result per host' }),
);

/** A waited rebuild: one host's result as it is, several hosts' summed (as `netq network:rebuild --format json`). */
export const rebuildAnswerSchema = z
  .union([rebuildResultSchema, rebuildSumSchema])
  .meta({ description: 'the rebuild: of one host as it is, of several hosts summed' });

export const rebuildallResultSchema = exactly<RebuildallResult>()(
  z
    .object({
      apps: z.number().int(),
      containers: z.number().int(),
      configured: z.number().int(),
      failed: z.number().int(),
      results: z.array(rebuildResultSchema),
      hostFailures: z.array(z.object({ host: z.string(), reason: z.string() })),
    })
    .meta({ description: 'the summary of the run: every app of every live host' }),
);

const queuedJob = z.object({
  jobId: z.string(),
  queue: z.string().meta({ description: 'for GET /v1/jobs/:id?queue=…' }),
});
/** `wait=false`: the job queued. */
export const queuedSchema = queuedJob.meta({ description: 'the job queued (wait=false)' });
/** `wait=false` of a rebuild: its job, or with several hosts one job per host. */
export const queuedRebuildSchema = z
  .union([
    queuedSchema,
    z.object({ jobs: z.array(queuedJob) }).meta({ description: 'one job per host (an app on several hosts)' }),
  ])
  .meta({ description: 'the rebuild queued (wait=false): its job, or one job per host' });

const setResultSchema = exactly<SetResult>()(
  z.object({
    scope: z.string().meta({ description: 'the app, or --global' }),
    key: z.string(),
    value: z.string().meta({ description: "the value stored; '' when cleared" }),
    applied: z.enum(['rebuild', 'rebuildall', 'none']),
    jobId: z.string().optional().meta({ description: 'applied rebuildall: its run id' }),
    queue: z.string().optional(),
    rebuilds: z
      .array(z.object({ host: z.string(), jobId: z.string(), queue: z.string() }))
      .optional()
      .meta({ description: "applied rebuild: the app's rebuild on each host where it runs" }),
    warnings: z.array(z.string()).optional(),
  }),
);
/** What a set stored, with the applied rebuild (of one host, or the sum of several) or rebuildall under `result`. */
export const setAnswerSchema = setResultSchema
  .extend({ result: z.union([rebuildResultSchema, rebuildSumSchema, rebuildallResultSchema]).optional() })
  .meta({
    description:
      'what was stored, with what applied it under `result`: the rebuild of one host, the sum of several ' +
      'hosts with one result per host, or the rebuildall',
  });

/** `network:report --format json-by-app` of one app (or --global): Dokku's keys, with netq's drift. */
export const reportSchema = z
  .record(z.string(), z.string())
  .meta({ description: "Dokku's report keys and values, with netq's drift" });
export const reportsByAppSchema = z.record(z.string(), reportSchema).meta({ description: 'app -> its report' });

export const networkFactsSchema = exactly<NetworkFacts>()(
  z
    .object({
      name: z.string(),
      id: z.string(),
      driver: z.string(),
      scope: z.string(),
      internal: z.boolean(),
      ipv6: z.boolean(),
      attachable: z.boolean(),
      labels: z.record(z.string(), z.string()),
      containers: z.array(z.object({ id: z.string(), name: z.string(), ipv4: z.string() })),
      created: z.string(),
    })
    .meta({ description: 'the network, as the worker of its host sees it' }),
);

/** A network as Dokku's `network:info --format json` and `network:list --format json` show it. */
export const dokkuNetworkSchema = z
  .object({
    CreatedAt: z.string(),
    DokkuManaged: z.boolean(),
    Driver: z.string(),
    ID: z.string(),
    Internal: z.boolean(),
    IPv6: z.boolean(),
    Labels: z.record(z.string(), z.string()),
    Name: z.string(),
    Scope: z.string(),
  })
  .meta({ description: 'a network as Dokku shows it' });

export const networkDestroySchema = exactly<NetworkDestroyResult>()(
  z
    .object({
      network: z.string(),
      id: z.string(),
      removed: z.boolean().meta({ description: 'false when a retry found it already gone' }),
    })
    .meta({ description: 'the network destroyed' }),
);

export const networkExistsSchema = z
  .object({ network: z.string(), exists: z.boolean() })
  .meta({ description: 'whether the network exists' });

export const forgetSchema = exactly<ForgetResult>()(
  z
    .object({ app: z.string(), forgotten: z.boolean().meta({ description: 'false: nothing was stored' }) })
    .meta({ description: 'what was forgotten' }),
);
export const renameSchema = exactly<RenameResult>()(
  z
    .object({ from: z.string(), to: z.string(), properties: z.number().int().meta({ description: 'how many moved' }) })
    .meta({ description: 'what was moved' }),
);

export const hostInfoSchema = exactly<HostInfo>()(
  z.object({
    host: z.string(),
    live: z.boolean(),
    workers: z.number().int(),
    apps: z.number().int(),
    lastHeartbeat: z.number().meta({ description: "ms since the epoch, by Redis's clock" }),
    watchers: z.array(z.enum(['connecting', 'connected', 'disconnected', 'stopped'])),
  }),
);

export const hostsSchema = z
  .array(hostInfoSchema)
  .meta({ description: 'every host heard from in the last day, by name' });
export const dokkuNetworksSchema = z.array(dokkuNetworkSchema).meta({ description: "the host's networks, by name" });

export const jobSchema = z
  .object({
    id: z.string(),
    queue: z.string(),
    name: z.string(),
    state: z.string(),
    returnvalue: z.unknown().meta({ description: "the job's result (a rebuild, a summary, …), or null" }),
    failedReason: z.string().nullable(),
    attemptsMade: z.number().int(),
    timestamp: z.number(),
    processedOn: z.number().nullable(),
    finishedOn: z.number().nullable(),
  })
  .meta({ description: 'the job' });
