import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { appNameSchema } from './appName.js';
import { HOST_ID_SOURCE as HOST_ID, hostIdSchema } from './hostId.js';
import type { NetworkFacts, RebuildallResult, RebuildResult } from './types.js';

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

/** A job's name (`JOB.…`). */
export type JobName = (typeof JOB)[keyof typeof JOB];

export type QueueKind = 'rebuild' | 'scan' | 'control' | 'summary';

/** The kind of queue each job goes to: the one mapping of jobs to queues (queueOf). */
export const JOB_QUEUE = {
  [JOB.rebuild]: 'rebuild',
  [JOB.scan]: 'scan',
  [JOB.summary]: 'summary',
  [JOB.set]: 'control',
  [JOB.networkCreate]: 'control',
  [JOB.networkDestroy]: 'control',
  [JOB.networkExists]: 'control',
  [JOB.networkInfo]: 'control',
  [JOB.networkList]: 'control',
} as const satisfies Record<JobName, QueueKind>;

/** The jobs of a host's control queue (set-property and network:*), which need the host's Docker engine. */
export type ControlJobName = { [K in JobName]: (typeof JOB_QUEUE)[K] extends 'control' ? K : never }[JobName];

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

/** Every queue of these hosts (rebuild, scan, control of each), and the shared summary queue first. */
export const queueNamesOf = (hosts: string[]) => [
  queueName.summary,
  ...hosts.flatMap((h) => [queueName.rebuild(h), queueName.scan(h), queueName.control(h)]),
];

/** The queue a job of this name goes to for a host (a summary: the shared queue, whatever the host). */
export function queueOf(name: JobName, host: string): string {
  const kind = JOB_QUEUE[name];
  return kind === 'summary' ? queueName.summary : queueName[kind](host);
}

/** Every name queueName makes: `rebuild.<host>`, `scan.<host>`, `control.<host>` or `summary`. */
export const QUEUE_NAME_PATTERN = new RegExp(`^(?:(rebuild|scan|control)\\.(${HOST_ID})|summary)$`);

/** What a queue name says: its kind and, for a host's queue, the host; undefined when it is none of netq's. */
export function parseQueueName(name: string): { kind: QueueKind; host?: string } | undefined {
  const m = QUEUE_NAME_PATTERN.exec(name);
  if (!m) return undefined;
  return m[1] === undefined ? { kind: 'summary' } : { kind: m[1] as QueueKind, host: m[2] as string };
}

/**
 * Job ids. Those of a rebuildall run are fixed, so that a re-run adds no second job; a merged rebuild is
 * numbered by its app's counter (in enqueue.ts's script, after `jobId.rebuildPrefix`); a later rebuild is one
 * job per second. Run ids and host ids hold no `.` (an app name may, but only as the last part, or before a
 * number), so the parts split back without ambiguity. Control jobs have BullMQ's own ids (a counter per queue).
 */
export const jobId = {
  /** a merged rebuild request of an app on a host: the prefix, then the app's generation number */
  rebuildPrefix: (host: string, app: string) => `${REBUILD_WORD}.${host}.${app}.`,
  /** a merged rebuild request of an app on a host, with its generation number */
  rebuild: (host: string, app: string, n: number) => `${jobId.rebuildPrefix(host, app)}${n}`,
  /** a rebuild asked for later (a failed replacement's next try): one per app, host and second */
  later: (host: string, app: string, second: number) => `${LATER_WORD}.${host}.${app}.${second}`,
  /** the scan of one host in a run */
  scan: (runId: string, host: string) => `${runId}.${host}`,
  /** the rebuild of one app on one host in a run */
  runChild: (runId: string, host: string, app: string) => `${runId}.${host}.${app}`,
  /** the summary of a run: the run id itself */
  summary: (runId: string) => runId,
};

/** The first words of the merged and the later rebuilds' ids: never taken as a run id by the parsers. */
const REBUILD_WORD = 'rb';
const LATER_WORD = 'later';

/** A new run id: `run-<ms, base 36>-<8 hex digits>` (the summary's job id, and the first part of its children's). */
export const newRunId = (now = Date.now()) => `run-${now.toString(36)}-${randomBytes(4).toString('hex')}`;

const RUN_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
const isRunId = (s: string) => RUN_ID_PATTERN.test(s) && s !== REBUILD_WORD && s !== LATER_WORD;
const isAppName = (s: string) => appNameSchema.safeParse(s).success;
const HOST_APP_NUMBER = new RegExp(`^(${HOST_ID})\\.(.+)\\.(\\d{1,16})$`);

/** `<host>.<app>.<number>` after `word.`, for the rebuild and later ids. */
function parseHostAppNumber(id: string, word: string): { host: string; app: string; n: number } | undefined {
  if (!id.startsWith(`${word}.`)) return undefined;
  const m = HOST_APP_NUMBER.exec(id.slice(word.length + 1));
  return m && isAppName(m[2] as string) ? { host: m[1] as string, app: m[2] as string, n: Number(m[3]) } : undefined;
}

/** The parts of a merged rebuild's id (jobId.rebuild), or undefined for an id of another kind. */
export function parseRebuildJobId(id: string): { host: string; app: string; n: number } | undefined {
  return parseHostAppNumber(id, REBUILD_WORD);
}

/** The parts of a later rebuild's id (jobId.later), or undefined for an id of another kind. */
export function parseLaterJobId(id: string): { host: string; app: string; second: number } | undefined {
  const p = parseHostAppNumber(id, LATER_WORD);
  return p && { host: p.host, app: p.app, second: p.n };
}

