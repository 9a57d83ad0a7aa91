import { chown, mkdir, readdir, rmdir, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { DokkuPaths } from '../config.js';
import { PROPERTY_KEYS, type PropertyKey, type RawProperties, splitList } from '../properties/properties.js';
import { currentContent, syncDir, writeFileAtomically } from '../store/atomicFile.js';
import { dokkuOwner, propertyFolder } from './dokkuState.js';

/**
 * The network properties in Dokku's own store (`DOKKU_LIB_ROOT/config/network/<scope>/<key>`), the truth in
 * Dokku mode: one file per key, the value without a trailing newline, lists comma-joined, mode 0600, owned by
 * Dokku's user; `--global` is a scope like an app (Dokku's plugins/common/properties.go, network/subcommands.go).
 */

const folder = (d: DokkuPaths, scope: string) => propertyFolder(d, 'network', scope);

/** One scope's raw properties as Dokku stores them (unset keys are absent). */
export async function readPropertyFiles(d: DokkuPaths, scope: string): Promise<RawProperties> {
  const out: RawProperties = {};
  await Promise.all(
    PROPERTY_KEYS.map(async (key) => {
      const v = await currentContent(path.join(folder(d, scope), key));
      if (v !== undefined && v.trim() !== '') out[key] = v.replace(/\n+$/, '');
    }),
  );
  return out;
}

/** An app's and the global raw properties. */
export async function readDokkuProperties(
  d: DokkuPaths,
  app: string,
): Promise<{ app: RawProperties; global: RawProperties }> {
  const [a, g] = await Promise.all([readPropertyFiles(d, app), readPropertyFiles(d, '--global')]);
  return { app: a, global: g };
}

/** The stored form Dokku uses: a list of networks comma-joined, anything else as given. */
export function dokkuForm(key: PropertyKey, value: string): string {
  if (key === 'attach-post-create' || key === 'attach-post-deploy') return splitList(value).join(',');
  return value;
}

/** Writes one property as `dokku network:set` does, or (value '') deletes it as `network:set <app> <key>` does. */
export async function writePropertyFile(d: DokkuPaths, scope: string, key: PropertyKey, value: string): Promise<void> {
  const dir = folder(d, scope);
  if (value === '') {
    await unlink(path.join(dir, key)).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
    return;
  }
  const owner = await dokkuOwner(d);
  await ensureFolder(path.dirname(dir), owner);
  await ensureFolder(dir, owner);
  await writeFileAtomically(dir, key, dokkuForm(key, value), { mode: 0o600, owner });
}

/** Removes a scope's network properties (Dokku's PropertyDestroy, at `post-delete`). */
export async function removePropertyFiles(d: DokkuPaths, scope: string): Promise<void> {
  const dir = folder(d, scope);
  for (const name of await readdir(dir).catch(() => [] as string[])) await unlink(path.join(dir, name));
  await rmdir(dir).catch(() => {});
}

async function ensureFolder(dir: string, owner: { uid: number; gid: number }): Promise<void> {
  const st = await stat(dir).catch(() => undefined);
  if (st?.isDirectory()) return;
  await mkdir(dir, { mode: 0o755 }).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'EEXIST') throw err;
  });
  await chown(dir, owner.uid, owner.gid);
  await syncDir(path.dirname(dir));
}
