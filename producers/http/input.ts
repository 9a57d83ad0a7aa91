import { z } from 'zod';
import { appNameProblem } from '../../src/appName.js';
import { BadInputError } from '../../src/errors.js';
import { hostIdSchema } from '../../src/jobs.js';
import type { WaitOptions } from '../client.js';

/**
 * Request input: zod schemas for params, query and body, and one parse that turns any problem into a
 * BadInputError (400) with one line naming the field, before anything touches Redis.
 */

const DEFAULT_TIMEOUT_S = 600;

const boolish = z.union(
  [z.boolean(), z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1')],
  {
    error: 'expected true or false',
  },
);
const seconds = z
  .union(
    [
      z.number(),
      z
        .string()
        .regex(/^\d+(\.\d+)?$/)
        .transform(Number),
    ],
    { error: 'expected a number of seconds' },
  )
  .pipe(z.number().gt(0, 'expected more than 0 seconds').max(86_400, 'expected at most 86400 seconds'));

/** `wait` (default true) and `timeout` (seconds, default 600), in the query string or the JSON body. */
const waitFields = { wait: boolish.optional(), timeout: seconds.optional() };
export const waitSchema = z.strictObject(waitFields);
/** the same, with the Docker host of the app (default: where it was last seen, or the only live host) */
export const hostWaitSchema = z.strictObject({ ...waitFields, host: hostIdSchema.optional() });

export const setBodySchema = z.strictObject({
  ...waitFields,
  host: hostIdSchema.optional(),
  values: z.array(z.string({ error: 'expected strings' }).max(1024), { error: 'expected an array of strings' }).max(64),
  /** false: only store; true (default): rebuild so the change is applied */
  apply: z.boolean({ error: 'expected true or false' }).default(true),
});

/** for routes that take no query parameters */
export const noQuerySchema = z.strictObject({});

/** Queue names as src/queue.ts makes them. */
export const jobQuerySchema = z.strictObject({
  /** the job's queue; without it every known queue is looked in */
  queue: z
    .string({ error: 'expected a queue name' })
    .regex(
      /^((rebuild|scan|control)\.[a-z0-9][a-z0-9-]{0,62}|summary)$/,
      'expected rebuild.<host>, scan.<host>, control.<host> or summary',
    )
    .optional(),
});
export const jobIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9._:-]{1,200}$/, 'expected 1-200 letters, digits, ".", "_", ":" or "-"');

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Parses one part of a request; `where` names it in the message: `body.values: expected an array of strings`. */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, where: 'query' | 'body'): z.output<S> {
  if (where === 'body' && value !== undefined && !isObject(value)) {
    throw new BadInputError('body must be a JSON object');
  }
  const r = schema.safeParse(value ?? {});
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const path = issue?.path.length ? `.${issue.path.join('.')}` : '';
  throw new BadInputError(`${where}${path}: ${issue?.message ?? 'invalid'}`.split('\n')[0] ?? where);
}

/** The app of a route, with the CLI's check and message. */
export function appParam(params: unknown): string {
  const app = isObject(params) ? params.app : undefined;
  const problem = appNameProblem(app);
  if (problem) throw new BadInputError(`invalid app name ${JSON.stringify(app).slice(0, 80)}: ${problem}`);
  return app as string;
}

/** The body's values over the query's, then the defaults. */
export function waitOptions(
  query: { wait?: boolean | undefined; timeout?: number | undefined },
  body: { wait?: boolean | undefined; timeout?: number | undefined },
): WaitOptions {
  return {
    wait: body.wait ?? query.wait ?? true,
    timeoutMs: (body.timeout ?? query.timeout ?? DEFAULT_TIMEOUT_S) * 1000,
  };
}
