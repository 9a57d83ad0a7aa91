import { randomBytes } from 'node:crypto';
import { lstat, mkdir, open, readdir, realpath, rename, unlink } from 'node:fs/promises';
import path from 'node:path';
import { BadInputError } from '../errors.js';
import type { ContainerNetworkConfig } from '../types.js';

const FILE_PATTERN = /^(IP|PORT)\.([A-Za-z0-9_-]+)\.(\d+)$/;

/** `<root>/<app>`, refusing anything that would leave the root (a symlinked app folder included). */
async function appDir(root: string, app: string): Promise<string> {
  const realRoot = await realpath(root);
  const dir = path.join(realRoot, app);
  if (path.dirname(dir) !== realRoot) throw new BadInputError(`app folder ${app} is not inside ${root}`);
  // not recursive: the root exists (realpath), and mkdir(2) does not follow a planted (even dangling) symlink
  await mkdir(dir, { mode: 0o755 }).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'EEXIST') throw err;
  });
  const st = await lstat(dir);
  if (!st.isDirectory()) throw new BadInputError(`${dir} is not a folder (a symlink is refused)`);
  return dir;
}

async function writeAtomically(dir: string, name: string, content: string): Promise<void> {
  const tmp = path.join(dir, `.${name}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const fh = await open(tmp, 'wx', 0o644); // O_EXCL: never follows a planted symlink
  try {
    await fh.writeFile(content);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path.join(dir, name)); // replaces a symlink rather than writing through it
}

/**
 * Writes Dokku's `IP.<proc>.<index>` and `PORT.<proc>.<index>` files of an app, each atomically,
 * and removes those of containers that no longer exist (`keep` holds `<proc>.<index>` of the living ones).
 */
export async function writeDokkuFiles(
  root: string,
  app: string,
  configs: ContainerNetworkConfig[],
  keep: Set<string>,
): Promise<{ written: number; removed: number }> {
  const dir = await appDir(root, app);
  let written = 0;
  for (const c of configs) {
    await writeAtomically(dir, `IP.${c.proc}.${c.index}`, `${c.ip}\n`);
    await writeAtomically(dir, `PORT.${c.proc}.${c.index}`, `${c.port}\n`);
    written += 2;
  }
  let removed = 0;
  for (const name of await readdir(dir)) {
    const m = name.match(FILE_PATTERN);
    if (!m || keep.has(`${m[2]}.${m[3]}`)) continue;
    await unlink(path.join(dir, name)).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
    removed += 1;
  }
  return { written, removed };
}
