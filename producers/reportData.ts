import { constants } from 'node:fs';
import { open, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { APP_NAME_PATTERN } from '../src/appName.js';
import type { DokkuPaths } from '../src/config.js';
import { appExists, propertyFolder } from '../src/dokku/dokkuState.js';
import { readDokkuProperties } from '../src/dokku/propertyFiles.js';
import { AppDoesNotExistError, DokkuError } from '../src/errors.js';
import { computeProperties, PROPERTY_KEYS, type RawProperties } from '../src/properties/properties.js';
import type { NetqQueues } from '../src/queue.js';
import {
  appReportValues,
  driftOf,
  firstLine,
  fromBytes,
  globalReportValues,
  type ReportValues,
} from '../src/report/buildReport.js';
import { readNetworkConfig } from '../src/store/networkConfigStore.js';
import { knownApps, readProperties } from '../src/store/propertyStore.js';

/**
 * `network:report`'s data (no job), shared by the CLI and the HTTP API. In Dokku mode (`dokku` given) everything
 * Dokku's report shows comes from Dokku's own files, read as Dokku reads them (plugins/network/report.go,
 * network.go GetListeners), so no Redis is needed; netq's drift (asked for with `drift`) needs Redis. Without
 * Dokku, the properties and listeners are those netq stored in Redis.
 */
export interface ReportSource {
  /** needed without Dokku, and for the drift */
  queues?: NetqQueues;
  dokku?: DokkuPaths;
}

/** The report of one app or of `--global`. */
export interface ReportSection {
  /** the app, or `--global` */
  title: string;
  /** Dokku's flags and their values */
  values: ReportValues;
  /** netq's drift (apps only, when asked for) */
  drift?: string;
}

function needQueues(src: ReportSource): NetqQueues {
  if (!src.queues) throw new Error('network:report: Redis is needed here but was not connected');
  return src.queues;
}

/**
 * A file's bytes, or undefined when it is missing, not a regular file or unreadable. Never through a symlink
 * (as everywhere in netq), and never blocking on a FIFO.
 */
async function readBytes(file: string | Buffer): Promise<Buffer | undefined> {
  try {
    const fh = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    try {
      if (!(await fh.stat()).isFile()) return undefined;
      return await fh.readFile();
    } finally {
      await fh.close();
    }
  } catch {
    return undefined;
  }
}

/** One scope's properties as Dokku's PropertyGet returns them: the whole content, as it is (unset: absent). */
async function readExactProperties(d: DokkuPaths, scope: string): Promise<RawProperties> {
  const out: RawProperties = {};
  await Promise.all(
    PROPERTY_KEYS.map(async (key) => {
      const b = await readBytes(path.join(propertyFolder(d, 'network', scope), key));
      if (b !== undefined) out[key] = fromBytes(b);
    }),
  );
  return out;
}

const latin1 = (s: string | Buffer) => (typeof s === 'string' ? Buffer.from(s) : s).toString('latin1');

/**
 * GetListeners(app, "web") without a static listener: the `IP.web.*` files of the app folder in the lexical order
 * of filepath.Glob, each `<ip>:<port>` with the first line of the matching `PORT.web.*` (else 5000).
 */
async function dokkuWebListeners(d: DokkuPaths, app: string): Promise<string[]> {
  // AppRoot is `DOKKU_ROOT/<app>`; the names are compared and sorted as bytes, as Go does
  const appRoot = latin1(`${d.root}/${app}`);
  const names = await readdir(Buffer.from(appRoot, 'latin1'), { encoding: 'buffer' }).catch(() => [] as Buffer[]);
  const ipFiles = names
    .filter((n) => latin1(n).startsWith('IP.web.'))
    .sort(Buffer.compare)
    .map((n) => `${appRoot}/${latin1(n)}`);
  const listeners: string[] = [];
  for (const ipFile of ipFiles) {
    const portFile = ipFile.replace('/IP.web.', '/PORT.web.');
    const ip = firstLine((await readBytes(Buffer.from(ipFile, 'latin1'))) ?? Buffer.alloc(0));
    const port = firstLine((await readBytes(Buffer.from(portFile, 'latin1'))) ?? Buffer.alloc(0));
    listeners.push(`${ip}:${port === '' ? '5000' : port}`);
  }
  return listeners;
}

/** The `--global` report. */
export async function globalReportData(src: ReportSource): Promise<ReportSection> {
  const global = src.dokku
    ? await readExactProperties(src.dokku, '--global')
    : (await readProperties(needQueues(src).redis, needQueues(src).keys, '--global')).global;
  return { title: '--global', values: globalReportValues(global) };
}

/** One app's report (the app is not checked here: see verifyReportApp); with `drift`, netq's drift too. */
export async function appReportData(
  src: ReportSource,
  app: string,
  opts: { drift?: boolean } = {},
): Promise<ReportSection> {
  const d = src.dokku;
  const raw = d
    ? { app: await readExactProperties(d, app), global: await readExactProperties(d, '--global') }
    : await readProperties(needQueues(src).redis, needQueues(src).keys, app);
  const q = opts.drift || !d ? needQueues(src) : undefined;
  const stored = q ? await readNetworkConfig(q.redis, q.keys, app) : undefined;
  // GetListeners: the static-web-listener as it is, with or without a container; else the IP/PORT files (Dokku)
  // or the listeners netq's last rebuild stored
  const staticListener = raw.app['static-web-listener'] ?? '';
  let listeners: string[];
  if (staticListener !== '') listeners = [staticListener];
  else if (d) listeners = await dokkuWebListeners(d, app);
  else listeners = stored?.listeners.web ?? [];
  const section: ReportSection = { title: app, values: appReportValues(raw.app, raw.global, listeners.join(' ')) };
  if (opts.drift) {
    // what a rebuild would apply: the properties as netq's rebuild reads them
    const applied = d ? await readDokkuProperties(d, app) : raw;
    section.drift = driftOf(computeProperties(applied.app, applied.global), stored);
  }
  return section;
}

/** IsValidAppName's message (Dokku's plugins/common/common.go). */
const INVALID_APP_NAME =
  'App name must begin with lowercase alphanumeric character, and may only contain lowercase alphanumerics, dots, and hyphens';

/**
 * Dokku's VerifyAppName: a name valid under neither IsValidAppName nor IsValidAppNameOld (whose rule, a
 * superset of the other, is APP_NAME_PATTERN, src/appName.ts) is refused with IsValidAppName's message
 * (exit 1); in Dokku mode an app without a folder does not exist (exit 20). Without Dokku, any valid name has
 * a report.
 */
export async function verifyReportApp(src: ReportSource, app: string): Promise<void> {
  if (app === '') throw new DokkuError('Please specify an app to run the command on');
  if (!APP_NAME_PATTERN.test(app)) throw new DokkuError(INVALID_APP_NAME);
  if (src.dokku && !(await appExists(src.dokku, app))) throw new AppDoesNotExistError(app);
}

/** unicode.IsUpper of a name's first byte taken as a rune (Latin-1), as UnfilteredDokkuApps tests it. */
const upperFirstByte = (b: number) => (b >= 0x41 && b <= 0x5a) || (b >= 0xc0 && b <= 0xde && b !== 0xd7);

/**
 * The apps a report of every app covers. Dokku's DokkuApps: the entries of DOKKU_ROOT that are folders, but
 * hidden ones and those whose first byte is an upper-case letter, sorted by name (names are not checked here:
 * the report of each checks it, as Dokku's does). Without Dokku: the apps netq knows, sorted.
 */
export async function reportApps(src: ReportSource): Promise<string[]> {
  const d = src.dokku;
  if (!d) {
    const q = needQueues(src);
    return knownApps(q.redis, q.keys);
  }
  const names = await readdir(d.root, { encoding: 'buffer' }).catch(() => [] as Buffer[]);
  const apps: string[] = [];
  for (const name of names.sort(Buffer.compare)) {
    const st = await stat(Buffer.concat([Buffer.from(`${d.root}/`), name])).catch(() => undefined);
    if (!st?.isDirectory() || name[0] === 0x2e || upperFirstByte(name[0] ?? 0)) continue;
    apps.push(fromBytes(name));
  }
  return apps;
}
