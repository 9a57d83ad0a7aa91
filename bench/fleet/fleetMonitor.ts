// Round trips per app: one extra rebuildall (not timed) with Redis MONITOR on, which tells the commands
// clients sent (a script call is one, however many commands it runs) from those run inside scripts. MONITOR
// costs Redis time, so this round is only counted, never timed.
import path from 'node:path';
import { Redis } from 'ioredis';
import { runRebuildall } from './fleetCli.js';
import type { FleetRun } from './fleetRun.js';

export interface MonitorCounts {
  apps: number;
  /** commands clients sent (scripts counted once each) */
  sent: number;
  /** commands run inside scripts */
  inScripts: number;
  /** commands sent, by command, most first */
  sentByCommand: [string, number][];
}

export async function monitorRound(run: FleetRun, apps: number): Promise<MonitorCounts> {
  const { redis } = run.ready();
  const client = new Redis(redis.url, { maxRetriesPerRequest: 3 });
  client.on('error', () => {});
  const monitor = await client.monitor();
  const by = new Map<string, number>();
  let sent = 0;
  let inScripts = 0;
  monitor.on('monitor', (_time: string, args: string[], source: string) => {
    if (source === 'lua') {
      inScripts += 1;
      return;
    }
    const cmd = String(args[0] ?? '').toLowerCase();
    if (cmd === 'monitor') return;
    sent += 1;
    by.set(cmd, (by.get(cmd) ?? 0) + 1);
  });
  try {
    const cli = await runRebuildall({
      build: run.build,
      redisUrl: redis.url,
      prefix: run.prefix,
      timeoutS: 600,
      outFile: path.join(run.tmp, 'monitor-round.json'),
    });
    if (cli.code !== 0)
      run.problem(`the MONITOR round's rebuildall exited with ${cli.code}: ${cli.stderr.slice(0, 300)}`);
    // MONITOR lines may trail the CLI's exit a little
    await new Promise((r) => setTimeout(r, 500));
  } finally {
    monitor.disconnect();
    client.disconnect();
  }
  return { apps, sent, inScripts, sentByCommand: [...by].sort((a, b) => b[1] - a[1]) };
}
