// The Dokku files every contender but the floor writes for an app (IP./PORT.), made stale for netq's C''
// rounds and compared across the contenders' roots after each size.
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { BenchRun } from './benchRun.js';
import { PROCS } from './containers.js';
import { mapLimit } from './mapLimit.js';

/**
 * The Dokku files of one bench app, as Dokku writes them: `IP.<proc>.1` for every process type and
 * `PORT.web.1` for web only (Dokku writes no PORT file for other process types).
 */
const APP_FILES = [...PROCS.map((proc) => `IP.${proc}.1`), 'PORT.web.1'];
/** What each of them holds: the value alone, without a trailing newline (Dokku writes them so). */
const FILE_VALUE = { IP: /^\d{1,3}(\.\d{1,3}){3}$/, PORT: /^\d{1,5}$/ };

/**
 * Gives every IP./PORT. file in netq's root a wrong value (not timed). netq leaves a file that already holds
 * the right value alone, so rounds after the first write nothing; a rebuildall after this rewrites (and
 * fsyncs) every file, as after a reboot that moved every container.
 */
export async function staleNetqFiles(run: BenchRun, n: number): Promise<void> {
  await mapLimit(run.apps.slice(0, n), 16, (a) =>
    Promise.all(APP_FILES.map((f) => writeFile(path.join(run.roots.netq, a.app, f), 'stale'))),
  );
}

/**
 * How many apps' Dokku files are wrong in the roots of A, B and C: all must hold the same values, each an
 * address or a port without a trailing newline, and no root may hold an IP./PORT. file beyond APP_FILES
 * (a PORT file of a non-web process, say).
 */
export async function compareRoots(run: BenchRun, n: number): Promise<number> {
  const read = async (root: string, app: string) => {
    const dir = path.join(root, app);
    const values = await Promise.all(APP_FILES.map((f) => readFile(path.join(dir, f), 'utf8').catch(() => 'missing')));
    const extra = (await readdir(dir)).filter((f) => /^(IP|PORT)\./.test(f) && !APP_FILES.includes(f));
    return { values, extra };
  };
  const wellFormed = (values: string[]) =>
    values.every((v, i) => FILE_VALUE[(APP_FILES[i] ?? '').startsWith('IP.') ? 'IP' : 'PORT'].test(v));
  let differ = 0;
  for (const a of run.apps.slice(0, n)) {
    const [x, y, z] = await Promise.all([
      read(run.roots.dokku, a.app),
      read(run.roots.onecall, a.app),
      read(run.roots.netq, a.app),
    ]);
    const same =
      JSON.stringify(x.values) === JSON.stringify(y.values) && JSON.stringify(y.values) === JSON.stringify(z.values);
    const extra = [x, y, z].some((r) => r.extra.length > 0);
    if (!same || !wellFormed(x.values) || extra) differ += 1;
  }
  return differ;
}
