import { describe, expect, it } from 'vitest';
import { overlaps } from '../../scripts/soak-invariants.js';
import type { Work } from '../../scripts/soak-procs.js';

const work = (proc: string, jobId: string, start: number, end: number | undefined, how: Work['how']): Work => ({
  proc,
  app: 'web',
  jobId,
  start,
  end,
  how,
});

describe("the soak's one-app-at-a-time check", () => {
  it('counts a failed attempt that overlaps the next job on its app (its end is known, not only its start)', () => {
    const found = overlaps([work('w1#0', 'a', 100, 200, 'failed'), work('w2#0', 'b', 150, 250, 'done')], 1_000);
    expect(found).toHaveLength(1);
    expect(found[0]).toContain('web: w1#0 a [100, 200 failed] and w2#0 b [150, 250 done]');
  });

  it('finds none when one stretch starts as the one before ended', () => {
    expect(overlaps([work('w1#0', 'a', 100, 200, 'failed'), work('w2#0', 'b', 200, 250, 'done')], 1_000)).toEqual([]);
  });

  it("takes a stretch with no end yet as lasting until now, and a killed worker's as ending when it died", () => {
    expect(
      overlaps([work('w1#0', 'a', 100, undefined, undefined), work('w2#0', 'b', 900, 950, 'done')], 1_000),
    ).toHaveLength(1);
    expect(overlaps([work('w1#0', 'a', 100, 300, 'killed'), work('w2#0', 'b', 300, 350, 'done')], 1_000)).toEqual([]);
  });
});
