// The bench's options: what `npm run bench -- …` asks for, and the plan it makes of them (mode, sizes,
// rounds, storm, event-to-write samples). A bad value throws, naming its flag, before anything is made.
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import { parseArgs } from 'node:util';

export const USAGE =
  'usage: npm run bench [-- --quick | --profile] [--rounds N] [--sizes 50,150,300] [--parallel 8] [--no-storm] [--starts 100]\n' +
  '       [--cli-samples 20] [--rss-runs 100]\n' +
  '       npm run bench -- --fleet [--fleet-sizes 1000,5000,10000] [--fleet-hosts 20] [--rounds 3]   (simulated engines)';

const MB_PER_CONTAINER = 6; // busybox httpd + docker-init + shim, measured about 5 MB

export type BenchArgs = ReturnType<typeof parseBenchArgs>;

/** The command line, as given (unknown flags rejected). */
export function parseBenchArgs() {
  return parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      profile: { type: 'boolean', default: false },
      rounds: { type: 'string' },
      sizes: { type: 'string' },
      parallel: { type: 'string', default: '8' },
      'no-storm': { type: 'boolean', default: false },
      starts: { type: 'string' },
      'profile-apps': { type: 'string', default: '150' },
      'cli-samples': { type: 'string' },
      'rss-runs': { type: 'string' },
      // the simulated fleet (bench/fleet/): only it runs
      fleet: { type: 'boolean', default: false },
      'fleet-sizes': { type: 'string' },
      'fleet-hosts': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  }).values;
}

export interface BenchOptions {
  mode: 'full' | 'quick' | 'profile';
  rounds: number;
  /** containers created at once */
  parallel: number;
  /** apps per size, smallest first */
  sizes: number[];
  /** event-to-write samples; 0 skips the measurement */
  latencyStarts: number;
  /** samples of `network:rebuild <app>` and of its `--no-wait` form, at the first size; 0 skips */
  cliSamples: number;
  /** rebuildalls run after the largest size's rounds to see the worker's memory grow; 0 skips */
  rssRuns: number;
  storm: { requests: number; apps: number } | undefined;
  memAvailableMb: number;
  /** what the plan left out and why (the run adds more as it goes) */
  notes: string[];
}

const positive = (name: string, v: string): number => {
  if (!/^\d+$/.test(v) || Number(v) < 1) throw new Error(`--${name}: expected a positive whole number, got ${v}`);
  return Number(v);
};

/** The plan of the run: the full run's sizes depend on the memory available now. */
export async function planBench(opt: BenchArgs): Promise<BenchOptions> {
  const mode: 'full' | 'quick' | 'profile' = opt.profile ? 'profile' : opt.quick ? 'quick' : 'full';
  const rounds = opt.rounds ? positive('rounds', opt.rounds) : mode === 'quick' ? 3 : 5;
  const parallel = positive('parallel', opt.parallel);
  const memAvailableMb = await readFile('/proc/meminfo', 'utf8').then(
    (t) => Number(/MemAvailable:\s+(\d+)/.exec(t)?.[1] ?? 0) / 1024,
    () => os.freemem() / 2 ** 20,
  );
  const notes: string[] = [];
  function plannedSizes(): number[] {
    if (opt.sizes) return opt.sizes.split(',').map((s) => positive('sizes', s.trim()));
    if (mode === 'quick') return [10];
    if (mode === 'profile') return [positive('profile-apps', opt['profile-apps'])];
    const sizes = [50, 150];
    const need = 600 * MB_PER_CONTAINER + 2048;
    if (memAvailableMb >= need) sizes.push(300);
    else notes.push(`300 apps / 600 containers skipped: ${Math.round(memAvailableMb)} MB available, ${need} MB needed`);
    return sizes;
  }
  const sizes = plannedSizes().sort((a, b) => a - b);
  const latencyStarts =
    mode === 'profile'
      ? 0
      : opt.starts !== undefined
        ? opt.starts === '0'
          ? 0
          : positive('starts', opt.starts)
        : mode === 'quick'
          ? 10
          : 100;
  const storm =
    opt['no-storm'] || mode === 'profile'
      ? undefined
      : mode === 'quick'
        ? { requests: 200, apps: 10 }
        : { requests: 1000, apps: 50 };
  const count = (name: 'cli-samples' | 'rss-runs', quick: number, full: number) => {
    const v = opt[name];
    if (mode === 'profile') return 0;
    if (v !== undefined) return v === '0' ? 0 : positive(name, v);
    return mode === 'quick' ? quick : full;
  };
  const cliSamples = count('cli-samples', 5, 20);
  const rssRuns = count('rss-runs', 5, 100);
  return { mode, rounds, parallel, sizes, latencyStarts, cliSamples, rssRuns, storm, memAvailableMb, notes };
}
