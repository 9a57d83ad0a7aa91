// Renders the chart of a bench result file again, e.g. docs/bench-chart.svg from the run docs/benchmarks.md
// reports:  npx tsx bench/chartFromResults.ts bench/results/<date>.json docs/bench-chart.svg
import { readFile, writeFile } from 'node:fs/promises';
import { type ChartSize, perContainerChart } from './perContainerChart.js';

const [from, to] = process.argv.slice(2);
if (!from || !to) throw new Error('usage: npx tsx bench/chartFromResults.ts <bench/results/…json> <out.svg>');
const { sizes } = JSON.parse(await readFile(from, 'utf8')) as { sizes: ChartSize[] };
await writeFile(to, await perContainerChart(sizes));
console.log(`wrote ${to} (${sizes.map((s) => s.containers).join(', ')} containers)`);
