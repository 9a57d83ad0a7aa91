// The targets of performance round two (issue 15), each with what this run measured and pass, MISS, or n/a
// when the run lacks what the target needs (a size, a measurement left out by an option).
import type { CliCallsResult } from './cliCalls.js';
import { ms, ratio } from './format.js';
import type { LatencyResult } from './latency.js';
import type { SizeResult } from './measureRebuildall.js';
import type { RssGrowth } from './rssGrowth.js';
import type { Target } from './targets.js';

export interface RoundTwoInput {
  results: SizeResult[];
  latency: LatencyResult | undefined;
  cliCalls: CliCallsResult | undefined;
  rssGrowth: RssGrowth | undefined;
}

const judged = (ok: boolean): Target['result'] => (ok ? 'pass' : 'MISS');
const missing = (target: string, why: string): Target => ({ target, measured: why, result: 'n/a' });

/** netq ÷ the one-call limit (warm, and every file stale) at 300 and 600 containers. */
function overLimit(results: SizeResult[]): Target[] {
  const out: Target[] = [];
  for (const containers of [300, 600]) {
    const r = results.find((x) => x.containers === containers);
    if (!r) {
      out.push(missing(`warm rebuildall ÷ one-call limit ≤ 1.15× at ${containers} containers`, 'no such size'));
      continue;
    }
    const warm = r.stats.netq.median / r.stats.onecall.median;
    out.push({
      target: `warm rebuildall ÷ one-call limit ≤ 1.15× at ${containers} containers`,
      measured: ratio(warm),
      result: judged(warm <= 1.15),
    });
    const stale = r.stats.netqStale ? r.stats.netqStale.median / r.stats.onecall.median : Number.NaN;
    out.push({
      target: `every file stale ÷ one-call limit ≤ 1.3× at ${containers} containers`,
      measured: ratio(stale),
      result: Number.isNaN(stale) ? 'n/a' : judged(stale <= 1.3),
    });
  }
  return out;
}

function inQueue(results: SizeResult[]): Target {
  const r = results.find((x) => x.containers === 600);
  const t = 'in-queue time ÷ queue floor ≤ 3× at 600 containers';
  if (!r) return missing(t, 'no 600-container size');
  const x = r.stats.netqQueue.median / r.stats.floor.median;
  return { target: t, measured: ratio(x), result: judged(x <= 3) };
}

function summaryAdded(results: SizeResult[]): Target {
  const added = results.map((r) => r.timeline?.summaryAdded).filter((v): v is number => Number.isFinite(v));
  const t = 'CLI start to summary job added ≤ 150 ms';
  if (added.length === 0) return missing(t, 'no timeline');
  const worst = Math.max(...added);
  return { target: t, measured: `${added.map(ms).join(' / ')} ms (one per size)`, result: judged(worst <= 150) };
}

function cli(c: CliCallsResult | undefined): Target[] {
  const a = '`network:rebuild <app>` (warm worker), process start to printed result ≤ 250 ms';
  const b = 'hook `--no-wait` enqueue, process start to exit ≤ 150 ms';
  if (!c) return [missing(a, 'not measured (--cli-samples 0)'), missing(b, 'not measured (--cli-samples 0)')];
  return [
    {
      target: a,
      measured: `median ${ms(c.rebuildApp.median)} ms (${ms(c.rebuildApp.min)}–${ms(c.rebuildApp.max)}, ${c.samples} samples)`,
      result: judged(c.rebuildApp.median <= 250),
    },
    {
      target: b,
      measured: `median ${ms(c.hookNoWait.median)} ms (${ms(c.hookNoWait.min)}–${ms(c.hookNoWait.max)}, ${c.samples} samples)`,
      result: judged(c.hookNoWait.median <= 150),
    },
  ];
}

function events(l: LatencyResult | undefined): Target {
  const t = 'event (container start) → IP file written: p50 ≤ 60 ms, p99 ≤ 250 ms';
  if (!l) return missing(t, 'not measured (--starts 0)');
  return {
    target: t,
    measured: `p50 ${ms(l.medianMs)} ms, p99 ${ms(l.p99Ms)} ms over ${l.starts} starts`,
    result: judged(l.medianMs <= 60 && l.p99Ms <= 250),
  };
}

function memory(results: SizeResult[], g: RssGrowth | undefined): Target[] {
  const at600 = results.find((x) => x.containers === 600)?.workerRss;
  const a = 'worker RSS after a 600-container rebuildall ≤ 150 MB';
  const b = 'worker RSS growth over 100 more rebuildalls ≤ 10%';
  return [
    at600
      ? { target: a, measured: `${at600.rssMb.toFixed(1)} MB`, result: judged(at600.rssMb <= 150) }
      : missing(a, 'no 600-container size'),
    g
      ? {
          target: b,
          measured: `${g.beforeMb.toFixed(1)} → ${g.afterMb.toFixed(1)} MB over ${g.runs} rebuildalls of ${g.containers} containers (${g.growthPct.toFixed(1)}%)`,
          result: g.runs >= 100 && g.containers === 600 ? judged(g.growthPct <= 10) : 'n/a',
        }
      : missing(b, 'not measured (--rss-runs 0)'),
  ];
}

export function roundTwoTargets(i: RoundTwoInput): Target[] {
  return [
    ...overLimit(i.results),
    inQueue(i.results),
    summaryAdded(i.results),
    ...cli(i.cliCalls),
    events(i.latency),
    ...memory(i.results, i.rssGrowth),
  ];
}
