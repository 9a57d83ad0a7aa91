import type { NetqQueues } from '../src/queue.js';
import { appReport, globalReport } from '../src/report/buildReport.js';
import { readNetworkConfig } from '../src/store/networkConfigStore.js';
import { knownApps, readProperties } from '../src/store/propertyStore.js';

/** `network:report`'s data, read from Redis (no job): shared by the CLI and the HTTP API. */

/** The report of one app or of the global scope, as ordered key/value pairs. */
export interface ReportSection {
  title: string;
  pairs: [string, string][];
}

export async function globalReportData(q: NetqQueues): Promise<ReportSection> {
  const raw = await readProperties(q.redis, q.prefix, '--global');
  return { title: 'global', pairs: globalReport(raw.global) };
}

export async function appReportData(q: NetqQueues, app: string): Promise<ReportSection> {
  const [raw, stored] = await Promise.all([
    readProperties(q.redis, q.prefix, app),
    readNetworkConfig(q.redis, q.keys, app),
  ]);
  return { title: app, pairs: appReport(raw, stored) };
}

/** The global report, one app's, or (neither named) every known app's. The app name must be valid. */
export async function reportData(q: NetqQueues, target: { global?: boolean; app?: string }): Promise<ReportSection[]> {
  if (target.global) return [await globalReportData(q)];
  const apps = target.app !== undefined ? [target.app] : await knownApps(q.redis, q.prefix, q.keys.netconfig);
  return Promise.all(apps.map((a) => appReportData(q, a)));
}
