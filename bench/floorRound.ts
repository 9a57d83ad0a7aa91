// One measured round of the queue floor (contender D, bench/floor.ts) within a bench run.
import type { BenchRun } from './benchRun.js';
import { interruptible, live } from './interrupt.js';

/** One round of contender D on the run's first n apps, its summary checked. */
export async function runFloor(run: BenchRun, n: number): Promise<{ ms: number }> {
  live();
  if (!run.floor) throw new Error('the queue floor is not started');
  const { ms: took, summary } = await interruptible(run.floor.run(run.apps.slice(0, n).map((a) => a.app)));
  if (summary.apps !== n || summary.containers !== n * 2 || summary.failed !== 0) {
    run.problem(`queue floor: ${JSON.stringify(summary)} (want ${n} apps)`);
  }
  return { ms: took };
}
