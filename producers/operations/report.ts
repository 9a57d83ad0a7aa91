import {
  appReportData,
  globalReportData,
  type ReportSection,
  type ReportSource,
  reportApps,
  verifyReportApp,
} from '../reportData.js';
import type { OperationContext } from './context.js';

/**
 * `network:report [<app>|--global]` (GET /v1/apps/:app/report, GET /v1/report, GET /v1/global/report): read
 * only, no job. The sections come one at a time, so that a report of every app shows the apps before one that
 * fails, as Dokku's does.
 */

export interface ReportInput {
  /** one app; neither this nor `global`: every app */
  app?: string;
  /** the `--global` report */
  global?: boolean;
  /** netq's drift of each app too (needs Redis also in Dokku mode) */
  drift: boolean;
}

/**
 * The report sections: of `--global`, of one app, or of every app in turn (none when there is no app). A named
 * app is checked (Dokku's VerifyAppName) before anything connects; in Dokku mode the report reads Dokku's files
 * only, and Redis only for netq's drift.
 */
export async function* report(ctx: OperationContext, input: ReportInput): AsyncGenerator<ReportSection> {
  const dokku = ctx.config.dokku;
  if (!input.global && input.app !== undefined) await verifyReportApp({ dokku }, input.app);
  const src: ReportSource = dokku && !input.drift ? { dokku } : { dokku, queues: await ctx.queues() };
  if (input.global) {
    yield await globalReportData(src);
    return;
  }
  const apps = input.app === undefined ? await reportApps(src) : [input.app];
  for (const app of apps) {
    await verifyReportApp(src, app);
    yield await appReportData(src, app, { drift: input.drift });
  }
}
