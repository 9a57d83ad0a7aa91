import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import path from 'node:path';

/** The file-system calls an atomic write makes: node's own by default, a recording wrapper in the unit test. */
export interface AtomicFs {
  open: typeof open;
  rename: typeof rename;
  unlink: typeof unlink;
}

const nodeFs: AtomicFs = { open, rename, unlink };

export interface FileOwnership {
  /** mode of the file, e.g. 0o644 */
  mode: number;
  /** owner and group given to the file before it takes the name (so it never appears with the wrong owner) */
  owner?: { uid: number; gid: number } | undefined;
}

/**
 * Writes `dir/name` so that readers see the old content or the new, never a part: a temporary file in the
 * same folder (O_EXCL: never follows a planted symlink), written, fsynced, given its mode and owner, then
 * renamed over the name (which replaces a symlink rather than writing through it); the folder is fsynced
 * after the rename so the new name survives a crash.
 */
export async function writeFileAtomically(
  dir: string,
  name: string,
  content: string,
  own: FileOwnership,
  fs: AtomicFs = nodeFs,
): Promise<void> {
  const tmp = path.join(dir, `.${name}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const fh = await fs.open(tmp, 'wx', own.mode);
  try {
    await fh.writeFile(content);
    if (own.owner) await fh.chown(own.owner.uid, own.owner.gid);
    await fh.chmod(own.mode); // the umask may have taken bits off
    await fh.sync();
  } catch (err) {
    await fh.close().catch(() => {});
    await fs.unlink(tmp).catch(() => {});
    throw err;
  }
  await fh.close();
  try {
    await fs.rename(tmp, path.join(dir, name));
  } catch (err) {
    await fs.unlink(tmp).catch(() => {});
    throw err;
  }
  await syncDir(dir, fs);
}

/** fsyncs a folder, so that a rename or unlink in it is durable. */
export async function syncDir(dir: string, fs: AtomicFs = nodeFs): Promise<void> {
  const d = await fs.open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}

/** The file's content, or undefined when it is missing, unreadable or a symlink (O_NOFOLLOW: never read through one). */
export async function currentContent(file: string): Promise<string | undefined> {
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
