import type { DokkuPaths } from '../src/config.js';
import { dokkuApps } from '../src/dokku/dokkuState.js';
import { readDokkuProperties } from '../src/dokku/propertyFiles.js';
import type { NetqQueues } from '../src/queue.js';
import { appReport, globalReport } from '../src/report/buildReport.js';
import { readNetworkConfig } from '../src/store/networkConfigStore.js';
import { knownApps, readProperties } from '../src/store/propertyStore.js';

/**
 * `network:report`'s data (no job): shared by the CLI and the HTTP API. Properties come from Dokku's files
 * in Dokku mode (`dokku` given: they are the truth, and a value set with `dokku network:set` shows at once),
 * else from Redis; the listeners from the last rebuilds stored in Redis.
 */
type Props = Awaited<ReturnType<typeof readProperties>>;
const propsOf = (q: NetqQueues, app: string, dokku: DokkuPaths | undefined): Promise<Props> =>
  dokku ? readDokkuProperties(dokku, app) : readProperties(q.redis, q.prefix, app);

/** The report of one app or of the global scope, as ordered key/value pairs. */
export interface ReportSection {
  title: string;
  pairs: [string, string][];
}

export async function globalReportData(q: NetqQueues, dokku?: DokkuPaths): Promise<ReportSection> {
  const raw = await propsOf(q, '--global', dokku);
  return { title: 'global', pairs: globalReport(raw.global) };
}

export async function appReportData(q: NetqQueues, app: string, dokku?: DokkuPaths): Promise<ReportSection> {
  const [raw, stored] = await Promise.all([propsOf(q, app, dokku), readNetworkConfig(q.redis, q.keys, app)]);
  return { title: app, pairs: appReport(raw, stored) };
}

/** The global report, one app's, or (neither named) every known app's. The app name must be valid. */
export async function reportData(
  q: NetqQueues,
  target: { global?: boolean; app?: string },
  dokku?: DokkuPaths,
): Promise<ReportSection[]> {
  if (target.global) return [await globalReportData(q, dokku)];
  const apps =
    target.app !== undefined
      ? [target.app]
      : dokku
        ? await dokkuApps(dokku)
        : await knownApps(q.redis, q.prefix, q.keys.netconfig);
  return Promise.all(apps.map((a) => appReportData(q, a, dokku)));
}
