import { z } from 'zod';
import { appNameSchema } from './appName.js';
import type { RebuildallResult, RebuildResult } from './types.js';

/**
 * The job registry: for every job its name, its queue, its payload schema, its result type, and the builders
 * and parsers of its job ids and queue names. Producers parse a payload before they enqueue it and each
 * processor parses it again at its top (parseJobData), so a payload put into Redis by anything else gets the
 * same checks. Nothing else builds or slices a job id or a queue name.
 */

export const JOB = {
  rebuild: 'rebuild',
  scan: 'scan',
  summary: 'summary',
  set: 'set',
  networkCreate: 'network-create',
  networkDestroy: 'network-destroy',
  networkExists: 'network-exists',
  networkInfo: 'network-info',
  networkList: 'network-list',
} as const;

/** Queue names. Jobs that touch Docker go to their host's queues; the summary queue is shared. */
export const queueName = {
  /** rebuild jobs (JOB.rebuild) of one host */
  rebuild: (host: string) => `rebuild.${host}`,
  /** a rebuildall's scan job (JOB.scan) of one host */
  scan: (host: string) => `scan.${host}`,
  /** set-property and network:* jobs, which need the host's Docker engine */
  control: (host: string) => `control.${host}`,
  /** a rebuildall's summary job (JOB.summary), the root of its tree */
  summary: 'summary',
} as const;

export type QueueKind = 'rebuild' | 'scan' | 'control' | 'summary';

/** What a queue name says: its kind and, for a host's queue, the host; undefined when it is none of netq's. */
export function parseQueueName(name: string): { kind: QueueKind; host?: string } | undefined {
  if (name === queueName.summary) return { kind: 'summary' };
  const m = /^(rebuild|scan|control)\.([a-z0-9][a-z0-9-]{0,62})$/.exec(name);
  return m ? { kind: m[1] as QueueKind, host: m[2] as string } : undefined;
}

/**
 * Job ids inside a rebuildall run: fixed, so that a re-run adds no second job. Run ids and host ids hold no
 * `.` (an app name may), so the parts split back without ambiguity.
 */
export const jobId = {
  /** the scan of one host in a run */
  scan: (runId: string, host: string) => `${runId}.${host}`,
  /** the rebuild of one app on one host in a run */
  runChild: (runId: string, host: string, app: string) => `${runId}.${host}.${app}`,
  /** the summary of a run */
  summary: (runId: string) => runId,
};

/** The parts of a run's scan job id, or undefined. */
export function parseScanJobId(id: string): { runId: string; host: string } | undefined {
  const m = /^([^.]+)\.([^.]+)$/.exec(id);
  return m ? { runId: m[1] as string, host: m[2] as string } : undefined;
}

/** The parts of a run's rebuild job id (jobId.runChild), or undefined for an id of another kind. */
export function parseRunChildJobId(id: string): { runId: string; host: string; app: string } | undefined {
  const m = /^([^.]+)\.([^.]+)\.(.+)$/.exec(id);
  return m ? { runId: m[1] as string, host: m[2] as string, app: m[3] as string } : undefined;
}

/** The job id in a BullMQ job key (`<prefix>:<queue>:<id>`), as getDependencies and failure maps give them. */
export const jobIdOfKey = (key: string) => key.slice(key.lastIndexOf(':') + 1);

export const hostIdSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'host id must be lowercase letters, digits and "-"');
const runIdSchema = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'run id must be 1-64 letters, digits, "_" or "-"');
const containerIdSchema = z.string().regex(/^[a-f0-9]{12,64}$/, 'container id must be 12-64 hex digits');

/**
 * zod's records skip an own `__proto__` key (what JSON.parse makes of `{"__proto__": …}`) instead of
 * refusing it: a payload carrying one is refused here, so that it fails rather than runs without it.
 */
function refuseProtoKey(value: unknown, ctx: z.RefinementCtx): unknown {
  if (typeof value === 'object' && value !== null && Object.hasOwn(value, '__proto__')) {
    ctx.addIssue({ code: 'custom', message: 'key "__proto__" is not allowed', input: value });
  }
  return value;
}

export const rebuildJobSchema = z.strictObject({
  app: appNameSchema,
  host: hostIdSchema,
  /** when part of a rebuildall: the run it belongs to */
  runId: runIdSchema.optional(),
  /** the containers the host's scan saw, so the job need not list the whole engine again */
  containerIds: z.array(containerIdSchema).max(10_000).optional(),
  /** the app's event count when the scan listed it: a job whose app saw events since lists afresh */
  eventSeq: z.number().int().min(0).optional(),
});
export type RebuildJob = z.infer<typeof rebuildJobSchema>;

