import { describe, expect, it } from 'vitest';
import {
  HEARTBEAT_MS,
  isLive,
  isWithin,
  KNOWN_HOST_MS,
  knownSince,
  LIVE_MS,
  liveSince,
  RETIRED_MS,
  windowEnd,
  windowStart,
} from '../../src/liveness.js';

/** The one boundary of every heartbeat window (src/liveness.ts): younger than the window is within it. */
describe('liveness windows', () => {
  const now = 1_733_000_000_123;

  it('a heartbeat exactly LIVE_MS old is dead, one a millisecond younger is live', () => {
    expect(LIVE_MS).toBe(3 * HEARTBEAT_MS);
    expect(isLive(now - LIVE_MS + 1, now)).toBe(true);
    expect(isLive(now - LIVE_MS, now)).toBe(false);
    expect(isLive(now - LIVE_MS - 1, now)).toBe(false);
    expect(isLive(now, now)).toBe(true);
    // a beat stamped after `now` (read before the beat landed) is live
    expect(isLive(now + 10, now)).toBe(true);
  });

  it('every window has the same boundary', () => {
    for (const w of [LIVE_MS, RETIRED_MS, KNOWN_HOST_MS]) {
      expect(isWithin(now - w + 1, now, w)).toBe(true);
      expect(isWithin(now - w, now, w)).toBe(false);
    }
    expect(LIVE_MS).toBeLessThan(RETIRED_MS);
    expect(RETIRED_MS).toBeLessThan(KNOWN_HOST_MS);
  });

  it("Redis score bounds say the same: within is '(now-window' … +inf, outside is -inf … 'now-window'", () => {
    expect(windowStart(now, LIVE_MS)).toBe(`(${now - LIVE_MS}`);
    expect(windowEnd(now, LIVE_MS)).toBe(`${now - LIVE_MS}`);
    expect(liveSince(now)).toBe(windowStart(now, LIVE_MS));
    expect(knownSince(now)).toBe(windowStart(now, KNOWN_HOST_MS));
  });
});
