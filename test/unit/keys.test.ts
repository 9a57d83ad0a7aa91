import { describe, expect, it } from 'vitest';
import { netqKeys } from '../../src/keys.js';

/** The per-host app keys of enqueue.ts keep the layout that Redis already holds (`<kind>:<host>.<app>`). */
describe('key registry', () => {
  it('builds the merge, burst and generation keys of an app on a host from (host, app)', () => {
    const keys = netqKeys('{p}');
    expect(keys.pending('h1', 'my.app')).toBe('{p}:pending:h1.my.app');
    expect(keys.burst('h1', 'my.app')).toBe('{p}:burst:h1.my.app');
    expect(keys.generation('h1', 'my.app')).toBe('{p}:generation:h1.my.app');
    // one app on two hosts: two keys
    expect(keys.pending('h1', 'web')).not.toBe(keys.pending('h2', 'web'));
  });
});
