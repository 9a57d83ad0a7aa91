// The worker's memory over many runs: its RSS after a size's measured rebuildalls, then after `runs` more
// rebuildalls of the same apps (through the queue, each waited for), and the growth between the two.
import { rebuildall } from '../producers/client.js';
import { type BenchRun, say } from './benchRun.js';
import { rssOf, type WorkerChild } from './workerChild.js';

export interface RssGrowth {
  containers: number;
  runs: number;
  beforeMb: number;
  afterMb: number;
  peakMb: number;
  growthPct: number;
}

export async function measureRssGrowth(run: BenchRun, w: WorkerChild, n: number, runs: number): Promise<RssGrowth> {
  const queues = run.queues();
  const before = await rssOf(w.pid);
  say(`\nworker RSS over ${runs} more rebuildalls of ${n * 2} containers: ${before.rssMb.toFixed(1)} MB before`);
  for (let i = 0; i < runs; i++) {
    const { result } = await rebuildall(queues, { wait: true, timeoutMs: 300_000 });
    if (result?.failed !== 0 || result.containers !== n * 2) {
      run.problem(`rss growth: rebuildall ${i + 1} gave ${JSON.stringify(result).slice(0, 200)}`);
    }
  }
  const after = await rssOf(w.pid);
  const growthPct = ((after.rssMb - before.rssMb) / before.rssMb) * 100;
  say(`  after: ${after.rssMb.toFixed(1)} MB (peak ${after.hwmMb.toFixed(1)} MB), ${growthPct.toFixed(1)}%`);
  return {
    containers: n * 2,
    runs,
    beforeMb: before.rssMb,
    afterMb: after.rssMb,
    peakMb: after.hwmMb,
    growthPct,
  };
}
