// `npm run bench -- --fleet`: netq's rebuildall over a simulated fleet (20 hosts, 1,000 / 5,000 / 10,000 apps
// by default), each host a simulated Docker engine (bench/fleet/simEngine.ts) served by its own `netq worker`
// process, on a private Redis. The order of things; each step lives in the module named after it.
//
//   npm run bench -- --fleet                                   the documented plan (updates docs/benchmarks.md)
//   npm run bench -- --fleet --fleet-sizes 100,200 --fleet-hosts 4 --rounds 1   a small run
import os from 'node:os';
import { say } from '../benchRun.js';
import { Interrupted, stop } from '../interrupt.js';
import { checkEngine } from './checkEngine.js';
import type { FleetOptions } from './fleetOptions.js';
import { writeFleetReport } from './fleetReport.js';
import { FleetRun } from './fleetRun.js';
import { type FleetSize, measureFleetSize } from './measureFleet.js';

/** Runs the fleet bench; returns the exit code (0, 1 on problems, 130 when interrupted). */
export async function runFleet(options: FleetOptions): Promise<number> {
  // `on`, not `once`: a Ctrl-C reaches the whole process group and tsx forwards it too, so it comes twice
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (stop.signal.aborted) return;
      console.error(`\n${signal}: stopping, then cleaning up`);
      stop.abort(signal);
    });
  }
  const run = new FleetRun(options);
  const sizes: FleetSize[] = [];
  let exitCode = 0;
  let reported = false;
  try {
    await run.open();
    say(
      `netq fleet bench (simulated engines), run ${run.id}: ${options.hosts} hosts, sizes ${options.sizes.join(', ')} apps, ${options.rounds} rounds`,
    );
    say(
      `netq: ${run.netqVersion}, run from a copy of dist/; private Redis on port ${run.redis?.port}; load ${os
        .loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
    );
    say(`check: ${await checkEngine(run.sockDir)}`);
    for (const [i, n] of options.sizes.entries()) sizes.push(await measureFleetSize(run, n, i === 0));
    await writeFleetReport(run, sizes, false);
    reported = true;
  } catch (err) {
    if (err instanceof Interrupted || stop.signal.aborted) {
      console.error(`fleet bench ${(err as Error).message}`);
      exitCode = 130;
    } else {
      run.problems.push((err as Error).message);
      console.error(`fleet bench failed: ${(err as Error).stack ?? err}`);
    }
  } finally {
    if (!reported && sizes.length > 0) {
      await writeFleetReport(run, sizes, true).catch((err: Error) =>
        console.error(`could not write the partial report: ${err.message}`),
      );
    }
    await run.cleanup();
  }
  if (run.problems.length && exitCode === 0) {
    exitCode = 1;
    say(`\n${run.problems.length} problems:\n${run.problems.map((p) => `  ${p}`).join('\n')}`);
  }
  return exitCode;
}