const SCAN_ID = new RegExp(`^([^.]+)\\.(${HOST_ID})$`);
/** The parts of a run's scan job id (jobId.scan), or undefined. */
export function parseScanJobId(id: string): { runId: string; host: string } | undefined {
  const m = SCAN_ID.exec(id);
  return m && isRunId(m[1] as string) ? { runId: m[1] as string, host: m[2] as string } : undefined;
}

const RUN_CHILD_ID = new RegExp(`^([^.]+)\\.(${HOST_ID})\\.(.+)$`);
/** The parts of a run's rebuild job id (jobId.runChild), or undefined for an id of another kind. */
export function parseRunChildJobId(id: string): { runId: string; host: string; app: string } | undefined {
  const m = RUN_CHILD_ID.exec(id);
  if (!m || !isRunId(m[1] as string) || !isAppName(m[3] as string)) return undefined;
  return { runId: m[1] as string, host: m[2] as string, app: m[3] as string };
}

/** The run of a summary's job id (jobId.summary), or undefined. */
export function parseSummaryJobId(id: string): { runId: string } | undefined {
  return isRunId(id) ? { runId: id } : undefined;
}

/** What a job id says, read with the queue it is in (a control job's id is BullMQ's counter). */
export type ParsedJobId =
  | { kind: 'rebuild'; host: string; app: string; n: number }
  | { kind: 'later'; host: string; app: string; second: number }
  | { kind: 'runChild'; runId: string; host: string; app: string }
  | { kind: 'scan'; runId: string; host: string }
  | { kind: 'summary'; runId: string }
  | { kind: 'control'; host: string; n: number };

/**
 * The parts of a job id in its queue, or undefined when netq makes no such id for that queue (an id of
 * another kind, or naming another host than the queue's).
 */
export function parseJobId(queue: string, id: string): ParsedJobId | undefined {
  const q = parseQueueName(queue);
  if (q === undefined) return undefined;
  if (q.kind === 'summary') {
    const s = parseSummaryJobId(id);
    return s && { kind: 'summary', ...s };
  }
  const parsed = parseHostJobId(q.kind, id, q.host as string);
  return parsed && 'host' in parsed && parsed.host === q.host ? parsed : undefined;
}

function parseHostJobId(kind: Exclude<QueueKind, 'summary'>, id: string, host: string): ParsedJobId | undefined {
  if (kind === 'control') return /^[1-9]\d{0,15}$/.test(id) ? { kind: 'control', host, n: Number(id) } : undefined;
  if (kind === 'scan') {
    const s = parseScanJobId(id);
    return s && { kind: 'scan', ...s };
  }
  const rebuild = parseRebuildJobId(id);
  if (rebuild) return { kind: 'rebuild', ...rebuild };
  const later = parseLaterJobId(id);
  if (later) return { kind: 'later', ...later };
  const child = parseRunChildJobId(id);
  return child && { kind: 'runChild', ...child };
}

/** The job id in a BullMQ job key (`<prefix>:<queue>:<id>`), as getDependencies and failure maps give them. */
export const jobIdOfKey = (key: string) => key.slice(key.lastIndexOf(':') + 1);

const runIdSchema = z.string().regex(RUN_ID_PATTERN, 'run id must be 1-64 letters, digits, "_" or "-"');
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
  /** an app's: the hosts whose rebuild applies it, one job each (default: `host` alone, which stores it) */
  hosts: z.array(hostIdSchema).min(1).max(1000).optional(),
});
export type SetJob = z.infer<typeof setJobSchema>;

export interface SetResult {
  scope: string;
  key: string;
  /** the stored value; '' when cleared */
  value: string;
  /** what was queued to apply it */
  applied: 'rebuild' | 'rebuildall' | 'none';
  /** `rebuildall`: the queued run (its id) and its queue */
  jobId?: string;
  queue?: string;
  /** `rebuild`: the app's rebuild on each host where it runs, in host order */
  rebuilds?: { host: string; jobId: string; queue: string }[];
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

/** The result type of each job, by job name: what its processor returns, and what a waiter gets. */
export interface JobResults {
  [JOB.rebuild]: RebuildResult;
  [JOB.scan]: ScanResult;
  [JOB.summary]: RebuildallResult;
  [JOB.set]: SetResult;
  [JOB.networkCreate]: NetworkFacts;
  [JOB.networkDestroy]: NetworkDestroyResult;
  [JOB.networkExists]: NetworkExistsResult;
  /** null: no network of exactly that name */
  [JOB.networkInfo]: NetworkFacts | null;
  [JOB.networkList]: NetworkFacts[];
}

/** The payload of each job, by job name, as its schema gives it. */
export interface JobData {
  [JOB.rebuild]: RebuildJob;
  [JOB.scan]: ScanJob;
  [JOB.summary]: SummaryJob;
  [JOB.set]: SetJob;
  [JOB.networkCreate]: NetworkJob;
  [JOB.networkDestroy]: NetworkJob;
  [JOB.networkExists]: NetworkJob;
  [JOB.networkInfo]: NetworkJob;
  [JOB.networkList]: NetworkListJob;
}

/** The result of a job of name K (every job name has one: a missing entry above fails the type check here). */
export type JobResult<K extends JobName> = JobResults[K];
/** The payload of a job of name K. */
export type JobPayload<K extends JobName> = JobData[K];
