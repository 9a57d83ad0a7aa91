import { lstat, readdir, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { DokkuPaths } from '../config.js';
import { appFolder, readContainerFile } from '../dokku/dokkuState.js';
import { BadInputError } from '../errors.js';
import type { ContainerNetworkConfig } from '../types.js';
import { currentContent, syncDir, writeFileAtomically } from './atomicFile.js';

const FILE_PATTERN = /^(IP|PORT)\.([A-Za-z0-9_-]+)\.(\d+)$/;

export interface DokkuFilesOutcome {
  written: number;
  unchanged: number;
  removed: number;
  /** dynos whose CONTAINER file changed while the job ran: their files were left to the newer truth */
  superseded: string[];
}

/**
 * The app's folder, refusing anything that would leave the root (a symlinked app folder included). Never
 * created: in Dokku mode an app without a folder does not exist (Dokku lists apps by their folders).
 */
async function appDir(d: DokkuPaths, app: string): Promise<{ dir: string; uid: number; gid: number } | undefined> {
  const dir = appFolder(d, app);
  if (path.dirname(dir) !== path.resolve(d.root)) throw new BadInputError(`app folder ${app} is not inside ${d.root}`);
  const st = await lstat(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
  if (st === undefined) return undefined;
  if (!st.isDirectory()) throw new BadInputError(`${dir} is not a folder (a symlink is refused)`);
  return { dir, uid: st.uid, gid: st.gid };
}

/**
 * Writes Dokku's files of an app exactly as Dokku does: `IP.<proc>.<n>` for every process type and
 * `PORT.web.<n>` (the container port) for web only, without a trailing newline, mode 0644, owned by the
 * owner of the app folder (so Dokku's user can rewrite them in place at its next deploy). Each is written
 * atomically and only when its content changes. Just before a dyno's files are written its CONTAINER file
 * is read again: when Dokku switched the dyno meanwhile, the files are Dokku's and are left alone.
 * Files of dynos outside the scale (`scale`: proc -> count) are removed, as Dokku's deploy does when it
 * scales down. `beforeWrite` runs once before the first file is written or removed (the app lock's check:
 * an unchanged app asks nothing of Redis here).
 */
export async function writeDokkuFiles(
  d: DokkuPaths,
  app: string,
  configs: ContainerNetworkConfig[],
  scale: Map<string, number>,
  beforeWrite: () => Promise<void> = async () => {},
): Promise<DokkuFilesOutcome> {
  const out: DokkuFilesOutcome = { written: 0, unchanged: 0, removed: 0, superseded: [] };
  const folder = await appDir(d, app);
  if (folder === undefined) return out;
  const { dir, uid, gid } = folder;
  const owner = { uid, gid };
  let ready: Promise<void> | undefined;
  const mayWrite = () => {
    ready ??= beforeWrite();
    return ready;
  };
  await Promise.all(
    configs.map(async (c) => {
      const ours = async () => (await readContainerFile(d, app, c.proc, c.index)) === c.id;
      if (!(await ours())) {
        out.superseded.push(`${c.proc}.${c.index}`);
        return;
      }
      const files: [string, string][] = [[`IP.${c.proc}.${c.index}`, c.ip]];
      if (c.proc === 'web') files.push([`PORT.${c.proc}.${c.index}`, String(c.port)]);
      const stale: [string, string][] = [];
      for (const [name, content] of files) {
        if ((await currentContent(path.join(dir, name))) === content) out.unchanged += 1;
        else stale.push([name, content]);
      }
      if (stale.length === 0) return;
      await mayWrite();
      // read again after the check: the dyno may have been switched while it ran
      if (!(await ours())) {
        out.superseded.push(`${c.proc}.${c.index}`);
        out.unchanged -= files.length - stale.length;
        return;
      }
      for (const [name, content] of stale) {
        await writeFileAtomically(dir, name, content, { mode: 0o644, owner });
        out.written += 1;
      }
    }),
  );
  for (const name of await readdir(dir)) {
    const m = name.match(FILE_PATTERN);
    if (!m?.[2] || !m[3]) continue;
    const count = scale.get(m[2]);
    if (count !== undefined && Number(m[3]) <= count) continue;
    await mayWrite();
    await unlink(path.join(dir, name)).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
    out.removed += 1;
  }
  if (out.removed > 0) await syncDir(dir);
  out.superseded.sort();
  return out;
}
