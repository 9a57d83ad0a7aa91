import { describe, expect, it } from 'vitest';
import { CONTENDERS, NAMES } from '../../bench/contenders.js';
import { type ChartSize, chartPoints, perContainerChart, X_TITLE, Y_TITLE } from '../../bench/perContainerChart.js';
import type { Stats } from '../../bench/stats.js';

const at = (median: number): Stats => ({ median, min: median, max: median, n: 1 });

/** One size of a bench run: the median ms of A (Dokku's way), B (one call), C (netq) and D (the floor). */
function size(containers: number, [dokku, onecall, netq, floor]: number[]): ChartSize {
  return {
    containers,
    stats: {
      dokku: at(dokku ?? Number.NaN),
      onecall: at(onecall ?? Number.NaN),
      netq: at(netq ?? Number.NaN),
      floor: at(floor ?? Number.NaN),
      netqQueue: at(netq ?? Number.NaN),
    },
  };
}

const RESULTS = [size(20, [900, 250, 400, 60]), size(60, [2700, 300, 700, 100]), size(120, [5400, 400, 1200, 160])];

/** The inner markup of every `<g class="<cls> …">` group of an SVG (Vega names its groups by mark and role). */
function groups(svg: string, cls: string): string[] {
  return [...svg.matchAll(new RegExp(`<g class="${cls}[^"]*"[^>]*>(.*?)</g>`, 'g'))].map((m) => m[1] ?? '');
}

const fromXml = (s: string) => s.replaceAll('&apos;', "'").replaceAll('&#39;', "'").replaceAll('&amp;', '&');

describe('the bench chart (bench/perContainerChart.ts)', () => {
  it('draws one line per contender, ms per container against size, with both axis titles', async () => {
    const svg = await perContainerChart(RESULTS);
    expect(svg).toMatch(/^<svg [^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    expect(svg.trimEnd()).toMatch(/<\/svg>$/);

    // one line mark per contender, each a path through one point per size
    const lines = groups(svg, 'mark-line role-mark');
    expect(lines).toHaveLength(CONTENDERS.length);
    for (const line of lines) {
      const d = line.match(/ d="([^"]+)"/)?.[1] ?? '';
      expect(d.match(/[ML]/g)).toHaveLength(RESULTS.length);
    }
    // and a legend entry naming each contender
    const legend = groups(svg, 'mark-text role-legend-label').flatMap((g) =>
      [...g.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => fromXml(m[1] ?? '')),
    );
    expect(legend).toEqual(CONTENDERS.map((c) => NAMES[c]));

    const titles = groups(svg, 'mark-text role-axis-title').map((g) => fromXml(g.replace(/<[^>]+>/g, '')));
    expect(titles.sort()).toEqual([X_TITLE, Y_TITLE].sort());
    // the x axis is labelled with the sizes measured
    const labels = groups(svg, 'mark-text role-axis-label').flatMap((g) =>
      [...g.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]),
    );
    for (const r of RESULTS) expect(labels).toContain(String(r.containers));
  });

  it('plots the median divided by the containers, and leaves out what was not measured', () => {
    const points = chartPoints([size(20, [900, 250, Number.NaN, 0])]);
    expect(points).toEqual([
      { contender: NAMES.dokku, containers: 20, msPerContainer: 45 },
      { contender: NAMES.onecall, containers: 20, msPerContainer: 12.5 },
    ]);
  });
});
