import { describe, expect, it } from 'vitest';
import { errorText } from '../../scripts/soak-procs.js';

describe("the soak's reading of a worker's failed attempt", () => {
  it('names the error pino serialised (its type and message), not [object Object]', () => {
    const err = {
      type: 'DockerUnreachableError',
      message: 'Docker engine unreachable during container list (ECONNREFUSED)',
      stack: '…',
    };
    expect(errorText(err)).toBe(
      'DockerUnreachableError: Docker engine unreachable during container list (ECONNREFUSED)',
    );
    expect(errorText('an older line: a string')).toBe('an older line: a string');
  });
});
