import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { live } from './interrupt.js';
import { stats } from './stats.js';

export const IMPORT_RUNS = 5;

/** What each piece the CLI loads costs a fresh process (its start-up), against `node -e 0`; run in `build`. */
export async function importCosts(build: string): Promise<{ what: string; best: number; median: number }[]> {
  const exec = promisify(execFile);
  const esm = (m: string): [string, string[]] => [
    m,
    ['--input-type=module', '-e', `await import(${JSON.stringify(m)})`],
  ];
  const entries: [string, string[]][] = [
    ['nothing (node -e 0)', ['-e', '0']],
    ...['commander', 'zod', 'ioredis', 'bullmq', 'pino', 'dockerode', 'fastify', '@bull-board/api'].map(esm),
    esm('./dist/producers/client.js'),
    esm('./dist/producers/commands/rebuild.js'),
    esm('./dist/workers/pool.js'),
    ['bin/netq.js --help (everything the CLI loads)', ['bin/netq.js', '--help']],
  ];
  const out: { what: string; best: number; median: number }[] = [];
  for (const [what, args] of entries) {
    live();
    const times: number[] = [];
    for (let i = 0; i < IMPORT_RUNS; i++) {
      const t = performance.now();
      await exec(process.execPath, args, { cwd: build });
      times.push(performance.now() - t);
    }
    out.push({ what, best: Math.min(...times), median: stats(times).median });
  }
  return out;
}
