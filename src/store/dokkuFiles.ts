import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { lstat, mkdir, open, readdir, realpath, rename, unlink } from 'node:fs/promises';
import path from 'node:path';
import { BadInputError } from '../errors.js';
import type { ContainerNetworkConfig } from '../types.js';

const FILE_PATTERN = /^(IP|PORT)\.([A-Za-z0-9_-]+)\.(\d+)$/;

/**
 * `<root>/<app>`, refusing anything that would leave the root (a symlinked app folder included). It is
 * created only when asked (there are files to write): a rebuild of a deleted or renamed app, which has no
 * containers, must not bring its folder back (Dokku lists apps by their folders). Undefined when missing.
 */
async function appDir(root: string, app: string, create: boolean): Promise<string | undefined> {
  const realRoot = await realpath(root);
  const dir = path.join(realRoot, app);
  if (path.dirname(dir) !== realRoot) throw new BadInputError(`app folder ${app} is not inside ${root}`);
  // not recursive: the root exists (realpath), and mkdir(2) does not follow a planted (even dangling) symlink
  if (create) {
    await mkdir(dir, { mode: 0o755 }).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err;
    });
  }
  const st = await lstat(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT' && !create) return undefined;
    throw err;
  });
  if (st === undefined) return undefined;
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

/** The file's content, or undefined when it is missing, unreadable or a symlink (O_NOFOLLOW: never read through one). */
async function currentContent(file: string): Promise<string | undefined> {
  try {
    const fh = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      return await fh.readFile('utf8');
    } finally {
      await fh.close();
    }
  } catch {
    return undefined;
  }
}

/** Writes the file (atomically, fsynced) unless it already holds exactly this content; true when written. */
async function writeIfChanged(dir: string, name: string, content: string): Promise<boolean> {
  if ((await currentContent(path.join(dir, name))) === content) return false;
  await writeAtomically(dir, name, content);
  return true;
}

/**
 * Writes Dokku's `IP.<proc>.<index>` and `PORT.<proc>.<index>` files of an app, each atomically, and
 * removes those of containers that no longer exist (`keep` holds `<proc>.<index>` of the living ones).
 * A file that already holds the right value is left alone: an unchanged rebuild writes nothing, so
 * the fsync that makes a real change durable is paid only for real changes (and nothing watching the
 * files' mtimes sees a change that is not one).
 */
export async function writeDokkuFiles(
  root: string,
  app: string,
  configs: ContainerNetworkConfig[],
  keep: Set<string>,
): Promise<{ written: number; unchanged: number; removed: number }> {
  const dir = await appDir(root, app, configs.length > 0);
  if (dir === undefined) return { written: 0, unchanged: 0, removed: 0 };
  const outcomes = await Promise.all(
    configs.flatMap((c) => [
      writeIfChanged(dir, `IP.${c.proc}.${c.index}`, `${c.ip}\n`),
      writeIfChanged(dir, `PORT.${c.proc}.${c.index}`, `${c.port}\n`),
    ]),
  );
  const written = outcomes.filter(Boolean).length;
  let removed = 0;
  for (const name of await readdir(dir)) {
    const m = name.match(FILE_PATTERN);
    if (!m || keep.has(`${m[2]}.${m[3]}`)) continue;
    await unlink(path.join(dir, name)).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
    removed += 1;
  }
  return { written, unchanged: outcomes.length - written, removed };
}
