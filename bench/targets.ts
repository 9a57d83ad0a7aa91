// The targets the bench checks (from the issue that asked for netq), each with what was measured and pass,
// MISS, or n/a when this run has not the size the target names.
import { ms, ratio } from './format.js';
import type { LatencyResult } from './latency.js';
import type { SizeResult } from './measureRebuildall.js';
import type { Stats } from './stats.js';

export interface Target {
  target: string;
  measured: string;
  result: 'pass' | 'MISS' | 'n/a';
}

export function targets(
  results: SizeResult[],
  rss: SizeResult | undefined,
  latency: LatencyResult | undefined,
): Target[] {
  const at300 = results.find((r) => r.containers === 300) ?? results.at(-1);
  const stale = at300?.stats.netqStale;
  return [
    ...(at300 ? speedTargets(at300) : []),
    ...(at300 && stale ? [staleTarget(at300, stale)] : []),
    growthTarget(
      results.find((r) => r.containers === 100),
      results.find((r) => r.containers === 600),
    ),
    ...(rss?.workerRss ? [rssTarget(rss, rss.workerRss)] : []),
    latencyTarget(latency),
  ];
}

/** pass or MISS at 300 containers; n/a at any other size (the run had no 300 size). */
const at300Only = (r: SizeResult, ok: boolean): Target['result'] =>
  r.containers === 300 ? (ok ? 'pass' : 'MISS') : 'n/a';
const where = (r: SizeResult) =>
  r.containers === 300 ? '' : ` (at ${r.containers} containers: no 300 size in this run)`;

function speedTargets(at300: SizeResult): Target[] {
  const speedup = at300.stats.dokku.median / at300.stats.netq.median;
  const overLimit = at300.stats.netq.median / at300.stats.onecall.median;
  return [
    {
      target: "netq ≥30× faster than Dokku's way at 300 containers",
      measured: `${ratio(speedup)}${where(at300)}`,
      result: at300Only(at300, speedup >= 30),
    },
    {
      target: 'netq within 2× of the one-call limit at 300 containers',
      measured: `${ratio(overLimit)}${where(at300)}`,
      result: at300Only(at300, overLimit <= 2),
    },
  ];
}

function staleTarget(at300: SizeResult, stale: Stats): Target {
  const speedup = at300.stats.dokku.median / stale.median;
  const overLimit = stale.median / at300.stats.onecall.median;
  return {
    target: "the same two, when every file is stale (netq rewrites all: C'')",
    measured: `${ratio(speedup)} faster; ${ratio(overLimit)} of the limit${where(at300)}`,
    result: at300Only(at300, speedup >= 30 && overLimit <= 2),
  };
}

function growthTarget(at100: SizeResult | undefined, at600: SizeResult | undefined): Target {
  const target = 'netq ms/container at 600 within 1.2× of at 100';
  if (!at100 || !at600) {
    return { target, measured: 'not measured: needs the 100- and 600-container sizes', result: 'n/a' };
  }
  const growth = at600.stats.netq.median / 600 / (at100.stats.netq.median / 100);
  return {
    target,
    measured: `${ratio(growth)} (${(at600.stats.netq.median / 600).toFixed(2)} vs ${(at100.stats.netq.median / 100).toFixed(2)} ms)`,
    result: growth <= 1.2 ? 'pass' : 'MISS',
  };
}

function rssTarget(r: SizeResult, rss: { rssMb: number; hwmMb: number }): Target {
  return {
    target: 'worker RSS after the 300-container rebuildall ≤150 MB',
    measured: `${rss.rssMb.toFixed(1)} MB (peak ${rss.hwmMb.toFixed(1)} MB)${r.containers === 300 ? '' : ` at ${r.containers} containers`}`,
    result: at300Only(r, rss.rssMb <= 150),
  };
}

function latencyTarget(latency: LatencyResult | undefined): Target {
  const target = 'event-to-write latency: median ≤300 ms, p99 ≤1 s';
  if (!latency) return { target, measured: 'not measured', result: 'n/a' };
  return {
    target,
    measured: `median ${ms(latency.medianMs)} ms, p99 ${ms(latency.p99Ms)} ms over ${latency.starts} starts`,
    result: latency.starts >= 100 ? (latency.medianMs <= 300 && latency.p99Ms <= 1000 ? 'pass' : 'MISS') : 'n/a',
  };
}
