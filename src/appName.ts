import { z } from 'zod';
import { BadInputError, quoteInput } from './errors.js';

/**
 * Dokku's app name rule, the legacy form (with `_`) included, as Dokku still accepts apps named so; bounded
 * to a DNS label's 63 characters.
 */
export const APP_NAME_PATTERN = /^[a-z0-9][a-z0-9._-]*$/;

export const appNameSchema = z
  .string({ error: 'app name must be a string' })
  .min(1, 'app name is empty')
  .max(63, 'app name is longer than 63 characters')
  .regex(
    APP_NAME_PATTERN,
    'app name must match ^[a-z0-9][a-z0-9._-]*$ (lowercase letters, digits, ".", "-" and, as legacy Dokku names, "_")',
  )
  .refine((s) => !s.includes('..'), 'app name must not contain ".."');

/** Returns the reason an app name is invalid, or undefined when it is valid. */
export function appNameProblem(name: unknown): string | undefined {
  const r = appNameSchema.safeParse(name);
  return r.success ? undefined : r.error.issues[0]?.message;
}

/** The one-line message for an invalid app name (`invalid app name "x": …`), or undefined when it is valid. */
export function invalidAppName(name: string): string | undefined {
  const problem = appNameProblem(name);
  return problem === undefined ? undefined : `invalid app name ${quoteInput(name)}: ${problem}`;
}

/** The app-name check of every producer: throws a BadInputError naming the problem. */
export function assertAppName(name: string): void {
  const message = invalidAppName(name);
  if (message !== undefined) throw new BadInputError(message);
}
