import path from 'node:path';
import { type BenchRun, baseEnv, REDIS_URL, ROOT } from './benchRun.js';
import { runTimed, type Timed } from './runTimed.js';

/** Contender B: the one-call limit (bench/one-call.mjs), checked to have configured every container. */
export async function runOneCall(run: BenchRun, n: number): Promise<Timed> {
  const r = await runTimed(process.execPath, [path.join(ROOT, 'bench/one-call.mjs')], {
    cwd: ROOT,
    env: {
      ...baseEnv(),
      REDIS_URL,
      BENCH_LABEL: run.label,
      BENCH_ROOT: run.roots.onecall,
      BENCH_PREFIX: `bench-${run.id}-onecall`,
    },
    timeoutMs: 120_000,
  });
  let s: { apps?: number; configured?: number; failed?: number } = {};
  try {
    s = JSON.parse(r.stdout) as typeof s;
  } catch {}
  if (r.code !== 0 || s.apps !== n || s.configured !== n * 2 || s.failed !== 0) {
    run.problem(`one-call: exit ${r.code}, printed ${r.stdout.trim().slice(0, 200)} ${r.stderr.slice(0, 300)}`);
  }
  return r;
}
