import { z } from 'zod';
import { APP_NAME_PATTERN, invalidAppName } from '../../src/appName.js';
import { DEFAULTS } from '../../src/config.js';
import { quoteInput } from '../../src/errors.js';
import { hostIdSchema } from '../../src/hostId.js';
import { describeZodError, networkNameSchema, QUEUE_NAME_PATTERN } from '../../src/jobs.js';

/**
 * The zod schemas of the requests: path parameters, query strings and JSON bodies. Fastify checks every
 * request against its route's schemas before the route runs (so bad input touches no Redis and queues
 * nothing), validationError.ts words the first problem as one line naming the field, and the OpenAPI
 * document (/openapi.json) is generated from these same schemas.
 */

const boolish = z
  .union([z.boolean(), z.enum(['true', 'false', '1', '0'], { error: 'expected true or false' })], {
    error: 'expected true or false',
  })
  .transform((v) => v === true || v === 'true' || v === '1')
  .meta({ description: 'true or false (also "1" or "0" in a query string)' });
const seconds = z
  .union([z.number(), z.string().regex(/^\d+(\.\d+)?$/, 'expected a number of seconds')], {
    error: 'expected a number of seconds',
  })
  .transform(Number)
  .pipe(z.number().gt(0, 'expected more than 0 seconds').max(86_400, 'expected at most 86400 seconds'));

const waitField = boolish
  .optional()
  .meta({ description: 'false: only enqueue, and answer 202 with the job (default true)' });
const timeoutField = seconds.optional().meta({
  description: `how long to wait for the result, in seconds (default ${DEFAULTS.waitTimeoutS}; at most 86400)`,
});
const hostField = hostIdSchema
  .optional()
  .meta({ description: "the Docker host (NETQ_HOST_ID of its workers), as the CLI's --host" });

/** `wait` and `timeout`, in the query string or the JSON body (the body's win). */
export const waitSchema = z.strictObject({ wait: waitField, timeout: timeoutField });
/** the same, with the Docker host of the app (default: where it was last seen, else every live host) */
export const hostWaitSchema = z.strictObject({ wait: waitField, timeout: timeoutField, host: hostField });
/** for commands that always wait (network:*): the host and the timeout */
export const hostTimeoutSchema = z.strictObject({ timeout: timeoutField, host: hostField });

/** A body that may be left out: no body is `{}` (a JSON `null` is refused before this, in server.ts). */
export const optionalBody = <S extends z.ZodType>(schema: S) => schema.nullable();

export const setBodySchema = z.strictObject({
  wait: waitField,
  timeout: timeoutField,
  host: hostField,
  values: z
    .array(z.string({ error: 'expected strings' }).max(1024), { error: 'expected an array of strings' })
    .max(64)
    .meta({ description: 'the values, as `network:set` takes them; [] clears the key' }),
  apply: z
    .boolean({ error: 'expected true or false' })
    .default(true)
    .meta({ description: 'false: only store, as Dokku does (no worker needed); true: rebuild to apply it' }),
});

export const networkListQuerySchema = z.strictObject({
  timeout: timeoutField,
  host: hostField,
  managed: boolish.optional().meta({ description: 'only the networks Dokku manages (--dokku-managed)' }),
});

/** An app in a path or a body, with the CLI's check and message: `invalid app name "x": …`. */
export const appNameInput = z
  .string()
  .superRefine((app, ctx) => {
    const message = invalidAppName(app);
    if (message !== undefined) ctx.addIssue({ code: 'custom', message });
  })
  .meta({ description: "a Dokku app's name", pattern: APP_NAME_PATTERN.source, maxLength: 63 });

/** A network in a path, with the CLI's check and message: `invalid network name "x": …`. */
export const networkNameInput = z
  .string()
  .superRefine((network, ctx) => {
    const r = networkNameSchema.safeParse(network);
    if (!r.success) {
      ctx.addIssue({
        code: 'custom',
        message: `invalid network name ${quoteInput(network)}: ${describeZodError(r.error)}`,
      });
    }
  })
  .meta({ description: 'a Docker network name', pattern: '^[a-zA-Z0-9][a-zA-Z0-9_.-]*$', maxLength: 64 });

export const appParams = z.object({ app: appNameInput });
export const appKeyParams = z.object({
  app: appNameInput,
  key: z.string().meta({ description: 'the property, as `network:set` names it (bind-all-interfaces, tld, …)' }),
});
export const globalKeyParams = z.object({ key: appKeyParams.shape.key });
export const networkParams = z.object({ network: networkNameInput });

export const renameBodySchema = z.strictObject({
  to: appNameInput.meta({ description: 'the app after the rename' }),
});

/** for routes that take no query parameters */
export const noQuerySchema = z.strictObject({});

/** Queue names as src/jobs.ts makes them (its QUEUE_NAME_PATTERN). */
export const jobQuerySchema = z.strictObject({
  /** the job's queue; without it every known queue is looked in */
  queue: z
    .string({ error: 'expected a queue name' })
    .regex(QUEUE_NAME_PATTERN, 'expected rebuild.<host>, scan.<host>, control.<host> or summary')
    .optional()
    .meta({
      description:
        "the job's queue (rebuild.<host>, scan.<host>, control.<host> or summary); default: every known queue",
    }),
});
export const jobParams = z.object({
  id: z
    .string()
    .regex(/^[A-Za-z0-9._:-]{1,200}$/, 'job id: expected 1-200 letters, digits, ".", "_", ":" or "-"')
    .meta({ description: 'the job id, as a command answered it' }),
});

/** How long an answer waits: the body's values over the query's, then the defaults. */
export function waitOf(
  query: { wait?: boolean | undefined; timeout?: number | undefined },
  body: { wait?: boolean | undefined; timeout?: number | undefined } | null,
): { wait: boolean; timeoutMs: number } {
  return {
    wait: body?.wait ?? query.wait ?? true,
    timeoutMs: (body?.timeout ?? query.timeout ?? DEFAULTS.waitTimeoutS) * 1000,
  };
}

/** The host the body names, else the query. */
export const hostOf = (query: { host?: string | undefined }, body: { host?: string | undefined } | null) =>
  body?.host ?? query.host;
