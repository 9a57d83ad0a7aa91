// The rows of the report's tables, the same for the terminal and for Markdown: one size's contenders and
// paired ratios, the cost per container as the size grows, and where netq's time goes.
import { CONTENDERS, NAMES } from './contenders.js';
import { ms, ratio } from './format.js';
import type { SizeResult } from './measureRebuildall.js';
import type { Timeline } from './netqTimeline.js';
import { stats } from './stats.js';

const pairedRatios = (num: number[], den: number[]) => stats(num.map((v, i) => v / (den[i] ?? Number.NaN)));

export function sizeRows(r: SizeResult): string[][] {
  const netq = r.stats.netq.median;
  const rows = CONTENDERS.map((c) => {
    const s = r.stats[c];
    const vs =
      c === 'netq' ? '1' : c === 'dokku' ? `netq ${ratio(s.median / netq)} faster` : `netq = ${ratio(netq / s.median)}`;
    return [NAMES[c], ms(s.median), `${ms(s.min)}–${ms(s.max)}`, (s.median / r.containers).toFixed(2), vs];
  });
  const q = r.stats.netqQueue;
  rows.splice(3, 0, [
    "C' netq in queue (summary created → done)",
    ms(q.median),
    `${ms(q.min)}–${ms(q.max)}`,
    (q.median / r.containers).toFixed(2),
    `floor ${ratio(q.median / r.stats.floor.median)}`,
  ]);
  const st = r.stats.netqStale;
  if (st)
    rows.splice(4, 0, [
      "C'' netq, every file stale (all rewritten)",
      ms(st.median),
      `${ms(st.min)}–${ms(st.max)}`,
      (st.median / r.containers).toFixed(2),
      `${ratio(r.stats.dokku.median / st.median)} faster than A; ${ratio(st.median / r.stats.onecall.median)} of B`,
    ]);
  return rows;
}
export const SIZE_HEADERS = ['contender', 'median ms', 'min–max ms', 'ms/container', 'ratio'];

export function ratioRows(r: SizeResult): string[][] {
  const p = (num: number[], den: number[]) => {
    const s = pairedRatios(num, den);
    return [ratio(s.median), `${ratio(s.min)}–${ratio(s.max)}`];
  };
  return [
    ["Dokku's way ÷ netq (speed-up)", ...p(r.rounds.dokku, r.rounds.netq)],
    ['netq ÷ one-call limit', ...p(r.rounds.netq, r.rounds.onecall)],
    ['netq ÷ queue floor', ...p(r.rounds.netq, r.rounds.floor)],
    ['netq in-queue ÷ queue floor', ...p(r.netqQueueMs, r.rounds.floor)],
  ];
}
export const RATIO_HEADERS = ['ratio (paired by round)', 'median', 'min–max'];

export function perContainerRows(results: SizeResult[]): { headers: string[]; rows: string[][] } {
  const headers = ['ms/container', ...results.map((r) => `${r.containers}`)];
  const first = results[0];
  const lastR = results.at(-1);
  const multi = first && lastR && first !== lastR;
  if (multi)
    headers.push(
      `${lastR.containers} ÷ ${first.containers}`,
      `marginal ms/container ${first.containers}→${lastR.containers}`,
    );
  const row = (name: string, pick: (r: SizeResult) => number) => {
    const cells = [name, ...results.map((r) => (pick(r) / r.containers).toFixed(2))];
    if (multi) {
      cells.push(ratio(pick(lastR) / lastR.containers / (pick(first) / first.containers)));
      cells.push(((pick(lastR) - pick(first)) / (lastR.containers - first.containers)).toFixed(2));
    }
    return cells;
  };
  const rows = CONTENDERS.map((c) => row(NAMES[c], (r) => r.stats[c].median));
  rows.splice(
    3,
    0,
    row("C' netq in queue", (r) => r.stats.netqQueue.median),
  );
  return { headers, rows };
}

export function timelineRows(results: SizeResult[]): { headers: string[]; rows: string[][] } {
  const headers = ['netq rebuildall, ms after the CLI started', ...results.map((r) => `${r.containers}`)];
  const pick = (f: (t: Timeline) => number) => results.map((r) => (r.timeline ? ms(f(r.timeline)) : '-'));
  return {
    headers,
    rows: [
      ['summary job added (CLI start-up, connect)', ...pick((t) => t.summaryAdded)],
      ['scan added the per-app children', ...pick((t) => t.childrenAdded)],
      ['first per-app job started', ...pick((t) => t.firstRebuildStarted)],
      ['last per-app job finished', ...pick((t) => t.lastRebuildFinished)],
      ['scan finished', ...pick((t) => t.scanFinished)],
      ['summary finished', ...pick((t) => t.summaryFinished)],
      ['summary printed by the CLI', ...pick((t) => t.printed)],
      ['CLI exited', ...pick((t) => t.exited)],
      ['per-app job duration, median', ...pick((t) => t.rebuildJobMs.median)],
      ['per-app job duration, max', ...pick((t) => t.rebuildJobMs.max)],
    ],
  };
}
