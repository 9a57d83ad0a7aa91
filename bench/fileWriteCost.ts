import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { writeDokkuFiles } from '../src/store/dokkuFiles.js';
import { type Stats, stats } from './stats.js';

/**
 * What netq's Dokku file write costs for one app (2 containers, 3 files: temp file, fsync, rename), 50 times
 * over 10 app folders made under `root`: after the first write of each app its files are unchanged.
 */
export async function fileWriteCost(root: string): Promise<Stats> {
  await mkdir(root);
  const configs = [
    { container: 'x.web.1', id: 'a', proc: 'web', index: 1, ip: '172.17.0.2', port: 5000, listener: '172.17.0.2:5000' },
    {
      container: 'x.worker.1',
      id: 'b',
      proc: 'worker',
      index: 1,
      ip: '172.17.0.3',
      port: 5000,
      listener: '172.17.0.3:5000',
    },
  ];
  const keep = new Map([
    ['web', 1],
    ['worker', 1],
  ]);
  for (let i = 0; i < 10; i++) {
    // the app folders and their CONTAINER files (not timed): netq reads each dyno's CONTAINER file again just
    // before it writes the dyno's files, and leaves them alone unless it names the config's container
    const appDir = path.join(root, `app-${i}`);
    await mkdir(appDir);
    for (const c of configs) await writeFile(path.join(appDir, `CONTAINER.${c.proc}.${c.index}`), `${c.id}\n`);
  }
  const fileTimes: number[] = [];
  for (let i = 0; i < 50; i++) {
    const t = performance.now();
    await writeDokkuFiles({ root, libRoot: root }, `app-${i % 10}`, configs, keep);
    fileTimes.push(performance.now() - t);
  }
  return stats(fileTimes);
}
