import { assertAppName } from '../../src/appName.js';
import { BadInputError, quoteInput } from '../../src/errors.js';
import { hostIdSchema } from '../../src/hostId.js';
import { describeZodError } from '../../src/jobs.js';

/** The input checks several operations share; each throws a BadInputError with one line naming the problem. */

/** An app name as netq takes it (Dokku's rule, the legacy `_` included). */
export const checkApp = assertAppName;

/** A host id, when one is given; `hostInput` names the input in the message (`--host`). */
export function checkHost(host: string | undefined, hostInput: string): void {
  if (host === undefined) return;
  const parsed = hostIdSchema.safeParse(host);
  if (!parsed.success) {
    throw new BadInputError(`invalid ${hostInput} ${quoteInput(host)}: ${describeZodError(parsed.error)}`);
  }
}
