// The report of the comparisons: the tables printed at the end, and the same as
// bench/results/<date>[-mode][-partial].json and .md, with the chart of the cost per container as .svg
// (also, partial, after an error or a signal).
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { type BenchRun, ROOT, say } from './benchRun.js';
import type { CliCallsResult } from './cliCalls.js';
import { markdownTable, ms, table } from './format.js';
import type { LatencyResult } from './latency.js';
import type { MachineFacts } from './machineFacts.js';
import type { SizeResult } from './measureRebuildall.js';
import { perContainerChart } from './perContainerChart.js';
import { perContainerRows, RATIO_HEADERS, ratioRows, SIZE_HEADERS, sizeRows, timelineRows } from './reportTables.js';
import { resultPath } from './resultFiles.js';
import type { RssGrowth } from './rssGrowth.js';
import type { StormResult } from './storm.js';
import { targets } from './targets.js';
import { roundTwoTargets } from './targetsRoundTwo.js';

/** What the comparisons gathered so far: reported at the end, or as a partial report after an error or signal. */
export interface Gathered {
  results: SizeResult[];
  storm: StormResult | undefined;
  latency: LatencyResult | undefined;
  rssAfterStorm: { rssMb: number; hwmMb: number } | undefined;
  cliCalls: CliCallsResult | undefined;
  rssGrowth: RssGrowth | undefined;
  facts: MachineFacts | undefined;
  reported: boolean;
}

export async function writeReport(run: BenchRun, gathered: Gathered, partial: boolean): Promise<void> {
  const { mode, rounds, sizes } = run.options;
  gathered.reported = true;
  const { results, storm: stormResult, rssAfterStorm, facts, latency, cliCalls, rssGrowth } = gathered;
  if (partial) say(`\nPARTIAL REPORT: the run stopped after ${results.length} of ${sizes.length} sizes`);
  const rssSize = results.find((r) => r.containers === 300) ?? results.at(-1);
  const tg = targets(results, rssSize, latency);
  const tg2 = roundTwoTargets({ results, latency, cliCalls, rssGrowth });
  const pc = perContainerRows(results);
  const tl = timelineRows(results);

  const text: string[] = [];
  const md: string[] = [];
  for (const r of results) {
    const head = `${r.apps} apps / ${r.containers} containers (${r.published} with a published port); containers created in ${(r.creation.ms / 1000).toFixed(1)} s, ${r.creation.parallel} at once; ${rounds} rounds; load average ${Math.min(...r.loadAverage)}–${Math.max(...r.loadAverage)}${r.overlappedRounds === undefined ? '' : `; C rounds run alongside one of the worker's own host rebuilds: ${r.overlappedRounds}`}`;
    text.push(`\n${head}\n${table(SIZE_HEADERS, sizeRows(r))}\n\n${table(RATIO_HEADERS, ratioRows(r))}`);
    md.push(
      `#### ${head}\n\n${markdownTable(SIZE_HEADERS, sizeRows(r))}\n\n${markdownTable(RATIO_HEADERS, ratioRows(r))}`,
    );
  }
  text.push(`\ncost per container as the size grows (medians)\n${table(pc.headers, pc.rows)}`);
  md.push(`#### Cost per container as the size grows (medians)\n\n${markdownTable(pc.headers, pc.rows)}`);
  text.push(`\nwhere netq's time goes (last round of each size)\n${table(tl.headers, tl.rows)}`);
  md.push(
    `#### Where netq's time goes (last round of each size, from BullMQ's job timestamps)\n\n${markdownTable(tl.headers, tl.rows)}`,
  );
  const other: string[][] = results.map((r) => [
    `worker RSS after the ${r.containers}-container rebuildalls`,
    r.workerRss ? `${r.workerRss.rssMb.toFixed(1)} MB (peak ${r.workerRss.hwmMb.toFixed(1)} MB)` : '-',
  ]);
  if (stormResult) {
    other.push([
      `storm: ${stormResult.requests} rebuild requests over ${stormResult.apps} apps at once`,
      `${stormResult.jobsRan} rebuild jobs ran; answers after ${ms(stormResult.firstAnswerMs)} (first) / ${ms(stormResult.medianAnswerMs)} (median) / ${ms(stormResult.lastAnswerMs)} ms (last); ${stormResult.lockBounces} lock bounces`,
    ]);
    if (rssAfterStorm)
      other.push([
        'worker RSS after the storm',
        `${rssAfterStorm.rssMb.toFixed(1)} MB (peak ${rssAfterStorm.hwmMb.toFixed(1)} MB)`,
      ]);
  }
  if (latency)
    other.push([
      `event-to-write latency over ${latency.starts} container starts (NETQ_DEBOUNCE_MS 250)`,
      `median ${ms(latency.medianMs)} ms, p99 ${ms(latency.p99Ms)} ms, min–max ${ms(latency.minMs)}–${ms(latency.maxMs)} ms`,
    ]);
  text.push(`\n${table(['also measured', 'value'], other)}`);
  md.push(`#### Also measured\n\n${markdownTable(['also measured', 'value'], other)}`);
  const tgRows = tg.map((t) => [t.target, t.measured, t.result]);
  text.push(`\ntargets\n${table(['target', 'measured', 'result'], tgRows)}`);
  md.push(`#### Targets\n\n${markdownTable(['target', 'measured', 'result'], tgRows)}`);
  const tg2Rows = tg2.map((t) => [t.target, t.measured, t.result]);
  text.push(`\ntargets, round two (issue 15)\n${table(['target', 'measured', 'result'], tg2Rows)}`);
  md.push(`#### Targets, round two\n\n${markdownTable(['target', 'measured', 'result'], tg2Rows)}`);
  say(text.join('\n'));

  const base = await resultPath(`${mode === 'full' ? '' : `-${mode}`}${partial ? '-partial' : ''}`);
  const loadAverageAtEnd = os.loadavg().map((l) => Number(l.toFixed(2)));
  await writeFile(
    `${base}.json`,
    `${JSON.stringify({ date: new Date().toISOString(), mode, partial, runId: run.id, rounds, machine: { ...facts, loadAverageAtEnd }, notes: run.notes, sizes: results, storm: stormResult, rssAfterStorm, latency, cliCalls, rssGrowth, targets: tg, targetsRoundTwo: tg2, problems: run.problems }, null, 2)}\n`,
  );
  await writeFile(`${base}.md`, `${md.join('\n\n')}\n`);
  // the picture of the per-container table: ms per container against size, one line per contender
  if (results.length > 0) await writeFile(`${base}.svg`, await perContainerChart(results));
  say(`\nwrote ${path.relative(ROOT, base)}.json, .md${results.length > 0 ? ' and .svg' : ''}`);
}
