import { constants } from 'node:fs';
import { lstat, open, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { APP_NAME_PATTERN } from '../appName.js';
import type { DokkuPaths } from '../config.js';
import { BadInputError } from '../errors.js';

/**
 * Reading a Dokku host's own state, which is the truth in Dokku mode (see docs/dokku.md): which apps
 * exist (their folders under DOKKU_ROOT), whether an app is deployed, its scale, and the container each
 * dyno runs (`CONTAINER.<proc>.<n>`). Nothing here writes.
 */

const CONTAINER_FILE = /^CONTAINER\.([A-Za-z0-9_-]+)\.(\d+)$/;

/** An app's folder under DOKKU_ROOT. */
export const appFolder = (d: DokkuPaths, app: string) => path.join(d.root, app);

/** A plugin's property folder of one scope (an app or `--global`) under DOKKU_LIB_ROOT. */
export const propertyFolder = (d: DokkuPaths, plugin: string, scope: string) =>
  path.join(d.libRoot, 'config', plugin, scope);

/** The first line of a file, trimmed ('' when the file is missing or unreadable); never follows a symlink. */
export async function readFirstLine(file: string): Promise<string> {
  try {
    const fh = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      return ((await fh.readFile('utf8')).split('\n')[0] ?? '').trim();
    } finally {
      await fh.close();
    }
  } catch {
    return '';
  }
}

/**
 * Whether DOKKU_ROOT has a folder for this app (Dokku's VerifyAppName). An app folder that is a symlink is
 * refused (BadInputError): netq never reads or writes through one.
 */
export async function appExists(d: DokkuPaths, app: string): Promise<boolean> {
  // Dokku's own rule, the legacy form included (src/appName.ts)
  if (!APP_NAME_PATTERN.test(app)) return false;
  const dir = appFolder(d, app);
  const st = await lstat(dir).catch(() => undefined);
  if (st?.isSymbolicLink()) throw new BadInputError(`${dir} is not a folder (a symlink is refused)`);
  return st?.isDirectory() === true;
}

/** Dokku's apps: the folders of DOKKU_ROOT, without hidden ones and those starting with an uppercase letter. */
export async function dokkuApps(d: DokkuPaths): Promise<string[]> {
  const entries = await readdir(d.root, { withFileTypes: true }).catch(() => []);
  return entries
    .filter((e) => e.isDirectory() && APP_NAME_PATTERN.test(e.name))
    .map((e) => e.name)
    .sort();
}

/** `CONTAINER.<proc>.<n>` files of an app: dyno (`web.1`) -> container id ('' when the file is empty). */
export async function readContainerFiles(d: DokkuPaths, app: string): Promise<Map<string, string>> {
  const dir = appFolder(d, app);
  const names = await readdir(dir).catch(() => [] as string[]);
  const out = new Map<string, string>();
  for (const name of names.sort()) {
    const m = name.match(CONTAINER_FILE);
    if (m) out.set(`${m[1]}.${m[2]}`, await readFirstLine(path.join(dir, name)));
  }
  return out;
}

/** The container id `CONTAINER.<proc>.<n>` names ('' when none). */
export const readContainerFile = (d: DokkuPaths, app: string, proc: string, index: number) =>
  readFirstLine(path.join(appFolder(d, app), `CONTAINER.${proc}.${index}`));

/**
 * Dokku's IsDeployed: the `deployed` property of the common plugin, else (as scheduler-docker-local's
 * scheduler-is-deployed) whether the app folder holds a CONTAINER file.
 */
export async function isDeployed(d: DokkuPaths, app: string): Promise<boolean> {
  const marker = await readFirstLine(path.join(propertyFolder(d, 'common', app), 'deployed'));
  if (marker !== '') return marker === 'true';
  return (await readContainerFiles(d, app)).size > 0;
}

/** The app's scale (`config/ps/<app>/scale`, one `proc=count` per line), in file order. */
export async function readScale(d: DokkuPaths, app: string): Promise<Map<string, number>> {
  const file = path.join(propertyFolder(d, 'ps', app), 'scale');
  let text = '';
  try {
    const fh = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      text = await fh.readFile('utf8');
    } finally {
      await fh.close();
    }
  } catch {
    return new Map();
  }
  const scale = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = line.trim().match(/^([A-Za-z0-9_-]+)=(\d+)$/);
    if (m?.[1] && m[2]) scale.set(m[1], Number(m[2]));
  }
  return scale;
}

/** The owner of DOKKU_ROOT: Dokku's system user (`dokku:dokku`), whose files netq writes. */
export async function dokkuOwner(d: DokkuPaths): Promise<{ uid: number; gid: number }> {
  const st = await stat(d.root);
  return { uid: st.uid, gid: st.gid };
}
