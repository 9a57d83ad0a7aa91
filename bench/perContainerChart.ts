// The bench's picture: milliseconds per container against the size of the rebuildall, one line per
// contender (medians of the rounds), as an SVG drawn by Vega-Lite in Node (no browser). Written beside the
// results as bench/results/<date>[-mode].svg; docs/bench-chart.svg is a copy of one run's.

import { parse, View } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { CONTENDERS, NAMES } from './contenders.js';
import type { SizeResult } from './measureRebuildall.js';

/** What the chart reads of a size's result. */
export type ChartSize = Pick<SizeResult, 'containers' | 'stats'>;

export const X_TITLE = 'containers in the rebuildall';
export const Y_TITLE = 'ms per container (median, log scale)';

/** One point per contender and size; a contender without a positive median at a size has none there. */
export function chartPoints(results: ChartSize[]): { contender: string; containers: number; msPerContainer: number }[] {
  return results.flatMap((r) =>
    CONTENDERS.flatMap((c) => {
      const msPerContainer = r.stats[c].median / r.containers;
      return Number.isFinite(msPerContainer) && msPerContainer > 0
        ? [{ contender: NAMES[c], containers: r.containers, msPerContainer: Number(msPerContainer.toFixed(4)) }]
        : [];
    }),
  );
}

export function chartSpec(results: ChartSize[]): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: 'rebuildall: cost per container as the size grows', anchor: 'start' },
    width: 520,
    height: 300,
    background: 'white',
    padding: 12,
    data: { values: chartPoints(results) },
    mark: { type: 'line', point: { size: 50 }, strokeWidth: 2 },
    encoding: {
      x: {
        field: 'containers',
        type: 'quantitative',
        title: X_TITLE,
        scale: { zero: false, nice: false },
        axis: { values: [...new Set(results.map((r) => r.containers))], format: 'd' },
      },
      y: { field: 'msPerContainer', type: 'quantitative', title: Y_TITLE, scale: { type: 'log' } },
      color: {
        field: 'contender',
        type: 'nominal',
        title: null,
        sort: CONTENDERS.map((c) => NAMES[c]),
        legend: { orient: 'bottom', columns: 2, labelLimit: 320 },
      },
    },
    config: { font: 'sans-serif', view: { stroke: null } },
  };
}

/** The chart as an SVG document. */
export async function perContainerChart(results: ChartSize[]): Promise<string> {
  const view = new View(parse(compile(chartSpec(results)).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
