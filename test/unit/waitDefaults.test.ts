import { describe, expect, it } from 'vitest';
import { timeoutOption } from '../../producers/commands/commandContext.js';
import { waitOf } from '../../producers/http/input.js';
import { DEFAULTS } from '../../src/config.js';

/** One default wait (src/config.ts): the CLI's --timeout and the API's `timeout` both take it. */
describe('the default wait for a result', () => {
  it('is the config default, 600 s, in the CLI and over HTTP', () => {
    expect(DEFAULTS.waitTimeoutS).toBe(600);
    expect(timeoutOption().defaultValue).toBe(DEFAULTS.waitTimeoutS);
    expect(waitOf({}, null)).toEqual({ wait: true, timeoutMs: DEFAULTS.waitTimeoutS * 1000 });
    // a timeout asked for wins, the body's over the query's
    expect(waitOf({ timeout: 5 }, { timeout: 7 }).timeoutMs).toBe(7000);
  });
});
