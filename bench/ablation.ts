import type { NetqQueues } from '../src/queue.js';
import type { BenchRun } from './benchRun.js';
import { runNetq } from './netqRebuildall.js';
import { stats } from './stats.js';
import { settle, startWorker, stopWorker } from './workerChild.js';

export const ABLATION_ROUNDS = 3;

/**
 * Which part of a per-app job costs the time: the same rebuildall against a worker as users run it (Dokku
 * mode), one in label mode (NETQ_DOKKU_ROOT unset: it reads no Dokku state, finds the containers by their
 * labels and writes no Dokku files), and one with NETQ_CONCURRENCY=32. Each round restarts the worker and
 * lets its start-up host rebuild finish first.
 */
export async function ablation(run: BenchRun, n: number, queues: NetqQueues) {
  const variants: { variant: string; env: Record<string, string> }[] = [
    { variant: 'as users run it (files, concurrency 8)', env: {} },
    {
      variant: 'label mode: no Dokku files, containers by label (NETQ_DOKKU_ROOT unset)',
      env: { NETQ_DOKKU_ROOT: '', NETQ_DOKKU_LIB_ROOT: '' },
    },
    { variant: 'files, NETQ_CONCURRENCY=32', env: { NETQ_CONCURRENCY: '32' } },
  ];
  const cli = variants.map(() => [] as number[]);
  const queue = variants.map(() => [] as number[]);
  for (let r = 0; r < ABLATION_ROUNDS; r++) {
    for (const [i, v] of variants.entries()) {
      const w = await startWorker(run, v.env);
      await settle(w, queues);
      await runNetq(run, n, queues); // warm
      let round = await runNetq(run, n, queues);
      // a round that ran alongside one of the worker's own host rebuilds is run again (3 tries)
      for (let again = 0; round.overlaps > 0 && again < 3; again++) {
        await settle(w, queues);
        round = await runNetq(run, n, queues);
      }
      cli[i]?.push(round.ms);
      queue[i]?.push(round.queueMs);
      await stopWorker(run, w);
    }
  }
  return variants.map((v, i) => ({ variant: v.variant, cli: stats(cli[i] ?? []), queue: stats(queue[i] ?? []) }));
}
