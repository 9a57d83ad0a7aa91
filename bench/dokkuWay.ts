import path from 'node:path';
import { type BenchRun, baseEnv, ROOT } from './benchRun.js';
import { runTimed, type Timed } from './runTimed.js';

/** Contender A: Dokku's way (bench/dokku-way.sh), checked to have configured every container. */
export async function runDokkuWay(run: BenchRun, n: number): Promise<Timed> {
  const r = await runTimed('bash', [path.join(ROOT, 'bench/dokku-way.sh'), run.roots.dokku, run.label], {
    cwd: ROOT,
    env: baseEnv(),
    timeoutMs: 600_000,
  });
  const [configured, failed] = r.stdout.trim().split(/\s+/).map(Number);
  if (r.code !== 0 || configured !== n * 2 || failed !== 0) {
    run.problem(
      `Dokku's way: exit ${r.code}, printed "${r.stdout.trim()}" (want ${n * 2} 0) ${r.stderr.slice(0, 300)}`,
    );
  }
  return r;
}
