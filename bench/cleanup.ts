import { rm } from 'node:fs/promises';
import { type BenchRun, say } from './benchRun.js';
import { docker, removeByLabel } from './containers.js';
import { running } from './runTimed.js';
import { stopWorker } from './workerChild.js';

/**
 * Removes everything the run made, step by step, each step run whatever the others did (a failed step is a
 * problem of the run): child processes, the queue floor, producers and counters, containers, Redis keys, the
 * temp dir; then checks that nothing is left behind.
 */
export async function cleanup(run: BenchRun): Promise<void> {
  const { redis, label, keyPattern } = run;
  say('\ncleanup');
  const step = async (what: string, fn: () => Promise<string>) => {
    try {
      say(`  ${what}: ${await fn()}`);
    } catch (err) {
      run.problems.push(`cleanup ${what}: ${(err as Error).message}`);
      say(`  ${what}: FAILED ${(err as Error).message}`);
    }
  };
  await step('child processes', async () => {
    const n = running.size;
    for (const c of running) c.kill('SIGKILL');
    if (run.worker) {
      const pid = run.worker.pid;
      await stopWorker(run, run.worker);
      return `worker ${pid} stopped; ${n} other children ended`;
    }
    return `${n} ended`;
  });
  await step('queue floor and producers', async () => {
    await run.floor?.close();
    await Promise.allSettled(run.openQueues.map((q) => q.close()));
    await run.dockerCounter?.close();
    run.redisCounter?.stop();
    return 'closed';
  });
  await step('containers', async () => `${await removeByLabel(label)} removed (${run.made} were made)`);
  await step('redis keys', async () => {
    if (redis.status === 'wait') await redis.connect();
    let n = 0;
    for await (const batch of redis.scanStream({ match: keyPattern, count: 1000 })) {
      const keys = batch as string[];
      if (keys.length) n += await redis.unlink(...keys);
    }
    return `${n} removed`;
  });
  await step('temp dir', async () => {
    if (!run.tmp) return 'none';
    await rm(run.tmp, { recursive: true, force: true });
    return `${run.tmp} removed`;
  });
  await step('left behind', async () => {
    const containers = (await docker.listContainers({ all: true, filters: { label: [label] } })).length;
    const keys = (await redis.scan('0', 'MATCH', keyPattern, 'COUNT', 100_000))[1].length;
    if (containers || keys) throw new Error(`${containers} containers, ${keys} keys`);
    return 'nothing';
  });
  redis.disconnect();
}