export const scanJobSchema = z.strictObject({
  host: hostIdSchema,
  runId: runIdSchema,
  /** process step, kept in the job so a re-run after a stall does not add children twice */
  step: z.enum(['initial', 'waiting']).default('initial'),
  /** app -> container names the scan saw, to count them as failed if the app's job fails for good */
  seen: z.preprocess(refuseProtoKey, z.record(appNameSchema, z.array(z.string().max(255)).max(10_000))).optional(),
  /**
   * set by the host reaper when the host's workers were gone before the scan listed anything: why; `seen`
   * then holds the apps and containers of the host's last rebuilds, each counted as failed
   */
  unscanned: z.string().max(2000).optional(),
  /** containers whose app label is not a valid app name: counted as failed, never silently skipped */
  refused: z
    .array(z.strictObject({ label: z.string().max(100), container: z.string().max(255), reason: z.string().max(500) }))
    .max(10_000)
    .optional(),
});
export type ScanJob = z.infer<typeof scanJobSchema>;

export const summaryJobSchema = z.strictObject({
  runId: runIdSchema,
  hosts: z.array(hostIdSchema).max(1000),
});
export type SummaryJob = z.infer<typeof summaryJobSchema>;

/** The string cut to at most max characters, an ellipsis marking a cut. */
export const clip = (s: string, max: number) => (s.length <= max ? s : `${s.slice(0, max - 1)}…`);

/**
 * First issue of a zod error, naming the field: `app: app name is empty`. Bounded, since a message can
 * quote the input (`Unrecognized key: "<a 1 MB key>"`) and ends up in failedReason, logs and replies.
 */
export function describeZodError(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid payload';
  const where = issue.path.length ? `${issue.path.map((p) => clip(String(p), 64)).join('.')}: ` : '';
  return clip(`${where}${issue.message}`.replace(/[\r\n]+/g, ' '), 240);
}

/**
 * Docker's network name rule (`[a-zA-Z0-9][a-zA-Z0-9_.-]*`), bounded; also what DNS would accept
 * once lowercased. `host`, `bridge` and `none` are Docker's own.
 */
export const networkNameSchema = z
  .string({ error: 'network name must be a string' })
  .min(1, 'network name is empty')
  .max(64, 'network name is longer than 64 characters')
  .regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/, 'network name must match ^[a-zA-Z0-9][a-zA-Z0-9_.-]*$')
  .refine((s) => !s.includes('..'), 'network name must not contain ".."');

/** One schema for the network:* jobs that name a network. */
export const networkJobSchema = z.strictObject({
  host: hostIdSchema,
  network: networkNameSchema,
  force: z.boolean().optional(),
});
export type NetworkJob = z.infer<typeof networkJobSchema>;

export const networkListJobSchema = z.strictObject({
  host: hostIdSchema,
  managed: z.boolean().optional(),
});
export type NetworkListJob = z.infer<typeof networkListJobSchema>;

/** `network:set`: scope is an app name or `--global`; no values clears the key. */
export const setJobSchema = z.strictObject({
  host: hostIdSchema,
  scope: z.union([z.literal('--global'), appNameSchema]),
  key: z.string().max(64),
  values: z.array(z.string().max(1024)).max(64),
  /** false: only store; true: queue a rebuild of the app (or of every app) so the change is applied */
  apply: z.boolean(),
});
export type SetJob = z.infer<typeof setJobSchema>;

export interface SetResult {
  scope: string;
  key: string;
  /** the stored value; '' when cleared */
  value: string;
  /** what was queued to apply it */
  applied: 'rebuild' | 'rebuildall' | 'none';
  /** the queued job (for rebuildall: the run id) and its queue */
  jobId?: string;
  queue?: string;
  /** what was stored but will not work as it is (a network that does not exist yet on the host) */
  warnings?: string[];
}

/** What a scan job (one host of a rebuildall) returns to its summary. */
export interface ScanResult {
  host: string;
  results: RebuildResult[];
  /** why the host was not scanned in this run (its apps are those of its last rebuilds, all failed) */
  unscanned?: string;
}

/** What `network:destroy` returns. */
export interface NetworkDestroyResult {
  network: string;
  id: string;
  /** false when a retry found the network already gone (the first try, or someone else, removed it) */
  removed: boolean;
}

/** What `network:exists` returns. */
export type NetworkExistsResult = boolean;

/** The result type of each job, by job name. */
export interface JobResults {
  rebuild: RebuildResult;
  scan: ScanResult;
  summary: RebuildallResult;
  set: SetResult;
  'network-destroy': NetworkDestroyResult;
  'network-exists': NetworkExistsResult;
}
