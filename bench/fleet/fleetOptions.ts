// The fleet bench's plan (`npm run bench -- --fleet`), from the bench's command line.
import type { BenchArgs } from '../options.js';
import { DEFAULT_LATENCY, type LatencyModel } from './simLatency.js';

export interface FleetOptions {
  /** total apps per size, smallest first */
  sizes: number[];
  /** simulated hosts (one engine and one worker process each), the same at every size */
  hosts: number;
  rounds: number;
  seed: number;
  procs: string[];
  publishedShare: number;
  attachShare: number;
  serviceShare: number;
  latency: LatencyModel;
  /** the plan docs/benchmarks.md reports (default sizes and hosts): only such a run updates its Fleet section */
  documented: boolean;
}

export const FLEET_DEFAULTS = { sizes: [1000, 5000, 10_000], hosts: 20, rounds: 3, seed: 20261201 } as const;

const positive = (name: string, v: string): number => {
  if (!/^\d+$/.test(v) || Number(v) < 1) throw new Error(`--${name}: expected a positive whole number, got ${v}`);
  return Number(v);
};

export function planFleet(args: BenchArgs): FleetOptions {
  const hosts = args['fleet-hosts'] ? positive('fleet-hosts', args['fleet-hosts']) : FLEET_DEFAULTS.hosts;
  if (hosts > 99) throw new Error('--fleet-hosts: at most 99');
  const sizes = args['fleet-sizes']
    ? args['fleet-sizes'].split(',').map((s) => positive('fleet-sizes', s.trim()))
    : [...FLEET_DEFAULTS.sizes];
  for (const s of sizes) {
    if (s % hosts !== 0) throw new Error(`--fleet-sizes: ${s} apps do not split evenly over ${hosts} hosts`);
  }
  sizes.sort((a, b) => a - b);
  const rounds = args.rounds ? positive('rounds', args.rounds) : FLEET_DEFAULTS.rounds;
  const documented =
    hosts === FLEET_DEFAULTS.hosts &&
    sizes.join(',') === FLEET_DEFAULTS.sizes.join(',') &&
    rounds >= FLEET_DEFAULTS.rounds;
  return {
    sizes,
    hosts,
    rounds,
    seed: FLEET_DEFAULTS.seed,
    procs: ['web', 'worker'],
    publishedShare: 0.25,
    attachShare: 0.1,
    serviceShare: 0.05,
    latency: DEFAULT_LATENCY,
    documented,
  };
}

/** h01, h02, … */
export const hostIds = (n: number) => Array.from({ length: n }, (_, i) => `h${String(i + 1).padStart(2, '0')}`);
